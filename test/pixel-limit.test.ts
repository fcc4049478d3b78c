import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { readGray } from '../src/io/image.js';
import { readFeaturesFiles, writeFeaturesFiles, featuresPaths } from '../src/io/features-files.js';
import { MAX_PIXELS } from '../src/limits.js';
import { startDecoder } from '../src/ingest/decoder.js';
import { parseSource } from '../src/ingest/source.js';
import { ffmpegPath } from '../src/ingest/ffmpeg-path.js';
import { UserError } from '../src/util/errors.js';
import { tempDir } from './helpers/videos.js';
import { writeGrayCine } from './helpers/dicom.js';

/**
 * One pixel limit: a small file whose header claims a huge image is refused from
 * the header, naming the file, before anything is allocated for its pixels.
 */
const dir = tempDir('bonestream-pixels-');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const OVER = /over the limit of 33\.2 Mpx/;

async function refusal(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

/** A PNG of a signature, an IHDR claiming width×height (8-bit gray), one byte of pixel data and IEND: a few dozen bytes. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1))), chunk('IEND', Buffer.alloc(0))]);
}

test('an image (or a label: the same reader) whose header claims 8192×8192 is refused from its header, naming it', async () => {
  const path = join(dir, 'huge.png');
  writeFileSync(path, pngHeaderOnly(8192, 8192));
  const error = await refusal(() => readGray(path));
  assert.instance(error, UserError);
  assert.match(error.message, path);
  assert.match(error.message, OVER);
  assert.match(error.message, /8192×8192/);
});

test('a DICOM file whose Rows and Columns claim 8192×8192 (with 16 bytes of pixel data) is refused from its header, naming it', async () => {
  const path = join(dir, 'huge.dcm');
  writeFileSync(path, writeGrayCine([{ width: 8192, height: 8192, data: new Uint8Array(16) }], 33, 0.1));
  const error = await refusal(() => readGray(path));
  assert.instance(error, UserError);
  assert.match(error.message, path);
  assert.match(error.message, OVER);
});

test('a features file whose JSON claims a 60000×60000 original is refused, naming it', async () => {
  const features = { grid: [2, 2] as [number, number], dim: 1, descriptors: new Float32Array(4).fill(1), saliency: new Float32Array(4), geometry: { stride: 8, patchSize: 8, original: { width: 16, height: 16 }, resized: { width: 16, height: 16 } } };
  await writeFeaturesFiles(dir, 'claims', features, { backend: 'physics' } as Parameters<typeof writeFeaturesFiles>[3]);
  const { meta } = featuresPaths(dir, 'claims');
  writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(meta, 'utf8')), original: { width: 60_000, height: 60_000 } }));
  const error = await refusal(() => readFeaturesFiles(dir, 'claims'));
  assert.instance(error, UserError);
  assert.match(error.message, meta);
  assert.match(error.message, OVER);
});

test('a one-frame 8192×4608 video (more pixels than an 8K frame) is refused when ffmpeg opens it, naming it', async () => {
  assert.ok(8192 * 4608 > MAX_PIXELS);
  const path = join(dir, 'huge.mkv');
  execFileSync(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=8192x4608:d=0.04:r=25', '-frames:v', '1', '-c:v', 'ffv1', '-y', path]);
  const run = startDecoder(parseSource(path, {}));
  const error = await refusal(() => run.info);
  assert.match(error.message, 'huge.mkv');
  assert.match(error.message, OVER);
  await run.done;
});

test.run();
