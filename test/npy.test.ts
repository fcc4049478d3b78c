import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeNpy, decodeNpy } from '../src/io/npy.js';

test('npy round-trips a float32 array with its shape and a 64-byte aligned header', () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
  const bytes = encodeNpy({ shape: [2, 3, 4], data });
  const headerLength = bytes.readUInt16LE(8);
  assert.is((10 + headerLength) % 64, 0);
  assert.ok(bytes.subarray(10, 10 + headerLength).toString('latin1').includes("'shape': (2, 3, 4)"));
  const back = decodeNpy(bytes);
  assert.equal(back.shape, [2, 3, 4]);
  assert.equal(Array.from(back.data), Array.from(data));
});

test('npy writes a 1-D shape with the trailing comma numpy expects', () => {
  const bytes = encodeNpy({ shape: [3], data: new Float32Array(3) });
  assert.ok(bytes.toString('latin1').includes("'shape': (3,)"));
  assert.equal(decodeNpy(bytes).shape, [3]);
});

test('npy refuses a wrong dtype, a truncated body and a shape that does not match the data', () => {
  const good = encodeNpy({ shape: [4], data: new Float32Array(4) });
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 2), 'x.npy'), /x\.npy: shape \[4\] needs 16 bytes/);
  const f8 = Buffer.from(good);
  f8.write("'<f8'", f8.indexOf("'<f4'"), 'latin1');
  assert.throws(() => decodeNpy(f8, 'y.npy'), /y\.npy: only little-endian float32/);
  assert.throws(() => decodeNpy(Buffer.from('hello world'), 'z.npy'), /z\.npy: not a \.npy file/);
  assert.throws(() => encodeNpy({ shape: [5], data: new Float32Array(4) }), /holds 5 values/);
});

test('npy refuses a negative or fractional shape and a header cut short with a clear error, no RangeError', () => {
  const header = (shape: string, length?: number) => {
    const good = encodeNpy({ shape: [1], data: new Float32Array(1) });
    const text = good.subarray(10, 10 + good.readUInt16LE(8)).toString('latin1').replace("'shape': (1,)", `'shape': ${shape}`);
    const bytes = Buffer.concat([good.subarray(0, 10), Buffer.from(text, 'latin1')]);
    bytes.writeUInt16LE(length ?? text.length, 8);
    return bytes;
  };
  const cases: Array<[Buffer, RegExp]> = [
    // Claims 4 bytes more header than there are: with the shape (-1,) the byte count matched (-4 = -4).
    [header('(-1,)', header('(-1,)').length - 10 + 4), /a\.npy: the \.npy header is cut short/],
    [header('(-2, -2)'), /a\.npy: invalid shape \(-2, -2\)/],
    [header('(1.5,)'), /a\.npy: invalid shape \(1\.5,\)/],
    [Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]), Buffer.from([0, 0])]), /a\.npy: the \.npy header is cut short/],
    [Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0]), /a\.npy: unknown \.npy format version 9/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => decodeNpy(bytes, 'a.npy'), (error: Error) => error.name === 'UserError' && message.test(error.message), String(message));
  }
});

test.run();
