import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isShowinfoLine, parseShowinfo, runClock } from '../src/ingest/showinfo.js';
import { FrameSplitter } from '../src/ingest/frame-splitter.js';

test('showinfo frame lines give the size and time, in the current and the 2018 builds\' wording; its other lines give nothing', () => {
  const current = '[Parsed_showinfo_1 @ 0x5646deb69740] n:   7 pts:  63000 pts_time:0.7     duration:   3000 duration_time:0.0333333 pos:    25380 fmt:gray sar:1/1 s:320x200 i:P iskey:0 type:P';
  const old = '[Parsed_showinfo_1 @ 0x2bda48c0] n:   0 pts:  90000 pts_time:1       pos:    31396 fmt:gray sar:1/1 s:640x480 i:P iskey:1 type:I checksum:CA6F3898 plane_checksum:[CA6F3898] mean:[128 ] stdev:[83.4 ]';
  assert.equal(parseShowinfo(current), { width: 320, height: 200, ptsS: 0.7 });
  assert.equal(parseShowinfo(old), { width: 640, height: 480, ptsS: 1 });
  assert.equal(parseShowinfo('[Parsed_showinfo_1 @ 0x1] n:   0 pts:NOPTS pts_time:NOPTS pos: -1 fmt:gray sar:0/1 s:64x48 i:P iskey:1 type:I'), { width: 64, height: 48, ptsS: undefined });
  for (const other of [
    '[Parsed_showinfo_1 @ 0x5646deb69740] config in time_base: 1/90000, frame_rate: 10/1',
    '[Parsed_showinfo_1 @ 0x5646deb69740] color_range:pc color_space:unknown color_primaries:unknown color_trc:unknown',
    '    Stream #0:0: Video: rawvideo (Y800 / 0x30303859), gray, 640x480, q=2-31, 24576 kb/s, 10 fps, 10 tbn',
  ]) assert.is(parseShowinfo(other), undefined, other);
  assert.ok(isShowinfoLine('[Parsed_showinfo_1 @ 0x5646deb69740] color_range:pc color_space:unknown'), 'kept out of the failure reasons');
  assert.not.ok(isShowinfoLine('[h264 @ 0x5646deb69740] error while decoding MB 2 11'));
});

test('a run\'s clock: the stream\'s pts from its first frame; a frame without one comes a nominal interval after the previous', () => {
  const clock = runClock(10);
  assert.equal([1.4, 1.5, 2.25, 7.5].map((s) => Math.round(clock(s) * 1000) / 1000), [0, 100, 850, 6100], 'variable intervals are kept');
  const untimedFirst = runClock(25);
  assert.equal([undefined, undefined, 3, 3.04, undefined].map((s) => untimedFirst(s)).map(Math.round), [0, 40, 80, 120, 160]);
});

test('the splitter cuts frames of the sizes announced, waits for a frame\'s line, and drops bytes no line announced', async () => {
  const splitter = new FrameSplitter(Promise.resolve(), (facts) => facts.width * facts.height, (data, facts) => ({ data: Array.from(data), facts }));
  const out: Array<{ data: number[] }> = [];
  splitter.on('data', (frame) => out.push(frame));
  const ended = new Promise((resolve) => splitter.on('end', resolve));
  splitter.announce({ width: 2, height: 1, ptsS: 0 });
  splitter.write(Buffer.from([1, 2, 3, 4, 5]));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(out.map((f) => f.data), [[1, 2]], 'the bytes after the first frame wait for their line');
  splitter.announce({ width: 1, height: 3, ptsS: 0.1 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(out.map((f) => f.data), [[1, 2], [3, 4, 5]]);
  splitter.write(Buffer.from([6]));
  splitter.closeAnnouncements();
  splitter.end();
  await ended;
  assert.is(out.length, 2, 'a byte without a line is no frame');
});

test.run();
