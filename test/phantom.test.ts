import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  renderPhantom,
  phantomDefaults,
  stillOptions,
  stillName,
  PHANTOM_VIDEO,
  PHANTOM_VIDEO_FPS,
  PHANTOM_STILL_COUNT,
  type PhantomOptions,
} from '../src/phantom/index.js';
import { writeGrayPng } from '../src/io/image.js';
import { encodeGrayVideo } from '../src/phantom/video.js';
import { ffmpegPath } from '../src/ingest/ffmpeg-path.js';
import type { GrayImage } from '../src/types.js';
import { REPO_ROOT } from './helpers/env.js';
import { tempDir } from './helpers/videos.js';
import { runCli } from './helpers/cli.js';

const DATA = join(REPO_ROOT, 'fixtures/phantom-data');
const small: PhantomOptions = { ...phantomDefaults(96, 80, 5), loopFrames: 12 };

function count(mask: GrayImage): number {
  let n = 0;
  for (const v of mask.data) if (v) n++;
  return n;
}

function meanWhere(image: GrayImage, mask: (i: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < image.data.length; i++) {
    if (mask(i)) {
      sum += image.data[i];
      n++;
    }
  }
  return n ? sum / n : NaN;
}

/** x of the centre of mass of a mask. */
function centroidX(mask: GrayImage): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]) {
      sum += i % mask.width;
      n++;
    }
  }
  return sum / n;
}

test('renderPhantom is a pure function of (options, frame)', () => {
  const a = renderPhantom(small, 3);
  const b = renderPhantom({ ...small }, 3);
  for (const key of ['image', 'surface', 'region', 'distractor'] as const) {
    assert.equal(Buffer.compare(Buffer.from(a[key].data), Buffer.from(b[key].data)), 0, `${key} repeats`);
  }
  assert.not.equal(Buffer.compare(Buffer.from(a.image.data), Buffer.from(renderPhantom({ ...small, seed: 6 }, 3).image.data)), 0, 'another seed, another image');
  assert.not.equal(Buffer.compare(Buffer.from(a.image.data), Buffer.from(renderPhantom(small, 4).image.data)), 0, 'another frame, another image');
});

