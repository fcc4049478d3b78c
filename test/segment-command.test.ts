import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { renderPhantom, phantomDefaults, stillOptions } from '../src/phantom/index.js';
import { readGray, writeGrayPng } from '../src/io/image.js';
import { dice, iou, surfacePrecisionRecall } from '../src/eval/mask-scores.js';
import { runCli } from './helpers/cli.js';

let root = '';
let images: string[] = [];
let labels = '';

/** Three non-square phantom stills; labels (bone surface) for the first two only, plus an unreadable file. */
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bonestream-segment-'));
  labels = join(root, 'labels');
  await mkdir(labels);
  images = [];
  for (let i = 0; i < 3; i++) {
    const frame = renderPhantom(stillOptions(phantomDefaults(192, 160, 11), i), 0);
    const path = join(root, `scan-${i}.png`);
    await writeGrayPng(path, frame.image);
    if (i < 2) await writeGrayPng(join(labels, `scan-${i}.png`), frame.surface);
    images.push(path);
  }
  await writeFile(join(root, 'broken.png'), 'not an image');
});
test.after(() => rm(root, { recursive: true, force: true }));

test('segment: masks, overlays and metrics for a set; a missing label is warned about and left out; a bad image fails the run', async () => {
  const out = join(root, 'out');
  const { code, stdout, stderr } = await runCli([
    'segment', ...images, join(root, 'broken.png'), '--backend', 'physics', '--labels', labels, '--k', '4', '--out', out,
  ]);
  assert.is(code, 1, 'the unreadable image makes the exit code 1');
  assert.match(stderr, /broken\.png: skipped: not a readable image/);
  assert.match(stderr, /scan-2\.png: no label .*scan-2\.png; left out of the metrics/);
  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
  assert.is(metrics.backend, 'physics');
  assert.is(metrics.k, 4);
  assert.is(metrics.images.length, 3);
  assert.is(metrics.images[2].scores, null);
  assert.is(metrics.surfaceTolerancePx, 10);
  for (const i of [0, 1]) {
    const mask = await readGray(join(out, `scan-${i}.mask.png`));
    assert.is(mask.width, 192);
    assert.is(mask.height, 160);
    assert.ok(mask.data.every((v) => v === 0 || v === 255));
    const truth = await readGray(join(labels, `scan-${i}.png`));
    const scores = metrics.images[i].scores;
    assert.ok(Math.abs(scores.dice - dice(mask, truth)) < 1e-12);
    assert.ok(Math.abs(scores.iou - iou(mask, truth)) < 1e-12);
    assert.equal({ precision: scores.surfacePrecision, recall: scores.surfaceRecall }, surfacePrecisionRecall(mask, truth, 10));
    // The physics backend finds the phantom's bone surface.
    assert.ok(scores.dice > 0.4, `Dice ${scores.dice}`);
    assert.ok(scores.surfaceRecall > 0.6, `surface recall ${scores.surfaceRecall}`);
  }
  const meanDice = (metrics.images[0].scores.dice + metrics.images[1].scores.dice) / 2;
  assert.ok(Math.abs(metrics.mean.dice - meanDice) < 1e-12);
  assert.match(stdout, /scan-0\s+\d\.\d{3}/);
  assert.match(stdout, new RegExp(`mean \\(2 images\\)\\s+${metrics.mean.dice.toFixed(3)}`));
  const overlay = await sharp(join(out, 'scan-2.overlay.png')).metadata();
  assert.equal([overlay.width, overlay.height, overlay.channels], [192, 160, 3]);
});

test('segment: --mm-per-px turns the tolerance into mm (default 2 mm)', async () => {
  const out = join(root, 'mm');
  const { code, stderr } = await runCli(['segment', images[0], images[1], '--backend', 'physics', '--labels', labels, '--mm-per-px', '0.25', '--out', out]);
  assert.is(code, 0, stderr);
  assert.is(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')).surfaceTolerancePx, 8);
  const { stdout } = await runCli(['segment', images[0], images[1], '--backend', 'physics', '--labels', labels, '--mm-per-px', '0.25', '--out', out]);
  assert.match(stdout, /mean \(2 images\)/);
  assert.match(stdout, /surface tolerance 2 mm \(8 px at 0\.25 mm\/px\)/);
  const one = await runCli(['segment', images[0], '--backend', 'physics', '--labels', labels, '--out', out], 'info');
  assert.match(one.stdout, /mean \(1 image\)/);
  assert.match(one.stderr, /segment: 1 image,/);
  assert.match(one.stdout, /surface tolerance 10 px\n/);
  const custom = await runCli(['segment', images[0], '--backend', 'physics', '--mm-per-px', '0.5', '--tolerance', '1', '--out', out]);
  assert.is(custom.code, 0, custom.stderr);
  assert.is(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')).surfaceTolerancePx, 2);
});

test('segment: bad inputs are named', async () => {
  const out = join(root, 'bad');
  const noLabels = await runCli(['segment', images[0], '--backend', 'physics', '--labels', join(root, 'nowhere'), '--out', out]);
  assert.is(noLabels.code, 1);
  assert.match(noLabels.stderr, /--labels .*nowhere: no such directory/);
  const none = await runCli(['segment', join(root, 'broken.png'), '--backend', 'physics', '--out', out]);
  assert.is(none.code, 1);
  assert.match(none.stderr, /no readable input image/);
  const wrongSize = join(root, 'wrong-labels');
  await mkdir(wrongSize);
  await writeGrayPng(join(wrongSize, 'scan-0.png'), { width: 20, height: 20, data: new Uint8Array(400) });
  const mismatch = await runCli(['segment', images[0], images[1], '--backend', 'physics', '--labels', wrongSize, '--out', out]);
  assert.is(mismatch.code, 1);
  assert.match(mismatch.stderr, /scan-0\.png: skipped: label .*scan-0\.png is 20×20 but the image is 192×160/);
  const tiny = join(root, 'tiny.png');
  await writeGrayPng(tiny, { width: 1, height: 1, data: new Uint8Array(1) });
  const tooSmall = await runCli(['segment', tiny, '--backend', 'physics', '--out', out]);
  assert.is(tooSmall.code, 1);
  assert.match(tooSmall.stderr, /tiny\.png: skipped: 1×1 pixels is too small to segment \(at least 16×16/);
  const tolerance = await runCli(['segment', images[0], '--tolerance', '-1', '--out', out]);
  assert.match(tolerance.stderr, /--tolerance must be a number in 0\.\.10000 \(got -1\)/);
});

test.run();
