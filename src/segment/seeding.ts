import type { Random } from '../util/random.js';
import { pointNorms, squaredNorms, type Points } from './points.js';
import { dotsWithCentres } from './distances.js';

/** 2 + ⌊ln 14⌋ = 4: scikit-learn's number of candidates for the largest k the elbow rule tries. */
const CANDIDATES = 2 + Math.floor(Math.log(14));

/**
 * Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; greedy variant as in scikit-learn
 * and ml-kmeans): each new centre is, of a few candidates drawn ∝ D², the one that lowers the
 * potential most. The seeding of k centres is the first k of the seeding of k + 1 (the number
 * of candidates is fixed at 2 + ⌊ln 14⌋ = 4 rather than 2 + ⌊ln k⌋), so the elbow rule, which
 * tries k = 1, 2, …, extends one seeding instead of starting over for every k.
 */
export class KMeansPlusPlus {
  private readonly centres: Float32Array[] = []; // rows of dim
  private closest: Float64Array; // [n] squared distance to the nearest centre so far
  private potential = 0;

  constructor(
    private readonly points: Points,
    private readonly random: Random,
    private readonly trials = CANDIDATES,
  ) {
    this.closest = new Float64Array(points.n);
  }

  /** The first k centres, [k, dim]. */
  seeds(k: number): Float32Array {
    while (this.centres.length < k) this.addCentre();
    const { dim } = this.points;
    const out = new Float32Array(k * dim);
    for (let c = 0; c < k; c++) out.set(this.centres[c], c * dim);
    return out;
  }

  private row(index: number): Float32Array {
    const { data, dim } = this.points;
    return data.slice(index * dim, (index + 1) * dim);
  }

  private addCentre(): void {
    const { data, n, dim } = this.points;
    const norms = pointNorms(this.points);
    if (this.centres.length === 0) {
      const first = this.row(Math.floor(this.random() * n));
      this.centres.push(first);
      const firstNorm = squaredNorms(first, 1, dim)[0];
      const dots = new Float64Array(n);
      dotsWithCentres(data, n, first, 1, dim, dots);
      this.potential = 0;
      for (let i = 0; i < n; i++) {
        this.closest[i] = Math.max(0, norms[i] + firstNorm - 2 * dots[i]);
        this.potential += this.closest[i];
      }
      return;
    }
    // All points coincide with a centre: any choice is as good (the cluster stays empty).
    const picks = Array.from({ length: this.trials }, () => (this.potential > 0 ? this.sample() : Math.floor(this.random() * n)));
    const candidates = new Float32Array(this.trials * dim);
    picks.forEach((index, t) => candidates.set(data.subarray(index * dim, (index + 1) * dim), t * dim));
    const candidateNorms = squaredNorms(candidates, this.trials, dim);
    const sums = new Float64Array(this.trials);
    const dots = new Float64Array(n * this.trials);
    dotsWithCentres(data, n, candidates, this.trials, dim, dots);
    const closestWith = Array.from({ length: this.trials }, () => new Float64Array(n)); // [trial][n]
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < this.trials; t++) {
        const d = Math.min(this.closest[i], Math.max(0, norms[i] + candidateNorms[t] - 2 * dots[i * this.trials + t]));
        closestWith[t][i] = d;
        sums[t] += d;
      }
    }
    let best = 0;
    for (let t = 1; t < this.trials; t++) if (sums[t] < sums[best]) best = t;
    this.centres.push(candidates.slice(best * dim, (best + 1) * dim));
    this.closest = closestWith[best];
    this.potential = sums[best];
  }

  /** A point index drawn with probability ∝ its squared distance to the nearest centre. */
  private sample(): number {
    const target = this.random() * this.potential;
    let sum = 0;
    for (let i = 0; i < this.closest.length; i++) {
      sum += this.closest[i];
      if (sum > target) return i;
    }
    return this.closest.length - 1;
  }
}
