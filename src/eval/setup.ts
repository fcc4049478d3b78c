import type { CosegmentOptions } from '../segment/cosegment.js';
import { CELLS_MASK, type MaskSettings } from '../surface/stage.js';
import type { Extractor } from '../types.js';
import type { Facet } from '../config.js';

/** What produced an experiment's numbers; stored in results.json and shown atop each report. */
export interface ExperimentSetup {
  backend: string;
  model: string;
  stride: number;
  loadSize: number;
  /** Descriptor block and facet (the ViT's; the physics backend has its own descriptors). */
  layer?: number;
  facet?: Facet;
  k: number | 'auto';
  tau: number;
  votes: number;
  seed: number;
  /** The mask kind scored (`cells`, the paper's method, when absent; surface and region add the surface stage). */
  mask?: MaskSettings;
  date: string;
}

export function describeSetup(
  extractor: Extractor,
  descriptor: { layer: number; facet: Facet },
  segment: CosegmentOptions & { mask?: MaskSettings },
): ExperimentSetup {
  const vit = extractor.backend === 'dino' ? { layer: descriptor.layer, facet: descriptor.facet } : {};
  return {
    backend: extractor.backend,
    model: extractor.model,
    stride: extractor.stride,
    loadSize: extractor.loadSize,
    ...vit,
    k: segment.k,
    tau: segment.tau,
    votes: segment.votes,
    seed: segment.seed,
    mask: segment.mask ?? CELLS_MASK,
    date: new Date().toISOString(),
  };
}

export function setupLines(setup: ExperimentSetup, extra: Array<[string, string]> = []): Array<[string, string]> {
  const backend =
    setup.backend === 'dino'
      ? `DINO ViT ${setup.model} (${setup.facet} of block ${(setup.layer ?? 0) + 1}, zero-based ${setup.layer})`
      : `physics (embedded bone-surface model; not the paper's ViT)`;
  return [
    ['backend', backend],
    ['patch stride / load size', `${setup.stride} px / ${setup.loadSize} px`],
    ['clusters k', String(setup.k)],
    ['τ (saliency threshold)', String(setup.tau)],
    ['votes needed', `${setup.votes} % of the images in a set`],
    ['seed', String(setup.seed)],
    ['mask', maskLine(setup.mask ?? CELLS_MASK)],
    ...extra,
    ['run at', setup.date],
  ];
}

function maskLine(mask: MaskSettings): string {
  if (mask.kind === 'cells') return "cells (the paper's co-segmentation mask)";
  const band = `band ${mask.band} px`;
  return mask.kind === 'surface' ? `surface (traced bone surface, ${band})` : `region (bone below the traced surface, ${band}, depth ${mask.regionDepth} × width)`;
}
