import { drawSets } from './sampling.js';
import { seededRandom } from '../util/random.js';
import { segmentAndScore, type ImageScore, type SetMember, type SetOutcome } from './score.js';
import type { SegmentFeaturesOptions } from './score.js';
import { summarize, formatSummary, type Summary } from './stats.js';
import { scoreLineChart } from './charts.js';
import { overlayFigures } from './figures.js';
import { PAPER } from './reference.js';
import type { ReportDoc } from './report.js';
import { setupLines, type ExperimentSetup } from './setup.js';
import { plural } from '../util/plural.js';

/**
 * The paper's same-domain experiment: random sets of n images of one domain are
 * co-segmented together, for n = 2, 3, 5 and 10; Dice and IoU are reported as mean ± std
 * over every image of every set of that size.
 */

export interface SameDomainOptions {
  sizes: number[];
  /** Sets drawn per size (fewer when fewer distinct sets exist). */
  repeats: number;
  /** Seeds the choice of sets; the co-segmentation has its own seed in `segment`. */
  seed: number;
  segment: SegmentFeaturesOptions;
}

export interface SetResult {
  images: string[];
  k: number;
  salient: number[];
  scores: ImageScore[];
}

export interface SizeResult {
  size: number;
  sets: SetResult[];
  dice: Summary;
  iou: Summary;
}

export interface SameDomainResult {
  images: string[];
  sizes: SizeResult[];
  /** Sizes that could not be run, with why (more images asked for than there are). */
  skipped: Array<{ size: number; reason: string }>;
}

/** The first set of each size with its masks, for the report's overlays. */
export interface SetExample {
  size: number;
  indices: number[];
  outcome: SetOutcome;
}

/**
 * Runs every size; `onSet` is called after each co-segmentation (for a progress bar).
 * Sets of one size come from a generator seeded by (seed, size), so adding a size to the
 * list does not change the sets drawn for the others.
 */
export function runSameDomain(
  images: SetMember[],
  options: SameDomainOptions,
  onSet: () => void = () => {},
): { result: SameDomainResult; examples: SetExample[] } {
  const result: SameDomainResult = { images: images.map((i) => i.name), sizes: [], skipped: [] };
  const examples: SetExample[] = [];
  for (const size of options.sizes) {
    const reason = sizeProblem(size, images.length);
    if (reason) {
      result.skipped.push({ size, reason });
      continue;
    }
    const sets: SetResult[] = [];
    for (const indices of plannedSets(images.length, size, options)) {
      const outcome = segmentAndScore(indices.map((i) => images[i]), options.segment);
      if (sets.length === 0) examples.push({ size, indices, outcome });
      sets.push({ images: indices.map((i) => images[i].name), k: outcome.k, salient: outcome.salient, scores: outcome.scores });
      onSet();
    }
    const scores = sets.flatMap((s) => s.scores);
    result.sizes.push({ size, sets, dice: summarize(scores.map((s) => s.dice)), iou: summarize(scores.map((s) => s.iou)) });
  }
  return { result, examples };
}

/** The index sets that `runSameDomain` will segment for one size (for progress totals). */
export function plannedSets(available: number, size: number, options: Pick<SameDomainOptions, 'repeats' | 'seed'>): number[][] {
  if (sizeProblem(size, available)) return [];
  return drawSets(available, size, options.repeats, seededRandom(setSeed(options.seed, size)));
}

function setSeed(seed: number, size: number): number {
  return (seed ^ Math.imul(size, 0x9e3779b1)) >>> 0;
}

function sizeProblem(size: number, available: number): string | undefined {
  if (size > available) return `sets of ${size} need ${size} labelled images; there are ${available}`;
  return undefined;
}

/** The report: table and chart per set size against the paper's figures, overlays of one set per size. */
export async function sameDomainReport(
  result: SameDomainResult,
  examples: SetExample[],
  images: SetMember[],
  setup: ExperimentSetup,
  options: Pick<SameDomainOptions, 'repeats' | 'seed'>,
): Promise<ReportDoc> {
  const { best } = PAPER.sameDomain;
  const rows = result.sizes.map((r) => [
    String(r.size),
    String(r.sets.length),
    String(r.dice.n),
    formatSummary(r.dice),
    formatSummary(r.iou),
  ]);
  rows.push(...result.skipped.map((s) => [String(s.size), '0', '0', 'skipped', 'skipped']));
  const points = result.sizes.flatMap((r) => [
    { x: r.size, series: 'Dice', mean: r.dice.mean, std: r.dice.std },
    { x: r.size, series: 'IoU', mean: r.iou.mean, std: r.iou.std },
  ]);
  const charts = points.length
    ? [
        await scoreLineChart(points, {
          title: 'Same-domain co-segmentation',
          xTitle: 'images per set',
          reference: [
            { series: 'Dice', value: best.dice, label: `paper, best domain: Dice ${best.dice}` },
            { series: 'IoU', value: best.iou, label: `paper, best domain: IoU ${best.iou}` },
          ],
        }),
      ]
    : [];
  const gallery = {
    rows: await Promise.all(
      examples.map(async (e) => ({
        label: `${plural(e.size, 'image')} (first set)`,
        figures: await overlayFigures(e.indices.map((i) => images[i]), e.outcome.masks, e.outcome.scores),
      })),
    ),
  };
  return {
    title: 'Same-domain co-segmentation',
    setup: setupLines(setup, [
      ['labelled images', String(result.images.length)],
      ['sets per size', `up to ${options.repeats} distinct sets, drawn with seed ${options.seed}`],
    ]),
    reference: [...PAPER.sameDomain.notes],
    sections: [
      {
        heading: 'Dice and IoU per set size',
        notes: [
          'Mean ± sample standard deviation over every image of every set of that size.',
          ...result.skipped.map((s) => `Size ${s.size} skipped: ${s.reason}.`),
        ],
        table: { columns: ['images per set', 'sets', 'images scored', 'Dice', 'IoU'], rows },
        charts,
      },
      { heading: 'Overlays', notes: ['Orange: predicted bone. Green outline: reference mask.'], gallery },
    ],
  };
}
