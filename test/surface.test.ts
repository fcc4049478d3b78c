import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fft, fft2 } from '../src/physics/fft.js';
import { quantile } from '../src/physics/quantile.js';
import { traceColumns, type DpParams } from '../src/surface/tracer.js';
import { searchBand } from '../src/surface/search.js';
import { traceSurface, DEFAULT_SURFACE } from '../src/surface/trace.js';
import { surfaceMask, regionMask } from '../src/surface/masks.js';
import { runsOf, toSurface } from '../src/surface/polyline.js';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import { segmentImages } from '../src/eval/score.js';
import { dice, scoreMask } from '../src/eval/mask-scores.js';
import { DEFAULTS } from '../src/config.js';
import type { GrayImage } from '../src/types.js';
import { renderPhantom, stillOptions, PHANTOM_VIDEO, PHANTOM_STILL_COUNT } from '../src/phantom/index.js';
import { buildScene } from '../src/phantom/scene.js';
import { seededRandom } from '../src/util/random.js';

test('fft matches the direct DFT, and the inverse undoes it', () => {
  const n = 16;
  const random = seededRandom(3);
  const re = Float32Array.from({ length: n }, () => random() - 0.5);
  const im = Float32Array.from({ length: n }, () => random() - 0.5);
  const [r, i] = [re.slice(), im.slice()];
  fft(r, i, n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * j * k) / n;
      sr += re[j] * Math.cos(a) - im[j] * Math.sin(a);
      si += re[j] * Math.sin(a) + im[j] * Math.cos(a);
    }
    assert.ok(Math.abs(r[k] - sr) < 1e-5 && Math.abs(i[k] - si) < 1e-5, `bin ${k}`);
  }
  fft(r, i, n, true);
  for (let j = 0; j < n; j++) assert.ok(Math.abs(r[j] - re[j]) < 1e-6 && Math.abs(i[j] - im[j]) < 1e-6);
  assert.throws(() => fft(r, i, 12), /power of two \(got 12\)/);
});

test('fft2 with zero-padded rows skipped equals the full transform', () => {
  const [rows, cols, live] = [8, 4, 5];
  const random = seededRandom(4);
  const re = new Float32Array(rows * cols);
  for (let k = 0; k < live * cols; k++) re[k] = random();
  const full = [re.slice(), new Float32Array(rows * cols)];
  const skipped = [re.slice(), new Float32Array(rows * cols)];
  fft2(full[0], full[1], rows, cols);
  fft2(skipped[0], skipped[1], rows, cols, false, live);
  for (let k = 0; k < re.length; k++) assert.ok(Math.abs(full[0][k] - skipped[0][k]) < 1e-5 && Math.abs(full[1][k] - skipped[1][k]) < 1e-5);
  fft2(skipped[0], skipped[1], rows, cols, true, live);
  for (let k = 0; k < live * cols; k++) assert.ok(Math.abs(skipped[0][k] - re[k]) < 1e-5 && Math.abs(skipped[1][k]) < 1e-5);
});

test('quantile is within a histogram bin of the sorted value', () => {
  const random = seededRandom(5);
  const values = Float32Array.from({ length: 1001 }, () => random());
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.999]) assert.ok(Math.abs(quantile(values, q) - sorted[Math.round(q * 1000)]) < 2 / 4096, `q = ${q}`);
  assert.is(quantile(new Float32Array(4), 0.5), 0);
});

const DP: DpParams = { threshold: 0.15, slope: 0.02, maxStep: 3, switchCost: 2 };

/** Evidence [h × w] with value v on row(x) for the columns given. */
function ridge(w: number, h: number, row: (x: number) => number | undefined, v = 1): Float32Array {
  const map = new Float32Array(w * h);
  for (let x = 0; x < w; x++) {
    const y = row(x);
    if (y !== undefined) map[y * w + x] = v;
  }
  return map;
}

const open = (w: number, h: number) => ({ top: new Int32Array(w).fill(0), bottom: new Int32Array(w).fill(h - 1) });

