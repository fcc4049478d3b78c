import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkMethodSettings, rangeMessage, SETTING_RANGES } from '../src/settings.js';
import { parseControl } from '../src/server/control.js';
import { settingParser } from '../src/commands/parsers.js';
import { UserError } from '../src/util/errors.js';
import { startPhantomServer } from './helpers/service.js';
import { runCli } from './helpers/cli.js';

/** The method's settings have one range table; every entry point refuses the same values with the same words. */

test('one range per setting, at every entry point', () => {
  const cases: Array<[keyof typeof SETTING_RANGES, number]> = [
    ['tau', 1.5],
    ['votes', 101],
    ['window', 101],
    ['window', 0],
    ['seed', -1],
    ['k', 65],
  ];
  for (const [name, value] of cases) {
    const message = rangeMessage(name, value);
    assert.throws(() => checkMethodSettings({ [name]: value }), (error: Error) => error instanceof UserError && error.message === message, `${name} ${value}`);
    assert.throws(() => settingParser(name)(String(value)), (error: Error) => error.message === message, `${name} ${value} on the command line`);
  }
  assert.not.throws(() => checkMethodSettings({ tau: 1, votes: 0, window: 100, seed: 0, k: 'auto' }));
  assert.not.throws(() => checkMethodSettings({ k: 64 }));
  // A client may not ask for a window the command line refuses.
  const control = parseControl(JSON.stringify({ type: 'control', window: SETTING_RANGES.window.max + 1 }));
  assert.is(control.ok, false);
  assert.ok(parseControl(JSON.stringify({ type: 'control', window: SETTING_RANGES.window.max })).ok);
});

test('startServer refuses a bad setting before it starts anything, naming the option', async () => {
  const started = Date.now();
  let refused: unknown;
  try {
    const server = await startPhantomServer({ tau: 5 });
    await server.close();
  } catch (error) {
    refused = error;
  }
  assert.instance(refused, UserError);
  assert.is((refused as Error).message, '--tau must be a number in 0..1 (got 5)');
  assert.ok(Date.now() - started < 2000, 'no worker was started and waited for');
});

test('serve and video take the same --window range, and serve has --k and --seed', async () => {
  const video = await runCli(['video', 'absent.mp4', '--out', 'nowhere', '--window', '500']);
  assert.is(video.code, 1);
  assert.match(video.stderr, /--window must be an integer in 1\.\.100 \(got 500\)/);
  const serve = await runCli(['serve', '--help']);
  assert.match(serve.stdout, /--k <n\|auto>/);
  assert.match(serve.stdout, /--seed <n>/);
  assert.match(serve.stdout, /--window <n>/);
  const badK = await runCli(['serve', '--k', '0']);
  assert.is(badK.code, 1);
  assert.match(badK.stderr, /--k must be an integer in 1\.\.64 or auto \(got 0\)/);
});

test.run();
