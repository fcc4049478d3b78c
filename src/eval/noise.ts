import type { Extractor, Features, GrayImage } from '../types.js';
import type { LabelledImage } from './dataset.js';
import { extractAll } from './extract.js';
import { segmentAndScore, type ImageScore } from './score.js';
import type { SegmentFeaturesOptions } from './score.js';
import { summarize, formatSummary, type Summary } from './stats.js';
import { scoreLineChart } from './charts.js';
import { comparisonPng, grayPng, gridRgbPng, heatRgb, tileGrid } from './picture.js';
import { pcaRgb } from './pca.js';
import { noisyInput } from './noisy-input.js';
import { PAPER } from './reference.js';
import type { ReportDoc, Gallery } from './report.js';
import { setupLines, type ExperimentSetup } from './setup.js';

/**
 * The paper's robustness experiment: white noise I + ε·N(0, 1) added to the input the
 * backend sees, all images co-segmented together at each ε, Dice/IoU against ε. How far the
 * features move is measured too: the mean cosine of each patch descriptor with its clean
 * (ε = 0) counterpart.
 */

export interface NoiseOptions {
  eps: number[];
  /** Image i gets the noise draw seed + i, the same draw at every ε (only its scale changes). */
  seed: number;
  segment: SegmentFeaturesOptions;
  /** How many images the report shows at every ε. */
  show: number;
  /**
   * The last block's CLS attention of each head for a shown image (DINO only; the
   * extractor gives just their mean), [heads][patches] on the features' grid.
   */
  headMaps?: (image: GrayImage, noise: { eps: number; seed: number }) => Promise<Float32Array[]>;
}

export interface EpsResult {
  eps: number;
  k: number;
  salient: number[];
  scores: ImageScore[];
  dice: Summary;
  iou: Summary;
  /** Per image, mean cosine between noisy and clean descriptors of the same patch. */
  similarity: Summary;
}

export interface NoiseResult {
  images: string[];
  levels: EpsResult[];
}

/** What the report pictures for one image at one ε. */
export interface NoiseExample {
  eps: number;
  /** The seed of this image's noise draw. */
  noiseSeed: number;
  name: string;
  image: GrayImage;
  truth: GrayImage;
  features: Features;
  mask: GrayImage;
  score: ImageScore;
  /** Per-head attention maps when `headMaps` was given. */
  heads?: Float32Array[];
}

export async function runNoise(
  extractor: Extractor,
  images: LabelledImage[],
  options: NoiseOptions,
): Promise<{ result: NoiseResult; examples: NoiseExample[] }> {
  const noiseSeed = (i: number) => options.seed + i;
  const clean = await extractAll(extractor, images, 'features ε = 0');
  const levels: EpsResult[] = [];
  const examples: NoiseExample[] = [];
  for (const eps of options.eps) {
    const features = eps === 0 ? clean : await extractAll(extractor, images, `features ε = ${eps}`, { eps, noiseSeed });
    const outcome = segmentAndScore(
      images.map((item, i) => ({ ...item, features: features[i] })),
      options.segment,
    );
    levels.push({
      eps,
      k: outcome.k,
      salient: outcome.salient,
      scores: outcome.scores,
      dice: summarize(outcome.scores.map((s) => s.dice)),
      iou: summarize(outcome.scores.map((s) => s.iou)),
      similarity: summarize(features.map((f, i) => meanCosine(f, clean[i]))),
    });
    for (let i = 0; i < Math.min(options.show, images.length); i++) {
      const { name, image, truth } = images[i];
      const heads = await options.headMaps?.(image, { eps, seed: noiseSeed(i) });
      examples.push({ eps, noiseSeed: noiseSeed(i), name, image, truth, features: features[i], mask: outcome.masks[i], score: outcome.scores[i], heads });
    }
  }
  return { result: { images: images.map((i) => i.name), levels }, examples };
}

/** Mean over patches of the cosine between two descriptor sets on the same grid. */
export function meanCosine(a: Features, b: Features): number {
  if (a.dim !== b.dim || a.descriptors.length !== b.descriptors.length) {
    throw new Error(`descriptor grids differ: ${a.grid.join('×')}×${a.dim} vs ${b.grid.join('×')}×${b.dim}`);
  }
  const patches = a.descriptors.length / a.dim;
  let total = 0;
  for (let p = 0; p < patches; p++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = p * a.dim; j < (p + 1) * a.dim; j++) {
      dot += a.descriptors[j] * b.descriptors[j];
      na += a.descriptors[j] ** 2;
      nb += b.descriptors[j] ** 2;
    }
    total += na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  }
  return total / patches;
}

