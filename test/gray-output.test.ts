import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { graySharp, writeGrayPng } from '../src/io/image.js';
import { REPO_ROOT } from './helpers/env.js';
import { tempDir } from './helpers/videos.js';
import { record, startPhantomServer, wsUrl } from './helpers/service.js';

/** Masks and frames are gray: one channel in every PNG and JPEG written, a third of the RGB bytes. */

/** PNG colour type (0 = gray, 2 = RGB) and bit depth, from the IHDR chunk. */
function pngColour(png: Uint8Array): { colourType: number; bitDepth: number } {
  assert.equal(Array.from(png.subarray(12, 16)), [...Buffer.from('IHDR')], 'IHDR first');
  return { colourType: png[25], bitDepth: png[24] };
}

/** Number of components in a baseline or progressive JPEG's frame header (SOF0..SOF2). */
function jpegComponents(jpeg: Uint8Array): number {
  for (let i = 2; i + 9 < jpeg.length; ) {
    assert.is(jpeg[i], 0xff, `a marker at byte ${i}`);
    const marker = jpeg[i + 1];
    if (marker >= 0xc0 && marker <= 0xc2) return jpeg[i + 9];
    i += 2 + ((jpeg[i + 2] << 8) | jpeg[i + 3]);
  }
  throw new Error('no frame header in the JPEG');
}

const image = { width: 40, height: 30, data: Uint8Array.from({ length: 1200 }, (_, i) => (i * 7) % 256) };

test('writeGrayPng writes an 8-bit gray PNG with the pixels unchanged', async () => {
  const path = join(tempDir(), 'mask.png');
  await writeGrayPng(path, image);
  const png = await readFile(path);
  assert.equal(pngColour(png), { colourType: 0, bitDepth: 8 });
  const { data, info } = await graySharp(image).raw().toBuffer({ resolveWithObject: true });
  assert.is(info.channels, 1);
  assert.ok(Buffer.from(image.data).equals(data));
});

test('graySharp JPEGs have one component', async () => {
  assert.is(jpegComponents(await graySharp(image).jpeg({ quality: 80 }).toBuffer()), 1);
});

test('the committed phantom images and labels are gray PNGs', async () => {
  const data = join(REPO_ROOT, 'fixtures/phantom-data');
  for (const folder of ['images', 'labels/surface', 'labels/region', 'labels/distractor']) {
    for (const name of await readdir(join(data, folder))) {
      assert.equal(pngColour(await readFile(join(data, folder, name))), { colourType: 0, bitDepth: 8 }, `${folder}/${name}`);
    }
  }
});

test('on the wire, frames are one-component JPEGs and masks gray PNGs', async () => {
  const server = await startPhantomServer();
  const client = record(wsUrl(server));
  try {
    const has = (type: string) => client.received.binary.some((m) => m.header.type === type);
    await client.until(() => has('frame') && has('mask'), 20_000, 'a frame and a mask');
    const frame = client.received.binary.find((m) => m.header.type === 'frame')!;
    const mask = client.received.binary.find((m) => m.header.type === 'mask')!;
    assert.is(jpegComponents(frame.payload), 1);
    assert.equal(pngColour(mask.payload), { colourType: 0, bitDepth: 8 });
  } finally {
    await client.close();
    await server.close();
  }
});

test.run();
