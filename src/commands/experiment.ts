import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { addBackendOptions, addMaskOptions, addSegmentOptions, backendRequest, maskSettings, type BackendOptions, type MaskOptions, type SegmentOptions } from './options.js';
import { intInRange, numberInRange, numberList } from './parsers.js';
import { addFitEveryOption } from './cosegment.js';
import { openExtractor } from '../backend.js';
import type { SegmentFeaturesOptions } from '../eval/score.js';
import type { SetMember } from '../eval/score.js';
import type { Extractor } from '../types.js';
import { loadLabelledImages, type LabelledImage, type LeftOut } from '../eval/dataset.js';
import { extractAll } from '../eval/extract.js';
import { runSameDomain, plannedSets, sameDomainReport } from '../eval/same-domain.js';
import { runCrossDomain, plannedPairs, crossDomainReport } from '../eval/cross-domain.js';
import { runNoise, noiseReport, type NoiseOptions } from '../eval/noise.js';
import { attentionMaps } from '../eval/viz.js';
import { locateWeights } from '../vit/models.js';
import { analyzeImage } from '../vit/analysis.js';
import { writeReport, type ReportDoc, type Table } from '../eval/report.js';
import { describeSetup, type ExperimentSetup } from '../eval/setup.js';
import { createProgress } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { makeOutDir } from '../io/out-dir.js';
import { log } from '../util/log.js';

/** `bonestream experiment same-domain | cross-domain | noise`: the paper's experiments. */

interface CommonOptions extends BackendOptions, SegmentOptions, MaskOptions {
  fitEvery: number;
  tolerance: number;
  out: string;
}

interface SameDomainFlags extends CommonOptions {
  images: string;
  labels: string;
  sizes: number[];
  repeats: number;
}

interface CrossDomainFlags extends CommonOptions {
  a: string;
  b: string;
  labelsA: string;
  labelsB: string;
  nameA: string;
  nameB: string;
  pairs: number;
}

interface NoiseFlags extends CommonOptions {
  images: string;
  labels: string;
  eps: number[];
  show: number;
}

export function register(program: Command): void {
  const experiment = program
    .command('experiment')
    .description('the paper\'s experiments, each writing results.json, results.md and a self-contained report.html');

  common(
    labelledImages(experiment.command('same-domain'), 'images of one domain')
      .description('random sets of n images of one domain co-segmented together; Dice/IoU mean ± std per n (--seed also seeds the choice of sets)')
      .addOption(listOption('--sizes <list>', 'images per set, comma-separated; a size above the number of labelled images is skipped with a warning', integerList('--sizes', 1, 1000), [2, 3, 5, 10]))
      .option('--repeats <n>', 'distinct random sets per size (fewer when fewer exist)', intInRange('--repeats', 1, 10000), 5),
  ).action((flags: SameDomainFlags) => sameDomain(flags));

  common(
    experiment
      .command('cross-domain')
      .description('pairs of images from two domains co-segmented together, against same-domain pairs of each image (--seed also seeds the choice of pairs)')
      .requiredOption('--a <dir>', 'images of domain A')
      .requiredOption('--b <dir>', 'images of domain B')
      .requiredOption('--labels-a <dir>', 'reference masks of domain A (NAME.png)')
      .requiredOption('--labels-b <dir>', 'reference masks of domain B (NAME.png)')
      .option('--name-a <label>', 'name of domain A in the report', 'A')
      .option('--name-b <label>', 'name of domain B in the report', 'B')
      .option('--pairs <n>', 'distinct pairs drawn of each kind: A–B, A–A and B–B (all when fewer exist)', intInRange('--pairs', 1, 100000), 10),
  ).action((flags: CrossDomainFlags) => crossDomain(flags));

  common(
    labelledImages(experiment.command('noise'), 'images, co-segmented together at every ε')
      .description('the robustness experiment: I + ε·N(0, 1) on the input the backend sees; Dice/IoU and feature change against ε (image i gets noise draw --seed + i, the same draw at every ε)')
      .addOption(listOption('--eps <list>', 'noise strengths ε, comma-separated', numberList('--eps', 0, 100), [0, 0.5, 1, 1.5, 2, 2.5, 3]))
      .option('--show <n>', 'images pictured at every ε in the report', intInRange('--show', 0, 100), 2),
  ).action((flags: NoiseFlags) => noise(flags));
}

