import { Option, type Command } from 'commander';
import { DEFAULTS } from '../config.js';
import { intInRange, numberInRange, facet, settingParser } from './parsers.js';
import type { BackendRequest, BackendChoice } from '../backend.js';
import { PRECISION_CHOICES } from '../vit/precision.js';
import { UserError } from '../util/errors.js';
import { MASK_KINDS, type MaskKind } from '../surface/types.js';
import { DEFAULT_MASK, type MaskSettings } from '../surface/stage.js';

/** Options shared by every command that extracts features, so they read the same everywhere. */
export type BackendOptions = BackendRequest;

/** Options only the ViT reads: given with `--backend physics` they would be recorded in outputs but never used. */
const VIT_ONLY = ['layer', 'facet', 'model', 'precision'] as const;

export function addBackendOptions(command: Command, defaultBackend: BackendChoice = 'auto'): Command {
  command.hook('preAction', (_command, action) => {
    if (action.opts().backend !== 'physics') return;
    const given = VIT_ONLY.filter((name) => action.getOptionValueSource(name) === 'cli');
    if (given.length) {
      throw new UserError(`${given.map((name) => `--${name}`).join(' and ')} ${given.length > 1 ? 'apply' : 'applies'} to the DINO backend only, not to --backend physics; drop ${given.length > 1 ? 'them' : 'it'} or use --backend dino`);
    }
  });
  command.addOption(
    new Option('--backend <name>', 'feature backend: dino (the paper\'s ViT), physics (embedded, no download), or auto (dino when its weights are present)')
      .choices(['auto', 'dino', 'physics'])
      .default(defaultBackend),
  );
  return addPrecisionOption(addDescriptorOptions(addModelOptions(command)));
}

/** The descriptor: which facet of which block (the ViT's; physics ignores them). */
export function addDescriptorOptions(command: Command): Command {
  return command
    .option('--layer <n>', 'ViT block whose facet is the descriptor (0-based)', intInRange('--layer', 0, 23), DEFAULTS.layer)
    .option('--facet <name>', 'descriptor facet: key, query, value or token', facet, DEFAULTS.facet);
}

/** The DINO model and the input it sees: also what `viz`, which needs no backend choice, takes. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--model <name|path>', 'DINO model from models/manifest.json, or a .safetensors file', DEFAULTS.model)
    .option('--stride <n>', 'patch stride in pixels, 1..8 (8 = the paper\'s grid, 4 = the reference code\'s)', intInRange('--stride', 1, 8), DEFAULTS.stride)
    .option('--load-size <px>', 'smaller image edge after resizing', intInRange('--load-size', 8, 4096), DEFAULTS.loadSize);
}

/** --precision: of every command that runs the ViT. */
export function addPrecisionOption(command: Command): Command {
  return command.addOption(
    new Option(
      '--precision <p>',
      'ViT arithmetic: fp32, int8 (int8 weights in the blocks\' Linear layers), or auto (int8 where the CPU has VNNI and `bonestream check-precision` passed on these weights)',
    )
      .choices(PRECISION_CHOICES)
      .default('fp32'),
  );
}

export function backendRequest(options: BackendOptions): BackendRequest {
  return { ...options };
}

/** Options of the co-segmentation step (the paper's k-means and voting). */
export interface SegmentOptions {
  k: number | 'auto';
  tau: number;
  votes: number;
  seed: number;
}

export function parseK(raw: string): number | 'auto' {
  return raw === 'auto' ? 'auto' : settingParser('k')(raw);
}

/**
 * `voter` is what votes: an image of the set, or (video, serve) a frame of the rolling
 * window, which then has its `--window` option too.
 */
export function addSegmentOptions(command: Command, voter: 'image' | 'frame' = 'image'): Command {
  const voters = voter === 'image' ? 'images of the set' : 'frames in the window';
  if (voter === 'frame') command.option('--window <n>', 'frames in the rolling cluster bank', settingParser('window'), DEFAULTS.window);
  return command
    .option('--k <n|auto>', `number of clusters, or auto (elbow rule, k = 1..${DEFAULTS.maxK})`, parseK, 'auto' as const)
    .option('--tau <x>', `saliency threshold τ for a${voter === 'image' ? 'n' : ''} ${voter}'s vote`, settingParser('tau'), DEFAULTS.tau)
    .option('--votes <percent>', `share of ${voters} that must vote for a salient cluster`, settingParser('votes'), DEFAULTS.votes)
    .option('--seed <n>', 'random seed (k-means++ initialization)', settingParser('seed'), DEFAULTS.seed);
}

/** Options of the surface stage: which mask to hand out, and its shape. */
export interface MaskOptions {
  mask: MaskKind;
  band: number;
  regionDepth: number;
}

export function addMaskOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--mask <kind>', "what the mask shows: surface (a band around the traced bone surface), region (the bone below it) or cells (the paper's co-segmentation cells)")
        .choices([...MASK_KINDS])
        .default(DEFAULT_MASK.kind),
    )
    .option('--band <px>', 'thickness of the surface band in source pixels (region starts at its top)', numberInRange('--band', 1, 1000), DEFAULT_MASK.band)
    .option('--region-depth <x>', "depth of the region below the surface, as a share of the surface's width", numberInRange('--region-depth', 0.05, 10), DEFAULT_MASK.regionDepth);
}

export function maskSettings(options: MaskOptions): MaskSettings {
  return { kind: options.mask, band: options.band, regionDepth: options.regionDepth };
}
