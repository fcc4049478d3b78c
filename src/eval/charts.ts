import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Report charts: Vega-Lite specs compiled with vega-lite and rendered headless to SVG by
 * vega's View (renderer 'none'), so reports need no browser and no network. Every data
 * mark carries an aria-label with its values, which keeps the SVG checkable.
 */

/** A score with its spread, as drawn: mean with a ±std whisker clipped to [0, 1]. */
export interface ScorePoint {
  /** Position on the x axis: set size, ε, or a category name for bar charts. */
  x: number | string;
  /** Series name, e.g. "Dice" or "same domain". */
  series: string;
  mean: number;
  std: number;
}

/** A horizontal reference line (the paper's figure), coloured like its series. */
export interface ReferenceLine {
  series: string;
  value: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  xTitle: string;
  yTitle?: string;
  reference?: ReferenceLine[];
}

const SIZE = { width: 420, height: 240 };
const SCORE_TITLE = 'score (mean ± std)';

/** Mean ± std against a numeric x (set size, ε): one line with points and whiskers per series. */
export async function scoreLineChart(points: ScorePoint[], options: ChartOptions): Promise<string> {
  const ticks = [...new Set(points.map((p) => Number(p.x)))];
  const x = { field: 'x', type: 'quantitative' as const, title: options.xTitle, scale: { zero: false, padding: 16 }, axis: { values: ticks } };
  return renderVegaLite({
    ...SIZE,
    title: options.title,
    layer: [
      {
        data: { values: withWhiskers(points) },
        layer: [
          { mark: { type: 'rule' }, encoding: { x, y: whiskerLow(options), y2: { field: 'high' }, color: seriesColor(points) } },
          {
            mark: { type: 'line', point: { size: 50 } },
            encoding: { x, y: yScore(options), color: seriesColor(points) },
          },
        ],
      },
      ...referenceLayers(options, seriesColor(points)),
    ],
  });
}

/** Mean ± std per category, bars grouped side by side by series. */
export async function scoreBarChart(points: ScorePoint[], options: ChartOptions): Promise<string> {
  const x = { field: 'x', type: 'nominal' as const, title: options.xTitle, sort: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'series', type: 'nominal' as const, scale: { domain: seriesOrder(points) } };
  return renderVegaLite({
    ...SIZE,
    title: options.title,
    data: { values: withWhiskers(points) },
    layer: [
      { mark: { type: 'bar' }, encoding: { x, xOffset, y: yScore(options), color: seriesColor(points) } },
      { mark: { type: 'rule' }, encoding: { x, xOffset, y: whiskerLow(options), y2: { field: 'high' } } },
    ],
  });
}

/** Compiles and renders any Vega-Lite spec to a standalone SVG string. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function withWhiskers(points: ScorePoint[]) {
  return points.map((p) => ({ ...p, low: Math.max(0, p.mean - p.std), high: Math.min(1, p.mean + p.std) }));
}

function yScore(options: ChartOptions) {
  return { field: 'mean', type: 'quantitative' as const, title: options.yTitle ?? SCORE_TITLE, scale: { domain: [0, 1] } };
}

function whiskerLow(options: ChartOptions) {
  return { ...yScore(options), field: 'low' };
}

/** Series keep the order in which they first appear in the data (not alphabetical). */
function seriesOrder(points: ScorePoint[]): string[] {
  return [...new Set(points.map((p) => p.series))];
}

function seriesColor(points: ScorePoint[]) {
  return { field: 'series', type: 'nominal' as const, title: null, scale: { domain: seriesOrder(points) }, legend: { labelLimit: 320 } };
}

function referenceLayers(options: ChartOptions, color: ReturnType<typeof seriesColor>) {
  const reference = options.reference ?? [];
  if (reference.length === 0) return [];
  const y = { field: 'value', type: 'quantitative' as const, title: options.yTitle ?? SCORE_TITLE };
  return [
    {
      data: { values: reference },
      layer: [
        { mark: { type: 'rule' as const, strokeDash: [5, 4] }, encoding: { y, color } },
        {
          mark: { type: 'text' as const, align: 'right' as const, dy: -6, x: 'width' as const, fontSize: 10 },
          encoding: { y, text: { field: 'label' }, color },
        },
      ],
    },
  ];
}
