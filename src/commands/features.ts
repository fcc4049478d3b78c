import type { Command } from 'commander';
import { resolve } from 'node:path';
import { forEachInput } from './inputs.js';
import { addBackendOptions, backendRequest, type BackendOptions } from './options.js';
import { openExtractor } from '../backend.js';
import { readGray } from '../io/image.js';
import { writeFeaturesFiles } from '../io/features-files.js';
import { createProgress } from '../util/progress.js';
import { makeOutDir } from '../io/out-dir.js';
import { log } from '../util/log.js';
import { plural } from '../util/plural.js';

interface FeaturesOptions extends BackendOptions {
  out: string;
}

export function register(program: Command): void {
  const command = program
    .command('features')
    .description(
      'extract the paper\'s patch descriptors and saliency from images: writes NAME.descriptors.npy [rows, cols, D], ' +
        'NAME.saliency.npy [rows, cols] and NAME.json per input NAME.ext',
    )
    .argument('<image...>', 'input images (any format sharp reads: PNG, JPEG, TIFF, WebP …; DICOM: its first frame, cut to its ultrasound region)')
    .requiredOption('--out <dir>', 'output directory (created when missing)');
  addBackendOptions(command).action(runFeatures);
}

async function runFeatures(images: string[], options: FeaturesOptions): Promise<void> {
  await makeOutDir(options.out, `--out ${options.out}`);
  const extractor = await openExtractor(backendRequest(options));
  const about = {
    loadSize: options.loadSize,
    layer: options.layer,
    facet: options.facet,
    model: extractor.model,
    backend: extractor.backend,
  };
  const progress = createProgress('features', images.length);
  let failed: number;
  try {
    failed = await forEachInput(
      images,
      async (path, name) => writeFeaturesFiles(options.out, name, await extractor.extract(await readGray(path)), { ...about, source: resolve(path) }),
      () => progress.increment(),
    );
  } finally {
    progress.stop();
    await extractor.dispose();
  }
  log.info(`features: ${images.length - failed} of ${plural(images.length, 'image')} written to ${resolve(options.out)}`, {
    backend: extractor.backend,
    model: extractor.model,
  });
  if (failed) process.exitCode = 1;
}
