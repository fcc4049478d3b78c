import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createProgress } from '../src/util/progress.js';
import { log } from '../src/util/log.js';

/** A stream that says it is a terminal and keeps what was written to it. */
function fakeTerminal(isTTY: boolean): NodeJS.WriteStream & { written: string } {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      stream.written += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { written: string };
  stream.written = '';
  Object.assign(stream, { isTTY, columns: 100, rows: 40 });
  return stream;
}

/**
 * What a terminal shows after `output`: the cursor moves and line clears that cli-progress
 * and readline write (CSI n G / A / B / C / D, 2K, 0K, 0J) applied to rows of text.
 */
function screen(output: string): string[] {
  const rows: string[] = [''];
  let [row, col] = [0, 0];
  const put = (text: string) => {
    const line = rows[row].padEnd(col);
    rows[row] = line.slice(0, col) + text + line.slice(col + text.length);
    col += text.length;
  };
  for (const [, csi, args, command, text] of output.matchAll(/(\x1b\[([\d;?]*)([A-Za-z]))|\x1b[78]|(\n|[^\x1b\n]+)/g)) {
    if (text === '\n') {
      row++;
      col = 0;
      rows[row] ??= '';
    } else if (text !== undefined) put(text);
    else if (csi && !args.startsWith('?')) {
      const n = Number(args.split(';')[0] || 1);
      if (command === 'G') col = n - 1;
      else if (command === 'A') row = Math.max(0, row - n);
      else if (command === 'B') row += n;
      else if (command === 'C') col += n;
      else if (command === 'D') col = Math.max(0, col - n);
      else if (command === 'K') rows[row] = args === '2' ? '' : rows[row].slice(0, col);
      else if (command === 'J') rows.length = row + 1;
      rows[row] ??= '';
    }
  }
  return rows.map((line) => line.trimEnd()).filter((line) => line !== '');
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function withLogLevel<T>(run: () => Promise<T>): Promise<T> {
  const [level, noBar] = [process.env.BONESTREAM_LOG, process.env.BONESTREAM_NO_PROGRESS];
  process.env.BONESTREAM_LOG = 'info';
  delete process.env.BONESTREAM_NO_PROGRESS;
  try {
    return await run();
  } finally {
    if (level === undefined) delete process.env.BONESTREAM_LOG;
    else process.env.BONESTREAM_LOG = level;
    if (noBar !== undefined) process.env.BONESTREAM_NO_PROGRESS = noBar;
  }
}

test('on a terminal: no ETA before the first step, log lines above the bar, and the bar ends full at the frames done', () =>
  withLogLevel(async () => {
    const terminal = fakeTerminal(true);
    // A video's frame count is estimated from its duration: here 24, and 23 come.
    const progress = createProgress('video', 24, undefined, {}, terminal);
    // A failed assertion must not leave the bar's redraw timer holding the test process.
    try {
      await sleep(150);
      assert.match(screen(terminal.written).at(-1)!, /^video \[.*\] 0\/24 0% ETA –$/);
      progress.update(5);
      log.info('a line logged while the bar is drawn');
      progress.update(9);
      await sleep(150);
      progress.update(20);
      log.warn('a line logged just before the end');
      progress.finish(23);
      assert.equal(
        screen(terminal.written).map((line) => line.replace(/^\S+Z /, '')),
        ['info  a line logged while the bar is drawn', 'warn  a line logged just before the end', screen(terminal.written).at(-1)],
      );
      assert.match(screen(terminal.written).at(-1)!, /^video \[█+\] 23\/23 100% ETA 0s$/);
    } finally {
      progress.stop();
    }
    // Logging goes to stderr again once the bar is gone.
    const written = terminal.written;
    const stderr = process.stderr.write;
    let after = '';
    process.stderr.write = ((chunk: string) => ((after += chunk), true)) as typeof process.stderr.write;
    try {
      log.info('after the bar');
    } finally {
      process.stderr.write = stderr;
    }
    assert.match(after, /info  after the bar\n$/);
    assert.is(terminal.written, written);
  }));

test('on a terminal: more done than an estimated total raises the total, never more than 100 %', () =>
  withLogLevel(async () => {
    const terminal = fakeTerminal(true);
    // A variable-rate video: duration × nominal rate said 8 frames, and 12 come.
    const progress = createProgress('video', 8, undefined, {}, terminal);
    try {
      progress.update(12);
      await sleep(150);
      assert.match(screen(terminal.written).at(-1)!, /^video \[█+\] 12\/12 100% ETA /);
      assert.not.match(terminal.written, '12/8');
      progress.finish(12);
      assert.match(screen(terminal.written).at(-1)!, /^video \[█+\] 12\/12 100% ETA 0s$/);
    } finally {
      progress.stop();
    }
  }));

test('off a terminal (a pipe, a log file) no bar is drawn', () =>
  withLogLevel(async () => {
    const pipe = fakeTerminal(false);
    const progress = createProgress('video', 24, undefined, {}, pipe);
    progress.update(5);
    await sleep(150);
    progress.finish(23);
    assert.is(pipe.written, '');
  }));

test.run();
