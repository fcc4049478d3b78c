import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readdir, rm, readFile, symlink, writeFile } from 'node:fs/promises';
import { noisyInput } from '../src/eval/noisy-input.js';
import { resizeGray } from '../src/patches.js';
import { makeTinyVit } from './helpers/tiny-vit.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plant } from './helpers/planted.js';
import { seededRandom } from '../src/util/random.js';
import { binomial, drawPairs, drawSets } from '../src/eval/sampling.js';
import { summarize } from '../src/eval/stats.js';
import { runSameDomain, sameDomainReport } from '../src/eval/same-domain.js';
import type { SetMember } from '../src/eval/score.js';
import { runCrossDomain } from '../src/eval/cross-domain.js';
import { runNoise, meanCosine } from '../src/eval/noise.js';
import { writeReport } from '../src/eval/report.js';
import type { ExperimentSetup } from '../src/eval/setup.js';
import type { Extractor, Features, GrayImage } from '../src/types.js';
import { runCli } from './helpers/cli.js';
import { writeGrayPng } from '../src/io/image.js';

/*
 * Planted scenes on a 4×4 patch grid (stride 8, patch 8, 32×32 pixels, so every patch owns
 * one 8×8 block): patch row 2 is bone (salient), the rest background. The predicted mask is
 * then exactly pixel rows 16..23, and each image's reference mask is pixel rows
 * 16..16+t−1, so its Dice and IoU follow from t alone and are computed here by hand.
 */
const SIZE = 32;
const BONE_ROWS = 8; // pixel rows of the predicted mask (one patch row)
const segment = { k: 2 as number | 'auto', tau: 0.2, votes: 65, seed: 0, surfaceTolerancePx: 2 };

function bandMask(from: number, rows: number): GrayImage {
  const data = new Uint8Array(SIZE * SIZE);
  data.fill(255, from * SIZE, (from + rows) * SIZE);
  return { width: SIZE, height: SIZE, data };
}

/** Dice and IoU of the predicted rows 16..23 against reference rows 16..16+t−1, from counts. */
function expectedScores(t: number): { dice: number; iou: number } {
  const both = Math.min(BONE_ROWS, t);
  return { dice: (2 * both) / (BONE_ROWS + t), iou: both / (BONE_ROWS + t - both) };
}

function plantedScene(seed: number, extra?: { row: number; saliency: number; cluster: number }): Features {
  return plant({
    grid: [4, 4],
    seed,
    cluster: (r) => (r === 2 ? 1 : extra && r === extra.row ? extra.cluster : 0),
    saliency: (r) => (r === 2 ? 1 : extra && r === extra.row ? extra.saliency : 0),
  });
}

/** A plain gray scan: only the overlays use it, the planted features carry the content. */
const gray = (): GrayImage => ({ width: SIZE, height: SIZE, data: new Uint8Array(SIZE * SIZE).fill(90) });
const REFERENCE_ROWS = [2, 4, 6, 8, 10, 12];
const images: SetMember[] = REFERENCE_ROWS.map((t, i) => ({
  name: `img${i}`,
  image: gray(),
  truth: bandMask(16, t),
  features: plantedScene(i + 1),
}));

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

test('drawSets: distinct sorted sets of the asked size, all of them when few exist, repeatable by seed', () => {
  const sets = drawSets(6, 3, 7, seededRandom(4));
  assert.is(sets.length, 7);
  assert.is(new Set(sets.map((s) => s.join())).size, 7);
  for (const s of sets) {
    assert.is(s.length, 3);
    assert.equal(s, [...s].sort((a, b) => a - b));
    assert.is(new Set(s).size, 3);
    assert.ok(s.every((i) => i >= 0 && i < 6));
  }
  assert.equal(drawSets(6, 3, 7, seededRandom(4)), sets);
  assert.not.equal(drawSets(6, 3, 7, seededRandom(5)), sets);
  const all = drawSets(4, 2, 100, seededRandom(1));
  assert.is(all.length, binomial(4, 2));
  assert.is(new Set(all.map((s) => s.join())).size, 6);
  assert.is(binomial(10, 5), 252);
  assert.is(binomial(6, 5), 6);
  assert.is(binomial(6, 1), 6);
  assert.is(binomial(3, 4), 0);
  // Large population: rejection sampling still gives distinct sets.
  const many = drawSets(40, 5, 50, seededRandom(2));
  assert.is(new Set(many.map((s) => s.join())).size, 50);
});