test('DP: follows a ridge, bridges a short gap, leaves a lone speck and columns outside the band', () => {
  const [w, h] = [60, 30];
  const map = ridge(w, h, (x) => (x >= 10 && x < 50 && (x < 28 || x > 31) ? 10 + Math.floor(x / 10) : x === 58 ? 25 : undefined));
  const path = traceColumns(map, w, h, open(w, h), DP);
  for (let x = 10; x < 50; x++) if (x < 28 || x > 31) assert.is(path[x], 10 + Math.floor(x / 10), `column ${x}`);
  for (let x = 28; x <= 31; x++) assert.ok(path[x] >= 0, `gap column ${x} bridged`);
  for (const x of [0, 9, 51, 58, 59]) assert.is(path[x], -1, `column ${x} is OFF`);
  const band = open(w, h);
  band.top.fill(-1, 0, 30);
  band.bottom.fill(-1, 0, 30);
  const restricted = traceColumns(map, w, h, band, DP);
  for (let x = 0; x < 30; x++) assert.is(restricted[x], -1);
  assert.is(restricted[40], 14);
});

test('DP: the temporal prior holds the line against a slightly stronger rival and lets a clear move through', () => {
  const [w, h] = [40, 40];
  const near = ridge(w, h, () => 10, 0.6);
  const rival = ridge(w, h, () => 20, 0.7);
  const both = near.map((v, i) => Math.max(v, rival[i]));
  const prior = { rows: new Float32Array(w).fill(10), weight: 0.3, reach: 5 };
  assert.is(traceColumns(both, w, h, open(w, h), DP)[20], 20);
  assert.is(traceColumns(both, w, h, open(w, h), DP, prior)[20], 10);
  const strong = near.map((v, i) => Math.max(v, rival[i] > 0 ? 1 : 0));
  assert.is(traceColumns(strong, w, h, open(w, h), DP, prior)[20], 20);
});

test('searchBand: the cells widened sideways and in depth, nothing far from them', () => {
  const cells: GrayImage = { width: 100, height: 100, data: new Uint8Array(100 * 100) };
  for (let y = 40; y < 50; y++) for (let x = 40; x < 60; x++) cells.data[y * 100 + x] = 255;
  const band = searchBand(cells, 50, 50, { sideways: 3, above: 4, below: 6 });
  assert.is(band.top[25], 16);
  assert.is(band.bottom[25], 30);
  assert.is(band.top[17], 16);
  assert.is(band.top[16], -1);
  assert.is(band.top[33], -1);
});

test('masks: a band of the thickness centred on the line; the region from the band top down, closed below', () => {
  const rows = new Float32Array(20).fill(NaN);
  rows.fill(10, 5, 15);
  const surface = { width: 20, height: 40, rows, confidence: new Float32Array(20), polylines: [] };
  const band = surfaceMask(surface, { thickness: 4 });
  const column = (m: GrayImage, x: number) => [...Array(m.height).keys()].filter((y) => m.data[y * m.width + x]);
  assert.equal(column(band, 7), [8, 9, 10, 11]);
  assert.equal(column(band, 2), []);
  const region = regionMask(surface, { thickness: 4, depthRatio: 1 });
  assert.is(column(region, 10)[0], 8);
  assert.ok(column(region, 10).length > column(region, 5).length, 'deeper in the middle than at the ends');
  assert.ok(column(region, 10).at(-1)! <= 10 + 10, 'depth ≈ depthRatio × width');
  assert.throws(() => surfaceMask(surface, { thickness: 0 }), /thickness must be ≥ 1 px \(got 0\)/);
});

// The phantom stills through the physics backend's co-segmentation and the surface stage.
const stills = Array.from({ length: PHANTOM_STILL_COUNT }, (_, i) => ({ options: stillOptions(PHANTOM_VIDEO, i), frame: renderPhantom(stillOptions(PHANTOM_VIDEO, i), 0) }));
const outcome = await segmentImages(
  createPhysicsExtractor({ stride: DEFAULTS.stride, loadSize: DEFAULTS.loadSize }),
  stills.map((s, i) => ({ name: `still-${i}`, image: s.frame.image })),
  { k: 'auto', tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: 0, surfaceTolerancePx: 5 },
);
const surfaces = stills.map((s, i) => traceSurface({ gray: s.frame.image, cellMask: outcome.images[i].mask }));
/** The phantom's true surface band is PHANTOM_VIDEO.surfaceThickness px; its bones are flatter than a tibia, hence a shallower region prior. */
const PHANTOM_BAND = { thickness: PHANTOM_VIDEO.surfaceThickness, depthRatio: 0.6 };

