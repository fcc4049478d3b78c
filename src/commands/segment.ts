import type { Command } from 'commander';
import { access, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { forEachInput } from './inputs.js';
import { addBackendOptions, addMaskOptions, addSegmentOptions, backendRequest, maskSettings, type BackendOptions, type MaskOptions, type SegmentOptions } from './options.js';
import { surfaceJson } from '../surface/stage.js';
import { addFitEveryOption, kmeansProgress } from './cosegment.js';
import { numberInRange } from './parsers.js';
import { openExtractor } from '../backend.js';
import { readGray, readImage, writeGrayPng } from '../io/image.js';
import { segmentImages, type SegmentInput } from '../eval/score.js';
import { overlayPng } from '../segment/overlay.js';
import type { MaskScores } from '../eval/mask-scores.js';
import { createProgress } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { makeOutDir } from '../io/out-dir.js';
import { log } from '../util/log.js';
import { plural } from '../util/plural.js';

interface SegmentCommandOptions extends BackendOptions, SegmentOptions, MaskOptions {
  fitEvery: number;
  labels?: string;
  mmPerPx?: number;
  tolerance?: number;
  out: string;
}

/** Bone-surface tolerance defaults: 2 mm (the largest d of UltraBones100k) or, without a pixel size, 10 px (≈ 2 mm at 0.2 mm/px). */
const DEFAULT_TOLERANCE_MM = 2;
const DEFAULT_TOLERANCE_PX = 10;

export function register(program: Command): void {
  const command = program
    .command('segment')
    .description(
      'segment bone in a set of B-mode images of one anatomy: features of each, co-segmentation of all together, then the bone surface traced in each; ' +
        'writes NAME.mask.png (0/255, the --mask kind), NAME.overlay.png and metrics.json (with the surface polylines), and with --labels prints Dice, IoU and bone-surface precision/recall',
    )
    .argument('<image...>', 'input images (any format sharp reads, or DICOM: its first frame, cut to its ultrasound region); segmented together as one set')
    .option('--labels <dir>', 'reference masks: NAME.png in this directory for input NAME.ext (nonzero = bone)')
    .option('--mm-per-px <x>', 'pixel size in mm (default: the DICOM inputs\' spacing); the surface tolerance is then in mm', numberInRange('--mm-per-px', 1e-6, 1000))
    .option(
      '--tolerance <d>',
      `bone-surface tolerance for surface precision/recall: in mm with --mm-per-px or DICOM spacing (default ${DEFAULT_TOLERANCE_MM} mm), otherwise in pixels (default ${DEFAULT_TOLERANCE_PX} px)`,
      numberInRange('--tolerance', 0, 10_000),
    )
    .requiredOption('--out <dir>', 'output directory (created when missing)');
  addMaskOptions(addFitEveryOption(addSegmentOptions(addBackendOptions(command)))).action(runSegment);
}

function toleranceInPixels(options: SegmentCommandOptions, mmPerPx: number | undefined): number {
  if (mmPerPx === undefined) return options.tolerance ?? DEFAULT_TOLERANCE_PX;
  return (options.tolerance ?? DEFAULT_TOLERANCE_MM) / mmPerPx;
}

/**
 * The pixel size the tolerance is measured in: --mm-per-px, else the one all the inputs' DICOM
 * headers agree on (the mean of x and y where they differ: the tolerance is a distance in any
 * direction), else none.
 */
function pixelSize(options: SegmentCommandOptions, spacings: Array<[number, number] | undefined>): { mmPerPx?: number; from?: string } {
  if (options.mmPerPx !== undefined) return { mmPerPx: options.mmPerPx, from: '--mm-per-px' };
  const sizes = spacings.map((s) => (s ? (s[0] + s[1]) / 2 : undefined));
  const first = sizes[0];
  if (first === undefined || sizes.some((size) => size === undefined || Math.abs(size - first) > 1e-9 * first)) {
    if (sizes.some((size) => size !== undefined)) log.warn('segment: the inputs do not all carry the same pixel spacing; the surface tolerance stays in pixels (give --mm-per-px)');
    return {};
  }
  log.info(`segment: pixel size ${+first.toFixed(6)} mm from the DICOM headers; the surface tolerance is in mm`);
  return { mmPerPx: first, from: 'DICOM' };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Reads the images (and their labels); unreadable ones are reported and left out. */
async function readInputs(paths: string[], labelsDir: string | undefined): Promise<{ inputs: SegmentInput[]; failed: number; spacings: Array<[number, number] | undefined> }> {
  if (labelsDir !== undefined && !(await stat(labelsDir).catch(() => undefined))?.isDirectory()) {
    throw new UserError(`--labels ${labelsDir}: no such directory`);
  }
  const inputs: SegmentInput[] = [];
  const spacings: Array<[number, number] | undefined> = [];
  const failed = await forEachInput(paths, async (path, name) => {
    const { image, spacingMm } = await readImage(path);
    const input: SegmentInput = { name, image };
    if (labelsDir !== undefined) {
      const labelPath = join(labelsDir, `${name}.png`);
      if (await exists(labelPath)) {
        input.truth = await readGray(labelPath);
        if (input.truth.width !== image.width || input.truth.height !== image.height) {
          throw new Error(`label ${labelPath} is ${input.truth.width}×${input.truth.height} but the image is ${image.width}×${image.height}`);
        }
      } else {
        log.warn(`${path}: no label ${labelPath}; left out of the metrics`);
      }
    }
    inputs.push(input);
    spacings.push(spacingMm);
  });
  return { inputs, failed, spacings };
}

function formatRow(name: string, s: MaskScores): string {
  const cells = [s.dice, s.iou, s.surfacePrecision, s.surfaceRecall].map((v) => v.toFixed(3).padStart(9));
  return `${name.padEnd(24)}${cells.join('')}\n`;
}

async function runSegment(paths: string[], options: SegmentCommandOptions): Promise<void> {
  const { inputs, failed, spacings } = await readInputs(paths, options.labels);
  if (inputs.length === 0) throw new UserError('no readable input image');
  const { mmPerPx, from: mmPerPxFrom } = pixelSize(options, spacings);
  const surfaceTolerancePx = toleranceInPixels(options, mmPerPx);
  // Checked before the run: masks that cannot be written would be lost after all the work.
  await makeOutDir(options.out, `--out ${options.out}`);
  const extractor = await openExtractor(backendRequest(options));
  const progress = createProgress('features', inputs.length);
  const kmeans = kmeansProgress();
  let outcome;
  try {
    outcome = await segmentImages(extractor, inputs, {
      k: options.k,
      tau: options.tau,
      votes: options.votes,
      seed: options.seed,
      fitEvery: options.fitEvery,
      surfaceTolerancePx,
      mask: maskSettings(options),
      onExtracted: () => progress.increment(),
      onFit: (k, maxK) => {
        progress.stop(); // one bar at a time on the terminal line
        kmeans.onFit(k, maxK);
      },
    });
  } finally {
    progress.stop();
    kmeans.stop();
    await extractor.dispose();
  }
  for (const [i, image] of outcome.images.entries()) {
    await writeGrayPng(join(options.out, `${image.name}.mask.png`), image.mask);
    await writeFile(join(options.out, `${image.name}.overlay.png`), await overlayPng(inputs[i].image, image.mask, image.surface?.polylines));
  }
  const { cosegmentation } = outcome;
  const metrics = {
    backend: extractor.backend,
    model: extractor.model,
    settings: { stride: options.stride, loadSize: options.loadSize, layer: options.layer, facet: options.facet, k: options.k, tau: options.tau, votes: options.votes, seed: options.seed, fitEvery: options.fitEvery },
    mask: maskSettings(options),
    surfaceTolerancePx,
    ...(mmPerPx === undefined ? {} : { mmPerPx, mmPerPxFrom }),
    k: cosegmentation.k,
    salientClusters: cosegmentation.salient,
    votes: cosegmentation.votes,
    elbow: cosegmentation.elbow,
    images: outcome.images.map((image) => ({
      name: image.name,
      mask: `${image.name}.mask.png`,
      overlay: `${image.name}.overlay.png`,
      scores: image.scores ?? null,
      surface: surfaceJson(image.surface),
    })),
    mean: outcome.mean ?? null,
  };
  await writeFile(join(options.out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  if (outcome.mean) {
    process.stdout.write(`${'image'.padEnd(24)}${['Dice', 'IoU', 'surf P', 'surf R'].map((h) => h.padStart(9)).join('')}\n`);
    for (const image of outcome.images) if (image.scores) process.stdout.write(formatRow(image.name, image.scores));
    process.stdout.write(formatRow(`mean (${plural(outcome.images.filter((i) => i.scores).length, 'image')})`, outcome.mean));
    const px = `${+surfaceTolerancePx.toFixed(3)} px`;
    process.stdout.write(`mask ${options.mask}; surface tolerance ${mmPerPx === undefined ? px : `${+(surfaceTolerancePx * mmPerPx).toFixed(3)} mm (${px} at ${+mmPerPx.toFixed(6)} mm/px)`}\n`);
  }
  log.info(`segment: ${plural(inputs.length, 'image')}, backend ${extractor.backend} (${extractor.model}), mask ${options.mask}, k = ${cosegmentation.k}, salient [${cosegmentation.salient.join(', ')}]; written to ${resolve(options.out)}`);
  if (failed) process.exitCode = 1;
}
