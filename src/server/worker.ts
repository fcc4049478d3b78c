import { parentPort, workerData } from 'node:worker_threads';
import { openExtractor } from '../backend.js';
import { StreamPipeline, traceStage } from '../stream/pipeline.js';
import { EvidenceThread } from '../stream/evidence-thread.js';
import { UserError, errorMessage } from '../util/errors.js';
import type { Extractor } from '../types.js';
import type { WorkerInit, ToWorker, FromWorker } from './worker-messages.js';

/**
 * The inference worker: the stream pipeline (src/stream/pipeline.ts), one frame at a time. The
 * main thread sends a frame only when the previous mask came back, so frames never queue
 * here; errors escape as uncaught exceptions and the main thread restarts the worker.
 */
const port = parentPort!;
const init = workerData as WorkerInit;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

let extractor: Extractor;
try {
  extractor = await openExtractor(init.request);
} catch (error) {
  send({ type: 'fatal', message: errorMessage(error), user: error instanceof UserError });
  process.exit(1);
}
// A mask of cells needs no evidence map, and the physics backend computes it for its saliency.
const evidence = init.mask.kind === 'cells' || extractor.backend === 'physics' ? undefined : new EvidenceThread();
const pipeline = new StreamPipeline(extractor, {
  bank: init.bank,
  surface: traceStage(init.mask),
  evidence: evidence && ((gray) => evidence.compute(gray)),
});
send({ type: 'ready', backend: extractor.backend, model: extractor.model });

/** The frame being segmented; a stop waits for it (terminating native inference mid-run aborts the process). */
let current: Promise<void> = Promise.resolve();

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'frame':
      current = segment(message);
      break;
    case 'update':
      pipeline.update(message.options);
      break;
    case 'reset':
      pipeline.reset();
      break;
    case 'stop':
      void current
        .catch(() => undefined)
        .then(() => Promise.all([extractor.dispose(), evidence?.close()]))
        .finally(() => port.close());
      break;
  }
});

async function segment(message: Extract<ToWorker, { type: 'frame' }>): Promise<void> {
  const result = await pipeline.process(message);
  // The mask's buffer is handed over, not copied; slice() when it is a view of a larger one.
  const data = result.mask.data.byteLength === result.mask.data.buffer.byteLength ? result.mask.data : result.mask.data.slice();
  send(
    {
      type: 'mask',
      seq: result.seq,
      ptsMs: result.ptsMs,
      mask: { width: result.mask.width, height: result.mask.height, data },
      kind: result.kind,
      polylines: result.surface?.polylines ?? [],
      k: result.bank.k,
      salientClusters: result.bank.salientClusters,
      timing: result.timing,
    },
    [data.buffer as ArrayBuffer],
  );
}
