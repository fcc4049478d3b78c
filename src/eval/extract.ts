import { createProgress } from '../util/progress.js';
import { extractNamed } from '../segment/pipeline.js';
import type { Extractor, ExtractOptions, Features, GrayImage } from '../types.js';

/**
 * Features of every image under one setting, extracted once so the experiments can reuse
 * them across all the sets they draw (the ViT is the cost; k-means and voting are cheap).
 * `noiseSeed(i)` gives image i its own noise draw when `eps` is set.
 */
export async function extractAll(
  extractor: Extractor,
  images: Array<{ name: string; path: string; image: GrayImage }>,
  label: string,
  noise?: { eps: number; noiseSeed: (index: number) => number },
): Promise<Features[]> {
  const progress = createProgress(label, images.length);
  const features: Features[] = [];
  try {
    for (const [i, item] of images.entries()) {
      const options: ExtractOptions = noise ? { noise: { eps: noise.eps, seed: noise.noiseSeed(i) } } : {};
      features.push(await extractNamed(extractor, item.image, item.path, options));
      progress.increment();
    }
  } finally {
    progress.stop();
  }
  return features;
}
