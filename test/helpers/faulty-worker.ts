import { Worker } from 'node:worker_threads';
import type { WorkerInit } from '../../src/server/worker-messages.js';

const FAULTY_ENTRY = new URL('./faulty-worker-entry.mjs', import.meta.url);

export interface FaultyWorkers {
  /** For `startServer`'s or `Inference`'s `createWorker`: each worker it starts can fail on command. */
  createWorker(init: WorkerInit): Worker;
  /** 'throw' raises inside the newest worker, 'exit' terminates it. */
  fault(kind: 'throw' | 'exit'): Promise<void>;
}

/** Inference workers that crash when a test says so; the product's worker has no such command. */
export function faultyWorkers(): FaultyWorkers {
  let newest: Worker | undefined;
  return {
    createWorker(init) {
      newest = new Worker(FAULTY_ENTRY, { workerData: init });
      return newest;
    },
    async fault(kind) {
      if (kind === 'throw') newest?.postMessage({ type: 'test-fault' });
      else await newest?.terminate();
    },
  };
}
