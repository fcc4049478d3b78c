import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Features, Size } from '../types.js';
import { UserError } from '../util/errors.js';
import { readNpy, writeNpy } from './npy.js';
import { checkPixels } from './pixel-limit.js';

/**
 * The file trio `bonestream features` writes per image and `bonestream cosegment` reads:
 * NAME.descriptors.npy [rows, cols, D] float32, NAME.saliency.npy [rows, cols] float32, and
 * NAME.json with the grid and the geometry needed to map patches back to pixels.
 */
export interface FeaturesMeta {
  grid: [number, number];
  stride: number;
  loadSize: number;
  layer: number;
  facet: string;
  model: string;
  backend: string;
  original: Size;
  resized: Size;
  patchSize: number;
  /** The image the features came from (absolute path), so `cosegment` can trace its bone surface. */
  source?: string;
}

export interface NamedFeatures {
  name: string;
  features: Features;
  meta: FeaturesMeta;
}

const DESCRIPTORS_SUFFIX = '.descriptors.npy';
const SALIENCY_SUFFIX = '.saliency.npy';

export function featuresPaths(dir: string, name: string) {
  return {
    descriptors: join(dir, name + DESCRIPTORS_SUFFIX),
    saliency: join(dir, name + SALIENCY_SUFFIX),
    meta: join(dir, name + '.json'),
  };
}

/** Writes the trio for one image; `meta` carries what the features themselves do not (model, layer…). */
export async function writeFeaturesFiles(
  dir: string,
  name: string,
  features: Features,
  about: Pick<FeaturesMeta, 'loadSize' | 'layer' | 'facet' | 'model' | 'backend' | 'source'>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const paths = featuresPaths(dir, name);
  const [rows, cols] = features.grid;
  const { stride, patchSize, original, resized } = features.geometry;
  const meta: FeaturesMeta = { grid: [rows, cols], stride, patchSize, original, resized, ...about };
  await writeNpy(paths.descriptors, { shape: [rows, cols, features.dim], data: features.descriptors });
  await writeNpy(paths.saliency, { shape: [rows, cols], data: features.saliency });
  await writeFile(paths.meta, JSON.stringify(meta, null, 2) + '\n');
}

function positiveInt(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0;
}

function isSize(value: unknown): value is Size {
  const size = value as Size;
  return typeof size === 'object' && size !== null && positiveInt(size.width) && positiveInt(size.height);
}

async function readMeta(path: string): Promise<FeaturesMeta> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${path}: missing (every NAME${DESCRIPTORS_SUFFIX} needs its NAME.json from \`bonestream features\`)`);
  }
  let meta: FeaturesMeta;
  try {
    meta = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const problems: string[] = [];
  if (!Array.isArray(meta?.grid) || meta.grid.length !== 2 || !meta.grid.every(positiveInt)) problems.push('grid must be [rows, cols]');
  if (!positiveInt(meta?.stride)) problems.push('stride must be a positive integer');
  if (!positiveInt(meta?.patchSize)) problems.push('patchSize must be a positive integer');
  if (!isSize(meta?.original)) problems.push('original must be {width, height}');
  if (!isSize(meta?.resized)) problems.push('resized must be {width, height}');
  if (meta?.source !== undefined && typeof meta.source !== 'string') problems.push('source must be a path');
  if (problems.length) throw new UserError(`${path}: ${problems.join('; ')}`);
  // Masks are drawn at the original size: a claimed size is checked before anything is allocated for it.
  checkPixels(path, meta.original.width, meta.original.height, 'original');
  checkPixels(path, meta.resized.width, meta.resized.height, 'resized image');
  return meta;
}

/** NaN or ±∞ would silently poison k-means; name the file and the first bad value's index. */
function checkFinite(values: Float32Array, path: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new UserError(`${path}: value ${values[i]} at flat index ${i}; features must be finite`);
  }
}

/** Reads one image's trio and checks that the three files agree; errors name the file. */
export async function readFeaturesFiles(dir: string, name: string): Promise<NamedFeatures> {
  const paths = featuresPaths(dir, name);
  const meta = await readMeta(paths.meta);
  const [rows, cols] = meta.grid;
  const descriptors = await readNpy(paths.descriptors);
  if (descriptors.shape.length !== 3 || descriptors.shape[0] !== rows || descriptors.shape[1] !== cols || !(descriptors.shape[2] >= 1)) {
    throw new UserError(`${paths.descriptors}: shape [${descriptors.shape}] does not match the grid ${rows}×${cols} in ${paths.meta} (expected [${rows}, ${cols}, D], D ≥ 1)`);
  }
  const saliency = await readNpy(paths.saliency).catch((error) => {
    throw new UserError(`${paths.saliency}: missing or unreadable saliency map (${(error as Error).message})`);
  });
  if (saliency.shape.length !== 2 || saliency.shape[0] !== rows || saliency.shape[1] !== cols) {
    throw new UserError(`${paths.saliency}: shape [${saliency.shape}] does not match the grid ${rows}×${cols} in ${paths.meta}`);
  }
  checkFinite(descriptors.data, paths.descriptors);
  checkFinite(saliency.data, paths.saliency);
  const features: Features = {
    grid: [rows, cols],
    dim: descriptors.shape[2],
    descriptors: descriptors.data,
    saliency: saliency.data,
    geometry: { stride: meta.stride, patchSize: meta.patchSize, original: meta.original, resized: meta.resized },
  };
  return { name, features, meta };
}

/** Names (NAME of NAME.descriptors.npy) of the feature sets in a directory, sorted. */
export async function listFeatureNames(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw new UserError(`${dir}: cannot read the features directory (${(error as Error).message})`);
  }
  const names = entries.filter((e) => e.endsWith(DESCRIPTORS_SUFFIX)).map((e) => e.slice(0, -DESCRIPTORS_SUFFIX.length));
  if (names.length === 0) throw new UserError(`${dir}: no *${DESCRIPTORS_SUFFIX} files (write them with \`bonestream features\`)`);
  return names.sort();
}

/** Reads every feature set of a directory and checks they share one descriptor length. */
export async function readFeaturesDir(dir: string): Promise<NamedFeatures[]> {
  const all: NamedFeatures[] = [];
  for (const name of await listFeatureNames(dir)) {
    const item = await readFeaturesFiles(dir, name);
    if (all.length && item.features.dim !== all[0].features.dim) {
      throw new UserError(
        `${featuresPaths(dir, name).descriptors}: descriptor length ${item.features.dim} differs from ${featuresPaths(dir, all[0].name).descriptors} (${all[0].features.dim}); features from one backend and settings only`,
      );
    }
    all.push(item);
  }
  return all;
}
