import { Worker } from 'node:worker_threads';
import { adoptEvidence, hasEvidence, DEFAULT_EVIDENCE, type EvidenceParams } from '../physics/evidence.js';
import type { Evidence, GrayImage } from '../types.js';
import { errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';

const ENTRY = new URL('./evidence-worker-entry.mjs', import.meta.url);

export interface EvidenceRequest {
  id: number;
  image: GrayImage;
}

export interface EvidenceReply {
  id: number;
  evidence: Evidence;
}

/**
 * The surface stage's evidence map (src/physics/evidence.ts) of a frame, computed on a thread
 * of its own while the rolling bank runs: the map depends on the frame alone and the bank on
 * the features alone, so on two cores they take one each instead of one after the other. The
 * map is adopted for the frame, and the surface stage finds it there. compute() never rejects:
 * once the thread is gone (an error, close()) it resolves at once and the stage computes the
 * map itself, as it does without this thread.
 */
export class EvidenceThread {
  /** Frames whose map came from the thread. */
  computed = 0;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { gray: GrayImage; done: () => void }>();
  private nextId = 0;
  private gone = false;

  constructor(private readonly params: EvidenceParams = DEFAULT_EVIDENCE) {
    this.worker = new Worker(ENTRY, { workerData: params });
    // Idle, it keeps no thread or process alive; referenced only while a frame is out.
    this.worker.unref();
    this.worker.on('message', ({ id, evidence }: EvidenceReply) => {
      const request = this.pending.get(id);
      if (!request) return;
      this.pending.delete(id);
      adoptEvidence(request.gray, evidence, this.params);
      this.computed++;
      this.settle(request.done);
    });
    this.worker.on('error', (error) => {
      log.warn(`evidence thread failed, the surface stage computes its maps itself: ${errorMessage(error)}`);
      this.end();
    });
    this.worker.on('exit', () => this.end());
  }

  /** Resolves once the frame's map is adopted, or at once when it is known already or the thread is gone. */
  compute(gray: GrayImage): Promise<void> {
    if (this.gone || hasEvidence(gray, this.params)) return Promise.resolve();
    const id = this.nextId++;
    return new Promise((done) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { gray, done });
      this.worker.postMessage({ id, image: gray } satisfies EvidenceRequest);
    });
  }

  /** Stops the thread; frames still out resolve without a map. */
  async close(): Promise<void> {
    this.end();
    await this.worker.terminate();
  }

  private settle(done: () => void): void {
    if (this.pending.size === 0) this.worker.unref();
    done();
  }

  private end(): void {
    this.gone = true;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const { done } of waiting) this.settle(done);
  }
}
