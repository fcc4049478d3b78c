import ffmpeg from 'fluent-ffmpeg';
import { ffmpegPath } from './ffmpeg-path.js';

type SpawnFfmpeg = (args: string[], options: Record<string, unknown>, ...callbacks: unknown[]) => void;

/**
 * A fluent-ffmpeg command whose ffmpeg runs in a process group of its own (`detached`), so
 * Ctrl-C in a terminal, which signals the whole foreground group, reaches bonestream alone:
 * bonestream then closes its ffmpegs in order (the encoder finishing its file) instead of
 * each ffmpeg dying on its own. fluent-ffmpeg has no spawn option for this, so its one spawn
 * method is wrapped on this instance.
 */
export function ffmpegCommand(input: string | NodeJS.ReadableStream): ffmpeg.FfmpegCommand {
  const command = ffmpeg(input as never).setFfmpegPath(ffmpegPath());
  const internal = command as unknown as { _spawnFfmpeg: SpawnFfmpeg };
  const spawnFfmpeg = internal._spawnFfmpeg;
  internal._spawnFfmpeg = function (this: unknown, args, options, ...callbacks) {
    return spawnFfmpeg.call(this, args, { ...options, detached: true }, ...callbacks);
  };
  return command;
}
