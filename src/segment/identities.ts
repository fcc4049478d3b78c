/**
 * Keeps cluster identities across a re-clustering (the live bank re-chooses k now and then,
 * and a display colours clusters by index): each new centroid takes the index of the
 * nearest old one, closest pairs first; new centroids left over (k grew) take the free
 * indices in ascending order.
 */
export function matchIdentities(
  old: Float32Array /* [oldK, dim] */,
  oldK: number,
  fresh: Float32Array /* [freshK, dim] */,
  freshK: number,
  dim: number,
): Int32Array /* [freshK] new index of each fresh centroid, a permutation of 0…freshK−1 */ {
  const pairs: Array<{ fresh: number; old: number; distance: number }> = [];
  const kept = Math.min(oldK, freshK); // old indices a fresh centroid can take: the result is a permutation of 0…freshK−1
  for (let f = 0; f < freshK; f++) {
    for (let o = 0; o < kept; o++) {
      let distance = 0;
      for (let j = 0; j < dim; j++) {
        const d = fresh[f * dim + j] - old[o * dim + j];
        distance += d * d;
      }
      pairs.push({ fresh: f, old: o, distance });
    }
  }
  pairs.sort((a, b) => a.distance - b.distance || a.fresh - b.fresh || a.old - b.old);
  const order = new Int32Array(freshK).fill(-1);
  const taken = new Uint8Array(freshK);
  for (const pair of pairs) {
    if (order[pair.fresh] >= 0 || taken[pair.old]) continue;
    order[pair.fresh] = pair.old;
    taken[pair.old] = 1;
  }
  let free = 0;
  for (let f = 0; f < freshK; f++) {
    if (order[f] >= 0) continue;
    while (taken[free]) free++;
    order[f] = free;
    taken[free] = 1;
  }
  return order;
}