test('phantom: surface P/R within 5 px ≥ 0.9, band Dice ≥ 0.8, region Dice ≥ 0.8 on every still', () => {
  for (const [i, s] of stills.entries()) {
    const scores = scoreMask(surfaceMask(surfaces[i], PHANTOM_BAND), s.frame.surface, 5);
    assert.ok(scores.surfacePrecision >= 0.9 && scores.surfaceRecall >= 0.9, `still ${i}: P ${scores.surfacePrecision.toFixed(3)} R ${scores.surfaceRecall.toFixed(3)}`);
    assert.ok(scores.dice >= 0.8, `still ${i}: band Dice ${scores.dice.toFixed(3)}`);
    const region = dice(regionMask(surfaces[i], PHANTOM_BAND), s.frame.region);
    assert.ok(region >= 0.8, `still ${i}: region Dice ${region.toFixed(3)}`);
  }
});

test('phantom: the fascia and the vessel are never traced, even with the whole frame searched', () => {
  for (const [i, s] of stills.entries()) {
    const { image, distractor } = s.frame;
    const everywhere: GrayImage = { ...image, data: new Uint8Array(image.data.length).fill(255) };
    const vessel = buildScene(s.options).vessel!;
    for (const surface of [surfaces[i], traceSurface({ gray: image, cellMask: everywhere })]) {
      for (let x = 0; x < surface.width; x++) {
        const y = surface.rows[x];
        if (Number.isNaN(y)) continue;
        // Within 4 px of the fascia band (its echo's ridge is inside it) …
        for (let d = -4; d <= 4; d++) {
          const r = Math.round(y) + d;
          assert.ok(r < 0 || r >= image.height || distractor.data[r * image.width + x] === 0, `still ${i}: column ${x} traced on the fascia`);
        }
        // … and not on the vessel's walls (the ellipse grown by 4 px; the stills have no probe drift).
        const q = ((x - vessel.cx) / (vessel.rx + 4)) ** 2 + ((y - vessel.cy) / (vessel.ry + 6)) ** 2;
        assert.ok(q > 1, `still ${i}: column ${x} row ${y.toFixed(1)} traced on the vessel`);
      }
    }
  }
});

test('phantom: polylines are the runs of rows, left to right, with confidences in 0..1', () => {
  for (const surface of surfaces) {
    const runs = runsOf(surface.rows);
    assert.is(surface.polylines.length, runs.length);
    surface.polylines.forEach((line, j) => {
      assert.is(line[0].x, runs[j][0]);
      assert.is(line.at(-1)!.x, runs[j][1] - 1);
      for (const p of line) assert.ok(p.y === surface.rows[p.x] && p.confidence > 0 && p.confidence <= 1);
    });
  }
  assert.throws(() => traceSurface({ gray: stills[0].frame.image, cellMask: { width: 2, height: 2, data: new Uint8Array(4) } }, DEFAULT_SURFACE), /cell mask is 2×2 but the frame is 256×256/);
});

test('a faint run beside a strong surface is dropped, a run of comparable strength kept', () => {
  const [w, h] = [100, 20];
  const image = { width: w, height: h, data: new Float32Array(w * h), scaleX: 1, scaleY: 1 };
  const traced = (secondStrength: number) => {
    const evidence = new Float32Array(w * h);
    const path = new Int32Array(w).fill(-1);
    for (let x = 0; x < 60; x++) (path[x] = 5), (evidence[5 * w + x] = 1);
    for (let x = 70; x < w; x++) (path[x] = 12), (evidence[12 * w + x] = secondStrength);
    const params = { minRun: 1, smoothing: 0, bias: 0, maxJump: 100, minShare: 0.3 };
    return toSurface(path, evidence, image, { width: w, height: h }, params).polylines.map((line) => [line[0].x, line.length]);
  };
  // 30 columns at 0.1 against 60 at 1: 5 % of the strongest run's evidence.
  assert.equal(traced(0.1), [[0, 60]]);
  // 30 columns at 0.9: 45 %, a second bone.
  assert.equal(traced(0.9), [[0, 60], [70, 30]]);
});

test.run();
