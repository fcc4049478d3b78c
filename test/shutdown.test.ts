import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SHUTDOWN, checkShutdownTimes } from '../src/server/shutdown.js';

/** The 2-s shutdown promise depends on numbers that used to live in three files: their order is checked. */
test('the shutdown times keep the 2-s promise, and a wrong order is refused', () => {
  assert.not.throws(() => checkShutdownTimes(SHUTDOWN));
  assert.ok(SHUTDOWN.promiseMs <= 2000, 'README promises 2 s');
  assert.throws(() => checkShutdownTimes({ ...SHUTDOWN, workerGraceMs: SHUTDOWN.deadlineMs }), /worker grace 1800 ms/);
  assert.throws(() => checkShutdownTimes({ ...SHUTDOWN, clientCloseMs: 5000 }), /out of order/);
  assert.throws(() => checkShutdownTimes({ ...SHUTDOWN, deadlineMs: SHUTDOWN.promiseMs }), /before the 2000-ms promise/);
});

test.run();
