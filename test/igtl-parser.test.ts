import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HEADER_BYTES, HeaderError, encodeMessage, type MessageHeader } from '../src/igtl/header.js';
import { MessageParser, type ProblemKind } from '../src/igtl/parser.js';

const golden = JSON.parse(readFileSync(new URL('../fixtures/igtl/golden.json', import.meta.url), 'utf8')) as { images: { name: string; message: string }[] };
const reference = (name: string) => Buffer.from(golden.images.find((entry) => entry.name === name)!.message, 'hex');

function collect(maxBodyBytes = 1 << 20, wants: (header: MessageHeader) => boolean = (header) => header.type === 'IMAGE') {
  const messages: { header: MessageHeader; content: Uint8Array }[] = [];
  const problems: ProblemKind[] = [];
  const parser = new MessageParser({ maxBodyBytes }, {
    wants,
    message: (header, content) => messages.push({ header, content: content.slice() }),
    problem: (kind) => problems.push(kind),
  });
  return { parser, messages, problems };
}

/** Deterministic chunk sizes 1..97: messages must come out the same however TCP cuts them. */
function feedInChunks(parser: MessageParser, bytes: Buffer): void {
  let seed = 11;
  for (let offset = 0; offset < bytes.length; ) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const size = 1 + (seed % 97);
    parser.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
}

test('reference messages come out whole, in order, however the stream is cut', () => {
  const stream = Buffer.concat(['mask-uint8', 'uint16-le', 'float32-be-rgb'].map(reference));
  const { parser, messages, problems } = collect();
  feedInChunks(parser, stream);
  assert.equal(problems, []);
  assert.equal(messages.map((m) => m.header.device), ['BoneMask', 'Image_Reference', 'Video']);
  assert.is(Buffer.from(messages[1].content).toString('hex'), reference('uint16-le').subarray(HEADER_BYTES).toString('hex'));
  assert.not.ok(parser.midMessage);
});

test('a wrong CRC drops that message only; the next one arrives', () => {
  const bad = Buffer.from(reference('mask-uint8'));
  bad[bad.length - 1] ^= 0xff;
  const { parser, messages, problems } = collect();
  feedInChunks(parser, Buffer.concat([bad, reference('int8')]));
  assert.equal(problems, ['crc']);
  assert.equal(messages.map((m) => m.header.device), ['Probe']);
});

test('a huge declared body is skipped as it streams, never allocated', () => {
  const huge = Buffer.from(reference('mask-uint8').subarray(0, HEADER_BYTES));
  huge.writeBigUInt64BE(1n << 40n, 42);
  const { parser, messages, problems } = collect(1024);
  parser.push(huge);
  // A terabyte is not allocated (that would throw); the parser counts it and waits out its bytes.
  for (let i = 0; i < 100; i++) parser.push(Buffer.alloc(65536));
  assert.equal(problems, ['oversize']);
  assert.is(messages.length, 0);
  assert.ok(parser.midMessage, 'still skipping the declared body');
});

test('a body just over the limit is skipped exactly, and the stream stays in step', () => {
  const big = encodeMessage({ type: 'IMAGE', device: 'Big', timestamp: { seconds: 1, nanos: 0 } }, Buffer.alloc(2000, 7));
  const { parser, messages, problems } = collect(1999);
  feedInChunks(parser, Buffer.concat([big, reference('int8')]));
  assert.equal(problems, ['oversize']);
  assert.equal(messages.map((m) => m.header.device), ['Probe']);
});

test('unknown types and unwanted devices are skipped; the wanted ones still arrive', () => {
  const status = encodeMessage({ type: 'STATUS', device: 'Tracker', timestamp: { seconds: 1, nanos: 0 } }, Buffer.alloc(30, 1));
  const transform = encodeMessage({ type: 'TRANSFORM', device: 'Probe', timestamp: { seconds: 1, nanos: 0 } }, Buffer.alloc(48, 2));
  const { parser, messages, problems } = collect(1 << 20, (header) => header.type === 'IMAGE' && header.device === 'Probe');
  feedInChunks(parser, Buffer.concat([status, reference('mask-uint8'), transform, reference('int16-be')]));
  assert.equal(problems, ['skipped', 'skipped', 'skipped']);
  assert.equal(messages.map((m) => m.header.device), ['Probe']);
});

test('a stream that ends mid-message counts one truncation; the parser starts afresh', () => {
  const message = reference('mask-uint8');
  const { parser, messages, problems } = collect();
  parser.push(message.subarray(0, 70));
  parser.end();
  parser.push(message.subarray(0, 20));
  parser.end();
  assert.equal(problems, ['truncated', 'truncated']);
  parser.push(message);
  assert.is(messages.length, 1);
  parser.end();
  assert.is(problems.length, 2, 'a clean end is no truncation');
});

test('bytes that cannot be a header throw HeaderError: the stream is out of step', () => {
  const { parser, problems } = collect();
  const garbage = Buffer.from(reference('mask-uint8'));
  garbage.writeUInt16BE(0x4745, 0);
  assert.throws(() => parser.push(garbage), (error: unknown) => error instanceof HeaderError && /version/.test((error as Error).message));
  const binaryName = Buffer.from(reference('mask-uint8'));
  binaryName[16] = 0x01;
  assert.throws(() => collect().parser.push(binaryName), /non-printable/);
  assert.equal(problems, ['header']);
});

test('version 2 bodies: the extended header and metadata are cut off the content', () => {
  const content = Buffer.from('content!');
  const extended = Buffer.alloc(12);
  extended.writeUInt16BE(12, 0);
  extended.writeUInt16BE(10, 2);
  extended.writeUInt32BE(3, 4);
  const body = Buffer.concat([extended, content, Buffer.alloc(13, 9)]);
  const message = encodeMessage({ type: 'IMAGE', device: 'V2', timestamp: { seconds: 1, nanos: 0 } }, body);
  message.writeUInt16BE(2, 0);
  const { parser, messages, problems } = collect();
  parser.push(message);
  assert.equal(problems, []);
  assert.is(Buffer.from(messages[0].content).toString(), 'content!');
  const lyingBody = Buffer.from(body);
  lyingBody.writeUInt32BE(1000, 4);
  const lying = encodeMessage({ type: 'IMAGE', device: 'V2', timestamp: { seconds: 1, nanos: 0 } }, lyingBody);
  lying.writeUInt16BE(2, 0);
  const second = collect();
  second.parser.push(lying);
  assert.equal(second.problems, ['malformed']);
  assert.is(second.messages.length, 0);
});

test.run();
