import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dicomLayout } from '../src/io/dicom/detect.js';
import { decodeRle } from '../src/io/dicom/rle.js';
import { describeDicom, isDicomFile, openDicom, readsAsDicom, type DicomFile } from '../src/io/dicom/file.js';
import { cropGray } from '../src/io/crop.js';
import { UserError } from '../src/util/errors.js';
import type { GrayImage } from '../src/types.js';
import { DICOM_DIR, PATIENT_STRINGS, psnr } from './helpers/dicom.js';
import { tempDir } from './helpers/videos.js';

/** The DICOM reader on files written by pydicom (fixtures/dicom/make-fixtures.py). */
const at = (name: string) => join(DICOM_DIR, name);

async function frames(file: DicomFile): Promise<GrayImage[]> {
  const out: GrayImage[] = [];
  for (let i = 0; i < file.frames; i++) out.push(await file.readFrame(i));
  return out;
}

async function refusal(path: string): Promise<UserError> {
  try {
    await openDicom(path);
  } catch (error) {
    assert.instance(error, UserError);
    return error as UserError;
  }
  throw new Error(`${path} was accepted`);
}

test('DICOM is known by content: preamble + DICM, or a bare dataset; not by the name', async () => {
  assert.is(dicomLayout(readFileSync(at('cine-rle.dcm'))), 'part10');
  assert.is(dicomLayout(readFileSync(at('IM0001'))), 'bare');
  assert.is(dicomLayout(readFileSync(at('not-dicom.dcm'))), undefined);
  assert.is(dicomLayout(new Uint8Array(200)), undefined, '200 zero bytes');
  assert.ok(await isDicomFile(at('IM0001')), 'a file with no extension');
  assert.not.ok(await isDicomFile(at('not-dicom.dcm')));
  assert.not.ok(await isDicomFile(at('make-fixtures.py')));
  assert.not.ok(await isDicomFile(DICOM_DIR), 'a folder is not DICOM (and does not throw)');
  assert.ok(await readsAsDicom(at('not-dicom.dcm')), 'a .dcm name sends it to the DICOM reader, whose error says what it is');
  assert.match((await refusal(at('not-dicom.dcm'))).message, `${at('not-dicom.dcm')}: not a DICOM file`);
});

test('8-bit MONOCHROME2 cine: every frame, the rate from FrameTime, the first tissue region (not the M-mode one) and its cm spacing in mm', async () => {
  const file = await openDicom(at('cine-mono8-region.dcm'));
  assert.is(file.frames, 10);
  assert.is(file.truncated, false);
  assert.equal(file.header.region, { x: 8, y: 4, width: 80, height: 56 });
  assert.equal(file.header.spacingMm, [0.2, 0.25]);
  assert.is(file.header.fps, 25);
  const all = await frames(file);
  assert.equal([all[0].width, all[0].height], [96, 64]);
  assert.not.equal(Array.from(all[0].data), Array.from(all[9].data), 'the frames differ (the surface moves)');
  assert.is(describeDicom(file), 'Phantom Devices PX-1, 10 frames 96×64, 25 fps, 0.2×0.25 mm/px (ultrasound region), Explicit VR Little Endian');
});

test('RLE Lossless decodes to exactly the uncompressed frames; no geometry means no spacing; CineRate gives the rate', async () => {
  const rle = await openDicom(at('cine-rle.dcm'));
  const raw = await frames(await openDicom(at('cine-mono8-region.dcm')));
  assert.is(rle.frames, 4);
  assert.is(rle.header.fps, 30);
  assert.is(rle.header.spacingMm, undefined);
  assert.is(rle.header.region, undefined);
  const decoded = await frames(rle);
  for (let i = 0; i < 4; i++) assert.ok(Buffer.from(decoded[i].data).equals(Buffer.from(raw[i].data)), `frame ${i} identical`);
});

