/**
 * The project's seeded generators: k-means++ seeding, the choice of experiment sets, the
 * phantom and the robustness noise must repeat exactly for the same seed on every machine
 * (Math.random is neither seedable nor reproducible).
 */

export type Random = () => number; // uniform in [0, 1)

/** mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG giving uniforms in [0, 1). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviates by the Box–Muller transform, both values of each pair used. */
export function gaussian(seed: number): () => number {
  const uniform = seededRandom(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // 1 − u keeps the logarithm finite (u is in [0, 1)).
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** Fills an array with seeded N(0, 1) deviates. */
export function gaussianArray(length: number, seed: number): Float32Array {
  const next = gaussian(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = next();
  return out;
}

/** Mixes several integers into one 32-bit seed (for per-frame or per-object streams). */
export function mixSeed(...parts: number[]): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    hash = Math.imul(hash ^ (part >>> 0), 0x01000193) >>> 0;
    hash ^= hash >>> 13;
  }
  return hash >>> 0;
}
