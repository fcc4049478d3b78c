import { spawnSync } from 'node:child_process';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { DIAGNOSTIC_LIMITS } from '../limits.js';

/**
 * The ffmpeg binary: `FFMPEG_PATH` when set; otherwise the newer of the system's `ffmpeg`
 * (on PATH) and the static build inside the @ffmpeg-installer npm package, so a fresh
 * `npm ci` needs nothing from the system but a maintained system ffmpeg is preferred.
 * The bundled build dates from 2018 and decodes untrusted network streams: a distribution's
 * build gets security fixes (and has protocols, such as SRT, that the bundled one lacks).
 * Decided once per process.
 */
let chosen: string | undefined;

export function ffmpegPath(): string {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  chosen ??= newestFfmpeg([ffmpegInstaller.path, 'ffmpeg']);
  return chosen;
}

/** The candidate with the latest build year; ties keep the earlier candidate. */
export function newestFfmpeg(candidates: string[]): string {
  let best = candidates[0];
  let bestYear = -1;
  for (const candidate of candidates) {
    const year = buildYear(candidate);
    if (year !== undefined && year > bestYear) {
      best = candidate;
      bestYear = year;
    }
  }
  return best;
}

/** The last year of the build's copyright line ("Copyright (c) 2000-2018 the FFmpeg developers"); undefined when it does not run. */
export function buildYear(path: string): number | undefined {
  const run = spawnSync(path, ['-version'], { encoding: 'utf8', timeout: DIAGNOSTIC_LIMITS.ffmpegProbeTimeoutMs, stdio: ['ignore', 'pipe', 'ignore'] });
  if (run.status !== 0 || typeof run.stdout !== 'string') return undefined;
  const year = /Copyright \(c\) \d{4}-(\d{4})/.exec(run.stdout)?.[1];
  return year === undefined ? undefined : Number(year);
}

const keepsSizes = new Map<string, boolean>();

/**
 * Whether this ffmpeg can write each frame at its own size (`-autoscale 0`, ffmpeg 4.4 and
 * later). Without it ffmpeg scales every frame to the first frame's size, whatever the
 * stream's frames become (the 2018 static build). Asked once per binary.
 */
export function ffmpegKeepsFrameSizes(path = ffmpegPath()): boolean {
  let known = keepsSizes.get(path);
  if (known === undefined) {
    const help = spawnSync(path, ['-hide_banner', '-h', 'long'], { encoding: 'utf8', timeout: DIAGNOSTIC_LIMITS.ffmpegProbeTimeoutMs, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 4 << 20 });
    known = typeof help.stdout === 'string' && /^-autoscale\b/m.test(help.stdout);
    keepsSizes.set(path, known);
  }
  return known;
}
