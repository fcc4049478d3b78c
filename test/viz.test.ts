import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCli } from './helpers/cli.js';
import { writeGrayPng } from '../src/io/image.js';
import { attentionMaps, writeViz } from '../src/eval/viz.js';
import { layerList } from '../src/commands/viz.js';
import type { Analysis } from '../src/vit/analysis.js';
import { makeTinyVit } from './helpers/tiny-vit.js';

let dir = '';

/** The CLI with extra environment variables for the call. */
async function run(args: string[], env: Record<string, string> = {}): ReturnType<typeof runCli> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await runCli(args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function rgbAt(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i], data[i + 1], data[i + 2]];
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bonestream-viz-'));
  const data = Uint8Array.from({ length: 72 * 48 }, (_, i) => ((i % 72) * 3 + Math.floor(i / 72) * 2) % 256);
  await writeGrayPng(join(dir, 'scan.png'), { width: 72, height: 48, data });
  await writeFile(join(dir, 'tiny.safetensors'), makeTinyVit({ dim: 32, depth: 2, heads: 2, mlpDim: 64, seed: 3 }));
});

test.after(() => rm(dir, { recursive: true, force: true }));

test('--layers: ranges and lists, sorted and distinct; bad forms are refused with the value', () => {
  assert.equal(layerList('0-3,7'), [0, 1, 2, 3, 7]);
  assert.equal(layerList('11, 2,2'), [2, 11]);
  assert.is(layerList('all'), 'all');
  assert.throws(() => layerList('5-2'), /5-2 runs backwards/);
  assert.throws(() => layerList('one'), /got one/);
  assert.throws(() => layerList('0-99'), /block 99/);
});

/** A planted analysis on a 2×3 grid: the left column one feature direction, the rest another. */
function plantedAnalysis(): Analysis {
  const grid: [number, number] = [2, 3];
  const dim = 4;
  const key = new Float32Array(6 * dim);
  for (let p = 0; p < 6; p++) key.set(p % 3 === 0 ? [1, 0, 0, 0] : [0, 1, 0, 0.1 * p], p * dim);
  const attention = new Float32Array(2 * 6);
  attention[0] = 1; // head 0 looks at the top-left patch
  attention[6 + 5] = 1; // head 1 at the bottom-right one
  return { grid, dim, features: new Map([['key:0', key]]), attention, heads: 2 };
}

