import { readdir, stat } from 'node:fs/promises';
import { extname, basename, join } from 'node:path';
import { readGray } from '../io/image.js';
import { readsAsDicom } from '../io/dicom/file.js';
import { UserError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { GrayImage } from '../types.js';

/** An image with its reference mask (0/255, nonzero = bone), as the experiments score it. */
export interface LabelledImage {
  name: string;
  path: string;
  image: GrayImage;
  truth: GrayImage;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.gif']);

/** What could not be used, and why; `error` marks broken input (the run then exits 1). */
export interface LeftOut {
  file: string;
  reason: string;
  error: boolean;
}

/**
 * Reads every image in `imagesDir` (sorted by name) and its label `NAME.png` in `labelsDir`
 * (the convention of `bonestream segment --labels`). An image without a label is left out
 * with a warning, since it cannot be scored; an unreadable image or label, or a label of
 * another size than its image, is left out with an error, and the others still run.
 * `option` names the flags in messages, e.g. `{ images: '--a', labels: '--labels-a' }`.
 */
export async function loadLabelledImages(
  imagesDir: string,
  labelsDir: string,
  option: { images: string; labels: string },
): Promise<{ images: LabelledImage[]; leftOut: LeftOut[] }> {
  const files = await listImages(imagesDir, option.images);
  await requireDirectory(labelsDir, option.labels);
  const images: LabelledImage[] = [];
  const leftOut: LeftOut[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const name = basename(file, extname(file));
    const twin = seen.get(name);
    if (twin) throw new UserError(`${option.images} ${imagesDir}: ${twin} and ${file} would share the label ${name}.png; rename one`);
    seen.set(name, file);
    const path = join(imagesDir, file);
    const labelPath = join(labelsDir, `${name}.png`);
    const leave = (reason: string, error: boolean) => {
      leftOut.push({ file: path, reason, error });
      (error ? log.error : log.warn)(`${path}: left out of the experiment: ${reason}`);
    };
    if (!(await isFile(labelPath))) {
      leave(`no label ${labelPath}`, false);
      continue;
    }
    try {
      const [image, truth] = await Promise.all([readGray(path), readGray(labelPath)]);
      if (image.width !== truth.width || image.height !== truth.height) {
        throw new UserError(`its label ${labelPath} is ${truth.width}×${truth.height} but the image is ${image.width}×${image.height}`);
      }
      images.push({ name, path, image, truth });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      leave(error.message.replace(`${path}: `, ''), true);
    }
  }
  if (images.length === 0) {
    throw new UserError(`no usable labelled images among the ${files.length} in ${imagesDir} (${option.images}) with labels NAME.png in ${labelsDir} (${option.labels})`);
  }
  return { images, leftOut };
}

async function listImages(dir: string, option: string): Promise<string[]> {
  await requireDirectory(dir, option);
  const files: string[] = [];
  for (const file of (await readdir(dir)).sort()) {
    // DICOM files are known by content too: scanners name them IM0001, 1.2.840…, or anything.
    if (IMAGE_EXTENSIONS.has(extname(file).toLowerCase()) || (await readsAsDicom(join(dir, file)))) files.push(file);
  }
  if (files.length === 0) {
    throw new UserError(`${option} ${dir}: no images (${[...IMAGE_EXTENSIONS].join(' ')}, or DICOM)`);
  }
  return files;
}

async function requireDirectory(dir: string, option: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UserError(`${option} ${dir}: not a directory`);
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
