/**
 * Defaults: the paper's values (Robustness of self-supervised ViT features in b-mode images)
 * and, where it is silent, the reference code's.
 */
export const DEFAULTS = {
  model: 'dino-vits8',
  /** Patch-embedding stride; 8 is the paper's grid, the reference code uses 4. */
  stride: 8,
  /** Smaller image edge after resizing (paper / reference: 224). */
  loadSize: 224,
  /** Block index of the descriptors: block 12 of 12, zero-based. */
  layer: 11,
  facet: 'key' as Facet,
  /** Saliency threshold τ for a vote. */
  tau: 0.2,
  /** Percentage of images that must vote for a cluster. */
  votes: 65,
  /** Elbow rule of the reference: stop when SSD(k) > 0.975 · SSD(k−1), k = 1…14. */
  elbow: 0.975,
  maxK: 14,
  seed: 0,
  /** Frames in the rolling cluster bank of the live service. */
  window: 10,
  host: '127.0.0.1',
  port: 8080,
} as const;

export const FACETS = ['key', 'query', 'value', 'token'] as const;
export type Facet = (typeof FACETS)[number];
