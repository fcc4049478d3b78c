// The product's inference worker with one addition for tests: a `{ type: 'test-fault' }`
// message makes it throw from a message handler, as a crashing backend would. Registered
// before the worker's own handler, so it throws before the worker looks at the message.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (message) => {
  if (message?.type === 'test-fault') throw new Error('injected fault');
});
await import('../../src/server/worker-entry.mjs');
