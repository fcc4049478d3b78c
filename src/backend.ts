import type { Extractor } from './types.js';
import type { Facet } from './config.js';
import { log } from './util/log.js';
import { UserError } from './util/errors.js';
import { locateWeights } from './vit/models.js';
import { createDinoExtractor } from './vit/extractor.js';
import { createPhysicsExtractor } from './physics/extractor.js';
import { resolvePrecision, type PrecisionChoice } from './vit/precision.js';

export type BackendChoice = 'auto' | 'dino' | 'physics';

export interface BackendRequest {
  backend: BackendChoice;
  /** Manifest name (dino-vits8 …) or a path to a .safetensors file. */
  model: string;
  stride: number;
  loadSize: number;
  layer: number;
  facet: Facet;
  /** Of the ViT (default fp32); the physics backend has none. */
  precision?: PrecisionChoice;
}

/**
 * Opens the feature backend the user asked for. `auto` takes DINO when its weights are in
 * models/ and otherwise the embedded physics backend, and says so. Nothing here downloads
 * (`fetch-model` does, and `serve --default` before it comes here).
 */
export async function openExtractor(request: BackendRequest): Promise<Extractor> {
  if (request.backend === 'physics') {
    return createPhysicsExtractor({ stride: request.stride, loadSize: request.loadSize });
  }
  const weightsPath = await locateWeights(request.model);
  if (!weightsPath) {
    if (request.backend === 'dino') {
      throw new UserError(
        `no weights for ${request.model}: run \`bonestream fetch-model ${request.model}\`, or pass --model path/to/model.safetensors`,
      );
    }
    log.warn(`backend: physics (no DINO weights for ${request.model} in models/; run \`bonestream fetch-model\` for the ViT)`);
    return createPhysicsExtractor({ stride: request.stride, loadSize: request.loadSize });
  }
  return createDinoExtractor({
    precision: await resolvePrecision(request.precision ?? 'fp32', weightsPath),
    weightsPath,
    model: request.model,
    stride: request.stride,
    loadSize: request.loadSize,
    layer: request.layer,
    facet: request.facet,
  });
}
