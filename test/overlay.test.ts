import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { overlayPng, drawPolylines, DEFAULT_OVERLAY } from '../src/segment/overlay.js';

test('overlay tints mask pixels over the gray image and leaves the rest gray', async () => {
  const image = { width: 3, height: 1, data: Uint8Array.from([0, 100, 200]) };
  const mask = { width: 3, height: 1, data: Uint8Array.from([0, 255, 0]) };
  const png = await overlayPng(image, mask, [], { color: [255, 0, 0], opacity: 0.5, line: { color: [0, 0, 255], width: 2 } });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.is(info.channels, 3);
  assert.equal(Array.from(data.subarray(0, 3)), [0, 0, 0]);
  assert.equal(Array.from(data.subarray(6, 9)), [200, 200, 200]);
  // 100 · (1 − α) + 255 · α with α = 128/255 in red, 100 · (1 − α) in green and blue.
  const alpha = 128 / 255;
  assert.ok(Math.abs(data[3] - (100 * (1 - alpha) + 255 * alpha)) <= 1, `red ${data[3]}`);
  assert.ok(Math.abs(data[4] - 100 * (1 - alpha)) <= 1, `green ${data[4]}`);
});

test('overlay refuses a mask of another size', async () => {
  const image = { width: 2, height: 2, data: new Uint8Array(4) };
  await overlayPng(image, { width: 2, height: 1, data: new Uint8Array(2) }).then(
    () => assert.unreachable('should refuse'),
    (error: Error) => assert.match(error.message, /mask is 2×1 but the image is 2×2/),
  );
});

test('drawPolylines: an anti-aliased line of the width centred on the points, nothing beyond it', () => {
  const [width, height] = [20, 11];
  const rgb = new Uint8Array(width * height * 3);
  const points = Array.from({ length: 11 }, (_, i) => ({ x: 4 + i, y: 5, confidence: 1 }));
  drawPolylines(rgb, width, height, [points], { color: [0, 200, 250], width: 2 });
  const blue = (x: number, y: number) => rgb[(y * width + x) * 3 + 2];
  assert.is(blue(8, 5), 250, 'on the line: the colour');
  assert.is(blue(8, 4), 125, 'one pixel off, its edge: half covered');
  assert.is(blue(8, 6), 125);
  assert.is(blue(8, 3), 0, 'beyond the width: untouched');
  assert.is(blue(3, 5), 125, 'half a pixel past the end');
  assert.is(blue(1, 5), 0);
  assert.is(rgb[(5 * width + 8) * 3], 0, 'red stays 0 under a colour without red');
  assert.throws(() => drawPolylines(new Uint8Array(3), 2, 2, [], DEFAULT_OVERLAY.line), /RGB buffer holds 3 bytes, not 2×2×3/);
});

test('overlayPng draws the surface line over the tinted mask', async () => {
  const image = { width: 8, height: 8, data: new Uint8Array(64).fill(100) };
  const mask = { width: 8, height: 8, data: new Uint8Array(64) };
  const line = Array.from({ length: 8 }, (_, x) => ({ x, y: 3, confidence: 1 }));
  const { data } = await sharp(await overlayPng(image, mask, [line])).raw().toBuffer({ resolveWithObject: true });
  assert.equal(Array.from(data.subarray((3 * 8 + 4) * 3, (3 * 8 + 4) * 3 + 3)), [...DEFAULT_OVERLAY.line.color]);
  assert.equal(Array.from(data.subarray((6 * 8 + 4) * 3, (6 * 8 + 4) * 3 + 3)), [100, 100, 100]);
});

test.run();