test('JPEG Baseline YBR_FULL_422 cine: 12 frames near the uncompressed RGB and YBR_FULL screens, region crop and spacing', async () => {
  const jpeg = await openDicom(at('cine-jpeg-ybr422.dcm'));
  assert.is(jpeg.frames, 12);
  assert.is(jpeg.header.fps, 20);
  assert.equal(jpeg.header.region, { x: 16, y: 12, width: 96, height: 72 });
  assert.equal(jpeg.header.spacingMm, [0.15, 0.15]);
  const [first] = await frames(jpeg);
  const rgb = await (await openDicom(at('screen-rgb.dcm'))).readFrame(0);
  const ybr = await (await openDicom(at('screen-ybr-full.dcm'))).readFrame(0);
  // The same screen: RGB (interleaved) and YBR_FULL (by plane) agree to rounding, the JPEG to its loss.
  const worst = rgb.data.reduce((max, v, i) => Math.max(max, Math.abs(v - ybr.data[i])), 0);
  assert.ok(worst <= 1, `RGB and YBR_FULL luma differ by up to ${worst}`);
  const quality = psnr(first, rgb);
  assert.ok(quality > 30, `JPEG frame PSNR ${quality.toFixed(1)} dB`);
  const area = jpeg.header.region!;
  assert.ok(psnr(cropGray(first, area), cropGray(rgb, area)) > 30, 'the image area too');
});

test('16-bit MONOCHROME2 with 12 bits stored scales to 0..255; PixelSpacing (row\\column) gives x and y without a region', async () => {
  const file = await openDicom(at('mono16.dcm'));
  assert.equal(file.header.spacingMm, [0.25, 0.3]);
  assert.is(file.header.spacingFrom, 'PixelSpacing');
  assert.is(file.header.region, undefined);
  const image = await file.readFrame(0);
  const n = 64 * 48;
  for (const i of [0, 1, 1000, n - 1]) {
    const stored = Math.floor((i * 4095) / (n - 1));
    assert.is(image.data[i], Math.round((stored * 255) / 4095), `pixel ${i}`);
  }
});

test('MONOCHROME1 (a bare implicit-VR dataset) is inverted: white is 0', async () => {
  const mono1 = await (await openDicom(at('IM0001'))).readFrame(0);
  const sameScene = await (await openDicom(at('jpeg-bad-frame.dcm'))).readFrame(0);
  const inverted = { ...mono1, data: mono1.data.map((v) => 255 - v) };
  assert.ok(psnr(inverted, sameScene) > 30, `PSNR ${psnr(inverted, sameScene).toFixed(1)} dB against the same scene as MONOCHROME2 JPEG`);
});

test('uncompressed YBR_FULL_422 gives its luma samples: exactly the stored values of the MONOCHROME1 file of that scene', async () => {
  const ybr = await (await openDicom(at('ybr-full-422.dcm'))).readFrame(0);
  const mono1 = await (await openDicom(at('IM0001'))).readFrame(0);
  assert.equal([ybr.width, ybr.height], [64, 48]);
  // IM0001 stores the same samples and declares them MONOCHROME1, so it reads them inverted.
  assert.ok(Buffer.from(ybr.data).equals(Buffer.from(mono1.data.map((v) => 255 - v))));
});

test('JPEG 2000 is refused naming the transfer syntax and the converters', async () => {
  const { message } = await refusal(at('jpeg2000.dcm'));
  assert.match(message, at('jpeg2000.dcm'));
  assert.match(message, '1.2.840.10008.1.2.4.90 (JPEG 2000 Lossless) is not supported');
  assert.match(message, 'gdcmconv --raw');
  assert.match(message, 'dcmdjpeg');
});

