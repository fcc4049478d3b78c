import { access } from 'node:fs/promises';
import { describeSource, type SourceSpec } from './spec.js';
import { UserError } from '../util/errors.js';
import { plural } from '../util/plural.js';
import type { DecoderExit } from './decoder.js';

/** A missing file or /dev node is named before ffmpeg is started at all. */
export async function checkSourceExists(spec: SourceSpec): Promise<void> {
  const local = spec.kind === 'file' || (spec.kind === 'device' && spec.input.startsWith('/dev/'));
  if (!local) return;
  try {
    await access(spec.input);
  } catch {
    const name = describeSource(spec);
    throw new UserError(spec.kind === 'file' ? `${name}: no such file` : `${name}: no such capture device`);
  }
}

const WHAT_FAILED: Record<SourceSpec['kind'], string> = {
  file: 'not a readable video',
  device: 'cannot open the capture device',
  url: 'cannot read the stream',
  stdin: 'not a readable video stream',
  igtl: 'no IMAGE from the OpenIGTLink server',
};

/** A pipe cannot seek: the usual MP4, with its index at the end, cannot be read from one. */
const STDIN_HINT = '; an MP4 can be piped only with its index first (ffmpeg -movflags +faststart), MPEG-TS and Matroska always can';

/** The error for a source that gave no frame: names the source, what failed, and ffmpeg's reason. */
export function openFailure(spec: SourceSpec, exit: DecoderExit, reason = exit.reason): UserError {
  const hint = spec.kind === 'stdin' ? STDIN_HINT : '';
  return new UserError(exit.message ?? `${describeSource(spec)}: ${WHAT_FAILED[spec.kind]} (${reason ?? 'it contains no video frames'})${hint}`);
}

/** True when a run that ended normally still lost frames to damaged or missing data. */
export function isDamaged(exit: DecoderExit): boolean {
  return exit.truncated || exit.decodeErrors > 0;
}

/** A video that opened but had data ffmpeg could not decode (its frames there are missing or damaged). */
export function corruptVideo(name: string, exit: DecoderExit): string {
  const dicom = exit.decoder === 'DICOM';
  if (exit.truncated) {
    return dicom
      ? `${name}: truncated DICOM: the file ends before the pixel data its header declares`
      : `${name}: truncated video: the file ends before the data its index lists (partial file)`;
  }
  const errors = exit.decodeErrors === 1 ? '1 decoding error' : `${exit.decodeErrors} decoding errors`;
  return dicom
    ? `${name}: corrupt DICOM: ${plural(exit.decodeErrors, 'frame')} skipped (${exit.decodeError})`
    : `${name}: corrupt video: ffmpeg reported ${errors} (${exit.decodeError})`;
}
