import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc64, crc64Update, crcHex, CRC64_INIT } from '../src/igtl/crc64.js';
import { HEADER_BYTES, decodeHeader, encodeMessage, fracToNanosec, nanosecToFrac, timestampOfMs } from '../src/igtl/header.js';
import { IDENTITY_AXES, IMAGE_HEADER_BYTES, decodeImageBody, encodeImageBody } from '../src/igtl/image.js';
import { toGray } from '../src/igtl/gray.js';

/** Produced by fixtures/igtl/make_golden.cpp with the reference OpenIGTLink library. */
interface Golden {
  crc64: { ascii?: string; hex?: string; crc: string }[];
  nanosecToFrac: [number, number][];
  fracToNanosec: [number, number][];
  images: { name: string; pixelBytes: string; message: string }[];
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/igtl/golden.json', import.meta.url), 'utf8')) as Golden;
const image = (name: string) => {
  const found = golden.images.find((entry) => entry.name === name)!;
  return { message: Buffer.from(found.message, 'hex'), pixels: Buffer.from(found.pixelBytes, 'hex') };
};

test('CRC-64 ECMA-182 matches the reference library, whole and in chunks', () => {
  for (const entry of golden.crc64) {
    const bytes = entry.ascii !== undefined ? Buffer.from(entry.ascii, 'latin1') : Buffer.from(entry.hex!, 'hex');
    assert.is(crcHex(crc64(bytes)), entry.crc, `${bytes.length} bytes`);
    const cut = Math.floor(bytes.length / 3);
    assert.is(crcHex(crc64Update(crc64Update(CRC64_INIT, bytes.subarray(0, cut)), bytes.subarray(cut))), entry.crc);
  }
});

test('timestamp fractions convert exactly as the reference does', () => {
  for (const [nanos, frac] of golden.nanosecToFrac) assert.is(nanosecToFrac(nanos), frac, `${nanos} ns`);
  for (const [frac, nanos] of golden.fracToNanosec) assert.is(fracToNanosec(frac), nanos, `fraction ${frac}`);
});

test('a mask IMAGE message is byte for byte what the reference packs', () => {
  const { message, pixels } = image('mask-uint8');
  const body = encodeImageBody(
    { width: 5, height: 3, data: pixels },
    { spacing: [0.25, 0.5, 1], axes: IDENTITY_AXES, position: [0, 0, 0] },
  );
  const encoded = encodeMessage({ type: 'IMAGE', device: 'BoneMask', timestamp: { seconds: 1700000000, nanos: 123456789 } }, body);
  assert.is(encoded.toString('hex'), message.toString('hex'));
});

test('the header decodes the reference fields: type, device, timestamp, body size, CRC', () => {
  const { message } = image('uint16-le');
  const header = decodeHeader(message);
  assert.is(header.version, 1);
  assert.is(header.type, 'IMAGE');
  assert.is(header.device, 'Image_Reference');
  assert.ok(Math.abs(header.timestampS - 1600000000.5) < 1e-6, String(header.timestampS));
  assert.is(header.bodyBytes, message.length - HEADER_BYTES);
  assert.is(crcHex(header.crc), crcHex(crc64(message.subarray(HEADER_BYTES))));
});

test('IMAGE bodies of every accepted type decode with their geometry', () => {
  const decode = (name: string) => decodeImageBody(image(name).message.subarray(HEADER_BYTES));
  const u16 = decode('uint16-le');
  assert.is(u16.scalarType, 'uint16');
  assert.is(u16.bigEndian, false);
  assert.equal(u16.size, [4, 3, 1]);
  assert.equal(u16.subvolume.size, [4, 3, 1]);
  assert.equal(u16.geometry.spacing.map((s) => +s.toFixed(6)), [0.1, 0.2, 1]);
  assert.equal(u16.geometry.axes, [[1, 0, 0], [0, -1, 0], [0, 0, -1]]);
  assert.equal(u16.geometry.position, [10, -20, 30]);
  assert.is(decode('int16-be').scalarType, 'int16');
  assert.equal(decode('int16-be').geometry.axes[0], [0, 1, 0]);
  assert.is(decode('int8').scalarType, 'int8');
  const rgb = decode('float32-be-rgb');
  assert.is(rgb.components, 3);
  assert.is(rgb.scalarType, 'float32');
  assert.is(rgb.bigEndian, true);
  assert.is(decode('uint8-rgb').components, 3);
});

test('toGray: 8-bit kept exactly (int8 shifted by 128), wider types stretched min..max, RGB to luma', () => {
  const decode = (name: string) => decodeImageBody(image(name).message.subarray(HEADER_BYTES));
  const { pixels: int8Bytes } = image('int8');
  assert.equal([...toGray(decode('int8')).data], [...new Int8Array(int8Bytes.buffer, int8Bytes.byteOffset, int8Bytes.length)].map((v) => v + 128));

  const { pixels: u16Bytes } = image('uint16-le');
  const u16 = Array.from({ length: 12 }, (_, i) => u16Bytes.readUInt16LE(2 * i));
  const [min, max] = [Math.min(...u16), Math.max(...u16)];
  const gray = toGray(decode('uint16-le'));
  assert.is(gray.width, 4);
  assert.is(gray.height, 3);
  assert.equal([...gray.data], u16.map((v) => Math.round(((v - min) * 255) / (max - min))));

  const { pixels: rgbBytes } = image('uint8-rgb');
  const luma = Array.from({ length: 6 }, (_, p) => Math.round(0.299 * rgbBytes[3 * p] + 0.587 * rgbBytes[3 * p + 1] + 0.114 * rgbBytes[3 * p + 2]));
  assert.equal([...toGray(decode('uint8-rgb')).data], luma);

  const floats = toGray(decode('float32-be-rgb')).data;
  assert.is(floats.length, 4);
  assert.ok(floats.every((v) => v >= 0 && v <= 255));
});

test('a decoded body re-encodes to the same bytes (mask geometry survives the round trip)', () => {
  const body = image('mask-uint8').message.subarray(HEADER_BYTES);
  const decoded = decodeImageBody(body);
  const again = encodeImageBody({ width: 5, height: 3, data: decoded.pixels }, decoded.geometry);
  assert.is(again.toString('hex'), Buffer.from(body).toString('hex'));
});

test('malformed IMAGE bodies are refused with a reason', () => {
  const body = Buffer.from(image('mask-uint8').message.subarray(HEADER_BYTES));
  assert.throws(() => decodeImageBody(body.subarray(0, 40)), /72-byte header/);
  assert.throws(() => decodeImageBody(body.subarray(0, body.length - 1)), /needs 15 pixel bytes \(got 14\)/);
  const badType = Buffer.from(body);
  badType[3] = 9;
  assert.throws(() => decodeImageBody(badType), /scalar type 9/);
  const outside = Buffer.from(body);
  outside.writeUInt16BE(4, 60);
  assert.throws(() => decodeImageBody(outside), /sub-volume/);
  const u32 = Buffer.from(body);
  u32[3] = 7;
  assert.throws(() => toGray({ ...decodeImageBody(Buffer.concat([u32, Buffer.alloc(45)])) }), /not supported/);
  assert.is(IMAGE_HEADER_BYTES, 72);
});

test('epoch milliseconds become whole seconds and nanoseconds', () => {
  assert.equal(timestampOfMs(1700000000123.5), { seconds: 1700000000, nanos: 123500000 });
  assert.equal(timestampOfMs(0), { seconds: 0, nanos: 0 });
});

test('names that do not fit the header are refused when encoding', () => {
  assert.throws(() => encodeMessage({ type: 'IMAGE', device: 'x'.repeat(21), timestamp: timestampOfMs(0) }, Buffer.alloc(0)), /at most 20/);
  assert.throws(() => encodeMessage({ type: 'IMAGE', device: 'é', timestamp: timestampOfMs(0) }, Buffer.alloc(0)), /printable ASCII/);
});

test.run();
