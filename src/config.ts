import { InvalidArgumentError } from 'commander';

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

/** A commander option parser for an integer within [min, max]; errors name the value. */
export function intInRange(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max} (got ${raw})`);
    }
    return value;
  };
}

/** A commander option parser for a finite number within [min, max]. */
export function numberInRange(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be a number in ${min}..${max} (got ${raw})`);
    }
    return value;
  };
}

/** A commander option parser for a comma-separated list of numbers, each within [min, max]. */
export function numberList(name: string, min: number, max: number) {
  const one = numberInRange(name, min, max);
  return (raw: string): number[] => raw.split(',').map((part) => one(part.trim()));
}

export function facet(raw: string): Facet {
  if (!(FACETS as readonly string[]).includes(raw)) {
    throw new InvalidArgumentError(`--facet must be one of ${FACETS.join(', ')} (got ${raw})`);
  }
  return raw as Facet;
}