/** The report: table and chart of Dice/IoU (and feature similarity) against ε, pictures per ε. */
export async function noiseReport(
  result: NoiseResult,
  examples: NoiseExample[],
  setup: ExperimentSetup,
  options: Pick<NoiseOptions, 'seed' | 'show'>,
): Promise<ReportDoc> {
  const rows = result.levels.map((l) => [
    String(l.eps),
    String(l.k),
    formatSummary(l.dice),
    formatSummary(l.iou),
    formatSummary(l.similarity),
  ]);
  const points = result.levels.flatMap((l) => [
    { x: l.eps, series: 'Dice', mean: l.dice.mean, std: l.dice.std },
    { x: l.eps, series: 'IoU', mean: l.iou.mean, std: l.iou.std },
    { x: l.eps, series: 'descriptor cosine to ε = 0', mean: l.similarity.mean, std: l.similarity.std },
  ]);
  const dino = setup.backend === 'dino';
  const saliencyName = dino ? 'CLS attention (head mean)' : 'bone-surface probability';
  const descriptorName = dino ? `${setup.facet} PCA` : 'descriptor PCA';
  const gallery: Gallery = {
    columns: ['input the backend sees', descriptorName, saliencyName, ...(examples.some((e) => e.heads) ? ['CLS attention per head'] : []), 'mask'],
    rows: await Promise.all(examples.map((e) => exampleRow(e, setup))),
  };
  return {
    title: 'Robustness to additive noise',
    setup: setupLines(setup, [
      ['images', `${result.images.length}, co-segmented together at every ε`],
      ['noise', `ε·N(0, 1) on the ${dino ? 'ImageNet-normalized' : '[0, 1]'} input; image i uses draw seed ${options.seed} + i at every ε`],
    ]),
    reference: [...PAPER.noise.notes],
    sections: [
      {
        heading: 'Dice, IoU and feature change against ε',
        notes: ['Mean ± sample standard deviation over the images.', 'Descriptor cosine: per image, mean over patches of the cosine with the clean (ε = 0) descriptor of the same patch.'],
        table: { columns: ['ε', 'k', 'Dice', 'IoU', 'descriptor cosine to ε = 0'], rows },
        charts: points.length ? [await scoreLineChart(points, { title: 'Robustness to noise', xTitle: 'ε', yTitle: 'mean ± std' })] : [],
      },
      { heading: 'Pictures per ε', notes: [`The first ${Math.min(options.show, result.images.length)} image(s); amber: predicted bone, green outline: reference.`], gallery },
    ],
  };
}

const THUMB = 160;

async function exampleRow(e: NoiseExample, setup: ExperimentSetup): Promise<Gallery['rows'][number]> {
  const [rows, cols] = e.features.grid;
  const height = Math.max(1, Math.round((THUMB * rows) / cols));
  const noisy = await noisyInput(setup.backend === 'dino' ? 'dino' : 'physics', e.image, setup.loadSize, { eps: e.eps, seed: e.noiseSeed });
  return {
    label: `ε = ${e.eps} · ${e.name}`,
    figures: [
      { caption: `${e.name}, ε = ${e.eps}`, png: await grayPng(noisy, THUMB) },
      { caption: 'PCA → RGB', png: await gridRgbPng(pcaRgb(e.features.descriptors, rows * cols, e.features.dim), e.features.grid, THUMB, height) },
      { caption: 'saliency', png: await gridRgbPng(heatRgb(e.features.saliency), e.features.grid, THUMB, height) },
      ...(e.heads ? [{ caption: `heads 0–${e.heads.length - 1}`, png: await headsPng(e.heads, e.features.grid) }] : []),
      { caption: `Dice ${e.score.dice.toFixed(2)} · IoU ${e.score.iou.toFixed(2)}`, png: await comparisonPng(e.image, e.mask, e.truth, THUMB) },
    ],
  };
}

/** Each head's map, viridis min–max per map, tiled (two rows beyond three heads) to the thumbnail's width. */
async function headsPng(heads: Float32Array[], grid: [number, number]): Promise<Buffer> {
  const columns = heads.length <= 3 ? heads.length : Math.ceil(heads.length / 2);
  const gap = 2;
  const width = Math.max(8, Math.floor((THUMB - (columns + 1) * gap) / columns));
  const height = Math.max(1, Math.round((width * grid[0]) / grid[1]));
  const tiles = await Promise.all(heads.map((map) => gridRgbPng(heatRgb(map), grid, width, height)));
  return tileGrid(tiles, columns, width, height, gap);
}
