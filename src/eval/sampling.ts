/** Seeded sampling of image sets for the experiments, so every run can be repeated exactly. */

import type { Random } from '../util/random.js';

/** Number of k-subsets of n items (a float; Infinity when huge). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  const smaller = Math.min(k, n - k);
  let result = 1;
  for (let i = 1; i <= smaller; i++) result = (result * (n - smaller + i)) / i;
  return Math.round(result);
}

/**
 * Up to `count` distinct index sets of `size` out of `n` items, each sorted ascending.
 * When there are no more than `count` possible sets, all of them are returned (a shuffled
 * order), so a repeat never scores the same set twice.
 */
export function drawSets(n: number, size: number, count: number, rng: Random): number[][] {
  return sampleDistinct(binomial(n, size), count, rng, () => combinations(n, size), () => drawSubset(n, size, rng));
}

/** Up to `count` distinct pairs [i, j], i from 0..na−1 and j from 0..nb−1. */
export function drawPairs(na: number, nb: number, count: number, rng: Random): Array<[number, number]> {
  const all = () => Array.from({ length: na * nb }, (_, p): [number, number] => [Math.floor(p / nb), p % nb]);
  const one = (): [number, number] => [Math.floor(rng() * na), Math.floor(rng() * nb)];
  return sampleDistinct(na * nb, count, rng, all, one);
}

/**
 * Enumerates when the population is small next to the request (bounded work), otherwise
 * draws with rejection of repeats: with at least 4× more candidates than wanted, each draw
 * is new with probability ≥ 3/4, so the attempt cap is never reached in practice.
 */
function sampleDistinct<T>(total: number, count: number, rng: Random, all: () => T[], one: () => T): T[] {
  if (count <= 0 || total <= 0) return [];
  if (total <= Math.max(4 * count, 64)) {
    const every = all();
    shuffle(every, rng);
    return every.slice(0, count);
  }
  const seen = new Set<string>();
  const picked: T[] = [];
  for (let attempt = 0; picked.length < count && attempt < 100 * count; attempt++) {
    const candidate = one();
    const key = JSON.stringify(candidate);
    if (seen.has(key)) continue;
    seen.add(key);
    picked.push(candidate);
  }
  return picked;
}

function drawSubset(n: number, size: number, rng: Random): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  // Partial Fisher–Yates: the first `size` entries become a uniform random subset.
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, size).sort((a, b) => a - b);
}

function combinations(n: number, size: number): number[][] {
  const out: number[][] = [];
  const current: number[] = [];
  const walk = (start: number) => {
    if (current.length === size) {
      out.push([...current]);
      return;
    }
    for (let i = start; i <= n - (size - current.length); i++) {
      current.push(i);
      walk(i + 1);
      current.pop();
    }
  };
  walk(0);
  return out;
}

function shuffle<T>(items: T[], rng: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
