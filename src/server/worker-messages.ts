import type { GrayImage } from '../types.js';
import type { BackendRequest } from '../backend.js';
import type { BankOptions } from '../segment/bank.js';
import type { MaskKind, SurfacePoint } from '../surface/types.js';
import type { MaskSettings } from '../surface/stage.js';

/** Messages between the service's main thread and its inference worker (worker.ts). */

export interface WorkerInit {
  request: BackendRequest;
  bank: BankOptions;
  /** What the mask messages show (`serve --mask`). */
  mask: MaskSettings;
}

export type ToWorker =
  | { type: 'frame'; seq: number; ptsMs: number; image: GrayImage }
  | { type: 'update'; options: Partial<BankOptions> }
  | { type: 'reset' }
  /** Finish the current frame, release the backend, exit. */
  | { type: 'stop' };

export interface WorkerMask {
  type: 'mask';
  seq: number;
  ptsMs: number;
  mask: GrayImage; // 0/255 at the frame's size
  kind: MaskKind;
  /** The bone surface in source pixels (empty when none was traced). */
  polylines: SurfacePoint[][];
  k: number;
  salientClusters: number[];
  /** Milliseconds of each step of the stream pipeline on this frame (/metrics). */
  timing: { extractMs: number; bankMs: number; surfaceMs: number };
}

export type FromWorker =
  | { type: 'ready'; backend: string; model: string }
  | WorkerMask
  /** The backend could not be opened; `user` when the message is meant for the user (UserError). */
  | { type: 'fatal'; message: string; user: boolean };
