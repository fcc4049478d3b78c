import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeBinary, decodeBinary, type MaskHeader } from '../src/wire/protocol.js';
import { parseControl } from '../src/server/control.js';
import { Mailbox } from '../src/server/mailbox.js';
import { RateMeter } from '../src/wire/rate.js';

test('a binary message round-trips: u32 LE header length, JSON header, payload', () => {
  const header: MaskHeader = {
    type: 'mask', seq: 41, pts: 4100, width: 256, height: 192, latencyMs: 12.5, salientClusters: [2, 5], k: 7, backend: 'physics',
  };
  const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 255);
  const message = encodeBinary(header, payload);
  const length = message.readUInt32LE(0);
  assert.is(JSON.parse(message.subarray(4, 4 + length).toString('utf8')).seq, 41);
  assert.is(message.length, 4 + length + payload.length);
  const decoded = decodeBinary(message);
  assert.equal(decoded.header, header);
  assert.equal([...decoded.payload], [...payload]);
});

test('decodeBinary works on a view into a larger buffer (as browsers and ws hand them out)', () => {
  const inner = encodeBinary({ type: 'frame', seq: 3, pts: 300 }, Uint8Array.of(9, 8, 7));
  const outer = new Uint8Array(inner.length + 10);
  outer.set(inner, 5);
  const decoded = decodeBinary(outer.subarray(5, 5 + inner.length));
  assert.equal(decoded.header, { type: 'frame', seq: 3, pts: 300 });
  assert.equal([...decoded.payload], [9, 8, 7]);
});

test('decodeBinary refuses truncated messages and unknown types', () => {
  assert.throws(() => decodeBinary(Uint8Array.of(1, 0)), /too short/);
  const message = encodeBinary({ type: 'frame', seq: 1, pts: 0 }, new Uint8Array(0));
  assert.throws(() => decodeBinary(message.subarray(0, message.length - 2)), /exceeds/);
  const json = Buffer.from('{"type":"other"}');
  const odd = Buffer.concat([Buffer.from([json.length, 0, 0, 0]), json]);
  assert.throws(() => decodeBinary(odd), /unknown binary message type "other"/);
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
