import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Analysis } from '../vit/analysis.js';
import type { Facet } from '../config.js';
import type { GrayImage } from '../types.js';
import { pcaRgb } from './pca.js';
import { grayPng, gridRgbPng, heatRgb, tileGrid } from './picture.js';
import { toHtml, type Figure, type Gallery, type ReportDoc } from './report.js';

/**
 * The paper's pictures of one image: for every facet and block the first three principal
 * components of the patch features as RGB, and the last block's CLS attention per head.
 * Written as individual PNGs, two PNG grids (pca-grid.png: one row per facet, one column per
 * block; attention-grid.png: input, heads, mean), an index.html that labels them, and viz.json.
 */

export interface VizRequest {
  facets: Facet[];
  layers: number[];
  /** Width of one picture in pixels; the height follows the patch grid's aspect. */
  tileWidth: number;
  /** What produced the pictures (model, stride, …), shown in index.html and viz.json. */
  about: Array<[string, string]>;
}

export interface VizFiles {
  pca: Array<{ facet: Facet; layer: number; file: string }>;
  attention: Array<{ head: number | 'mean'; file: string }>;
  pcaGrid: string;
  attentionGrid: string;
  html: string;
}

/** Per-head maps plus their mean (the saliency the co-segmentation uses), each [patches]. */
export function attentionMaps(analysis: Analysis): Array<{ head: number | 'mean'; map: Float32Array }> {
  const patches = analysis.grid[0] * analysis.grid[1];
  const heads = Array.from({ length: analysis.heads }, (_, h) => ({
    head: h as number | 'mean',
    map: analysis.attention.subarray(h * patches, (h + 1) * patches),
  }));
  const mean = new Float32Array(patches);
  for (const { map } of heads) for (let p = 0; p < patches; p++) mean[p] += map[p] / analysis.heads;
  return [...heads, { head: 'mean', map: mean }];
}

export async function writeViz(outDir: string, image: GrayImage, analysis: Analysis, request: VizRequest, onPicture: () => void = () => {}): Promise<VizFiles> {
  await mkdir(outDir, { recursive: true });
  const [rows, cols] = analysis.grid;
  const width = request.tileWidth;
  const height = Math.max(1, Math.round((width * rows) / cols));
  const save = async (file: string, png: Buffer) => {
    await writeFile(join(outDir, file), png);
    onPicture();
    return png;
  };

  const pca: VizFiles['pca'] = [];
  const pcaRows: Gallery['rows'] = [];
  for (const facet of request.facets) {
    const figures: Figure[] = [];
    for (const layer of request.layers) {
      const features = analysis.features.get(`${facet}:${layer}`);
      if (!features) throw new Error(`analysis has no ${facet} of block ${layer}`);
      const file = `pca-${facet}-block${layer}.png`;
      const png = await save(file, await gridRgbPng(pcaRgb(features, rows * cols, features.length / (rows * cols)), analysis.grid, width, height));
      pca.push({ facet, layer, file });
      figures.push({ caption: `${facet}, block ${layer}`, png });
    }
    pcaRows.push({ label: facet, figures });
  }

  const input = await grayPng(image, width, height);
  const attention: VizFiles['attention'] = [];
  const attentionFigures: Figure[] = [{ caption: 'input', png: input }];
  for (const { head, map } of attentionMaps(analysis)) {
    const file = head === 'mean' ? 'attention-mean.png' : `attention-head${head}.png`;
    const png = await save(file, await gridRgbPng(heatRgb(map), analysis.grid, width, height));
    attention.push({ head, file });
    attentionFigures.push({ caption: head === 'mean' ? 'mean of heads' : `head ${head}`, png });
  }

  const pcaGrid = 'pca-grid.png';
  await save(pcaGrid, await tileGrid(pcaRows.flatMap((r) => r.figures.map((f) => f.png)), request.layers.length, width, height));
  const attentionGrid = 'attention-grid.png';
  await save(attentionGrid, await tileGrid(attentionFigures.map((f) => f.png), attentionFigures.length, width, height));

  const doc: ReportDoc = {
    title: 'ViT features and attention',
    setup: [
      ...request.about,
      ['patch grid', `${rows} × ${cols}`],
      ['heads', String(analysis.heads)],
      ['descriptor length', String(analysis.dim)],
    ],
    reference: [],
    sections: [
      {
        heading: 'PCA of the patch features (first three components → RGB)',
        notes: ['As in "Deep ViT Features as Dense Visual Descriptors" and the paper: each component min–max scaled to one colour channel.'],
        gallery: { columns: request.layers.map((l) => `block ${l}`), rows: pcaRows },
      },
      { heading: 'Last block: CLS attention per head (viridis, min–max per map)', gallery: { rows: [{ label: 'attention', figures: attentionFigures }] } },
    ],
  };
  const html = 'index.html';
  await writeFile(join(outDir, html), toHtml(doc));
  const files = { pca, attention, pcaGrid, attentionGrid, html };
  const about = Object.fromEntries(doc.setup);
  await writeFile(join(outDir, 'viz.json'), JSON.stringify({ about, grid: analysis.grid, heads: analysis.heads, facets: request.facets, layers: request.layers, files }, null, 2) + '\n');
  return files;
}