test('drawPairs: distinct pairs in range, all of them when few exist', () => {
  const pairs = drawPairs(3, 2, 10, seededRandom(1));
  assert.is(pairs.length, 6);
  assert.equal(new Set(pairs.map((p) => p.join())), new Set(['0,0', '0,1', '1,0', '1,1', '2,0', '2,1']));
  const some = drawPairs(30, 30, 20, seededRandom(3));
  assert.is(new Set(some.map((p) => p.join())).size, 20);
  assert.ok(some.every(([i, j]) => i < 30 && j < 30));
});

test('summarize: mean and sample standard deviation', () => {
  const s = summarize([0.5, 0.7, 0.9]);
  close(s.mean, 0.7, 'mean');
  close(s.std, 0.2, 'std');
  assert.is(s.n, 3);
  assert.is(summarize([0.4]).std, 0);
  assert.throws(() => summarize([]));
});

test('same-domain: per-image scores and each size\'s mean ± std match the planted masks', () => {
  const { result, examples } = runSameDomain(images, { sizes: [2, 3, 5, 10], repeats: 4, seed: 7, segment });
  assert.equal(result.sizes.map((s) => s.size), [2, 3, 5]);
  assert.equal(result.skipped.map((s) => s.size), [10]);
  assert.match(result.skipped[0].reason, /10 .*there are 6/);
  for (const size of result.sizes) {
    assert.is(size.sets.length, Math.min(4, binomial(6, size.size)));
    const all: Array<{ dice: number; iou: number }> = [];
    for (const set of size.sets) {
      assert.is(set.images.length, size.size);
      assert.is(set.k, 2);
      assert.is(set.salient.length, 1);
      set.scores.forEach((score, i) => {
        assert.is(score.name, set.images[i]);
        const expected = expectedScores(REFERENCE_ROWS[Number(score.name.slice(3))]);
        close(score.dice, expected.dice, `${score.name} Dice`);
        close(score.iou, expected.iou, `${score.name} IoU`);
        // Predicted and reference bands both start at pixel row 16: the surfaces coincide.
        assert.equal([score.surfacePrecision, score.surfaceRecall], [1, 1]);
        all.push(expected);
      });
    }
    const dice = meanStd(all.map((s) => s.dice));
    const iou = meanStd(all.map((s) => s.iou));
    close(size.dice.mean, dice.mean, `size ${size.size} Dice mean`);
    close(size.dice.std, dice.std, `size ${size.size} Dice std`);
    close(size.iou.mean, iou.mean, `size ${size.size} IoU mean`);
    close(size.iou.std, iou.std, `size ${size.size} IoU std`);
    assert.is(size.dice.n, size.sets.length * size.size);
  }
  assert.equal(examples.map((e) => e.size), [2, 3, 5]);
  assert.equal(examples[0].outcome.masks[0].data, bandMask(16, BONE_ROWS).data);
  // The same seed draws the same sets.
  const again = (runSameDomain(images, { sizes: [3], repeats: 4, seed: 7, segment })).result;
  assert.equal(again.sizes[0].sets.map((s) => s.images), result.sizes[1].sets.map((s) => s.images));
});

test('same-domain report: a set of one image is captioned "1 image", not "1 images"', async () => {
  const options = { sizes: [1, 2], repeats: 1, seed: 1, segment };
  const { result, examples } = runSameDomain(images, options);
  const setup: ExperimentSetup = { backend: 'physics', model: 'planted', stride: 8, loadSize: 32, k: 2, tau: 0.2, votes: 65, seed: 0, date: 'now' };
  const html = JSON.stringify(await sameDomainReport(result, examples, images, setup, options));
  assert.match(html, /1 image \(first set\)/);
  assert.match(html, /2 images \(first set\)/);
  assert.not.match(html, /1 images/);
});

