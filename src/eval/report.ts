import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every experiment's output: `results.json` (all numbers), `results.md` (tables, the paper's
 * figures, pictures under figures/), and `report.html`, self-contained (inline SVG charts,
 * base64 PNG pictures; no script, no network).
 */

export interface Table {
  columns: string[];
  rows: string[][];
}

export interface Figure {
  caption: string;
  png: Buffer;
}

/** Pictures in rows, e.g. one row per set size or per ε; `columns` heads the columns. */
export interface Gallery {
  columns?: string[];
  rows: Array<{ label: string; figures: Figure[] }>;
}

export interface Section {
  heading: string;
  notes?: string[];
  table?: Table;
  /** Standalone SVG documents (see charts.ts). */
  charts?: string[];
  gallery?: Gallery;
}

export interface ReportDoc {
  title: string;
  /** What produced the numbers: backend, model, stride, τ, … */
  setup: Array<[string, string]>;
  /** The paper's figures for comparison (the section is left out when empty). */
  reference: string[];
  sections: Section[];
}

export interface WrittenReport {
  json: string;
  markdown: string;
  html: string;
}

export async function writeReport(outDir: string, results: unknown, doc: ReportDoc): Promise<WrittenReport> {
  await mkdir(join(outDir, 'figures'), { recursive: true });
  const files = figureFiles(doc);
  await Promise.all([...files].map(([figure, file]) => writeFile(join(outDir, file), figure.png)));
  const written = {
    json: join(outDir, 'results.json'),
    markdown: join(outDir, 'results.md'),
    html: join(outDir, 'report.html'),
  };
  await writeFile(written.json, JSON.stringify(results, null, 2) + '\n');
  await writeFile(written.markdown, toMarkdown(doc, files));
  await writeFile(written.html, toHtml(doc));
  return written;
}

/** figures/NN-slug.png for every picture, in document order. */
function figureFiles(doc: ReportDoc): Map<Figure, string> {
  const files = new Map<Figure, string>();
  for (const section of doc.sections) {
    for (const row of section.gallery?.rows ?? []) {
      for (const figure of row.figures) {
        const slug = `${section.heading} ${row.label} ${figure.caption}`.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '');
        files.set(figure, `figures/${String(files.size + 1).padStart(3, '0')}-${slug.slice(0, 60)}.png`);
      }
    }
  }
  return files;
}

export function toMarkdown(doc: ReportDoc, files: Map<Figure, string> = new Map()): string {
  const out: string[] = [`# ${doc.title}`, ''];
  out.push(...doc.setup.map(([key, value]) => `- **${key}**: ${value}`), '');
  if (doc.reference.length) out.push('## The paper, for comparison', '', ...doc.reference.map((line) => `- ${line}`), '');
  for (const section of doc.sections) {
    out.push(`## ${section.heading}`, '');
    if (section.notes?.length) out.push(...section.notes.map((note) => `- ${note}`), '');
    if (section.table) out.push(...markdownTable(section.table), '');
    for (const row of section.gallery?.rows ?? []) {
      const pictures = row.figures.filter((f) => files.has(f)).map((f) => `![${f.caption}](${files.get(f)})`);
      if (pictures.length) out.push(`**${row.label}**`, '', pictures.join(' '), '');
    }
  }
  return out.join('\n');
}

function markdownTable(table: Table): string[] {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    `| ${table.columns.map(cell).join(' | ')} |`,
    `| ${table.columns.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
}

export function toHtml(doc: ReportDoc): string {
  const body: string[] = [`<h1>${escapeHtml(doc.title)}</h1>`];
  body.push('<dl class="setup">', ...doc.setup.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`), '</dl>');
  if (doc.reference.length) {
    body.push('<section class="paper"><h2>The paper, for comparison</h2><ul>', ...doc.reference.map((line) => `<li>${escapeHtml(line)}</li>`), '</ul></section>');
  }
  for (const section of doc.sections) {
    body.push(`<section><h2>${escapeHtml(section.heading)}</h2>`);
    if (section.notes?.length) body.push('<ul>', ...section.notes.map((n) => `<li>${escapeHtml(n)}</li>`), '</ul>');
    if (section.table) body.push(htmlTable(section.table));
    for (const svg of section.charts ?? []) body.push(`<figure class="chart">${stripXmlProlog(svg)}</figure>`);
    if (section.gallery) body.push(htmlGallery(section.gallery));
    body.push('</section>');
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(doc.title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
dl.setup { display: grid; grid-template-columns: max-content auto; gap: 0.1rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
section.paper { background: #f4f6fa; padding: 0.2rem 1rem; border-left: 4px solid #4c78a8; }
figure { margin: 0.3rem; display: inline-block; vertical-align: top; }
figcaption { font-size: 12px; max-width: 200px; }
.gallery th { text-align: left; font-weight: 600; }
.gallery td { border: none; text-align: left; vertical-align: top; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

function htmlTable(table: Table): string {
  const head = `<tr>${table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const rows = table.rows.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`);
  return `<table>\n${head}\n${rows.join('\n')}\n</table>`;
}

function htmlGallery(gallery: Gallery): string {
  const head = gallery.columns ? `<tr><th></th>${gallery.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>` : '';
  const rows = gallery.rows.map(
    (row) => `<tr><th>${escapeHtml(row.label)}</th>${row.figures.map((f) => `<td>${htmlFigure(f)}</td>`).join('')}</tr>`,
  );
  return `<table class="gallery">\n${head}\n${rows.join('\n')}\n</table>`;
}

function htmlFigure(figure: Figure): string {
  const alt = escapeHtml(figure.caption);
  return `<figure><img alt="${alt}" src="data:image/png;base64,${figure.png.toString('base64')}"><figcaption>${alt}</figcaption></figure>`;
}

function stripXmlProlog(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
