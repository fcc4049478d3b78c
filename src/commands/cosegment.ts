import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { addMaskOptions, addSegmentOptions, maskSettings, type MaskOptions, type SegmentOptions } from './options.js';
import { intInRange } from './parsers.js';
import { readFeaturesDir, type NamedFeatures } from '../io/features-files.js';
import { readGray, writeGrayPng } from '../io/image.js';
import { surfaceStage, surfaceJson, type MaskSettings } from '../surface/stage.js';
import type { GrayImage } from '../types.js';
import type { BoneSurface } from '../surface/types.js';
import { UserError } from '../util/errors.js';
import { cosegment } from '../segment/cosegment.js';
import { patchMaskToImage } from '../segment/mask.js';
import { votesNeeded } from '../segment/vote.js';
import { createProgress, type Progress } from '../util/progress.js';
import { log } from '../util/log.js';
import { plural } from '../util/plural.js';
import { makeOutDir } from '../io/out-dir.js';

export interface CosegmentCommandOptions extends SegmentOptions, MaskOptions {
  fitEvery: number;
  out: string;
}

/** `--fit-every`, shared by the commands that co-segment. */
export function addFitEveryOption(command: Command): Command {
  return command.option(
    '--fit-every <n>',
    'fit k-means on every n-th descriptor, then assign all (the reference code uses 100; 1 fits on all)',
    intInRange('--fit-every', 1, 1_000_000),
    1,
  );
}

/** A progress bar over the k-means fits (up to 14 with --k auto), opened on the first fit. */
export function kmeansProgress(): { onFit: (k: number, maxK: number) => void; stop: () => void } {
  let bar: Progress | undefined;
  return {
    onFit: (k, maxK) => {
      bar ??= createProgress('k-means', maxK, 'k-means [{bar}] k = {value} of at most {total}');
      bar.update(k);
    },
    stop: () => bar?.stop(),
  };
}

export function register(program: Command): void {
  const command = program
    .command('cosegment')
    .description(
      'co-segment images from the files `bonestream features` wrote (NAME.descriptors.npy, NAME.saliency.npy, NAME.json): ' +
        'k-means over all descriptors, saliency voting, then the bone surface traced in each image (read from the path NAME.json records); ' +
        'writes NAME.mask.png (0/255, original size, the --mask kind) and summary.json (with the surface polylines)',
    )
    .argument('<features-dir>', 'directory written by `bonestream features`')
    .requiredOption('--out <dir>', 'output directory (created when missing)');
  addMaskOptions(addFitEveryOption(addSegmentOptions(command))).action(runCosegment);
}

async function runCosegment(dir: string, options: CosegmentCommandOptions): Promise<void> {
  const items = await readFeaturesDir(dir);
  const settings = maskSettings(options);
  // Checked before the k-means (as the images are): masks that cannot be written would be lost after all the work.
  const images = settings.kind === 'cells' ? [] : await Promise.all(items.map((item) => sourceImage(item, settings)));
  await makeOutDir(options.out, `--out ${options.out}`);
  const features = items.map((item) => item.features);
  const kmeans = kmeansProgress();
  let result;
  try {
    result = cosegment(features, { k: options.k, tau: options.tau, votes: options.votes, seed: options.seed, fitEvery: options.fitEvery, onFit: kmeans.onFit });
  } finally {
    kmeans.stop();
  }
  const progress = createProgress('masks', items.length);
  const surfaces: Array<BoneSurface | undefined> = [];
  try {
    for (const [i, item] of items.entries()) {
      const cells = patchMaskToImage(result.patchMasks[i], item.features);
      const { mask, surface } = settings.kind === 'cells' ? { mask: cells, surface: undefined } : surfaceStage({ gray: images[i], cells }, settings);
      surfaces.push(surface);
      await writeGrayPng(join(options.out, `${item.name}.mask.png`), mask);
      progress.increment();
    }
  } finally {
    progress.stop();
  }
  const summary = {
    k: result.k,
    salientClusters: result.salient,
    votes: result.votes,
    votesNeeded: votesNeeded(items.length, options.votes),
    elbow: result.elbow,
    settings: { k: options.k, tau: options.tau, votes: options.votes, seed: options.seed, fitEvery: options.fitEvery },
    mask: settings,
    features: { backend: items[0].meta.backend, model: items[0].meta.model, layer: items[0].meta.layer, facet: items[0].meta.facet },
    images: items.map((item, i) => ({
      name: item.name,
      mask: `${item.name}.mask.png`,
      grid: item.features.grid,
      bonePatches: result.patchMasks[i].reduce((sum, v) => sum + v, 0),
      clusterSaliency: result.clusterSaliency[i],
      surface: surfaceJson(surfaces[i]),
    })),
  };
  await writeFile(join(options.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  log.info(`cosegment: ${plural(items.length, 'image')}, mask ${settings.kind}, k = ${result.k}, salient clusters [${result.salient.join(', ')}]; masks in ${resolve(options.out)}`);
}

/** The image a features trio came from, at the size the features say (the surface stage needs its pixels). */
async function sourceImage(item: NamedFeatures, settings: MaskSettings): Promise<GrayImage> {
  const { source, original } = item.meta;
  if (!source) {
    throw new UserError(`${item.name}.json records no source image, which --mask ${settings.kind} needs: rerun \`bonestream features\`, or pass --mask cells`);
  }
  const image = await readGray(source);
  if (image.width !== original.width || image.height !== original.height) {
    throw new UserError(`${source} is ${image.width}×${image.height} but ${item.name}.json says the features came from a ${original.width}×${original.height} image`);
  }
  return image;
}
