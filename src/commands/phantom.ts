import { Option, InvalidArgumentError, type Command } from 'commander';
import { basename, join } from 'node:path';
import { intInRange, numberInRange } from './parsers.js';
import { createProgress } from '../util/progress.js';
import { UserError, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { plural } from '../util/plural.js';
import { phantomDefaults, PHANTOM_SIDE, PHANTOM_VIDEO, PHANTOM_VIDEO_FPS, PHANTOM_STILL_COUNT, type PhantomOptions } from '../phantom/index.js';
import { writePhantomSet, MANIFEST_FILE, VIDEO_FILE } from '../phantom/write.js';
import { clearEarlierRun, existingFiles, filesIn, makeOutDir, readRecord } from '../io/out-dir.js';

interface PhantomCommandOptions {
  out: string;
  frames: number;
  images: number;
  size: { width: number; height: number };
  seed: number;
  fps: number;
  noise: number;
  distractors: boolean;
  bones: PhantomOptions['bones'];
  crf: number;
  force: boolean;
}

/** `WxH`, both even (H.264 in yuv420p needs even sizes) and sides the generator draws. */
function parseSize(raw: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(raw.trim());
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  const valid = (side: number) => side >= PHANTOM_SIDE.min && side <= PHANTOM_SIDE.max && side % 2 === 0;
  if (!match || !valid(width) || !valid(height)) {
    throw new InvalidArgumentError(`--size must be WxH with even numbers in ${PHANTOM_SIDE.min}..${PHANTOM_SIDE.max}, e.g. 256x256 (got ${raw})`);
  }
  return { width, height };
}

function parseBones(raw: string): PhantomOptions['bones'] {
  if (raw === 'random') return raw;
  return intInRange('--bones', 1, 2)(raw) as 1 | 2;
}

export function register(program: Command): void {
  const defaults = PHANTOM_VIDEO;
  program
    .command('phantom')
    .description(
      'write a synthetic B-mode phantom with its true masks: images/NAME.png, labels/{surface,region,distractor}/NAME.png ' +
        '(the layout `segment --labels` reads), an H.264 video.mp4 and manifest.json. The same options give the same files.',
    )
    .requiredOption('--out <dir>', 'output directory (created when missing; the files of an earlier set there are replaced)')
    .option('--frames <n>', 'video frames, one full cycle of probe motion so the video loops (0 = no video)', intInRange('--frames', 0, 100000), defaults.loopFrames)
    .option('--images <n>', 'still images with masks, each a different anatomy (seed, seed+1, …)', intInRange('--images', 0, 100000), PHANTOM_STILL_COUNT)
    .addOption(new Option('--size <WxH>', 'image and video size in pixels, even numbers').argParser(parseSize).default({ width: defaults.width, height: defaults.height }, `${defaults.width}x${defaults.height}`))
    .option('--seed <n>', 'seed of the anatomy and the speckle', intInRange('--seed', 0, 2 ** 31 - 1), defaults.seed)
    .option('--fps <f>', 'video frame rate', numberInRange('--fps', 1, 120), PHANTOM_VIDEO_FPS)
    .option('--noise <eps>', 'additive white noise ε·N(0, 1) on the [0, 1] intensity', numberInRange('--noise', 0, 1), defaults.noise)
    .option('--distractors', 'add things that are not bone: a bright fascia line without a shadow and a hypoechoic vessel', defaults.distractors)
    .option('--no-distractors', 'draw soft tissue and bone only')
    .addOption(new Option('--bones <n>', 'bone cross-sections per image: 1, 2 or random (chosen by the seed)').argParser(parseBones).default(defaults.bones))
    .option('--crf <n>', 'H.264 quality, x264 CRF (lower = better and larger)', intInRange('--crf', 0, 51), 28)
    .option('--force', 'replace files at --out of a phantom set\'s names that no earlier `phantom` run wrote', false)
    .action(runPhantom);
}

const LABEL_KINDS = ['surface', 'region', 'distractor'];

/**
 * Makes --out ready: the files of the set written there before (its manifest lists them) are
 * removed, so no image or video of that set stays beside the new one; other files of a
 * set's names are refused unless --force.
 */
async function prepareOut(dir: string, force: boolean): Promise<void> {
  const named = `--out ${dir}`;
  await makeOutDir(dir, named);
  const folders = ['images', ...LABEL_KINDS.map((kind) => join('labels', kind))];
  const present = await existingFiles([join(dir, VIDEO_FILE), join(dir, MANIFEST_FILE)]);
  for (const folder of folders) present.push(...(await filesIn(join(dir, folder), /\.png$/)));
  const manifest = (await readRecord(join(dir, MANIFEST_FILE))) as { images?: Array<{ file?: unknown }>; labels?: unknown; video?: { file?: unknown } | null } | undefined;
  const earlier = new Set<string>();
  if (Array.isArray(manifest?.images) && Array.isArray(manifest.labels)) {
    earlier.add(join(dir, MANIFEST_FILE));
    if (typeof manifest.video?.file === 'string') earlier.add(join(dir, manifest.video.file));
    for (const { file } of manifest.images) {
      if (typeof file !== 'string') continue;
      earlier.add(join(dir, file));
      for (const labels of manifest.labels) if (typeof labels === 'string') earlier.add(join(dir, labels, basename(file)));
    }
  }
  await clearEarlierRun(named, 'phantom', present, earlier, force);
}

async function runPhantom(options: PhantomCommandOptions): Promise<void> {
  if (options.images === 0 && options.frames === 0) throw new UserError('phantom: --images 0 and --frames 0 leave nothing to write');
  const { width, height } = options.size;
  await prepareOut(options.out, options.force);
  const base = phantomDefaults(width, height, options.seed);
  const phantom: PhantomOptions = {
    ...base,
    noise: options.noise,
    distractors: options.distractors,
    bones: options.bones,
    loopFrames: options.frames > 0 ? options.frames : base.loopFrames,
  };
  const progress = createProgress('phantom', options.images + options.frames);
  try {
    await writePhantomSet(
      options.out,
      { phantom, images: options.images, frames: options.frames, fps: options.fps, crf: options.crf },
      () => progress.increment(),
    );
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(`phantom: ${error.message}`);
    throw new UserError(`phantom: could not write ${options.out}: ${errorMessage(error)}`, { cause: error });
  } finally {
    progress.stop();
  }
  log.info(`phantom: wrote ${plural(options.images, 'image')} with masks${options.frames ? ` and a ${options.frames}-frame video` : ''} to ${options.out}`, {
    size: `${width}x${height}`,
    seed: options.seed,
  });
}
