import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { log, routeLog, throttled } from '../src/util/log.js';
import { sleep } from './helpers/live.js';

test('throttled: at most N lines a second, the rest counted in one line when the second is over', async () => {
  const lines: string[] = [];
  routeLog((line) => lines.push(line));
  try {
    const emit = throttled(log.warn, 5, 'connects');
    for (let i = 0; i < 1000; i++) emit(`connect ${i}`);
    assert.is(lines.length, 5);
    await sleep(1200);
    assert.is(lines.length, 6);
    assert.match(lines[5], /995 more connects not logged \(limit 5 a second\)/);
    emit('connect again');
    assert.match(lines[6], /connect again/);
  } finally {
    routeLog(undefined);
  }
});

test.run();
