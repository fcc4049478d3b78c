import { PCA } from 'ml-pca';

/**
 * The paper's PCA pictures (after "Deep ViT Features as Dense Visual Descriptors"): the first
 * three principal components of an image's patch features, each min–max scaled to 0..255 and
 * shown as red, green and blue.
 *
 * `features` is [patches, dim], row-major. Returns [patches, 3] RGB bytes. Components that do
 * not exist (fewer than three patches or dimensions) or have no spread are left at 0.
 */
export function pcaRgb(features: Float32Array, patches: number, dim: number): Uint8Array /* [patches, 3] */ {
  if (features.length !== patches * dim) {
    throw new Error(`pcaRgb: features hold ${features.length} values, expected ${patches} × ${dim}`);
  }
  const rgb = new Uint8Array(patches * 3);
  const components = Math.min(3, dim, patches - 1);
  if (components < 1) return rgb;
  const rows: number[][] = new Array(patches);
  for (let p = 0; p < patches; p++) rows[p] = Array.from(features.subarray(p * dim, (p + 1) * dim));
  // The covariance route eigen-decomposes a dim × dim matrix: far cheaper than an SVD of
  // the [patches, dim] data at stride 4 (3025 × 384), and the first components are the same.
  const pca = new PCA(rows, { method: 'covarianceMatrix', center: true, scale: false });
  const projected = pca.predict(rows, { nComponents: components }).to2DArray();
  for (let c = 0; c < components; c++) {
    let min = Infinity;
    let max = -Infinity;
    for (let p = 0; p < patches; p++) {
      const v = projected[p][c];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const span = max - min;
    // Relative guard: a component of pure rounding noise must not be blown up to full range.
    if (!(span > 1e-9 * Math.max(1, Math.abs(max), Math.abs(min)))) continue;
    for (let p = 0; p < patches; p++) rgb[p * 3 + c] = Math.round((255 * (projected[p][c] - min)) / span);
  }
  return rgb;
}
