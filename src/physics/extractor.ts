import type { Extractor, ExtractOptions, Features, GrayImage } from '../types.js';
import { log } from '../util/log.js';
import { physicsInput } from './resize.js';
import { boneParameters, boneSurfaceProbability } from './bone-probability.js';
import { DESCRIPTOR_DIM, PATCH_SIZE, patchFeatures } from './descriptors.js';
import { boneEvidence, boneEvidenceFrom } from './evidence.js';

export const PHYSICS_MODEL = 'physics-v1';

export interface PhysicsExtractorOptions {
  stride: number;
  loadSize: number;
}

/**
 * The embedded backend: no weights, no download. Same grid, geometry and contract as the
 * ViT extractor, so co-segmentation, the live bank and evaluation use it unchanged; its
 * saliency is a bone-surface probability (bright reflection × acoustic shadow beneath)
 * instead of CLS attention.
 */
export function createPhysicsExtractor(options: PhysicsExtractorOptions): Extractor {
  const { stride, loadSize } = options;
  if (!Number.isInteger(stride) || stride < 1 || stride > PATCH_SIZE) {
    throw new RangeError(`physics backend: stride must be an integer in 1..${PATCH_SIZE} (got ${stride})`);
  }
  if (!Number.isInteger(loadSize) || loadSize < PATCH_SIZE) {
    throw new RangeError(`physics backend: loadSize must be an integer ≥ ${PATCH_SIZE} (got ${loadSize})`);
  }
  log.info(`backend: physics (${PHYSICS_MODEL}: bone-surface probability × acoustic shadow, no model download)`, { stride, loadSize });
  return {
    backend: 'physics',
    model: PHYSICS_MODEL,
    stride,
    loadSize,
    extract: (image, extractOptions) => extractPhysics(image, stride, loadSize, extractOptions),
    dispose: async () => {},
  };
}

async function extractPhysics(image: GrayImage, stride: number, loadSize: number, options?: ExtractOptions): Promise<Features> {
  if (image.width < 1 || image.height < 1 || image.data.length !== image.width * image.height) {
    throw new RangeError(`physics backend: image of ${image.width}×${image.height} has ${image.data.length} pixels`);
  }
  const resized = await physicsInput(image, loadSize, options?.noise);
  const maps = boneSurfaceProbability(resized, boneParameters(Math.min(resized.width, resized.height)));
  // With the robustness experiment's noise the evidence must see the noisy input; without it,
  // the frame's own map, which the surface stage then reuses (src/physics/evidence.ts).
  const evidence = options?.noise && options.noise.eps > 0 ? boneEvidenceFrom(resized, image) : boneEvidence(image);
  const patches = patchFeatures(resized, maps, evidence, stride);
  return {
    grid: [patches.rows, patches.cols],
    dim: DESCRIPTOR_DIM,
    descriptors: patches.descriptors,
    saliency: patches.saliency,
    geometry: {
      stride,
      patchSize: PATCH_SIZE,
      resized: { width: resized.width, height: resized.height },
      original: { width: image.width, height: image.height },
    },
  };
}
