/**
 * The seeded generator of co-segmentation: k-means++ must pick the same seeds for the same
 * `--seed`, so runs are repeatable. It is the project's one mulberry32 (kept with the
 * phantom's and the noise's generators).
 */
export type Random = () => number; // uniform in [0, 1)

export { mulberry32 as seededRandom } from '../physics/random.js';
