import { performance } from 'node:perf_hooks';
import { RollingBank, type BankOptions, type BankResult } from '../segment/bank.js';
import type { BoneSurface, MaskKind } from '../surface/types.js';
import { surfaceStage, type MaskSettings } from '../surface/stage.js';
import type { SurfaceParams } from '../surface/trace.js';
import type { Extractor, GrayImage } from '../types.js';

/**
 * The per-frame method of a video stream, live (server/worker.ts) and replayed
 * (replay/replay.ts) alike: extract → rolling bank → surface stage → one result. The drivers
 * differ only in where frames come from: the live service pushes the newest frame and drops
 * the ones the worker had no time for (server/inference.ts), a replay pulls every frame in
 * order. Neither repeats the steps.
 */

export interface StreamFrame {
  seq: number;
  ptsMs: number;
  image: GrayImage;
}

/** What the surface stage sees of one frame: the frame, the bank's cell mask, the previous frame's surface. */
export interface SurfaceStageInput {
  gray: GrayImage;
  /** The co-segmentation's mask at the frame's size, 0/255. */
  cells: GrayImage;
  /** The surface of the previous frame of the same scene; none after a reset or a scene change. */
  prior?: BoneSurface;
}

export interface SurfaceStageOutput {
  /** 0/255 at the frame's size: what the mask messages and files carry. */
  mask: GrayImage;
  kind: MaskKind;
  /** Undefined when nothing was traced (`cells`). */
  surface?: BoneSurface;
}

/**
 * The slot after the bank where the bone-surface stage runs (src/surface/). It is a function
 * of the frame and its cell mask only, so live and replay give the same line for a frame.
 */
export type SurfaceStage = (input: SurfaceStageInput) => SurfaceStageOutput;

/** The paper's mask as it is: the cells, nothing traced. */
export const CELLS_STAGE: SurfaceStage = ({ cells }) => ({ mask: cells, kind: 'cells' });

/** The surface stage of src/surface/ in the slot: the mask kind asked for, each frame traced with the previous frame's surface as its prior. */
export function traceStage(settings: MaskSettings, params?: SurfaceParams): SurfaceStage {
  return (input) => surfaceStage(input, settings, params);
}

export interface StreamResult extends SurfaceStageOutput {
  seq: number;
  ptsMs: number;
  /** The bank's state after this frame (k, salient clusters, window, scene change: also set on the first frame of a new size). */
  bank: BankResult;
  /** Milliseconds in each step of this frame. */
  timing: { extractMs: number; bankMs: number; surfaceMs: number };
}

export interface StreamOptions {
  bank: BankOptions;
  /** Defaults to CELLS_STAGE. */
  surface?: SurfaceStage;
  /**
   * Prepares the surface stage's evidence map of a frame while the bank runs (on another
   * thread: EvidenceThread.compute, evidence-thread.ts); without it the stage computes the map
   * itself, after the bank. Results are the same either way.
   */
  evidence?: (gray: GrayImage) => Promise<void>;
}

export class StreamPipeline {
  private readonly bank: RollingBank;
  private readonly surface: SurfaceStage;
  private readonly evidence?: (gray: GrayImage) => Promise<void>;
  private prior?: BoneSurface;

  constructor(
    private readonly extractor: Extractor,
    options: StreamOptions,
  ) {
    this.bank = new RollingBank(options.bank);
    this.surface = options.surface ?? CELLS_STAGE;
    this.evidence = options.evidence;
  }

  /**
   * One frame through every step; frames must come in stream order (the bank and the prior
   * follow them). After a scene change, a change of frame size included (the bank flushes), the
   * prior surface is dropped: it belongs to the old picture (docs/architecture.md, "Where state
   * lives"). surfaceMs includes any wait for the evidence map that was computed beside the bank.
   */
  async process(frame: StreamFrame): Promise<StreamResult> {
    const t0 = performance.now();
    const features = await this.extractor.extract(frame.image);
    const t1 = performance.now();
    // Started after the extractor, not beside it: the ViT's threads take both cores already.
    const evidence = this.evidence?.(frame.image);
    const bank = this.bank.push(features);
    const t2 = performance.now();
    await evidence;
    const staged = this.surface({ gray: frame.image, cells: bank.mask, prior: bank.sceneChange ? undefined : this.prior });
    const t3 = performance.now();
    this.prior = staged.surface;
    return { seq: frame.seq, ptsMs: frame.ptsMs, ...staged, bank, timing: { extractMs: t1 - t0, bankMs: t2 - t1, surfaceMs: t3 - t2 } };
  }

  /** New method settings from a control message; the bank refits as its update says. */
  update(options: Partial<BankOptions>): void {
    this.bank.update(options);
  }

  /** Forget the window and the previous surface (a new scene on purpose). */
  reset(): void {
    this.bank.reset();
    this.prior = undefined;
  }
}
