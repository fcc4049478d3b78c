import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { overlayPng } from '../src/segment/overlay.js';

test('overlay tints mask pixels over the gray image and leaves the rest gray', async () => {
  const image = { width: 3, height: 1, data: Uint8Array.from([0, 100, 200]) };
  const mask = { width: 3, height: 1, data: Uint8Array.from([0, 255, 0]) };
  const png = await overlayPng(image, mask, { color: [255, 0, 0], opacity: 0.5 });
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

test.run();