test('a cut-off file yields its complete frames and says it is truncated; a header declaring a million frames allocates none of them; a cut header is refused', async () => {
  const cut = await openDicom(at('truncated.dcm'));
  assert.is(cut.header.frames, 10);
  assert.is(cut.frames, 3);
  assert.ok(cut.truncated);
  assert.is(cut.header.transferSyntax, '1.2.840.10008.1.2.1', 'the meta is read even when the dataset is cut');
  const whole = await openDicom(at('cine-mono8-region.dcm'));
  assert.equal(Array.from((await cut.readFrame(2)).data), Array.from((await whole.readFrame(2)).data));
  await cut.readFrame(3).then(() => assert.unreachable('frame 4 is not in the file'), (error: Error) => assert.instance(error, RangeError));

  const before = process.memoryUsage().arrayBuffers;
  const liar = await openDicom(at('too-many-frames.dcm'));
  assert.is(liar.header.frames, 1_000_000);
  assert.is(liar.frames, 2);
  assert.ok(liar.truncated);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no buffer of the declared 3 GB');
  const dir = tempDir('bonestream-dicom-');
  try {
    // Cut inside the header, before the pixel data.
    writeFileSync(join(dir, 'head.dcm'), readFileSync(at('cine-mono8-region.dcm')).subarray(0, 300));
    assert.match((await refusal(join(dir, 'head.dcm'))).message, /head\.dcm: truncated or corrupt DICOM/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FrameTimeVector times each frame by the sum of the intervals before it, not by FrameTime; the rate stays FrameTime\'s', async () => {
  const file = await openDicom(at('cine-frame-time-vector.dcm'));
  assert.equal(file.header.frameTimesMs, [0, 40, 80, 200, 220, 420]);
  assert.is(file.header.fps, 25, 'FrameTime 40 ms');
  assert.is(file.header.frameTimeVectorProblem, undefined);
  assert.is(file.facts.frameTimesFrom, 'FrameTimeVector');
  assert.match(describeDicom(file), '6 frames 48×32, 25 fps, frame times from FrameTimeVector, no pixel spacing');
});

test('a FrameTimeVector one value short, with a negative interval or with NaN is set aside with the reason; FrameTime still gives the rate', async () => {
  for (const [name, problem] of [
    ['frame-time-vector-short.dcm', 'FrameTimeVector has 2 values for 3 frames'],
    ['frame-time-vector-negative.dcm', "FrameTimeVector value 3 is '-10', not an interval in ms after the frame before"],
    ['frame-time-vector-not-a-number.dcm', "FrameTimeVector value 2 is 'NaN', not an interval in ms after the frame before"],
  ]) {
    const file = await openDicom(at(name));
    assert.is(file.header.frameTimeVectorProblem, problem, name);
    assert.is(file.header.frameTimesMs, undefined, name);
    assert.is(file.header.fps, 25, name);
    assert.is(file.frames, 3, `${name}: every frame is there`);
    assert.is(file.facts.frameTimesFrom, undefined, name);
  }
});

test('a damaged JPEG frame rejects with its number; the others decode', async () => {
  const file = await openDicom(at('jpeg-bad-frame.dcm'));
  assert.is(file.frames, 4);
  await file.readFrame(1);
  await file.readFrame(3);
  const error = await file.readFrame(2).then(() => undefined, (e: Error) => e);
  assert.match(error?.message ?? 'decoded', /^frame 3 cannot be decoded \(.+\)$/);
  assert.not.match(error!.message, '\n');
});

test('the facts carry no patient identifier', async () => {
  for (const name of ['cine-mono8-region.dcm', 'cine-jpeg-ybr422.dcm', 'IM0001', 'mono16.dcm']) {
    const file = await openDicom(at(name));
    const said = JSON.stringify(file.facts) + describeDicom(file) + JSON.stringify(file.header);
    for (const secret of PATIENT_STRINGS) assert.not.match(said, secret, `${name}: ${secret}`);
  }
  // The fixture does hold them, so the check above could fail.
  assert.match(readFileSync(at('cine-mono8-region.dcm')).toString('latin1'), PATIENT_STRINGS[0]);
});

test('RLE: PackBits runs and literals, and segments that do not fit are refused', () => {
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, 64, true);
  // literal of 2 (n = 1), run of 3 (n = -2), a no-op (-128), literal of 1
  const body = Uint8Array.from([1, 10, 20, 0xfe, 7, 0x80, 0, 9]);
  const fragment = new Uint8Array([...header, ...body]);
  assert.equal(Array.from(decodeRle(fragment, 1, 6)), [10, 20, 7, 7, 7, 9]);
  assert.throws(() => decodeRle(fragment, 1, 8), /RLE segment 1 ends after 6 of its 8 bytes/);
  assert.throws(() => decodeRle(fragment, 3, 6), /RLE frame has 1 segments; its pixel format needs 3/);
  assert.throws(() => decodeRle(fragment.subarray(0, 10), 1, 6), /shorter than its 64-byte header/);
});

test.run();
