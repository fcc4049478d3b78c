import { readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { hashFile } from './download.js';
import { errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import type { Precision } from './graph.js';

/**
 * Which precision a ViT runs at. fp32 is the default; int8 is asked for by name; `auto`
 * takes int8 only where both hold: the CPU has VNNI (int8 dot products in one instruction,
 * without which int8 gains little and the non-VNNI kernel can saturate), and
 * `bonestream check-precision` has passed on these very weights, recorded in a verdict file
 * beside them (`models/<name>.precision.json`). Seeded weights cannot stand in for the real
 * ones: trained ViTs have outlier activations that random weights lack.
 */

export type { Precision };
export const PRECISION_CHOICES = ['fp32', 'int8', 'auto'] as const;
export type PrecisionChoice = (typeof PRECISION_CHOICES)[number];

/** What int8 must keep of fp32 (README, "int8"): keys cosine at the 1st percentile, and the smallest mask IoU of a set. */
export const PRECISION_BOUNDS = { keysCosineP1: 0.99, maskIou: 0.95 } as const;

/** VNNI flags of /proc/cpuinfo: AVX-512 VNNI (servers, Ice Lake and Zen 4 on) and AVX-VNNI (Alder Lake on). */
const VNNI_FLAGS = ['avx512_vnni', 'avx_vnni'];

/** Whether the CPU has VNNI, from the `flags` lines of /proc/cpuinfo (false where there is none, e.g. macOS). */
export function cpuHasVnni(cpuinfo = readCpuinfo()): boolean {
  return cpuinfo.split('\n').some((line) => /^flags\s*:/.test(line) && line.split(/\s+/).some((flag) => VNNI_FLAGS.includes(flag)));
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

const Verdict = z.object({
  /** sha256 of the weights file the check ran on: a verdict never carries over to other weights. */
  weightsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  passed: z.boolean(),
  bounds: z.object({ keysCosineP1: z.number(), maskIou: z.number() }),
  figures: z.object({ keysCosineMin: z.number(), keysCosineP1: z.number(), maskIouMin: z.number(), maskIouMean: z.number() }),
  images: z.number().int(),
  settings: z.object({ stride: z.number(), loadSize: z.number(), layer: z.number(), facet: z.string() }),
  cpuVnni: z.boolean(),
  checkedAt: z.string(),
});
export type PrecisionVerdict = z.infer<typeof Verdict>;

/** `models/dino-vits8.safetensors` → `models/dino-vits8.precision.json`. */
export function verdictPath(weightsPath: string): string {
  return `${weightsPath.replace(/\.safetensors$/, '')}.precision.json`;
}

export async function writeVerdict(weightsPath: string, verdict: Omit<PrecisionVerdict, 'weightsSha256'>): Promise<string> {
  const path = verdictPath(weightsPath);
  const full: PrecisionVerdict = { weightsSha256: await hashFile(weightsPath), ...verdict };
  await writeFile(path, JSON.stringify(full, null, 2) + '\n');
  return path;
}

export interface PrecisionPick {
  precision: Precision;
  /** Why, for the log: `auto` always says what decided it. */
  reason: string;
}

/** Resolves --precision for one weights file; `vnni` is the CPU's (a parameter so that tests can set it). */
export async function pickPrecision(choice: PrecisionChoice, weightsPath: string, vnni = cpuHasVnni()): Promise<PrecisionPick> {
  if (choice !== 'auto') return { precision: choice, reason: `--precision ${choice}` };
  if (!vnni) return { precision: 'fp32', reason: 'auto: this CPU has no VNNI (avx512_vnni / avx_vnni)' };
  const path = verdictPath(weightsPath);
  const check = `run \`bonestream check-precision --model ${weightsPath} <images…>\``;
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch {
    return { precision: 'fp32', reason: `auto: int8 not yet checked on these weights (no ${path}); ${check}` };
  }
  let verdict: PrecisionVerdict;
  try {
    verdict = Verdict.parse(JSON.parse(raw));
  } catch (error) {
    return { precision: 'fp32', reason: `auto: ${path} is not a precision verdict (${errorMessage(error).split('\n')[0]}); ${check}` };
  }
  if (verdict.weightsSha256 !== (await hashFile(weightsPath))) {
    return { precision: 'fp32', reason: `auto: ${path} was written for other weights; ${check}` };
  }
  if (!verdict.passed) return { precision: 'fp32', reason: `auto: int8 failed check-precision on these weights (${path})` };
  return { precision: 'int8', reason: `auto: VNNI and check-precision passed (${path})` };
}

/** pickPrecision for a command: `auto` says in the log what it chose and why. */
export async function resolvePrecision(choice: PrecisionChoice, weightsPath: string): Promise<Precision> {
  const { precision, reason } = await pickPrecision(choice, weightsPath);
  if (choice === 'auto') log.info(`precision: ${precision} (${reason})`);
  return precision;
}
