import type { Features, GrayImage } from '../types.js';
import { assign, ClusterSums, lloydStep } from './kmeans.js';
import { stackRows, type Points } from './points.js';
import { normalizeRows } from '../util/vectors.js';
import type { Bounds } from './hamerly.js';
import { clusterPoints } from './elbow.js';
import { voteOnLabels } from './cosegment.js';
import { patchMaskToImage } from './mask.js';
import { matchIdentities } from './identities.js';
import { checkMethodSettings } from '../settings.js';

export interface BankOptions {
  window: number;
  tau: number;
  votes: number;
  seed: number;
  k: number | 'auto';
}

export interface BankResult {
  mask: GrayImage /* 0/255 at the frame's original size */;
  patchMask: Uint8Array;
  k: number;
  salientClusters: number[];
  votes: number[];
  framesInWindow: number;
  sceneChange: boolean;
}

/**
 * Scene change (probe lifted, new anatomy): the newest frame's mean squared distance from its
 * descriptors to the nearest centroid exceeds SCENE_FACTOR × the mean of that figure over the
 * frames in the window, and by at least SCENE_MIN_JUMP (squared distance between unit
 * vectors, 0…4; guards against a factor on a near-zero level). The check needs two earlier
 * frames measured against centroids they were not fitted on. A change of grid, descriptor
 * length or frame size is a scene change too. Measured with the physics backend: over the
 * lower-limb sweep (98 frames at 3 fps) the figure stays within 0.009–0.012 and never
 * triggers; cutting from the sweep to the phantom video raises it to 0.032 (3×) and triggers.
 */
const SCENE_FACTOR = 1.5;
const SCENE_MIN_JUMP = 0.005;
/**
 * Lloyd iterations at most per frame, warm-started from the previous frame's centroids (the
 * window changes by one frame, so each frame continues the same Lloyd run). Measured on the
 * bench's window of 10 × 28×28×384: 1 → 4.9 ms CPU per frame (median), 2 → 6.2, 3 → 7.3.
 */
const WARM_ITERATIONS = 2;
/** The elbow rule on the window fits on a sub-sample of about this many descriptors. */
const ELBOW_SAMPLE = 1000;
/** Lloyd iterations per fit in the bank's elbow rule (a bounded latency spike, once per window). */
const ELBOW_ITERATIONS = 10;

interface Frame {
  features: Features;
  descriptors: Float32Array; // [patches, D], L2-normalized
  labels: Int32Array; // [patches], nearest-centroid labels for the current centroids
  bounds: Bounds | null;
  /** Mean squared distance to the nearest centroid when the frame arrived; null for frames the centroids were fitted on. */
  arrivalDistance: number | null;
}

function validate(options: BankOptions): BankOptions {
  const { window, k, tau, votes, seed } = options;
  checkMethodSettings({ window, k, tau, votes, seed });
  return { ...options };
}

/**
 * The live service's rolling cluster bank (docs/architecture.md, "Streaming: the rolling cluster bank"): co-segmentation
 * of a sliding window of frames, updated one frame at a time. Centroids are warm-started
 * from the previous frame's, so cluster identities persist; k is re-chosen by the elbow rule
 * on the first frame, every `window` frames and after a flush, with new clusters matched to
 * the old identities; the vote over the window is the batch method's.
 */
export class RollingBank {
  private current: BankOptions;
  private frames: Frame[] = [];
  private centroids: Float32Array | null = null; // [k, D]
  private k = 0;
  private sums: ClusterSums | null = null; // of the frames in the window, under their labels
  private framesSinceChoice = 0;
  /**
   * The memory of the last dropped frame's descriptors, for the next frame's: a fresh 1.2 MB
   * array costs about 0.5 ms per frame here (new pages from the system), near a tenth of the
   * bank's work. A new view is made on it, since point norms are cached per array.
   */
  private spare: ArrayBuffer | null = null;

  constructor(options: BankOptions) {
    this.current = validate(options);
  }

  get options(): BankOptions {
    return { ...this.current };
  }

  /** Empties the window; the next frame starts afresh (new k, new centroids). */
  reset(): void {
    this.frames = [];
    this.centroids = null;
    this.sums = null;
    this.k = 0;
    this.framesSinceChoice = 0;
  }

  /** New settings; τ and p apply from the next frame, a new k re-clusters, a smaller window drops the oldest frames. */
  update(options: Partial<BankOptions>): void {
    const next = validate({ ...this.current, ...options });
    if (next.k !== this.current.k || next.seed !== this.current.seed) this.framesSinceChoice = Infinity;
    this.current = next;
    while (this.frames.length > next.window) this.dropOldest();
  }

  private dropOldest(): void {
    const oldest = this.frames.shift()!;
    this.sums?.addAll({ points: framePoints(oldest), labels: oldest.labels }, -1);
    this.spare = oldest.descriptors.buffer as ArrayBuffer;
  }

  /** A normalized copy of the frame's descriptors, in the spare memory when it fits. */
  private normalizedCopy(features: Features): Float32Array {
    const source = features.descriptors;
    const spare = this.spare;
    this.spare = null;
    const copy = spare?.byteLength === source.byteLength ? new Float32Array(spare) : new Float32Array(source.length);
    copy.set(source);
    return normalizeRows(copy, features.dim);
  }

