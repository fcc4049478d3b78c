import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeBinary, encodeMask, decodeBinary, type MaskContent, type MaskHeader } from '../src/wire/protocol.js';
import { POINT_BYTES } from '../src/wire/surface-points.js';
import type { SurfacePoint } from '../src/surface/types.js';
import { parseControl } from '../src/server/control.js';
import { Mailbox } from '../src/server/mailbox.js';
import { RateMeter } from '../src/wire/rate.js';

test('a frame message round-trips: u32 LE header length, JSON header, payload', () => {
  const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 255);
  const message = encodeBinary({ type: 'frame', seq: 41, pts: 4100 }, payload);
  const length = message.readUInt32LE(0);
  assert.is(JSON.parse(message.subarray(4, 4 + length).toString('utf8')).seq, 41);
  assert.is(message.length, 4 + length + payload.length);
  const decoded = decodeBinary(message);
  assert.equal(decoded.header, { type: 'frame', seq: 41, pts: 4100 });
  assert.equal([...decoded.payload], [...payload]);
});

const CONTENT: MaskContent = {
  seq: 41, pts: 4100, width: 256, height: 192, latencyMs: 12.5, salientClusters: [2, 5], k: 7, backend: 'physics', kind: 'surface',
};
const PNG = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 255);
/** Two runs of a line; coordinates on the 1/8-px grid and confidences on the 1/255 grid survive exactly. */
const POLYLINES: SurfacePoint[][] = [
  Array.from({ length: 40 }, (_, i) => ({ x: 10 + i, y: 100.125 + i / 4, confidence: (i * 6) / 255 })),
  [{ x: 254, y: 191.875, confidence: 1 }, { x: 255.5, y: 0, confidence: 0 }],
];

test('a mask message round-trips: PNG then 5 bytes per surface point, counts per polyline in the header', () => {
  const message = encodeMask(CONTENT, PNG, POLYLINES);
  const length = message.readUInt32LE(0);
  const header = JSON.parse(message.subarray(4, 4 + length).toString('utf8')) as MaskHeader;
  assert.equal(header, { type: 'mask', ...CONTENT, png: PNG.length, surface: [40, 2] });
  assert.is(message.length, 4 + length + PNG.length + POINT_BYTES * 42);
  const decoded = decodeBinary(message);
  assert.is(decoded.header.type, 'mask');
  if (decoded.header.type !== 'mask' || !('polylines' in decoded)) return;
  assert.equal(decoded.header, header);
  assert.equal([...decoded.payload], [...PNG], 'the payload is the PNG alone');
  assert.equal(decoded.polylines, POLYLINES);
});

test('surface points are quantized to 1/8 px and confidence to 1/255; a mask without a surface has none', () => {
  const decoded = decodeBinary(encodeMask(CONTENT, PNG, [[{ x: 3.3, y: 7.06, confidence: 0.5004 }, { x: 4, y: 7, confidence: 7 }]]));
  if (!('polylines' in decoded)) return assert.unreachable('a mask');
  assert.equal(decoded.polylines, [[{ x: 3.25, y: 7, confidence: 128 / 255 }, { x: 4, y: 7, confidence: 1 }]]);
  const none = decodeBinary(encodeMask({ ...CONTENT, kind: 'cells' }, PNG, []));
  if (!('polylines' in none)) return assert.unreachable('a mask');
  assert.equal(none.polylines, []);
  assert.equal([...none.payload], [...PNG]);
  assert.throws(() => encodeMask(CONTENT, PNG, [[{ x: -1, y: 0, confidence: 1 }]]), /surface point x must be in 0\.\.8191\.875 px \(got -1\)/);
  assert.throws(() => encodeMask(CONTENT, PNG, [[{ x: 0, y: NaN, confidence: 1 }]]), /surface point y .*got NaN/);
});

/** A mask message with its header fields replaced and its payload cut or extended. */
function tampered(fields: Record<string, unknown>, payloadEdit: (payload: Uint8Array) => Uint8Array = (p) => p): Uint8Array {
  const message = encodeMask(CONTENT, PNG, POLYLINES);
  const length = message.readUInt32LE(0);
  const header = { ...JSON.parse(message.subarray(4, 4 + length).toString('utf8')), ...fields };
  return encodeBinary(header as MaskHeader, payloadEdit(message.subarray(4 + length)));
}

test('decodeBinary refuses malformed mask messages, naming what is wrong', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [tampered({ kind: 'blob' }), /mask message: invalid kind \("blob"\)/],
    [tampered({ kind: undefined }), /invalid kind/],
    [tampered({ png: 10_000 }), /invalid png \(10000\)/],
    [tampered({ png: -1 }), /invalid png/],
    [tampered({ surface: [40, 1] }), /surface block is 210 bytes but the header lists 41 points \(205 bytes\)/],
    [tampered({ surface: [40, 3] }), /lists 43 points/],
    [tampered({ surface: [40, 2.5] }), /invalid surface/],
    [tampered({ surface: '40,2' }), /invalid surface/],
    [tampered({ surface: undefined }), /invalid surface/],
    [tampered({}, (p) => p.subarray(0, p.length - 1)), /surface block is 209 bytes/],
    [tampered({ width: 100 }), /surface polyline 1: point \(254, 191\.875\) lies outside the 100×192 frame/],
    [tampered({ height: 150.5 }), /invalid height/],
    [tampered({ height: 191 }), /point \(254, 191\.875\) lies outside the 256×191 frame/],
    [tampered({ seq: '41' }), /invalid seq/],
    [tampered({ pts: null }), /invalid pts/],
  ];
  for (const [message, reason] of cases) assert.throws(() => decodeBinary(message), reason, String(reason));
});

