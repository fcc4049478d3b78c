import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULTS, FACETS, type Facet } from '../config.js';
import { facet, intInRange, numberInRange } from './parsers.js';
import { addModelOptions, addPrecisionOption } from './options.js';
import { readGray } from '../io/image.js';
import { locateWeights } from '../vit/models.js';
import { vitWeights } from '../vit/session.js';
import { analyzeImage } from '../vit/analysis.js';
import { resolvePrecision, type PrecisionChoice } from '../vit/precision.js';
import { writeViz } from '../eval/viz.js';
import { createProgress } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { makeOutDir } from '../io/out-dir.js';
import { log } from '../util/log.js';

interface VizFlags {
  facets: Facet[];
  layers: number[] | 'all';
  model: string;
  stride: number;
  loadSize: number;
  precision: PrecisionChoice;
  eps: number;
  seed: number;
  tileWidth: number;
  out: string;
}

export function register(program: Command): void {
  const command = program
    .command('viz')
    .description(
      'the paper\'s pictures of one image (DINO weights needed): PCA of keys/queries/values/tokens of every block as RGB, ' +
        'and the last block\'s CLS attention per head; PNGs, two PNG grids, index.html and viz.json',
    )
    .argument('<image>', 'input image (any format sharp reads)')
    .addOption(new Option('--facets <list>', `facets, comma-separated: ${FACETS.join(', ')}`).argParser(facetList).default([...FACETS], FACETS.join(',')))
    .option('--layers <list>', 'blocks, 0-based: ranges and lists such as 0-11 or 3,7,11; "all" = every block of the model (0-11 for ViT-S/8)', layerList, 'all' as const);
  addPrecisionOption(addModelOptions(command))
    .option('--eps <x>', 'the robustness experiment\'s noise: I + ε·N(0, 1) on the normalized input', numberInRange('--eps', 0, 100), 0)
    .option('--seed <n>', 'seed of the noise draw', intInRange('--seed', 0, 2 ** 31 - 1), DEFAULTS.seed)
    .option('--tile-width <px>', 'width of each picture', intInRange('--tile-width', 16, 2048), 224)
    .requiredOption('--out <dir>', 'output directory (created when missing)')
    .action(runViz);
}

function facetList(raw: string): Facet[] {
  const facets = raw.split(',').map((part) => facet(part.trim(), '--facets'));
  return [...new Set(facets)];
}

/** "0-11", "3,7,11", "0-3,11" or "all" → sorted distinct block indices. */
export function layerList(raw: string): number[] | 'all' {
  if (raw.trim() === 'all') return 'all';
  const layers = new Set<number>();
  for (const part of raw.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!range) throw new InvalidArgumentError(`--layers must be block numbers or ranges such as 0-11 or 3,7,11 (got ${raw})`);
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) throw new InvalidArgumentError(`--layers: range ${part.trim()} runs backwards`);
    if (to > 47) throw new InvalidArgumentError(`--layers: block ${to} is beyond any DINO ViT (got ${raw})`);
    for (let layer = from; layer <= to; layer++) layers.add(layer);
  }
  return [...layers].sort((a, b) => a - b);
}

async function runViz(imagePath: string, flags: VizFlags): Promise<void> {
  const weightsPath = await locateWeights(flags.model);
  if (!weightsPath) {
    throw new UserError(
      `viz needs the DINO weights of ${flags.model}: run \`bonestream fetch-model ${flags.model}\` to download them into models/, or pass --model path/to/model.safetensors`,
    );
  }
  const precision = await resolvePrecision(flags.precision, weightsPath);
  const image = await readGray(imagePath);
  await makeOutDir(flags.out, `--out ${flags.out}`);
  // The cached read that analyzeImage then reuses: the weights file is read and decoded once.
  const layers = flags.layers === 'all' ? blocks((await vitWeights(weightsPath)).config.depth) : flags.layers;
  log.info(`viz: ${flags.facets.length} facet(s) × ${layers.length} block(s) of ${flags.model}`, { stride: flags.stride, loadSize: flags.loadSize, eps: flags.eps });
  const analysis = await analyzeImage(weightsPath, image, {
    stride: flags.stride,
    loadSize: flags.loadSize,
    facets: flags.facets,
    layers,
    precision,
    noise: flags.eps > 0 ? { eps: flags.eps, seed: flags.seed } : undefined,
  });
  const about: Array<[string, string]> = [
    ['image', imagePath],
    ['model', `${flags.model} (${weightsPath})`],
    ['stride / load size', `${flags.stride} px / ${flags.loadSize} px`],
    ['precision', precision],
    ['noise ε', flags.eps > 0 ? `${flags.eps} (seed ${flags.seed})` : '0'],
  ];
  const pictures = flags.facets.length * layers.length + analysis.heads + 1 + 2;
  const progress = createProgress('pictures', pictures);
  try {
    await writeViz(flags.out, image, analysis, { facets: flags.facets, layers, tileWidth: flags.tileWidth, about }, () => progress.increment());
  } finally {
    progress.stop();
  }
  log.info(`viz: ${pictures} pictures in ${resolve(flags.out)} (index.html shows them labelled)`);
}

function blocks(depth: number): number[] {
  return Array.from({ length: depth }, (_, i) => i);
}
