import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';

/**
 * The ffmpeg binary: `FFMPEG_PATH` when set (a system build with more devices or codecs),
 * else the static build that ships inside the @ffmpeg-installer npm package, so a fresh
 * `npm ci` needs nothing from the system.
 */
export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH || ffmpegInstaller.path;
}