test('the committed still images and masks are byte-identical to a fresh render', async () => {
  const dir = tempDir('bonestream-phantom-');
  try {
    for (const index of [0, 1, PHANTOM_STILL_COUNT - 1]) {
      const frame = renderPhantom(stillOptions(PHANTOM_VIDEO, index), 0);
      const name = stillName(index);
      for (const [kind, committed] of [
        ['image', `images/${name}`],
        ['surface', `labels/surface/${name}`],
        ['region', `labels/region/${name}`],
        ['distractor', `labels/distractor/${name}`],
      ] as const) {
        const fresh = join(dir, `${kind}-${name}`);
        await writeGrayPng(fresh, frame[kind]);
        assert.ok((await readFile(fresh)).equals(await readFile(join(DATA, committed))), `${committed} matches the generator`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the manifest records the options of the committed set, which are PHANTOM_VIDEO', async () => {
  const manifest = JSON.parse(await readFile(join(DATA, 'manifest.json'), 'utf8'));
  assert.equal(manifest.phantom, { ...PHANTOM_VIDEO });
  assert.is(manifest.images.length, PHANTOM_STILL_COUNT);
  assert.equal(manifest.images[2], { file: `images/${stillName(2)}`, seed: PHANTOM_VIDEO.seed + 2, frame: 0 });
  assert.is(manifest.video.frames, PHANTOM_VIDEO.loopFrames);
  assert.is(manifest.video.fps, PHANTOM_VIDEO_FPS);
});

test('masks match the drawn geometry: a bright surface band over a dark shadow, a bright distractor over tissue', () => {
  for (let index = 0; index < 4; index++) {
    const { image, surface, region, distractor } = renderPhantom(stillOptions(PHANTOM_VIDEO, index), 0);
    const w = image.width;
    assert.ok(count(surface) > 200, 'a visible bone surface');
    assert.ok(count(distractor) > 100, 'a distractor line');
    for (let i = 0; i < surface.data.length; i++) {
      if (surface.data[i]) assert.ok(region.data[i], 'the surface lies in the bone region');
      if (distractor.data[i]) assert.not.ok(region.data[i], 'the distractor is not bone');
    }
    const tissue = meanWhere(image, (i) => !region.data[i] && !distractor.data[i] && Math.floor(i / w) > 20 && Math.floor(i / w) < 100);
    const bright = meanWhere(image, (i) => surface.data[i] > 0);
    // The shadow: 8–20 px under the bottom of the surface band, in the same column.
    const shadowed = meanWhere(image, (i) => {
      const x = i % w;
      const y = Math.floor(i / w);
      let bottom = -1;
      for (let above = y - 8; above >= Math.max(0, y - 20); above--) {
        if (surface.data[above * w + x]) {
          bottom = above;
          break;
        }
      }
      return bottom >= 0 && !surface.data[i] && !surface.data[(bottom + 1) * w + x];
    });
    const underDistractor = meanWhere(image, (i) => i >= 30 * w && distractor.data[i - 30 * w] > 0);
    assert.ok(bright > 1.5 * tissue, `surface (${bright.toFixed(0)}) brighter than tissue (${tissue.toFixed(0)})`);
    assert.ok(shadowed < 0.35 * tissue, `shadow (${shadowed.toFixed(0)}) dark next to tissue (${tissue.toFixed(0)})`);
    assert.ok(underDistractor > 0.6 * tissue, `tissue, not shadow, under the distractor (${underDistractor.toFixed(0)})`);
    // In every column the surface band is one run of surfaceThickness pixels (±1 for rounding).
    for (let x = 0; x < w; x++) {
      const rows = [];
      for (let y = 0; y < image.height; y++) if (surface.data[y * w + x]) rows.push(y);
      if (rows.length === 0) continue;
      assert.ok(Math.abs(rows.length - PHANTOM_VIDEO.surfaceThickness) <= 1, `column ${x}: band of ${rows.length} px`);
      assert.is(rows[rows.length - 1] - rows[0] + 1, rows.length, `column ${x}: one run`);
    }
  }
});

test('the surface is brightest at normal incidence (the top of the arc)', () => {
  const { image, surface } = renderPhantom({ ...stillOptions(PHANTOM_VIDEO, 0), noise: 0 }, 0);
  const w = image.width;
  const columns: Array<{ top: number; brightness: number }> = [];
  for (let x = 0; x < w; x++) {
    let top = -1;
    let sum = 0;
    let n = 0;
    for (let y = 0; y < image.height; y++) {
      if (!surface.data[y * w + x]) continue;
      if (top < 0) top = y;
      sum += image.data[y * w + x];
      n++;
    }
    if (n) columns.push({ top, brightness: sum / n });
  }
  const apexRow = Math.min(...columns.map((c) => c.top));
  const apex = columns.filter((c) => c.top <= apexRow + 1);
  const flank = columns.filter((c) => c.top >= apexRow + 12);
  const mean = (cs: typeof columns) => cs.reduce((s, c) => s + c.brightness, 0) / cs.length;
  assert.ok(flank.length > 0 && mean(apex) > mean(flank) + 10, `apex ${mean(apex).toFixed(0)} vs flank ${mean(flank).toFixed(0)}`);
});

test('probe motion: the bone drifts with the frame and the video loops after loopFrames', () => {
  const quarter = Math.round(PHANTOM_VIDEO.loopFrames / 4);
  const start = renderPhantom(PHANTOM_VIDEO, 0);
  const shifted = renderPhantom(PHANTOM_VIDEO, quarter);
  const drift = centroidX(start.surface) - centroidX(shifted.surface);
  assert.ok(Math.abs(drift - PHANTOM_VIDEO.drift) < 3, `a quarter cycle drifts the bone by ${drift.toFixed(1)} px (drift ${PHANTOM_VIDEO.drift})`);
  const next = renderPhantom(PHANTOM_VIDEO, 1);
  assert.ok(Math.abs(centroidX(next.surface) - centroidX(start.surface)) < 2, 'frame to frame the motion is small');
  const looped = renderPhantom(PHANTOM_VIDEO, PHANTOM_VIDEO.loopFrames);
  assert.ok(Buffer.from(looped.image.data).equals(Buffer.from(start.image.data)), 'frame loopFrames is frame 0');
  const noisy = { ...small, noise: 0.1 };
  assert.ok(Buffer.from(renderPhantom(noisy, 2 + small.loopFrames).image.data).equals(Buffer.from(renderPhantom(noisy, 2).image.data)), 'noise loops too');
});

test('noise ε changes the pixels, never the masks; without distractors there is no distractor', () => {
  const clean = renderPhantom(small, 0);
  const noisy = renderPhantom({ ...small, noise: 0.2 }, 0);
  assert.ok(Buffer.from(noisy.surface.data).equals(Buffer.from(clean.surface.data)));
  let diff = 0;
  for (let i = 0; i < clean.image.data.length; i++) diff += Math.abs(noisy.image.data[i] - clean.image.data[i]);
  assert.ok(diff / clean.image.data.length > 10, 'ε = 0.2 moves pixels by tens of gray levels');
  const plain = renderPhantom({ ...small, distractors: false }, 0);
  assert.is(count(plain.distractor), 0);
  assert.ok(count(plain.surface) > 0);
});

test('bad options are refused with the option and the value', () => {
  assert.throws(() => renderPhantom({ ...small, width: 8 }, 0), /width must be an integer in 32\.\.4096 \(got 8\)/);
  assert.throws(() => renderPhantom({ ...small, noise: -1 }, 0), /noise must be in 0\.\.1 \(got -1\)/);
  assert.throws(() => renderPhantom(small, -1), /frame must be a non-negative integer \(got -1\)/);
  assert.throws(() => renderPhantom({ ...small, bones: 3 as 1 }, 0), /bones must be 1, 2 or 'random' \(got 3\)/);
});

/** Decodes a video to 8-bit gray frames with the project's ffmpeg. */
async function decodeGray(path: string, width: number, height: number): Promise<Uint8Array[]> {
  const child = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.is(code, 0, 'ffmpeg decodes the video');
  const all = Buffer.concat(chunks);
  const size = width * height;
  return Array.from({ length: all.length / size }, (_, n) => new Uint8Array(all.subarray(n * size, (n + 1) * size)));
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / a.length));
}

test('decoded frame n of the committed video is renderPhantom(PHANTOM_VIDEO, n)', async () => {
  const frames = await decodeGray(join(DATA, 'video.mp4'), PHANTOM_VIDEO.width, PHANTOM_VIDEO.height);
  assert.is(frames.length, PHANTOM_VIDEO.loopFrames);
  for (const n of [0, 1, 37, PHANTOM_VIDEO.loopFrames - 1]) {
    const same = psnr(frames[n], renderPhantom(PHANTOM_VIDEO, n).image.data);
    const other = psnr(frames[n], renderPhantom(PHANTOM_VIDEO, (n + 3) % PHANTOM_VIDEO.loopFrames).image.data);
    assert.ok(same > 24, `frame ${n}: ${same.toFixed(1)} dB against its render`);
    assert.ok(same > other + 4, `frame ${n} matches render ${n} (${same.toFixed(1)} dB) far better than render ${n + 3} (${other.toFixed(1)} dB)`);
  }
});

test('an encoder that cannot write its video fails with ffmpeg\'s reason instead of waiting for ever', async () => {
  const frames: GrayImage[] = Array(20).fill(renderPhantom(PHANTOM_VIDEO, 0).image);
  const { width, height } = PHANTOM_VIDEO;
  const encoding = encodeGrayVideo('/nonexistent-bonestream-dir/video.mp4', frames, { width, height, fps: 10, crf: 28 });
  await encoding.then(
    () => assert.unreachable('the encode should fail'),
    (error: Error) => assert.match(error.message, /ffmpeg failed to encode .*video\.mp4 \(exit \d+\): .*No such file or directory/),
  );
});

test('bonestream phantom writes images, labels, video and manifest, and refuses a bad --size', async () => {
  const dir = tempDir('bonestream-phantom-cli-');
  try {
    const out = join(dir, 'set');
    const result = await runCli(['phantom', '--out', out, '--frames', '4', '--images', '2', '--size', '96x80', '--seed', '5', '--fps', '5']);
    assert.is(result.code, 0, result.stderr);
    for (const file of ['images/phantom-00.png', 'images/phantom-01.png', 'labels/surface/phantom-01.png', 'labels/region/phantom-00.png', 'labels/distractor/phantom-00.png', 'video.mp4', 'manifest.json']) {
      assert.ok(existsSync(join(out, file)), `${file} written`);
    }
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.phantom, { ...phantomDefaults(96, 80, 5), loopFrames: 4 });
    const frames = await decodeGray(join(out, 'video.mp4'), 96, 80);
    assert.is(frames.length, 4);

    const bad = await runCli(['phantom', '--out', join(dir, 'bad'), '--size', '95x80']);
    assert.is.not(bad.code, 0);
    assert.match(bad.stderr, /--size must be WxH with even numbers in 32\.\.4096, e\.g\. 256x256 \(got 95x80\)/);
    assert.not.ok(existsSync(join(dir, 'bad')), 'nothing written on bad input');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a second phantom set into the same --out leaves nothing of the first; other files there are kept unless --force', async () => {
  const dir = tempDir('bonestream-phantom-again-');
  const small = ['--size', '64x64', '--crf', '40'];
  const files = (sub: string) => readdirSync(join(dir, sub)).sort();
  try {
    assert.is((await runCli(['phantom', '--out', dir, '--images', '3', '--frames', '4', ...small])).code, 0);
    const second = await runCli(['phantom', '--out', dir, '--images', '1', '--frames', '0', '--no-distractors', ...small]);
    assert.is(second.code, 0, second.stderr);
    assert.equal(files('images'), ['phantom-00.png']);
    assert.equal(files('labels/surface'), ['phantom-00.png']);
    assert.equal(files('labels/distractor'), [], 'the first set\'s distractor labels are gone');
    assert.not.ok(existsSync(join(dir, 'video.mp4')), 'the first set\'s video is gone');

    writeFileSync(join(dir, 'images', 'scan.png'), 'mine');
    const refused = await runCli(['phantom', '--out', dir, '--images', '1', '--frames', '0', ...small]);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /--out .*: .*images\/scan\.png was not written by an earlier `bonestream phantom` run; .*--force/);
    assert.is(readFileSync(join(dir, 'images', 'scan.png'), 'utf8'), 'mine');
    assert.ok(existsSync(join(dir, 'images', 'phantom-00.png')), 'a refused run removes nothing');
    assert.is((await runCli(['phantom', '--out', dir, '--images', '1', '--frames', '0', '--force', ...small])).code, 0);
    assert.equal(files('images'), ['phantom-00.png']);

    const nothing = await runCli(['phantom', '--out', join(dir, 'empty'), '--images', '0', '--frames', '0']);
    assert.is(nothing.code, 1);
    assert.match(nothing.stderr, /--images 0 and --frames 0 leave nothing to write/);
    const proc = await runCli(['phantom', '--out', '/proc/bonestream-phantom', ...small]);
    assert.is(proc.code, 1);
    assert.match(proc.stderr, /--out \/proc\/bonestream-phantom: cannot create/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
