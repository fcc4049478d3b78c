import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeSafetensors, parseSafetensors, readSafetensors, halfToFloat } from '../src/vit/safetensors.js';
import { thrownUserErrorMessage, userErrorMessage } from './helpers/user-error.js';

/** Raw safetensors bytes from a header object and a data section, for malformed files. */
function rawFile(header: unknown, data: Buffer, headerText = JSON.stringify(header)): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(headerText)));
  return Buffer.concat([length, Buffer.from(headerText), data]);
}

function refusal(bytes: Buffer, file = 'bad.safetensors'): string {
  return thrownUserErrorMessage(() => parseSafetensors(bytes, file).read('w'));
}

const f32 = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);

test('round-trips F32 tensors and metadata, header padded so the data stays 4-byte aligned', () => {
  const a = Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5);
  const b = Float32Array.of(-1e-30, 3.5e38, 0);
  const bytes = encodeSafetensors({ a: { shape: [3, 4], data: a }, 'x.y.bias': { shape: [3], data: b } }, { num_heads: '3' });
  assert.is(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  const file = parseSafetensors(bytes, 'm.safetensors');
  assert.equal(file.metadata, { num_heads: '3' });
  assert.equal([...file.entries.keys()], ['a', 'x.y.bias']);
  assert.equal(file.entries.get('a')?.shape, [3, 4]);
  assert.equal(Array.from(file.read('a')), Array.from(a));
  assert.equal(Array.from(file.read('x.y.bias')), Array.from(b));
});

test('reads tensors at unaligned offsets (an odd header length) by copying', () => {
  const bytes = rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32([1.5, -2]), '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} ');
  assert.is((8 + Number(bytes.readBigUInt64LE(0))) % 4 !== 0, true);
  assert.equal(Array.from(parseSafetensors(bytes, 'u').read('w')), [1.5, -2]);
});

test('converts F16 to float32: normals, subnormals, signed zero, infinities, NaN', () => {
  const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x3555, 0x7e00];
  const raw = Buffer.alloc(halves.length * 2);
  halves.forEach((h, i) => raw.writeUInt16LE(h, 2 * i));
  const bytes = encodeSafetensors({ w: { shape: [halves.length], dtype: 'F16', raw } });
  const values = Array.from(parseSafetensors(bytes, 'h').read('w'));
  const expected = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, -0, Infinity, -Infinity, 0.333251953125];
  assert.equal(values.slice(0, 9), expected);
  assert.ok(Object.is(values[5], -0));
  assert.ok(Number.isNaN(values[9]));
  assert.is(halfToFloat(0x3555), 0.333251953125);
});

test('refuses a file shorter than the 8-byte header length', () => {
  assert.match(refusal(Buffer.from([1, 2, 3])), /bad\.safetensors: .*3 bytes, shorter than the 8-byte header length/);
});

test('refuses an absurd header length', () => {
  const bytes = Buffer.alloc(64);
  bytes.writeBigUInt64LE(2n ** 40n);
  assert.match(refusal(bytes), /bad\.safetensors: .*header length 1099511627776 does not fit \(file has 64 bytes\)/);
});

test('refuses a header that is not JSON, or not a JSON object', () => {
  assert.match(refusal(rawFile(null, Buffer.alloc(0), '{"w": {dtype')), /bad\.safetensors: .*header is not JSON/);
  assert.match(refusal(rawFile([1, 2], Buffer.alloc(0))), /header is not a JSON object/);
});

test('refuses bad entries: unknown dtype, bad shape, offsets that disagree with shape × dtype', () => {
  const data = f32([1, 2]);
  assert.match(refusal(rawFile({ w: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, data)), /tensor w: unknown dtype "F33"/);
  assert.match(refusal(rawFile({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data)), /tensor w: bad shape \[-2\]/);
  assert.match(refusal(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, data)), /tensor w: bad data_offsets \[8,0\]/);
  assert.match(
    refusal(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data)),
    /bad\.safetensors: .*tensor w: F32 \[3\] needs 12 bytes, data_offsets span 8/,
  );
  assert.match(refusal(rawFile({ __metadata__: { n: 3 } }, Buffer.alloc(0))), /__metadata__ must map strings to strings/);
});

test('refuses overlapping tensors, holes and trailing bytes', () => {
  const overlapping = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, v: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
  assert.match(refusal(rawFile(overlapping, f32([1, 2, 3]))), /tensor v overlaps the tensor before it/);
  const hole = { w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
  assert.match(refusal(rawFile(hole, f32([1, 2]))), /4 unused bytes before tensor w/);
  const trailing = { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } };
  assert.match(refusal(rawFile(trailing, f32([1, 2]))), /4 bytes after the last tensor/);
});

test('a truncated file names the file and the first tensor it lost', () => {
  const bytes = encodeSafetensors({
    first: { shape: [4], data: new Float32Array(4) },
    w: { shape: [8], data: new Float32Array(8) },
  });
  const message = refusal(bytes.subarray(0, bytes.length - 5), 'cut.safetensors');
  assert.match(message, /^cut\.safetensors: truncated: tensor w needs bytes 16\.\.48 of the data section, which has 43$/);
});

test('refuses to read BF16 and I64 tensors, naming the tensor and the dtype', () => {
  const bytes = encodeSafetensors({
    ok: { shape: [1], data: Float32Array.of(1) },
    w: { shape: [2], dtype: 'BF16', raw: new Uint8Array(4) },
    ids: { shape: [1], dtype: 'I64', raw: new Uint8Array(8) },
  });
  const file = parseSafetensors(bytes, 'mixed.safetensors');
  assert.equal(Array.from(file.read('ok')), [1]);
  assert.throws(() => file.read('w'), /mixed\.safetensors: tensor w has dtype BF16; only F32 and F16 weights are supported/);
  assert.throws(() => file.read('ids'), /tensor ids has dtype I64/);
  assert.throws(() => file.read('nope'), /mixed\.safetensors: no tensor nope/);
});

test('readSafetensors names a file it cannot read', async () => {
  const message = await userErrorMessage(readSafetensors('/nonexistent/dir/w.safetensors'));
  assert.match(message, /\/nonexistent\/dir\/w\.safetensors: cannot read weights \(ENOENT\)/);
});

test.run();
