import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GrayImage } from '../src/types.js';
import { preprocess, normalize, IMAGENET_MEAN, IMAGENET_STD } from '../src/vit/preprocess.js';
import { resizedSize, resizeGray } from '../src/patches.js';

function ramp(width: number, height: number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = (x * 7 + y * 13) % 256;
  return { width, height, data };
}

test('the smaller edge becomes loadSize; the other keeps the aspect ratio, truncated like torchvision', () => {
  assert.equal(resizedSize({ width: 640, height: 480 }, 224), { width: 298, height: 224 }); // 224·640/480 = 298.67
  assert.equal(resizedSize({ width: 480, height: 640 }, 224), { width: 224, height: 298 });
  assert.equal(resizedSize({ width: 100, height: 100 }, 224), { width: 224, height: 224 });
  assert.equal(resizedSize({ width: 300, height: 224 }, 224), { width: 300, height: 224 });
});

test('no resampling when the smaller edge already equals loadSize: pixels pass untouched', async () => {
  const image = ramp(90, 64);
  const resized = await resizeGray(image, resizedSize(image, 64));
  assert.is(resized, image);
  const { input, resized: size } = await preprocess(image, 64);
  assert.equal(size, { width: 90, height: 64 });
  for (const i of [0, 17, 90 * 64 - 1]) {
    for (let c = 0; c < 3; c++) {
      const expected = (image.data[i] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
      assert.ok(Math.abs(input[c * 90 * 64 + i] - expected) < 1e-6, `channel ${c} pixel ${i}`);
    }
  }
});

test('resizing gives the computed size and keeps a flat image flat (Lanczos)', async () => {
  const flat: GrayImage = { width: 120, height: 80, data: new Uint8Array(120 * 80).fill(200) };
  const { input, resized } = await preprocess(flat, 48);
  assert.equal(resized, { width: 72, height: 48 });
  assert.is(input.length, 3 * 72 * 48);
  const expected = (200 / 255 - IMAGENET_MEAN[1]) / IMAGENET_STD[1];
  assert.ok(input.subarray(72 * 48, 2 * 72 * 48).every((v) => Math.abs(v - expected) < 1e-6));
});

test('ImageNet mean/std per channel, gray replicated to three channels (NCHW)', () => {
  const image: GrayImage = { width: 2, height: 1, data: new Uint8Array([0, 255]) };
  const x = normalize(image);
  assert.is(x.length, 6);
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(x[2 * c] - -IMAGENET_MEAN[c] / IMAGENET_STD[c]) < 1e-6, `black, channel ${c}`);
    assert.ok(Math.abs(x[2 * c + 1] - (1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]) < 1e-6, `white, channel ${c}`);
  }
});

test('noise eps·N(0,1) is seeded: same seed same input, other seed other input, spread ≈ eps', () => {
  const image = ramp(64, 64);
  const clean = normalize(image);
  const a = normalize(image, { eps: 0.5, seed: 3 });
  const b = normalize(image, { eps: 0.5, seed: 3 });
  const c = normalize(image, { eps: 0.5, seed: 4 });
  assert.equal(Array.from(a), Array.from(b));
  assert.not.equal(Array.from(a), Array.from(c));
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - clean[i];
    sum += d;
    sumSq += d * d;
  }
  const mean = sum / a.length;
  const std = Math.sqrt(sumSq / a.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.5) < 0.02, `std ${std}`);
  assert.equal(Array.from(normalize(image, { eps: 0, seed: 3 })), Array.from(clean), 'eps 0 adds nothing');
});

test.run();
