import type { ExtractOptions, GrayImage } from '../types.js';
import type { Facet } from '../config.js';
import { UserError } from '../util/errors.js';
import { ATTENTION_OUTPUT, facetOutputName, type FacetRequest, type Precision } from './graph.js';
import { vitWeights } from './session.js';
import { checkPatching, runVit } from './extractor.js';

/**
 * Raw ViT features for the paper's pictures (PCA of keys, queries, values and tokens of
 * every block; per-head attention maps): one graph run with every requested output.
 */

export interface AnalysisOptions {
  stride: number;
  loadSize: number;
  facets: Facet[];
  /** Blocks, 0-based. */
  layers: number[];
  noise?: ExtractOptions['noise'];
  precision?: Precision;
}

export interface Analysis {
  grid: [rows: number, cols: number];
  dim: number;
  /** By `${facet}:${layer}`: [patches, D], heads concatenated head-major, not normalized. */
  features: Map<string, Float32Array>;
  /** Last block's CLS→patch attention per head: [heads, patches]. */
  attention: Float32Array;
  heads: number;
}

export async function analyzeImage(weightsPath: string, image: GrayImage, options: AnalysisOptions): Promise<Analysis> {
  const weights = await vitWeights(weightsPath);
  const { config } = weights;
  const beyond = options.layers.filter((layer) => !Number.isInteger(layer) || layer < 0 || layer >= config.depth);
  if (beyond.length) {
    const shown = beyond.length > 2 ? `${beyond[0]}..${beyond[beyond.length - 1]}` : beyond.join(', ');
    throw new UserError(`block${beyond.length > 1 ? 's' : ''} ${shown} ${beyond.length > 1 ? 'are' : 'is'} not in ${weightsPath}, which has blocks 0..${config.depth - 1}`);
  }
  checkPatching(config, options.stride, options.loadSize, weightsPath);
  const layers = [...new Set(options.layers)];
  const requests: FacetRequest[] = [...new Set(options.facets)].flatMap((facet) => layers.map((layer) => ({ facet, layer })));
  const { outputs, grid } = await runVit(weights, image, {
    stride: options.stride,
    loadSize: options.loadSize,
    facets: requests,
    noise: options.noise,
    precision: options.precision,
  });
  const features = new Map<string, Float32Array>();
  for (const { facet, layer } of requests) features.set(`${facet}:${layer}`, outputs[facetOutputName(facet, layer)]);
  return { grid, dim: config.dim, features, attention: outputs[ATTENTION_OUTPUT], heads: config.heads };
}
