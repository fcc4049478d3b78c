import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNpy } from '../src/io/npy.js';
import { writeGrayPng } from '../src/io/image.js';
import { REPO_ROOT } from './helpers/env.js';
import { runCli } from './helpers/cli.js';

const MODEL = resolve(REPO_ROOT, 'fixtures/golden/tiny-a.safetensors');
let dir = '';

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bonestream-features-'));
  const data = Uint8Array.from({ length: 100 * 80 }, (_, i) => (i * 31) % 256);
  await writeGrayPng(join(dir, 'scan.png'), { width: 100, height: 80, data });
  await writeFile(join(dir, 'broken.png'), 'not an image');
});

test.after(() => rm(dir, { recursive: true, force: true }));

test('writes NAME.descriptors.npy, NAME.saliency.npy and NAME.json; a bad input is named and fails the run', async () => {
  const out = join(dir, 'out');
  const { code, stderr } = await runCli([
    'features', join(dir, 'broken.png'), join(dir, 'scan.png'), join(dir, 'absent.png'),
    '--backend', 'dino', '--model', MODEL, '--load-size', '64', '--stride', '4', '--layer', '1', '--out', out,
  ]);
  assert.is(code, 1, 'exit code says something failed');
  assert.match(stderr, /broken\.png: skipped: not a readable image/);
  assert.match(stderr, /absent\.png: skipped: no such file/);
  assert.equal((await readdir(out)).sort(), ['scan.descriptors.npy', 'scan.json', 'scan.saliency.npy']);
  const meta = JSON.parse(await readFile(join(out, 'scan.json'), 'utf8'));
  assert.equal(meta, {
    grid: [15, 19],
    stride: 4,
    patchSize: 8,
    original: { width: 100, height: 80 },
    resized: { width: 80, height: 64 },
    loadSize: 64,
    layer: 1,
    facet: 'key',
    model: MODEL,
    backend: 'dino',
    source: resolve(dir, 'scan.png'),
  });
  const descriptors = await readNpy(join(out, 'scan.descriptors.npy'));
  assert.equal(descriptors.shape, [15, 19, 32]);
  assert.ok(Math.abs(Math.hypot(...descriptors.data.subarray(0, 32)) - 1) < 1e-5, 'unit descriptors');
  const saliency = await readNpy(join(out, 'scan.saliency.npy'));
  assert.equal(saliency.shape, [15, 19]);
});

test('two inputs with one NAME: the second is refused instead of overwriting the first', async () => {
  const out = join(dir, 'out2');
  const { code, stderr } = await runCli(['features', join(dir, 'scan.png'), join(dir, '.', 'scan.png'), '--backend', 'dino', '--model', MODEL, '--load-size', '32', '--layer', '2', '--out', out]);
  assert.is(code, 1);
  assert.match(stderr, /output name scan is taken/);
});

test('ViT-only options with --backend physics are refused, not recorded as if used', async () => {
  for (const [args, message] of [
    [['--layer', '3'], /--layer applies to the DINO backend only, not to --backend physics/],
    [['--facet', 'value', '--layer', '3'], /--layer and --facet apply to the DINO backend only/],
    [['--model', 'dino-vitb8'], /--model applies to the DINO backend only/],
  ] as const) {
    const out = join(dir, 'physics-vit-options');
    const { code, stderr } = await runCli(['features', join(dir, 'scan.png'), '--backend', 'physics', ...args, '--out', out]);
    assert.is(code, 1, args.join(' '));
    assert.match(stderr, message);
    assert.not.ok(existsSync(out), 'nothing written');
  }
});

test('--backend physics goes through the same command and says so in NAME.json', async () => {
  const out = join(dir, 'physics');
  const { code } = await runCli(['features', join(dir, 'scan.png'), '--backend', 'physics', '--load-size', '64', '--out', out]);
  assert.is(code, 0);
  const meta = JSON.parse(await readFile(join(out, 'scan.json'), 'utf8'));
  assert.is(meta.backend, 'physics');
  assert.equal(meta.resized, { width: 80, height: 64 });
  const saliency = await readNpy(join(out, 'scan.saliency.npy'));
  assert.equal(saliency.shape, meta.grid);
});

test('an --out that cannot be a directory is refused before any work', async () => {
  const { code, stderr } = await runCli(['features', join(dir, 'scan.png'), '--backend', 'dino', '--model', MODEL, '--layer', '2', '--out', join(dir, 'broken.png', 'x')]);
  assert.is(code, 1);
  assert.match(stderr, /--out .*broken\.png\/x: .*broken\.png is a file, not a folder/);
});

test('a layer the model does not have is a clear error', async () => {
  const { code, stderr } = await runCli(['features', join(dir, 'scan.png'), '--backend', 'dino', '--model', MODEL, '--out', join(dir, 'out3')]);
  assert.is(code, 1);
  assert.match(stderr, /--layer must be in 0\.\.2 .*got 11/);
});

test.run();
