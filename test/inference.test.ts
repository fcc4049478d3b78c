import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Worker } from 'node:worker_threads';
import { Inference, startWorker, type InferenceResult } from '../src/server/inference.js';
import { DEFAULTS } from '../src/config.js';
import { DEFAULT_MASK } from '../src/surface/stage.js';
import { renderPhantom, phantomDefaults } from '../src/phantom/index.js';
import { PHYSICS } from './helpers/live.js';
import { waitFor } from './helpers/videos.js';

const BANK = { window: DEFAULTS.window, tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: DEFAULTS.seed, k: 'auto' as const };

test('the product\'s worker obeys no fault command: a message asking it to fail changes nothing, its masks keep coming', async () => {
  let worker: Worker | undefined;
  const inference = new Inference({
    request: PHYSICS,
    bank: BANK,
    mask: DEFAULT_MASK,
    backoffMs: { initial: 100, max: 100 },
    createWorker: (init) => (worker = startWorker(init)),
  });
  try {
    await inference.start();
    // What a test used to send to make the worker throw, and any other message it does not know.
    worker!.postMessage({ type: 'fail', message: 'injected fault' });
    worker!.postMessage({ type: 'test-fault' });
    const masks: InferenceResult[] = [];
    inference.on('mask', (result: InferenceResult) => masks.push(result));
    const image = renderPhantom(phantomDefaults(96, 80, 3), 0).image;
    inference.submit({ seq: 7, ptsMs: 0, image, arrivedAt: performance.now() });
    await waitFor('the mask of the frame sent after the messages', () => masks.length > 0, 20_000);
    const result = masks[0];
    assert.is(result.seq, 7);
    assert.is(inference.restarts, 0);
    assert.is(inference.state, 'running');
  } finally {
    await inference.stop();
  }
});

test.run();