  push(features: Features): BankResult {
    const descriptors = this.normalizedCopy(features);
    const frame: Frame = { features, descriptors, labels: new Int32Array(0), bounds: null, arrivalDistance: null };
    const sceneChange = this.sameGeometry(features) ? this.measureArrival(frame) : this.frames.length > 0;
    if (sceneChange) {
      this.reset();
      Object.assign(frame, { labels: new Int32Array(0), bounds: null, arrivalDistance: null });
    }
    this.frames.push(frame);
    if (frame.bounds) this.sums!.addAll({ points: framePoints(frame), labels: frame.labels });
    while (this.frames.length > this.current.window) this.dropOldest();

    if (this.centroids && this.framesSinceChoice < this.current.window) this.warmUpdate();
    else this.chooseK();
    const labels = this.frames.map((f) => f.labels);

    const { salient, votes, patchMasks } = voteOnLabels(labels, this.frames.map((f) => f.features), this.k, this.current.tau, this.current.votes);
    const patchMask = patchMasks[patchMasks.length - 1];
    return {
      mask: patchMaskToImage(patchMask, features),
      patchMask,
      k: this.k,
      salientClusters: salient,
      votes,
      framesInWindow: this.frames.length,
      sceneChange,
    };
  }

  /**
   * Whether the frame continues the window's picture: the same patch grid and descriptor length,
   * and the same frame size, since after a change of size (a stream switching resolution) the
   * window's cells belong to the old picture even where the grid stays the same.
   */
  private sameGeometry(features: Features): boolean {
    const last = this.frames[this.frames.length - 1];
    if (!last) return true;
    const [before, now] = [last.features, features];
    return (
      before.grid[0] === now.grid[0] &&
      before.grid[1] === now.grid[1] &&
      before.dim === now.dim &&
      before.geometry.original.width === now.geometry.original.width &&
      before.geometry.original.height === now.geometry.original.height
    );
  }

  /**
   * Labels the new frame with the current centroids and says whether its distance to them
   * jumped (scene change). Video changes little from frame to frame, so each patch's label in
   * the previous frame is the guess the search starts from.
   */
  private measureArrival(frame: Frame): boolean {
    if (!this.centroids) return false;
    const arrival = assign(framePoints(frame), this.centroids, this.k, this.frames[this.frames.length - 1].labels);
    frame.labels = arrival.labels;
    frame.bounds = arrival.bounds;
    frame.arrivalDistance = arrival.ssd / arrival.labels.length;
    const earlier = this.frames.flatMap((f) => (f.arrivalDistance === null ? [] : [f.arrivalDistance]));
    if (earlier.length < 2) return false;
    const level = earlier.reduce((a, b) => a + b, 0) / earlier.length;
    return frame.arrivalDistance > SCENE_FACTOR * level && frame.arrivalDistance - level > SCENE_MIN_JUMP;
  }

  /** Lloyd iterations over the window from the previous centroids, with the labels, bounds and sums in hand. */
  private warmUpdate(): void {
    const parts = this.frames.map((f) => ({ points: framePoints(f), labels: f.labels, bounds: f.bounds! }));
    for (let iteration = 0; iteration < WARM_ITERATIONS; iteration++) {
      if (lloydStep(parts, this.sums!, this.centroids!).changed === 0) break;
    }
    this.framesSinceChoice++;
  }

  /**
   * The elbow rule (or the fixed k) on a sub-sample of the window; new clusters take the
   * identities of the nearest old ones, then every frame is labelled afresh, each patch's search
   * starting from its old label (the same identity, so usually the answer).
   */
  private chooseK(): void {
    const dim = this.frames[0].features.dim;
    const patches = this.frames.reduce((sum, f) => sum + f.descriptors.length / dim, 0);
    const sample = stackRows(this.frames.map((f) => f.descriptors), dim, Math.max(1, Math.ceil(patches / ELBOW_SAMPLE)));
    const k = this.current.k === 'auto' ? 'auto' : Math.min(this.current.k, sample.n);
    const fit = clusterPoints(sample, { k, seed: this.current.seed, maxIterations: ELBOW_ITERATIONS });
    const order = this.centroids ? matchIdentities(this.centroids, this.k, fit.centroids, fit.k, dim) : null;
    const centroids = new Float32Array(fit.k * dim);
    for (let c = 0; c < fit.k; c++) centroids.set(fit.centroids.subarray(c * dim, (c + 1) * dim), (order?.[c] ?? c) * dim);
    this.centroids = centroids;
    this.k = fit.k;
    this.framesSinceChoice = 1;
    this.sums = new ClusterSums(fit.k, dim);
    for (const frame of this.frames) {
      const { labels, bounds } = assign(framePoints(frame), centroids, fit.k, frame.labels.length > 0 ? frame.labels : undefined);
      frame.labels = labels;
      frame.bounds = bounds;
      this.sums.addAll({ points: framePoints(frame), labels });
    }
  }
}

function framePoints(frame: Frame): Points {
  return { data: frame.descriptors, n: frame.features.grid[0] * frame.features.grid[1], dim: frame.features.dim };
}
