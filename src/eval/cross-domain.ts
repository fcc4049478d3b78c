import { drawPairs, drawSets } from './sampling.js';
import { seededRandom } from '../util/random.js';
import { segmentAndScore, type ImageScore, type SetMember, type SetOutcome } from './score.js';
import type { SegmentFeaturesOptions } from './score.js';
import { summarize, formatSummary, type Summary } from './stats.js';
import { scoreBarChart } from './charts.js';
import { overlayFigures } from './figures.js';
import { PAPER } from './reference.js';
import type { ReportDoc } from './report.js';
import { setupLines, type ExperimentSetup } from './setup.js';

/**
 * The paper's cross-domain experiment: two images from different domains (devices,
 * anatomies) are co-segmented together, and each image's score is compared with what it
 * gets when paired with an image of its own domain.
 */

export interface Domain {
  label: string;
  images: SetMember[];
}

export interface CrossDomainOptions {
  /** Pairs drawn per kind (A–B, A–A, B–B); fewer when fewer distinct pairs exist. */
  pairs: number;
  seed: number;
  segment: SegmentFeaturesOptions;
}

export interface PairResult {
  images: [string, string];
  k: number;
  salient: number[];
  scores: [ImageScore, ImageScore];
}

export interface ScorePair {
  dice: Summary;
  iou: Summary;
}

export interface DomainSummary {
  domain: string;
  /** Null when the domain has fewer than two images (no same-domain pair). */
  same: ScorePair | null;
  cross: ScorePair;
}

/** One image: mean of its scores over the pairs it was in, by kind of pair. */
export interface ImageComparison {
  domain: string;
  name: string;
  same: { dice: number; iou: number; pairs: number } | null;
  cross: { dice: number; iou: number; pairs: number } | null;
}

export interface CrossDomainResult {
  domains: Array<{ label: string; images: string[] }>;
  crossPairs: PairResult[];
  samePairs: Record<string, PairResult[]>;
  summary: DomainSummary[];
  perImage: ImageComparison[];
}

/** The first cross pair with its masks, for the report's overlays. */
export interface PairExample {
  members: [SetMember, SetMember];
  outcome: SetOutcome;
}

export function plannedPairs(a: number, b: number, options: Pick<CrossDomainOptions, 'pairs' | 'seed'>) {
  const rng = seededRandom(options.seed);
  return {
    cross: drawPairs(a, b, options.pairs, rng),
    sameA: drawSets(a, 2, options.pairs, rng) as Array<[number, number]>,
    sameB: drawSets(b, 2, options.pairs, rng) as Array<[number, number]>,
  };
}

export function runCrossDomain(
  a: Domain,
  b: Domain,
  options: CrossDomainOptions,
  onPair: () => void = () => {},
): { result: CrossDomainResult; example?: PairExample } {
  if (a.label === b.label) throw new Error(`the two domains need different labels (both are "${a.label}")`);
  const plan = plannedPairs(a.images.length, b.images.length, options);
  let example: PairExample | undefined;
  const segmentPair = (first: SetMember, second: SetMember): PairResult => {
    const outcome = segmentAndScore([first, second], options.segment);
    example ??= { members: [first, second], outcome };
    onPair();
    return { images: [first.name, second.name], k: outcome.k, salient: outcome.salient, scores: [outcome.scores[0], outcome.scores[1]] };
  };
  const segmentAll = (domainA: Domain, domainB: Domain, pairs: Array<[number, number]>) =>
    pairs.map(([i, j]) => segmentPair(domainA.images[i], domainB.images[j]));
  const crossPairs = segmentAll(a, b, plan.cross);
  const samePairs = {
    [a.label]: segmentAll(a, a, plan.sameA),
    [b.label]: segmentAll(b, b, plan.sameB),
  };
  // Scores by domain: in a cross pair the first image is from A, the second from B.
  const crossScores = {
    [a.label]: crossPairs.map((p) => p.scores[0]),
    [b.label]: crossPairs.map((p) => p.scores[1]),
  };
  const summary = [a, b].map((d) => ({
    domain: d.label,
    same: samePairs[d.label].length ? summarizePair(samePairs[d.label].flatMap((p) => p.scores)) : null,
    cross: summarizePair(crossScores[d.label]),
  }));
  const perImage = [a, b].flatMap((d) =>
    d.images.map((image) => ({
      domain: d.label,
      name: image.name,
      same: meanOf(samePairs[d.label].flatMap((p) => p.scores).filter((s) => s.name === image.name)),
      cross: meanOf(crossScores[d.label].filter((s) => s.name === image.name)),
    })),
  );
  const domains = [a, b].map((d) => ({ label: d.label, images: d.images.map((i) => i.name) }));
  return { result: { domains, crossPairs, samePairs, summary, perImage }, example };
}

