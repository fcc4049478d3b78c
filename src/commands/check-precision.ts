import type { Command } from 'commander';
import { addDescriptorOptions, addModelOptions, addSegmentOptions, type SegmentOptions } from './options.js';
import { addFitEveryOption } from './cosegment.js';
import type { Facet } from '../config.js';
import { readGray } from '../io/image.js';
import { locateWeights } from '../vit/models.js';
import { cpuHasVnni, PRECISION_BOUNDS, writeVerdict } from '../vit/precision.js';
import { comparePrecisions, type PrecisionFigures } from '../eval/precision.js';
import { UserError } from '../util/errors.js';
import { log } from '../util/log.js';

interface CheckPrecisionOptions extends SegmentOptions {
  model: string;
  stride: number;
  loadSize: number;
  layer: number;
  facet: Facet;
  fitEvery: number;
  write: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('check-precision')
    .description(
      'int8 against fp32 on your weights and images: descriptor cosine per patch (min, 1st percentile) and co-segmentation mask IoU per image, ' +
        `with a verdict against the bounds (cosine ≥ ${PRECISION_BOUNDS.keysCosineP1} at the 1st percentile, every mask IoU ≥ ${PRECISION_BOUNDS.maskIou}); ` +
        'writes the verdict beside the weights (MODEL.precision.json), which --precision auto reads',
    )
    .argument('<image...>', 'images like the ones the service will see (a few frames of a sweep; any format sharp reads)')
    .option('--no-write', 'print the figures only; leave the verdict file as it is');
  addFitEveryOption(addSegmentOptions(addDescriptorOptions(addModelOptions(command)))).action(runCheckPrecision);
}

async function runCheckPrecision(paths: string[], options: CheckPrecisionOptions): Promise<void> {
  const weightsPath = await locateWeights(options.model);
  if (!weightsPath) throw new UserError(`--model: no weights for ${options.model}; run \`bonestream fetch-model ${options.model}\` first`);
  const images = [];
  for (const path of paths) images.push({ name: path, image: await readGray(path) });
  log.info(`check-precision: ${images.length} image(s), fp32 then int8`, { model: options.model, stride: options.stride, loadSize: options.loadSize });
  const figures = await comparePrecisions(images, {
    weightsPath,
    model: options.model,
    stride: options.stride,
    loadSize: options.loadSize,
    layer: options.layer,
    facet: options.facet,
    segment: { k: options.k, tau: options.tau, votes: options.votes, seed: options.seed, fitEvery: options.fitEvery },
  });
  process.stdout.write(report(figures, options.facet, options.layer));
  if (options.write) {
    const path = await writeVerdict(weightsPath, {
      passed: figures.passed,
      bounds: { ...PRECISION_BOUNDS },
      figures: { keysCosineMin: figures.keysCosineMin, keysCosineP1: figures.keysCosineP1, maskIouMin: figures.maskIouMin, maskIouMean: figures.maskIouMean },
      images: figures.images,
      settings: { stride: options.stride, loadSize: options.loadSize, layer: options.layer, facet: options.facet },
      cpuVnni: cpuHasVnni(),
      checkedAt: new Date().toISOString(),
    });
    log.info(`check-precision: verdict written to ${path}`);
  }
  if (!figures.passed) process.exitCode = 1;
}

/** The figures as lines a person reads, each with its bound where it has one. */
export function report(f: PrecisionFigures, facet: Facet, layer: number): string {
  const mark = (ok: boolean) => (ok ? 'ok' : 'BELOW BOUND');
  const cos = (x: number) => x.toFixed(5);
  return [
    `images                         ${f.images} (${f.patches} patches)`,
    `${facet} cosine, block ${layer}, min     ${cos(f.keysCosineMin)}`,
    `${facet} cosine, 1st percentile     ${cos(f.keysCosineP1)}  (bound ≥ ${PRECISION_BOUNDS.keysCosineP1}: ${mark(f.keysCosineP1 >= PRECISION_BOUNDS.keysCosineP1)})`,
    `${facet} cosine, mean               ${cos(f.keysCosineMean)}`,
    `mask IoU int8 vs fp32, min     ${f.maskIouMin.toFixed(4)}  (bound ≥ ${PRECISION_BOUNDS.maskIou}: ${mark(f.maskIouMin >= PRECISION_BOUNDS.maskIou)})`,
    `mask IoU int8 vs fp32, mean    ${f.maskIouMean.toFixed(4)}`,
    `k (fp32 / int8)                ${f.kFp32} / ${f.kInt8}`,
    `verdict                        ${f.passed ? 'PASS: int8 keeps fp32\'s features and masks on these images' : 'FAIL: use fp32 with these weights'}`,
    '',
  ].join('\n');
}
