import type { Command } from 'commander';
import { addBackendOptions, addMaskOptions, addSegmentOptions, backendRequest, maskSettings, type BackendOptions, type MaskOptions, type SegmentOptions } from './options.js';
import { numberInRange } from './parsers.js';
import { openExtractor } from '../backend.js';
import { parseSource, type SourceArgOptions, type SourceSpec } from '../ingest/spec.js';
import { openVideo } from '../ingest/video-reader.js';
import { replayOutputs, replayVideo } from '../replay/replay.js';
import { prepareOutputs } from '../replay/outputs.js';
import { createProgress } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { log } from '../util/log.js';

/** A recording is read once from start to end: of the source options only --crop and --format apply. */
interface VideoOptions extends BackendOptions, SegmentOptions, MaskOptions, Pick<SourceArgOptions, 'crop' | 'format'> {
  out: string;
  window: number;
  opacity: number;
  force: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('video')
    .description(
      'segment every frame of a recorded video offline (no frame dropped) with the live service\'s rolling cluster bank; ' +
        'writes one mask PNG per frame, an overlay video (H.264) and a JSON summary',
    )
    .argument('<input>', 'video file ffmpeg can read, a DICOM file (cine or single frame), or - for stdin')
    .requiredOption('--out <dir|file.mp4>', 'a folder (masks/000000.png …, overlay.mp4, summary.json), or an .mp4 for the overlay with NAME-masks/ and NAME.json beside it')
    .option('--crop <x,y,w,h>', 'cut this region out of every frame first (e.g. the image area of a screen capture)')
    .option('--format <name>', 'ffmpeg input format, when it cannot be guessed (e.g. mpegts on stdin)')
    .option('--opacity <x>', 'strength of the mask tint in the overlay video, 0..1', numberInRange('--opacity', 0, 1), 0.5)
    .option('--force', 'replace files at --out that an earlier `video` run did not write (the files of an earlier run are always replaced)', false);
  addMaskOptions(addSegmentOptions(addBackendOptions(command), 'frame')).action(runVideo);
}

async function runVideo(input: string, options: VideoOptions): Promise<void> {
  const spec = recordedSource(input, options);
  const reader = await openVideo(spec);
  const { info } = reader;
  const outputs = replayOutputs(options.out);
  const extractor = await prepareOutputs(options.out, outputs, { input, force: options.force })
    .then(() => openExtractor(backendRequest(options)))
    .catch((error) => {
      reader.close();
      throw error;
    });
  // Exact where the input says (DICOM); else duration × nominal rate, which a variable-rate file misses.
  const expected = info.frames ?? (info.durationMs ? Math.round((info.durationMs / 1000) * info.fps) : 0);
  const count = info.frames ? `, ${info.frames} frames` : expected ? `, about ${expected} frames` : '';
  const progress = expected
    ? createProgress('video', expected)
    : createProgress('video', 0, 'video {value} frames');
  const interruption = new AbortController();
  const interrupt = (): void => {
    log.warn('video: interrupted; finishing the overlay and the summary for the frames done so far');
    interruption.abort();
  };
  process.once('SIGINT', interrupt);
  log.info(`video: ${input} (${info.width}x${info.height} at ${info.fps} fps${count})`, {
    backend: extractor.backend,
    model: extractor.model,
  });
  try {
    const summary = await replayVideo(reader, extractor, {
      input,
      outputs,
      bank: { window: options.window, tau: options.tau, votes: options.votes, seed: options.seed, k: options.k },
      opacity: options.opacity,
      mask: maskSettings(options),
      vit: { layer: options.layer, facet: options.facet },
      onFrame: (done) => progress.update(done),
      signal: interruption.signal,
    });
    if (summary.complete) {
      // The frame count may have been estimated: the bar ends full at the frames read.
      progress.finish(summary.frames);
      log.info(`video: ${summary.frames} frames at ${summary.timing.framesPerSecond} frames/s`, summary.outputs);
    } else {
      progress.stop();
      log.error(`video: ${summary.error}`, summary.outputs);
      // 128 + SIGINT, as shells report a command stopped with Ctrl-C.
      process.exitCode = interruption.signal.aborted ? 130 : 1;
    }
  } finally {
    progress.stop();
    process.removeListener('SIGINT', interrupt);
    await extractor.dispose();
  }
}

/** `video` replays a recording from its first frame to its last; live sources belong to `serve`. */
function recordedSource(input: string, options: VideoOptions): SourceSpec {
  const spec = parseSource(input, options);
  if (spec.kind === 'device' || spec.kind === 'url') {
    throw new UserError(`video reads a recorded file or stdin, not a ${spec.kind} (${input}); use \`bonestream serve --source ${input}\` for live input`);
  }
  return spec;
}
