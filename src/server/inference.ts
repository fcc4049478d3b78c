import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { BackendRequest } from '../backend.js';
import type { BankOptions } from '../segment/bank.js';
import type { GrayImage } from '../types.js';
import type { MaskSettings } from '../surface/stage.js';
import { UserError } from '../util/errors.js';
import { log } from '../util/log.js';
import { Mailbox } from './mailbox.js';
import type { BackendState } from '../wire/protocol.js';
import { SHUTDOWN } from '../limits.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerMask } from './worker-messages.js';

const WORKER_ENTRY = new URL('./worker-entry.mjs', import.meta.url);

/** Starts the product's inference worker (worker.ts) with its options. */
export function startWorker(init: WorkerInit): Worker {
  return new Worker(WORKER_ENTRY, { workerData: init });
}

export interface InferenceFrame {
  seq: number;
  ptsMs: number;
  image: GrayImage;
  /** performance.now() when the frame reached the server. */
  arrivedAt: number;
  /** Epoch ms of capture and the pixel size, where the source gives them (ingest/source.ts Frame). */
  capturedAtMs?: number;
  spacingMm?: [number, number];
}

export interface InferenceResult extends WorkerMask {
  /** performance.now() when the frame reached the server. */
  arrivedAt: number;
  /** The frame the mask was computed from (OpenIGTLink sends its pixels, time and spacing). */
  frame: InferenceFrame;
}

export interface InferenceOptions {
  request: BackendRequest;
  bank: BankOptions;
  mask: MaskSettings;
  /** Waits between restarts of a failed worker, doubling up to max (the service's default: DEFAULT_LIMITS, src/limits.ts). */
  backoffMs: { initial: number; max: number };
  /**
   * Starts each worker (the first and every restart); `startWorker` unless given. Tests pass
   * one that wraps the product's worker and fails on command (test/helpers/faulty-worker.ts),
   * so no message of the product's own protocol makes its worker fail.
   */
  createWorker?: (init: WorkerInit) => Worker;
}

/**
 * Runs the feature backend and the rolling bank in a worker thread. The main thread only
 * puts frames into a one-slot mailbox; whenever the worker is free it gets the newest one.
 * A worker that throws or exits is restarted with back-off; events: 'mask' (InferenceResult),
 * 'state' (BackendState, detail?).
 */
export class Inference extends EventEmitter {
  state: BackendState = 'starting';
  detail?: string;
  backend: string;
  model: string;
  restarts = 0;

  private worker?: Worker;
  private ready = false;
  private inFlight?: InferenceFrame;
  private readonly mailbox = new Mailbox<InferenceFrame>();
  private request: BackendRequest;
  private bank: BankOptions;
  private readonly mask: MaskSettings;
  private readonly backoff: { initial: number; max: number };
  private readonly createWorker: (init: WorkerInit) => Worker;
  private nextBackoff: number;
  private restartTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(options: InferenceOptions) {
    super();
    this.request = options.request;
    this.bank = { ...options.bank };
    this.mask = options.mask;
    this.backend = options.request.backend;
    this.model = options.request.backend === 'physics' ? 'physics' : options.request.model;
    this.backoff = options.backoffMs;
    this.nextBackoff = this.backoff.initial;
    this.createWorker = options.createWorker ?? startWorker;
  }

  /** Starts the first worker; rejects (UserError for the user's input) when the backend cannot open. */
  start(): Promise<{ backend: string; model: string }> {
    return new Promise((resolve, reject) => {
      this.spawn((error) => (error ? reject(error) : resolve({ backend: this.backend, model: this.model })));
    });
  }

  /** Offers a frame; it replaces any frame still waiting (never a queue). True when it did replace one. */
  submit(frame: InferenceFrame): boolean {
    const replaced = this.mailbox.put(frame);
    this.pump();
    return replaced;
  }

  /** Frames that were replaced in the mailbox before the worker could take them. */
  get framesSkipped(): number {
    return this.mailbox.replaced;
  }

  get bankOptions(): BankOptions {
    return { ...this.bank };
  }

  update(options: Partial<BankOptions>): void {
    this.bank = { ...this.bank, ...options };
    this.post({ type: 'update', options });
  }

  reset(): void {
    this.post({ type: 'reset' });
  }

  /**
   * Lets the worker finish its frame and release the backend, then waits for it to exit;
   * terminates it only after `graceMs` (terminating native inference mid-run can abort the
   * whole process, so that is the last resort).
   */
  async stop(graceMs = SHUTDOWN.workerGraceMs): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    // Not events.once: that rejects on an 'error' (a frame failing just now), and the worker is gone either way.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => void worker.terminate(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private post(message: ToWorker): void {
    if (this.ready) this.worker?.postMessage(message);
  }

  private pump(): void {
    if (!this.ready || this.inFlight || !this.worker) return;
    const frame = this.mailbox.take();
    if (!frame) return;
    this.inFlight = frame;
    // A copy of the pixels is handed over (the source's buffer may be a view of a larger one).
    const data = frame.image.data.slice();
    const image = { width: frame.image.width, height: frame.image.height, data };
    this.worker.postMessage({ type: 'frame', seq: frame.seq, ptsMs: frame.ptsMs, image } satisfies ToWorker, [data.buffer]);
  }

  private setState(state: BackendState, detail?: string): void {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this.emit('state', state, detail);
  }

  /** `settled` is called once, after the worker's first 'ready' or its failure to get there. */
  private spawn(settled?: (error?: Error) => void): void {
    const init: WorkerInit = { request: this.request, bank: this.bank, mask: this.mask };
    const worker = this.createWorker(init);
    this.worker = worker;
    this.ready = false;
    this.inFlight = undefined;
    let fatal: { message: string; user: boolean } | undefined;
    let thrown: string | undefined;

    worker.on('message', (message: FromWorker) => {
      if (worker !== this.worker) return;
      switch (message.type) {
        case 'ready':
          this.ready = true;
          this.backend = message.backend;
          this.model = message.model;
          // Restarts must open the same backend, not fall back to another.
          this.request = { ...this.request, backend: message.backend === 'dino' ? 'dino' : 'physics' };
          this.setState('running');
          settled?.();
          settled = undefined;
          this.pump();
          break;
        case 'mask': {
          const frame = this.inFlight;
          this.inFlight = undefined;
          this.nextBackoff = this.backoff.initial;
          if (frame && frame.seq === message.seq) this.emit('mask', { ...message, arrivedAt: frame.arrivedAt, frame } satisfies InferenceResult);
          this.pump();
          break;
        }
        case 'fatal':
          fatal = message;
          break;
      }
    });
    worker.on('error', (error) => {
      thrown = error.message;
      if (worker === this.worker) log.error(`inference worker failed: ${error.message}`);
    });
    worker.on('exit', (code) => {
      if (worker !== this.worker || this.stopped) return;
      this.worker = undefined;
      this.ready = false;
      const reason = fatal?.message ?? (thrown ? `worker threw: ${thrown}` : `worker exited (code ${code})`);
      if (settled) {
        settled(fatal?.user ? new UserError(reason) : new Error(`inference backend failed to start: ${reason}`));
        return;
      }
      this.restarts++;
      const wait = this.nextBackoff;
      this.nextBackoff = Math.min(this.nextBackoff * 2, this.backoff.max);
      this.setState(fatal ? 'error' : 'restarting', `${reason}; restarting in ${wait} ms`);
      this.restartTimer = setTimeout(() => this.spawn(), wait);
      this.emit('restart');
    });
  }
}
