import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { scoreBarChart, scoreLineChart } from '../src/eval/charts.js';
import { toHtml, toMarkdown, writeReport, escapeHtml, type ReportDoc } from '../src/eval/report.js';

/** The aria-labels vega puts on every data mark of a chart, e.g. "ε: 1; mean ± std: 0.5; …". */
function markLabels(svg: string, role: string): string[] {
  const pattern = new RegExp(`<(?:path|line) aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${role}"`, 'g');
  return [...svg.matchAll(pattern)].map((m) => m[1]);
}

test('line chart: one point per (x, series) with its value, a whisker per point, dashed reference lines', async () => {
  const points = [
    { x: 0, series: 'Dice', mean: 0.81, std: 0.05 },
    { x: 1.5, series: 'Dice', mean: 0.64, std: 0.1 },
    { x: 3, series: 'Dice', mean: 0.42, std: 0.2 },
    { x: 0, series: 'IoU', mean: 0.69, std: 0.04 },
    { x: 1.5, series: 'IoU', mean: 0.47, std: 0.1 },
    { x: 3, series: 'IoU', mean: 0.27, std: 0.15 },
  ];
  const svg = await scoreLineChart(points, {
    title: 'noise',
    xTitle: 'ε',
    yTitle: 'mean ± std',
    reference: [{ series: 'Dice', value: 0.9, label: 'paper Dice 0.9' }],
  });
  assert.ok(svg.startsWith('<svg'));
  const symbols = markLabels(svg, 'point');
  assert.is(symbols.length, points.length);
  for (const p of points) {
    assert.ok(symbols.includes(`ε: ${p.x}; mean ± std: ${p.mean}; series: ${p.series}`), `no point for ${JSON.stringify(p)}`);
  }
  const whiskers = markLabels(svg, 'rule mark').filter((label) => label.includes('high'));
  assert.is(whiskers.length, points.length);
  // Whiskers are mean ± std clipped to [0, 1].
  assert.ok(whiskers.some((label) => label.includes('ε: 3;') && label.includes('series: IoU') && /high: 0\.42/.test(label)));
  assert.match(svg, /stroke-dasharray="5,4"/);
  assert.match(svg, /paper Dice 0\.9/);
  assert.not.match(svg, /https?:\/\/(?!www\.w3\.org)/);
});

test('bar chart: one bar per (category, series) in the given order', async () => {
  const points = [
    { x: 'A · Dice', series: 'same domain', mean: 0.9, std: 0.02 },
    { x: 'A · Dice', series: 'cross domain', mean: 0.78, std: 0.06 },
    { x: 'B · Dice', series: 'same domain', mean: 0.6, std: 0.1 },
    { x: 'B · Dice', series: 'cross domain', mean: 0.5, std: 0.1 },
  ];
  const svg = await scoreBarChart(points, { title: 't', xTitle: 'domain · metric' });
  const bars = markLabels(svg, 'bar');
  assert.is(bars.length, 4);
  for (const p of points) assert.ok(bars.some((b) => b.includes(`domain · metric: ${p.x}`) && b.includes(`: ${p.mean};`) && b.includes(`series: ${p.series}`)));
  const legend = svg.indexOf('same domain', svg.indexOf('role-legend'));
  assert.ok(legend > 0 && legend < svg.indexOf('cross domain', svg.indexOf('role-legend')), 'legend keeps the data order');
});

async function tinyPng(value: number): Promise<Buffer> {
  return sharp(Buffer.alloc(4 * 4, value), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
}

async function sampleDoc(): Promise<ReportDoc> {
  return {
    title: 'A <test> report',
    setup: [['backend', 'physics & friends']],
    reference: ['paper: Dice ≈ 0.9'],
    sections: [
      {
        heading: 'Scores',
        notes: ['a | note'],
        table: { columns: ['size', 'Dice'], rows: [['2', '0.500 ± 0.100'], ['3', 'a|b']] },
        charts: ['<?xml version="1.0"?>\n<svg><g class="x"/></svg>'],
        gallery: { columns: ['input'], rows: [{ label: 'row 1', figures: [{ caption: 'img "0"', png: await tinyPng(10) }, { caption: 'img 1', png: await tinyPng(200) }] }] },
      },
    ],
  };
}

test('markdown: setup, the paper\'s figures, tables with escaped pipes, pictures by file', async () => {
  const markdown = toMarkdown(await sampleDoc());
  assert.match(markdown, /^# A <test> report\n/);
  assert.match(markdown, /- \*\*backend\*\*: physics & friends/);
  assert.match(markdown, /## The paper, for comparison\n\n- paper: Dice ≈ 0\.9/);
  assert.match(markdown, /\| size \| Dice \|\n\| --- \| --- \|\n\| 2 \| 0\.500 ± 0\.100 \|\n\| 3 \| a\\\|b \|/);
});

test('html: escaped text, inline SVG without its XML prolog, PNGs inline as base64, nothing fetched', async () => {
  const doc = await sampleDoc();
  const html = toHtml(doc);
  assert.match(html, /<h1>A &lt;test&gt; report<\/h1>/);
  assert.match(html, /physics &amp; friends/);
  assert.match(html, /<figure class="chart"><svg><g class="x"\/><\/svg><\/figure>/);
  assert.not.match(html, /<\?xml/);
  const images = [...html.matchAll(/<img alt="([^"]*)" src="data:image\/png;base64,([^"]+)"/g)];
  assert.is(images.length, 2);
  assert.is(images[0][1], 'img &quot;0&quot;');
  assert.equal(Buffer.from(images[0][2], 'base64'), doc.sections[0].gallery!.rows[0].figures[0].png);
  assert.not.match(html, /(src|href)="(https?:)?\/\//);
  assert.not.match(html, /<script|<link/);
  assert.is(escapeHtml(`<a href='x'>&`), '&lt;a href=&#39;x&#39;&gt;&amp;');
});

test('writeReport: results.json, results.md with figure files, report.html', async () => {
  const out = await mkdtemp(join(tmpdir(), 'bonestream-report-'));
  try {
    const doc = await sampleDoc();
    const written = await writeReport(out, { answer: 42 }, doc);
    assert.equal(JSON.parse(await readFile(written.json, 'utf8')), { answer: 42 });
    const figures = (await readdir(join(out, 'figures'))).sort();
    assert.is(figures.length, 2);
    assert.match(figures[0], /^001-.*\.png$/);
    const markdown = await readFile(written.markdown, 'utf8');
    for (const file of figures) assert.ok(markdown.includes(`(figures/${file})`), `${file} not linked`);
    const first = await readFile(join(out, 'figures', figures[0]));
    assert.equal(first, doc.sections[0].gallery!.rows[0].figures[0].png);
    assert.match(await readFile(written.html, 'utf8'), /^<!doctype html>/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test.run();
