import type { Extractor, ExtractOptions, Features, GrayImage, Size } from '../types.js';
import type { Facet } from '../config.js';
import { normalizeRows, minMax } from '../util/vectors.js';
import { UserError } from '../util/errors.js';
import { preprocess } from './preprocess.js';
import { ATTENTION_OUTPUT, facetOutputName, type FacetRequest, type Precision } from './graph.js';
import { vitSession, vitWeights, releaseSessions } from './session.js';
import type { VitConfig, VitWeights } from './weights.js';

export interface DinoExtractorOptions {
  weightsPath: string;
  /** Manifest name or file, as the user gave it. */
  model: string;
  stride: number;
  loadSize: number;
  /** Block of the descriptors, 0-based (paper: 11, block 12 of ViT-S). */
  layer: number;
  facet: Facet;
  /** Of the blocks' Linear layers; default fp32 (`auto` is resolved before, by pickPrecision). */
  precision?: Precision;
}

/**
 * The paper's features from a DINO ViT: descriptors = the chosen facet of the chosen block,
 * L2-normalized per patch; saliency = the last block's CLS→patch attention averaged over
 * heads, min–max normalized per image.
 */
export async function createDinoExtractor(options: DinoExtractorOptions): Promise<Extractor> {
  const weights = await vitWeights(options.weightsPath);
  const { config } = weights;
  if (options.layer < 0 || options.layer >= config.depth) {
    throw new UserError(`--layer must be in 0..${config.depth - 1} for ${options.model} (got ${options.layer})`);
  }
  checkPatching(config, options.stride, options.loadSize, options.model);
  const output = facetOutputName(options.facet, options.layer);
  return {
    backend: 'dino',
    model: options.model,
    stride: options.stride,
    loadSize: options.loadSize,
    async extract(image: GrayImage, extractOptions: ExtractOptions = {}): Promise<Features> {
      const { outputs, grid, resized } = await runVit(weights, image, {
        stride: options.stride,
        loadSize: options.loadSize,
        facets: [{ facet: options.facet, layer: options.layer }],
        noise: extractOptions.noise,
        precision: options.precision,
      });
      return {
        grid,
        dim: config.dim,
        descriptors: normalizeRows(outputs[output], config.dim),
        saliency: minMax(meanOverHeads(outputs[ATTENTION_OUTPUT], config.heads)),
        geometry: {
          stride: options.stride,
          patchSize: config.patchSize,
          resized,
          original: { width: image.width, height: image.height },
        },
      };
    },
    dispose: () => releaseSessions(options.weightsPath),
  };
}

/**
 * --stride and --load-size against the model's patch, where the options enter: the graph
 * builder would refuse them too, but only once an image arrives and as an internal error.
 * The smaller image edge is resized to loadSize, so it must hold one patch.
 */
export function checkPatching(config: VitConfig, stride: number, loadSize: number, model: string): void {
  if (stride < 1 || stride > config.patchSize) {
    throw new UserError(`--stride must be in 1..${config.patchSize} for ${model} (got ${stride})`);
  }
  if (loadSize < config.patchSize) {
    throw new UserError(`--load-size must be at least ${config.patchSize} for ${model}, one patch (got ${loadSize})`);
  }
}

export interface VitRun {
  stride: number;
  loadSize: number;
  facets: FacetRequest[];
  noise?: ExtractOptions['noise'];
  precision?: Precision;
}

/**
 * One image through the ViT, as the extractor and the analysis pictures both need it:
 * preprocessed at loadSize, then one run of the cached graph for this size that outputs the
 * requested facets and the last block's CLS attention.
 */
export async function runVit(
  weights: VitWeights,
  image: GrayImage,
  run: VitRun,
): Promise<{ outputs: Record<string, Float32Array>; grid: [rows: number, cols: number]; resized: Size }> {
  const { input, resized } = await preprocess(image, run.loadSize, run.noise);
  const session = await vitSession(weights, {
    stride: run.stride,
    height: resized.height,
    width: resized.width,
    facets: run.facets,
    attention: true,
    precision: run.precision,
  });
  const [rows, cols] = session.grid; // a copy per image: callers own what they get
  return { outputs: await session.run(input), grid: [rows, cols], resized };
}

/** [heads, patches] → [patches]. */
export function meanOverHeads(attention: Float32Array, heads: number): Float32Array {
  const patches = attention.length / heads;
  const out = new Float32Array(patches);
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < patches; p++) out[p] += attention[h * patches + p];
  }
  for (let p = 0; p < patches; p++) out[p] /= heads;
  return out;
}