test('decodeBinary works on a view into a larger buffer (as browsers and ws hand them out)', () => {
  const inner = encodeBinary({ type: 'frame', seq: 3, pts: 300 }, Uint8Array.of(9, 8, 7));
  const outer = new Uint8Array(inner.length + 10);
  outer.set(inner, 5);
  const decoded = decodeBinary(outer.subarray(5, 5 + inner.length));
  assert.equal(decoded.header, { type: 'frame', seq: 3, pts: 300 });
  assert.equal([...decoded.payload], [9, 8, 7]);
  const mask = encodeMask(CONTENT, PNG, POLYLINES);
  const wrapped = new Uint8Array(mask.length + 3);
  wrapped.set(mask, 3);
  const unwrapped = decodeBinary(wrapped.subarray(3));
  assert.equal('polylines' in unwrapped && unwrapped.polylines, POLYLINES);
});

test('decodeBinary refuses truncated messages and unknown types', () => {
  assert.throws(() => decodeBinary(Uint8Array.of(1, 0)), /too short/);
  const message = encodeBinary({ type: 'frame', seq: 1, pts: 0 }, new Uint8Array(0));
  assert.throws(() => decodeBinary(message.subarray(0, message.length - 2)), /exceeds/);
  const json = Buffer.from('{"type":"other"}');
  const odd = Buffer.concat([Buffer.from([json.length, 0, 0, 0]), json]);
  assert.throws(() => decodeBinary(odd), /unknown binary message type "other"/);
  const notJson = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{no')]);
  assert.throws(() => decodeBinary(notJson), /header is not JSON/);
  assert.throws(() => decodeBinary(encodeBinary({ type: 'frame', seq: -1, pts: 0 }, new Uint8Array(0))), /frame message: invalid seq \(-1\)/);
});

test('control: valid messages parse to exactly what was sent', () => {
  assert.equal(parseControl('{"type":"control","tau":0.3,"votes":50,"window":12}'), {
    ok: true,
    message: { type: 'control', tau: 0.3, votes: 50, window: 12 },
  });
  assert.equal(parseControl('{"type":"reset"}'), { ok: true, message: { type: 'reset' } });
});

test('control: every malformed message is refused with a reason naming the field', () => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /not JSON/],
    ['[]', /invalid control message/],
    ['{"type":"shutdown"}', /type/],
    ['{"tau":0.3}', /type/],
    ['{"type":"control","tau":"0.3"}', /tau/],
    ['{"type":"control","tau":1.5}', /tau/],
    ['{"type":"control","votes":-1}', /votes/],
    ['{"type":"control","window":0}', /window/],
    ['{"type":"control","window":2.5}', /window/],
    ['{"type":"control","window":1000}', /window/],
    ['{"type":"control","tau":0.2,"extra":1}', /extra/],
    ['{"type":"reset","tau":0.2}', /tau/],
    ['{"type":"control"}', /at least one/],
  ];
  for (const [raw, reason] of cases) {
    const parsed = parseControl(raw);
    assert.is(parsed.ok, false, raw);
    if (!parsed.ok) assert.match(parsed.error, reason, raw);
  }
});

test('mailbox keeps only the newest item and counts the replaced ones', () => {
  const box = new Mailbox<number>();
  assert.is(box.take(), undefined);
  assert.equal(Array.from({ length: 5 }, (_, i) => box.put(i)), [false, true, true, true, true], 'put says when it replaced an item');
  assert.ok(box.waiting);
  assert.is(box.take(), 4);
  assert.is(box.take(), undefined);
  assert.is(box.replaced, 4);
});

test('rate meter: video rates, slow backends (under 1/s), and decay when events stop', () => {
  let now = 0;
  const meter = new RateMeter(10_000, 32, () => now);
  assert.is(meter.perSecond(), 0);
  for (let i = 0; i < 100; i++) {
    meter.mark();
    now += 100;
  }
  assert.ok(Math.abs(meter.perSecond() - 10) < 0.6, `≈ 10/s (got ${meter.perSecond()})`);
  const slow = new RateMeter(10_000, 32, () => now);
  for (let i = 0; i < 8; i++) {
    slow.mark();
    now += 1400;
  }
  assert.ok(Math.abs(slow.perSecond() - 1 / 1.4) < 0.1, `≈ 0.71/s (got ${slow.perSecond()})`);
  now += 20_000;
  assert.is(meter.perSecond(), 0);
  assert.is(slow.perSecond(), 0);
});

test.run();