function labelledImages(command: Command, imagesHelp: string): Command {
  return command
    .requiredOption('--images <dir>', imagesHelp)
    .requiredOption('--labels <dir>', 'reference masks: NAME.png for image NAME.ext (nonzero = bone)');
}

/** Backend, co-segmentation and output options, the same on every experiment. */
function common(command: Command): Command {
  addMaskOptions(addFitEveryOption(addSegmentOptions(addBackendOptions(command))))
    .option('--tolerance <px>', 'bone-surface tolerance of the surface precision/recall in results.json, in pixels (10 px ≈ 2 mm at 0.2 mm/px)', numberInRange('--tolerance', 0, 10_000), 10)
    .requiredOption('--out <dir>', 'output directory (created when missing)');
  return command;
}

/** An option whose default list shows in --help as it would be typed: 2,3,5,10. */
function listOption<T>(flags: string, description: string, parse: (raw: string) => T[], defaults: T[]): Option {
  return new Option(flags, description).argParser(parse).default(defaults, defaults.join(','));
}

function integerList(name: string, min: number, max: number) {
  const one = intInRange(name, min, max);
  return (raw: string): number[] => {
    const values = raw.split(',').map((part) => one(part.trim()));
    if (new Set(values).size !== values.length) throw new InvalidArgumentError(`${name} lists a value twice (got ${raw})`);
    return values;
  };
}

function segmentOptions(flags: CommonOptions): SegmentFeaturesOptions {
  return { k: flags.k, tau: flags.tau, votes: flags.votes, seed: flags.seed, fitEvery: flags.fitEvery, surfaceTolerancePx: flags.tolerance, mask: maskSettings(flags) };
}

/**
 * Opens the backend, runs the experiment, writes its report and prints its main table.
 * Images left out while loading are listed in the report and results.json; broken ones
 * make the run exit 1 once everything else is done.
 */
async function withExtractor(
  flags: CommonOptions,
  leftOut: LeftOut[],
  run: (extractor: Extractor, setup: ExperimentSetup) => Promise<{ results: object; doc: ReportDoc }>,
): Promise<void> {
  // Checked before the run: a report that cannot be written would lose its results.
  await makeOutDir(flags.out, `--out ${flags.out}`);
  const extractor = await openExtractor(backendRequest(flags));
  let written;
  try {
    const setup = describeSetup(extractor, flags, segmentOptions(flags));
    const { results, doc } = await run(extractor, setup);
    if (leftOut.length) doc.setup.push(['left out', leftOut.map((l) => `${l.file} (${l.reason})`).join('; ')]);
    written = await writeReport(flags.out, { setup, ...results, leftOut }, doc);
    const table = doc.sections.find((s) => s.table)?.table;
    if (table) process.stdout.write(plainTable(table));
  } finally {
    await extractor.dispose();
  }
  log.info(`report: ${resolve(written.html)}`, { json: written.json, markdown: written.markdown });
  if (leftOut.some((l) => l.error)) process.exitCode = 1;
}

function plainTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(table.columns), ...table.rows.map(line)].join('\n') + '\n';
}

/** Loads labelled image sets, collecting what had to be left out. */
function loader() {
  const leftOut: LeftOut[] = [];
  const load = async (imagesDir: string, labelsDir: string, option: { images: string; labels: string }): Promise<LabelledImage[]> => {
    const loaded = await loadLabelledImages(imagesDir, labelsDir, option);
    leftOut.push(...loaded.leftOut);
    return loaded.images;
  };
  return { leftOut, load };
}

async function withFeatures(extractor: Extractor, images: LabelledImage[], label: string): Promise<SetMember[]> {
  const features = await extractAll(extractor, images, label);
  return images.map((item, i) => ({ ...item, features: features[i] }));
}