function summarizePair(scores: ImageScore[]): ScorePair {
  return { dice: summarize(scores.map((s) => s.dice)), iou: summarize(scores.map((s) => s.iou)) };
}

function meanOf(scores: ImageScore[]): { dice: number; iou: number; pairs: number } | null {
  if (scores.length === 0) return null;
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  return { dice: mean(scores.map((s) => s.dice)), iou: mean(scores.map((s) => s.iou)), pairs: scores.length };
}

/** The report: same vs cross per domain (table and chart), per-image changes, one pair's overlays. */
export async function crossDomainReport(
  result: CrossDomainResult,
  example: PairExample | undefined,
  setup: ExperimentSetup,
  options: Pick<CrossDomainOptions, 'pairs' | 'seed'>,
): Promise<ReportDoc> {
  const cell = (pair: ScorePair | null, metric: 'dice' | 'iou') => (pair ? formatSummary(pair[metric]) : 'no pair (one image)');
  const rows = result.summary.map((s) => [
    s.domain,
    String(result.samePairs[s.domain].length),
    cell(s.same, 'dice'),
    cell(s.same, 'iou'),
    String(result.crossPairs.length),
    cell(s.cross, 'dice'),
    cell(s.cross, 'iou'),
  ]);
  const points = result.summary.flatMap((s) =>
    (['dice', 'iou'] as const).flatMap((metric) => {
      const x = `${s.domain} · ${metric === 'dice' ? 'Dice' : 'IoU'}`;
      const same = s.same ? [{ x, series: 'same domain', mean: s.same[metric].mean, std: s.same[metric].std }] : [];
      return [...same, { x, series: 'cross domain', mean: s.cross[metric].mean, std: s.cross[metric].std }];
    }),
  );
  const fixed = (value: number) => value.toFixed(3);
  const perImageRows = result.perImage.map((p) => [
    p.domain,
    p.name,
    p.same ? `${fixed(p.same.dice)} (${p.same.pairs})` : '–',
    p.cross ? `${fixed(p.cross.dice)} (${p.cross.pairs})` : '–',
    p.same && p.cross ? (p.cross.dice - p.same.dice >= 0 ? '+' : '') + fixed(p.cross.dice - p.same.dice) : '–',
    p.same ? fixed(p.same.iou) : '–',
    p.cross ? fixed(p.cross.iou) : '–',
  ]);
  const gallery = example
    ? {
        rows: [
          {
            label: `cross pair ${example.members[0].name} + ${example.members[1].name}`,
            figures: await overlayFigures(example.members, example.outcome.masks, example.outcome.scores),
          },
        ],
      }
    : undefined;
  return {
    title: 'Cross-domain co-segmentation',
    setup: setupLines(setup, [
      ...result.domains.map((d): [string, string] => [`domain ${d.label}`, `${d.images.length} labelled images`]),
      ['pairs per kind', `up to ${options.pairs} distinct pairs (A–B, A–A, B–B), drawn with seed ${options.seed}`],
    ]),
    reference: [...PAPER.crossDomain.notes],
    sections: [
      {
        heading: 'Same-domain pairs against cross-domain pairs',
        notes: ['Mean ± sample standard deviation over every image of every pair of that kind.'],
        table: { columns: ['domain', 'same pairs', 'same Dice', 'same IoU', 'cross pairs', 'cross Dice', 'cross IoU'], rows },
        charts: [await scoreBarChart(points, { title: 'Same domain vs cross domain', xTitle: 'domain · metric' })],
      },
      {
        heading: 'Per image',
        notes: ['Mean over the pairs the image was in (count in parentheses); Δ = cross − same.'],
        table: { columns: ['domain', 'image', 'same Dice', 'cross Dice', 'Δ Dice', 'same IoU', 'cross IoU'], rows: perImageRows },
      },
      ...(gallery ? [{ heading: 'Overlays', notes: ['Orange: predicted bone. Green outline: reference mask.'], gallery }] : []),
    ],
  };
}