test('writeViz: PCA picture separates the planted groups, each head\'s map peaks where its attention does', async () => {
  const out = join(dir, 'planted');
  const image = { width: 30, height: 20, data: new Uint8Array(600).fill(128) };
  let pictures = 0;
  const files = await writeViz(out, image, plantedAnalysis(), { facets: ['key'], layers: [0], tileWidth: 60, about: [['model', 'planted']] }, () => pictures++);
  assert.equal(files.pca, [{ facet: 'key', layer: 0, file: 'pca-key-block0.png' }]);
  assert.equal(files.attention.map((a) => a.head), [0, 1, 'mean']);
  assert.is(pictures, 1 + 3 + 2);
  const pca = await readFile(join(out, 'pca-key-block0.png'));
  const meta = await sharp(pca).metadata();
  assert.equal([meta.width, meta.height], [60, 40]);
  // Patch (0,0) and (1,0) share a colour that differs from patch (0,1)'s.
  const left = await rgbAt(pca, 10, 10);
  assert.equal(await rgbAt(pca, 10, 30), left);
  const other = await rgbAt(pca, 30, 10);
  assert.ok(Math.abs(left[0] - other[0]) + Math.abs(left[1] - other[1]) + Math.abs(left[2] - other[2]) > 200, `${left} vs ${other}`);
  // Viridis: the peak is yellow (253, 231, 37), the rest dark purple (68, 1, 84).
  const head0 = await readFile(join(out, 'attention-head0.png'));
  assert.equal(await rgbAt(head0, 5, 5), [253, 231, 37]);
  assert.equal(await rgbAt(head0, 55, 35), [68, 1, 84]);
  const head1 = await readFile(join(out, 'attention-head1.png'));
  assert.equal(await rgbAt(head1, 55, 35), [253, 231, 37]);
  // The grid: input, two heads and their mean in one row, 4 px gaps.
  const grid = await sharp(await readFile(join(out, 'attention-grid.png'))).metadata();
  assert.equal([grid.width, grid.height], [4 * 60 + 5 * 4, 40 + 2 * 4]);
  const json = JSON.parse(await readFile(join(out, 'viz.json'), 'utf8'));
  assert.equal(json.grid, [2, 3]);
  assert.is(json.about.model, 'planted');
  const html = await readFile(join(out, 'index.html'), 'utf8');
  assert.is((html.match(/src="data:image\/png;base64,/g) ?? []).length, 1 + 4);
});

test('attentionMaps: per head slices plus their mean', () => {
  const maps = attentionMaps(plantedAnalysis());
  assert.equal(Array.from(maps[2].map), [0.5, 0, 0, 0, 0, 0.5]);
});

test('bonestream viz on a tiny ViT: a picture per facet and block, a grid, and the heads', async () => {
  const out = join(dir, 'cli');
  const { code, stderr } = await run([
    'viz', join(dir, 'scan.png'), '--model', join(dir, 'tiny.safetensors'), '--facets', 'key,token', '--layers', '0-1',
    '--load-size', '32', '--stride', '4', '--tile-width', '48', '--out', out,
  ]);
  assert.is(code, 0, stderr);
  const files = (await readdir(out)).sort();
  assert.equal(files, [
    'attention-grid.png', 'attention-head0.png', 'attention-head1.png', 'attention-mean.png', 'index.html',
    'pca-grid.png', 'pca-key-block0.png', 'pca-key-block1.png', 'pca-token-block0.png', 'pca-token-block1.png', 'viz.json',
  ]);
  const json = JSON.parse(await readFile(join(out, 'viz.json'), 'utf8'));
  // 48×32 after resizing the smaller edge to 32; grid 1 + (32 − 8)/4 by 1 + (48 − 8)/4.
  assert.equal(json.grid, [7, 11]);
  assert.equal(json.layers, [0, 1]);
  const grid = await sharp(await readFile(join(out, 'pca-grid.png'))).metadata();
  const tileHeight = Math.round((48 * 7) / 11);
  assert.equal([grid.width, grid.height], [2 * 48 + 3 * 4, 2 * tileHeight + 3 * 4]);
});

test('bonestream viz: "all" takes every block; a block the model lacks and missing weights are clear errors', async () => {
  const all = await run(['viz', join(dir, 'scan.png'), '--model', join(dir, 'tiny.safetensors'), '--facets', 'value', '--load-size', '16', '--out', join(dir, 'all')]);
  assert.is(all.code, 0, all.stderr);
  assert.equal(JSON.parse(await readFile(join(dir, 'all', 'viz.json'), 'utf8')).layers, [0, 1]);
  const beyond = await run(['viz', join(dir, 'scan.png'), '--model', join(dir, 'tiny.safetensors'), '--layers', '5', '--load-size', '16', '--out', join(dir, 'x')]);
  assert.is(beyond.code, 1);
  assert.match(beyond.stderr, /block 5 is not in .*, which has blocks 0\.\.1/);
  const range = await run(['viz', join(dir, 'scan.png'), '--model', join(dir, 'tiny.safetensors'), '--layers', '0-20', '--load-size', '16', '--out', join(dir, 'x')]);
  assert.is(range.code, 1);
  assert.match(range.stderr, /blocks 2\.\.20 are not in .*tiny\.safetensors, which has blocks 0\.\.1/);
  const facets = await run(['viz', join(dir, 'scan.png'), '--facets', 'key,foo', '--out', join(dir, 'x')]);
  assert.is.not(facets.code, 0);
  assert.match(facets.stderr, /--facets must list only key, query, value, token \(got foo\)/);
  const empty = await mkdtemp(join(dir, 'models-'));
  const missing = await run(['viz', join(dir, 'scan.png'), '--out', join(dir, 'y')], { BONESTREAM_MODELS_DIR: empty });
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /bonestream fetch-model dino-vits8/);
});

test.run();