async function sameDomain(flags: SameDomainFlags): Promise<void> {
  const { leftOut, load } = loader();
  const labelled = await load(flags.images, flags.labels, { images: '--images', labels: '--labels' });
  const runnable = flags.sizes.filter((size) => size <= labelled.length);
  if (runnable.length === 0) {
    throw new UserError(`--sizes ${flags.sizes.join(',')}: every size is larger than the ${labelled.length} labelled images in ${flags.images}`);
  }
  for (const size of flags.sizes.filter((s) => s > labelled.length)) {
    log.warn(`--sizes: sets of ${size} skipped: only ${labelled.length} labelled images in ${flags.images}`);
  }
  await withExtractor(flags, leftOut, async (extractor, setup) => {
    const images = await withFeatures(extractor, labelled, 'features');
    const total = runnable.reduce((sum, size) => sum + plannedSets(images.length, size, flags).length, 0);
    const progress = createProgress('sets', total);
    const options = { sizes: flags.sizes, repeats: flags.repeats, seed: flags.seed, segment: segmentOptions(flags) };
    let run;
    try {
      run = runSameDomain(images, options, () => progress.increment());
    } finally {
      progress.stop();
    }
    return { results: run.result, doc: await sameDomainReport(run.result, run.examples, images, setup, options) };
  });
}

async function crossDomain(flags: CrossDomainFlags): Promise<void> {
  if (flags.nameA === flags.nameB) throw new UserError(`--name-a and --name-b must differ (both are "${flags.nameA}")`);
  // The same folder twice compares a domain with itself: every A–B pair is a same-domain pair.
  if (sameFolder(flags.a, flags.b)) throw new UserError(`--a and --b are the same folder (${flags.a}); give the images of two domains`);
  const { leftOut, load } = loader();
  const labelledA = await load(flags.a, flags.labelsA, { images: '--a', labels: '--labels-a' });
  const labelledB = await load(flags.b, flags.labelsB, { images: '--b', labels: '--labels-b' });
  for (const [domain, option] of [[labelledA, '--a'], [labelledB, '--b']] as const) {
    if (domain.length < 2) log.warn(`${option}: one labelled image, so no same-domain pair to compare with`);
  }
  await withExtractor(flags, leftOut, async (extractor, setup) => {
    const a = await withFeatures(extractor, labelledA, `features ${flags.nameA}`);
    const b = await withFeatures(extractor, labelledB, `features ${flags.nameB}`);
    const plan = plannedPairs(a.length, b.length, flags);
    const progress = createProgress('pairs', plan.cross.length + plan.sameA.length + plan.sameB.length);
    const options = { pairs: flags.pairs, seed: flags.seed, segment: segmentOptions(flags) };
    let run;
    try {
      run = runCrossDomain({ label: flags.nameA, images: a }, { label: flags.nameB, images: b }, options, () => progress.increment());
    } finally {
      progress.stop();
    }
    return { results: run.result, doc: await crossDomainReport(run.result, run.example, setup, options) };
  });
}

/** Whether two paths name one folder (after `./`, `..` and symbolic links). */
function sameFolder(a: string, b: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  };
  return real(a) === real(b);
}

async function noise(flags: NoiseFlags): Promise<void> {
  const { leftOut, load } = loader();
  const images = await load(flags.images, flags.labels, { images: '--images', labels: '--labels' });
  await withExtractor(flags, leftOut, async (extractor, setup) => {
    const headMaps = extractor.backend === 'dino' ? await vitHeadMaps(extractor, flags) : undefined;
    const options = { eps: flags.eps, seed: flags.seed, segment: segmentOptions(flags), show: flags.show, headMaps };
    const run = await runNoise(extractor, images, options);
    return { results: run.result, doc: await noiseReport(run.result, run.examples, setup, options) };
  });
}

/** Per-head attention of the pictured images, from the same weights and settings as the extractor. */
async function vitHeadMaps(extractor: Extractor, flags: BackendOptions): Promise<NonNullable<NoiseOptions['headMaps']>> {
  const weightsPath = await locateWeights(extractor.model);
  if (!weightsPath) throw new Error(`weights of ${extractor.model} vanished after the extractor opened them`);
  return async (image, noise) => {
    const analysis = await analyzeImage(weightsPath, image, {
      stride: extractor.stride,
      loadSize: extractor.loadSize,
      facets: [flags.facet],
      layers: [flags.layer],
      noise: noise.eps > 0 ? noise : undefined,
    });
    return attentionMaps(analysis).flatMap((m) => (m.head === 'mean' ? [] : [m.map]));
  };
}