test('same-domain report: the Markdown table carries the computed mean ± std; the HTML is self-contained', async () => {
  const options = { sizes: [2, 3], repeats: 3, seed: 1, segment };
  const { result, examples } = runSameDomain(images, options);
  const setup: ExperimentSetup = { backend: 'physics', model: 'planted', stride: 8, loadSize: 32, k: 2, tau: 0.2, votes: 65, seed: 0, date: 'now' };
  const doc = await sameDomainReport(result, examples, images, setup, options);
  await inTempDir('bonestream-same-', async (out) => {
  const written = await writeReport(out, { setup, ...result }, doc);
  const markdown = await readFile(written.markdown, 'utf8');
  for (const size of result.sizes) {
    const scores = size.sets.flatMap((s) => s.scores.map((score) => expectedScores(REFERENCE_ROWS[Number(score.name.slice(3))])));
    const dice = meanStd(scores.map((s) => s.dice));
    const iou = meanStd(scores.map((s) => s.iou));
    const row = `| ${size.size} | ${size.sets.length} | ${scores.length} | ${dice.mean.toFixed(3)} ± ${dice.std.toFixed(3)} | ${iou.mean.toFixed(3)} ± ${iou.std.toFixed(3)} |`;
    assert.ok(markdown.includes(row), `missing row ${row}`);
  }
  assert.match(markdown, /Dice ≈ 0\.9, IoU ≈ 0\.77/);
  assert.match(markdown, /physics/);
  const json = JSON.parse(await readFile(written.json, 'utf8'));
  assert.is(json.sizes[0].dice.mean, result.sizes[0].dice.mean);
  const html = await readFile(written.html, 'utf8');
  assert.not.match(html, /(src|href)="(https?:)?\/\//);
  assert.not.match(html, /<script/);
  assert.is((html.match(/<img [^>]*src="data:image\/png;base64,/g) ?? []).length, 2 + 3);
  // One point per size and metric in the chart.
  assert.is((html.match(/aria-roledescription="point"/g) ?? []).length, 2 * result.sizes.length);
  });
});

test('cross-domain: a cluster salient only within domain B is lost when B is paired with A', () => {
  // Domain B has a second salient structure (patch row 0, its own cluster) that its
  // reference includes. Paired B–B, both images vote for it (2 of 2 ≥ 65 %); paired with A,
  // where that cluster is absent, it gets 1 vote of 2 and drops out of B's mask.
  const bTruth = (t: number) => {
    const mask = bandMask(16, t);
    mask.data.fill(255, 0, BONE_ROWS * SIZE);
    return mask;
  };
  const a = [4, 8, 12].map((t, i) => ({ name: `a${i}`, image: gray(), truth: bandMask(16, t), features: plantedScene(10 + i) }));
  const b = [8, 6].map((t, i) => ({
    name: `b${i}`,
    image: gray(),
    truth: bTruth(t),
    features: plantedScene(20 + i, { row: 0, saliency: 0.6, cluster: 2 }),
  }));
  const { result, example } = runCrossDomain({ label: 'A', images: a }, { label: 'B', images: b }, { pairs: 50, seed: 3, segment: { ...segment, k: 3 } });
  assert.is(result.crossPairs.length, 6);
  assert.is(result.samePairs.A.length, 3);
  assert.is(result.samePairs.B.length, 1);
  assert.ok(example);
  // B with B: mask = rows 0..7 and 16..23; with A: rows 16..23 only.
  const bSame = (t: number) => {
    const both = BONE_ROWS + Math.min(BONE_ROWS, t);
    return { dice: (2 * both) / (2 * BONE_ROWS + BONE_ROWS + t), iou: both / (2 * BONE_ROWS + BONE_ROWS + t - both) };
  };
  const bCross = (t: number) => {
    const both = Math.min(BONE_ROWS, t);
    return { dice: (2 * both) / (BONE_ROWS + BONE_ROWS + t), iou: both / (BONE_ROWS + BONE_ROWS + t - both) };
  };
  const byName = new Map(result.perImage.map((p) => [`${p.domain}/${p.name}`, p]));
  [8, 6].forEach((t, i) => {
    const p = byName.get(`B/b${i}`)!;
    close(p.same!.dice, bSame(t).dice, `b${i} same Dice`);
    close(p.cross!.dice, bCross(t).dice, `b${i} cross Dice`);
    close(p.cross!.iou, bCross(t).iou, `b${i} cross IoU`);
    assert.is(p.cross!.pairs, 3);
    assert.is(p.same!.pairs, 1);
  });
  [4, 8, 12].forEach((t, i) => {
    const p = byName.get(`A/a${i}`)!;
    close(p.same!.dice, expectedScores(t).dice, `a${i} same Dice`);
    close(p.cross!.dice, expectedScores(t).dice, `a${i} cross Dice`);
    assert.is(p.same!.pairs, 2);
    assert.is(p.cross!.pairs, 2);
  });
  const bSummary = result.summary.find((s) => s.domain === 'B')!;
  const crossDice = meanStd(result.crossPairs.map((p) => bCross(p.images[1] === 'b0' ? 8 : 6).dice));
  close(bSummary.cross.dice.mean, crossDice.mean, 'B cross Dice mean');
  close(bSummary.cross.dice.std, crossDice.std, 'B cross Dice std');
  const sameDice = meanStd([bSame(8).dice, bSame(6).dice]);
  close(bSummary.same!.dice.mean, sameDice.mean, 'B same Dice mean');
  assert.ok(bSummary.cross.dice.mean < bSummary.same!.dice.mean);
});

test('cross-domain: a domain with one image has no same-domain pair', () => {
  const { result } = runCrossDomain(
    { label: 'A', images: images.slice(0, 1) },
    { label: 'B', images: images.slice(1, 3) },
    { pairs: 5, seed: 0, segment },
  );
  assert.is(result.summary[0].same, null);
  assert.is(result.perImage[0].same, null);
  assert.is(result.crossPairs.length, 2);
});

/**
 * A stand-in backend for the noise experiment: bone saliency falls linearly with ε
 * (1 − ε/2, so it stops voting above ε = 1.6 with τ = 0.2) and descriptors get noisier.
 */
function noisyPlantedExtractor(): Extractor & { calls: number[] } {
  const calls: number[] = [];
  return {
    backend: 'physics',
    model: 'planted',
    stride: 8,
    loadSize: SIZE,
    calls,
    async extract(image, options) {
      const eps = options?.noise?.eps ?? 0;
      calls.push(eps);
      const seed = image.data[0] + 100 * (options?.noise?.seed ?? 0);
      return plant({ grid: [4, 4], seed, noise: 0.05 + 0.1 * eps, cluster: (r) => (r === 2 ? 1 : 0), saliency: (r) => (r === 2 ? Math.max(0, 1 - eps / 2) : 0) });
    },
    async dispose() {},
  };
}

test('noise: Dice/IoU per ε follow the planted saliency, features are extracted once per ε, similarity falls', async () => {
  const labelled = [4, 8, 12].map((t, i) => ({
    name: `n${i}`,
    path: `n${i}.png`,
    image: { width: SIZE, height: SIZE, data: new Uint8Array(SIZE * SIZE).fill(60 + i) },
    truth: bandMask(16, t),
  }));
  const extractor = noisyPlantedExtractor();
  const { result, examples } = await runNoise(extractor, labelled, { eps: [0, 1, 2], seed: 5, segment, show: 1 });
  assert.equal(extractor.calls, [0, 0, 0, 1, 1, 1, 2, 2, 2]);
  assert.equal(result.levels.map((l) => l.eps), [0, 1, 2]);
  const expected = meanStd([4, 8, 12].map((t) => expectedScores(t).dice));
  for (const level of result.levels.slice(0, 2)) {
    close(level.dice.mean, expected.mean, `Dice at ε = ${level.eps}`);
    close(level.dice.std, expected.std, `Dice std at ε = ${level.eps}`);
  }
  // At ε = 2 the bone cluster's saliency is 0: nothing is salient, every Dice is 0.
  assert.equal(result.levels[2].scores.map((s) => s.dice), [0, 0, 0]);
  close(result.levels[0].similarity.mean, 1, 'cosine at ε = 0');
  assert.ok(result.levels[1].similarity.mean < 1);
  assert.ok(result.levels[2].similarity.mean < result.levels[1].similarity.mean);
  assert.equal(examples.map((e) => [e.eps, e.name, e.noiseSeed]), [[0, 'n0', 5], [1, 'n0', 5], [2, 'n0', 5]]);
});

test('meanCosine: 1 for identical descriptors, rejects different grids', () => {
  const f = plantedScene(1);
  close(meanCosine(f, f), 1, 'self');
  const g = plant({ grid: [2, 2], cluster: () => 0, saliency: () => 0 });
  assert.throws(() => meanCosine(f, g), /grids differ/);
});

/* The commands end to end, on the physics backend and small generated scans. */

/** A 64×64 scan: speckle, a bright band (the "bone") at rows top..top+3, shadow beneath. */
function scan(top: number, seed: number): { image: GrayImage; truth: GrayImage } {
  const random = seededRandom(seed);
  const image = new Uint8Array(64 * 64);
  const truth = new Uint8Array(64 * 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const bone = y >= top && y < top + 4 && x >= 12 && x < 52;
      const shadow = y >= top + 4 && x >= 12 && x < 52;
      image[y * 64 + x] = bone ? 230 : shadow ? 10 + 10 * random() : 60 + 60 * random();
      truth[y * 64 + x] = bone ? 255 : 0;
    }
  }
  return { image: { width: 64, height: 64, data: image }, truth: { width: 64, height: 64, data: truth } };
}

async function writeDomain(root: string, name: string, tops: number[]): Promise<{ images: string; labels: string }> {
  const images = join(root, name, 'images');
  const labels = join(root, name, 'labels');
  await mkdir(images, { recursive: true });
  await mkdir(labels, { recursive: true });
  for (const [i, top] of tops.entries()) {
    const { image, truth } = scan(top, 100 * i + top);
    await writeGrayPng(join(images, `s${i}.png`), image);
    await writeGrayPng(join(labels, `s${i}.png`), truth);
  }
  return { images, labels };
}

/** Runs `body` in a fresh temporary directory, removed afterwards. */
async function inTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const FAST = ['--backend', 'physics', '--load-size', '64', '--k', '3'];

test('bonestream experiment same-domain / cross-domain / noise: tables match results.json, reports written', async () => {
  await inTempDir('bonestream-experiment-', async (root) => {
  const a = await writeDomain(root, 'a', [20, 24, 28, 32]);
  const b = await writeDomain(root, 'b', [36, 40, 44]);

  const same = await runCli(['experiment', 'same-domain', '--images', a.images, '--labels', a.labels, '--sizes', '2,3,9', '--repeats', '2', ...FAST, '--out', join(root, 'same')]);
  assert.is(same.code, 0, same.stderr);
  assert.match(same.stderr, /sets of 9 skipped: only 4 labelled images/);
  const sameJson = JSON.parse(await readFile(join(root, 'same', 'results.json'), 'utf8'));
  assert.is(sameJson.setup.backend, 'physics');
  assert.equal(sameJson.sizes.map((s: { size: number }) => s.size), [2, 3]);
  assert.equal(sameJson.skipped.map((s: { size: number }) => s.size), [9]);
  const sameMd = await readFile(join(root, 'same', 'results.md'), 'utf8');
  for (const size of sameJson.sizes) {
    const scores = size.sets.flatMap((s: { scores: Array<{ dice: number; iou: number }> }) => s.scores);
    const dice = meanStd(scores.map((s: { dice: number }) => s.dice));
    const iou = meanStd(scores.map((s: { iou: number }) => s.iou));
    const cells = `${dice.mean.toFixed(3)} ± ${dice.std.toFixed(3)} | ${iou.mean.toFixed(3)} ± ${iou.std.toFixed(3)}`;
    assert.ok(sameMd.includes(`| ${size.size} | 2 | ${2 * size.size} | ${cells} |`), `no row for size ${size.size}: ${cells}`);
    assert.ok(same.stdout.includes(`${dice.mean.toFixed(3)} ± ${dice.std.toFixed(3)}`));
  }
  const sameHtml = await readFile(join(root, 'same', 'report.html'), 'utf8');
  assert.is((sameHtml.match(/aria-roledescription="point"/g) ?? []).length, 4);

  const cross = await runCli(['experiment', 'cross-domain', '--a', a.images, '--labels-a', a.labels, '--b', b.images, '--labels-b', b.labels, '--name-a', 'near', '--name-b', 'deep', '--pairs', '3', ...FAST, '--out', join(root, 'cross')]);
  assert.is(cross.code, 0, cross.stderr);
  const crossJson = JSON.parse(await readFile(join(root, 'cross', 'results.json'), 'utf8'));
  assert.is(crossJson.crossPairs.length, 3);
  assert.equal(Object.keys(crossJson.samePairs), ['near', 'deep']);
  assert.is(crossJson.samePairs.deep.length, 3);
  const crossMd = await readFile(join(root, 'cross', 'results.md'), 'utf8');
  for (const s of crossJson.summary) {
    assert.ok(crossMd.includes(`| ${s.domain} | 3 | ${s.same.dice.mean.toFixed(3)} ± ${s.same.dice.std.toFixed(3)} |`));
  }

  const noise = await runCli(['experiment', 'noise', '--images', b.images, '--labels', b.labels, '--eps', '0,1.5', '--show', '1', ...FAST, '--out', join(root, 'noise')]);
  assert.is(noise.code, 0, noise.stderr);
  const noiseJson = JSON.parse(await readFile(join(root, 'noise', 'results.json'), 'utf8'));
  assert.equal(noiseJson.levels.map((l: { eps: number }) => l.eps), [0, 1.5]);
  assert.is(noiseJson.levels[0].similarity.mean, 1);
  const noiseHtml = await readFile(join(root, 'noise', 'report.html'), 'utf8');
  assert.is((noiseHtml.match(/src="data:image\/png;base64,/g) ?? []).length, 2 * 4);
  assert.is((await readdir(join(root, 'noise', 'figures'))).length, 2 * 4);
  });
});

test('bonestream experiment noise on a tiny DINO ViT: the report names the model and shows what the ViT sees', async () => {
  await inTempDir('bonestream-experiment-vit-', async (root) => {
  const a = await writeDomain(root, 'a', [20, 30]);
  const model = join(root, 'tiny.safetensors');
  await writeFile(model, makeTinyVit({ dim: 32, depth: 2, heads: 2, mlpDim: 64, seed: 9 }));
  const run = await runCli(['experiment', 'noise', '--images', a.images, '--labels', a.labels, '--backend', 'dino', '--model', model, '--layer', '1', '--load-size', '32', '--k', '2', '--eps', '0,2', '--show', '1', '--out', join(root, 'out')]);
  assert.is(run.code, 0, run.stderr);
  const json = JSON.parse(await readFile(join(root, 'out', 'results.json'), 'utf8'));
  assert.equal([json.setup.backend, json.setup.model, json.setup.layer, json.setup.facet], ['dino', model, 1, 'key']);
  assert.ok(json.levels[1].similarity.mean < 1);
  const markdown = await readFile(join(root, 'out', 'results.md'), 'utf8');
  assert.match(markdown, /DINO ViT .*tiny\.safetensors \(key of block 2, zero-based 1\)/);
  assert.match(markdown, /ImageNet-normalized/);
  // Per ε and pictured image: input, key PCA, head-mean attention, the two heads, mask.
  const html = await readFile(join(root, 'out', 'report.html'), 'utf8');
  assert.match(html, /<th>CLS attention per head<\/th>/);
  assert.is((html.match(/src="data:image\/png;base64,/g) ?? []).length, 2 * 5);
  assert.match(html, /heads 0–1/);
  });
});

test('noisyInput: at ε = 0 the resized image itself; noise grows with ε; the same seed gives the same draw', async () => {
  const { image } = scan(20, 1);
  for (const backend of ['dino', 'physics'] as const) {
    const clean = await noisyInput(backend, image, 32, { eps: 0, seed: 0 });
    assert.equal([clean.width, clean.height], [32, 32]);
    const resized = await resizeGray(image, { width: 32, height: 32 });
    const cleanError = clean.data.reduce((sum, v, i) => sum + Math.abs(v - resized.data[i]), 0) / clean.data.length;
    assert.ok(cleanError < 1, `${backend}: clean input off by ${cleanError}`);
    const change = async (eps: number) => {
      const noisy = await noisyInput(backend, image, 32, { eps, seed: 4 });
      return noisy.data.reduce((sum, v, i) => sum + Math.abs(v - clean.data[i]), 0) / noisy.data.length;
    };
    const [small, large] = [await change(0.1), await change(1)];
    assert.ok(small > 1 && large > 2 * small, `${backend}: ${small} then ${large}`);
    assert.equal((await noisyInput(backend, image, 32, { eps: 1, seed: 4 })).data, (await noisyInput(backend, image, 32, { eps: 1, seed: 4 })).data);
  }
});

test('bonestream experiment: a broken image or a label of the wrong size is left out, named, and fails the run after the rest', async () => {
  await inTempDir('bonestream-experiment-broken-', async (root) => {
  const a = await writeDomain(root, 'a', [20, 24, 28, 32]);
  await writeGrayPng(join(a.labels, 's1.png'), { width: 32, height: 32, data: new Uint8Array(1024) });
  await writeFile(join(a.images, 's2.png'), 'not an image');
  const out = join(root, 'out');
  const run = await runCli(['experiment', 'same-domain', '--images', a.images, '--labels', a.labels, '--sizes', '2', ...FAST, '--out', out]);
  assert.is(run.code, 1);
  assert.match(run.stderr, /s1\.png: left out of the experiment: its label .*s1\.png is 32×32 but the image is 64×64/);
  assert.match(run.stderr, /s2\.png: left out of the experiment: not a readable image/);
  const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
  assert.equal(json.images, ['s0', 's3']);
  assert.equal(json.leftOut.map((l: { file: string; error: boolean }) => [l.file.slice(-6), l.error]), [['s1.png', true], ['s2.png', true]]);
  assert.match(await readFile(join(out, 'results.md'), 'utf8'), /\*\*left out\*\*: .*s1\.png \(its label/);
  });
});

test('bonestream experiment: bad input is refused with the option and value', async () => {
  await inTempDir('bonestream-experiment-bad-', async (root) => {
  const a = await writeDomain(root, 'a', [20, 30]);
  const out = join(root, 'out');
  const tooBig = await runCli(['experiment', 'same-domain', '--images', a.images, '--labels', a.labels, '--sizes', '3,5', ...FAST, '--out', out]);
  assert.is(tooBig.code, 1);
  assert.match(tooBig.stderr, /--sizes 3,5: every size is larger than the 2 labelled images/);
  const noLabels = await runCli(['experiment', 'noise', '--images', a.images, '--labels', join(root, 'absent'), ...FAST, '--out', out]);
  assert.is(noLabels.code, 1);
  assert.match(noLabels.stderr, /--labels .*absent: not a directory/);
  const sameName = await runCli(['experiment', 'cross-domain', '--a', a.images, '--b', a.images, '--labels-a', a.labels, '--labels-b', a.labels, '--name-a', 'x', '--name-b', 'x', '--out', out]);
  assert.is(sameName.code, 1);
  assert.match(sameName.stderr, /--name-a and --name-b must differ/);
  await symlink(a.images, join(root, 'a-again'));
  for (const b of [a.images, `${a.images}/.`, join(root, 'a-again')]) {
    const sameFolder = await runCli(['experiment', 'cross-domain', '--a', a.images, '--b', b, '--labels-a', a.labels, '--labels-b', a.labels, ...FAST, '--out', out]);
    assert.is(sameFolder.code, 1, b);
    assert.match(sameFolder.stderr, /--a and --b are the same folder/, b);
  }
  const badSizes = await runCli(['experiment', 'same-domain', '--images', a.images, '--labels', a.labels, '--sizes', '2,0', '--out', out]);
  assert.is(badSizes.code, 1);
  assert.match(badSizes.stderr, /--sizes must be an integer in 1\.\.1000 \(got 0\)/);
  const twice = await runCli(['experiment', 'same-domain', '--images', a.images, '--labels', a.labels, '--sizes', '2,2', '--out', out]);
  assert.match(twice.stderr, /--sizes lists a value twice/);
  });
});

test.run();
