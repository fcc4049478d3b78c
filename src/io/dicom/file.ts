import { readFile } from 'node:fs/promises';
import type { GrayImage } from '../../types.js';
import { UserError } from '../../util/errors.js';
import { plural } from '../../util/plural.js';
import { parseDicom, syntaxName, type DicomHeader, type ParsedDicom } from './header.js';
import { availableFrames, decodeFrame } from './pixels.js';

export { isDicomFile, readsAsDicom } from './detect.js';
export { CONVERT_HINT, type Area, type DicomHeader } from './header.js';

/** Patient-free facts about a file, for messages and summaries. */
export interface DicomFacts {
  manufacturer?: string;
  model?: string;
  transferSyntax: string;
  /** Frames declared in the header. */
  frames: number;
  fps?: number;
  /** Present when each frame has its own time from the file (else they are timed by the rate). */
  frameTimesFrom?: 'FrameTimeVector';
  spacingMm?: [number, number];
  spacingFrom?: DicomHeader['spacingFrom'];
}

export interface DicomFile {
  readonly header: DicomHeader;
  /** Frames that can be read: the declared ones, or fewer when the file is cut short. */
  readonly frames: number;
  /** The file ends before the pixel data its header declares. */
  readonly truncated: boolean;
  readonly facts: DicomFacts;
  /** Frame `index` (0-based) as 8-bit gray; rejects with the reason when its data is damaged. */
  readFrame(index: number): Promise<GrayImage>;
}

/** Reads and checks a DICOM file (Part 10, or a bare dataset); errors name the file and what is wrong. */
export async function openDicom(path: string): Promise<DicomFile> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(error.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${error.code ?? error.message})`);
  });
  const parsed = parseDicom(path, bytes);
  const frames = availableFrames(parsed);
  if (frames === 0) {
    throw new UserError(`${path}: truncated DICOM: the header declares ${plural(parsed.header.frames, 'frame')} but the file holds the data of none`);
  }
  return {
    header: parsed.header,
    frames,
    truncated: parsed.truncated || frames < parsed.header.frames,
    facts: factsOf(parsed),
    readFrame: (index) => readFrame(parsed, index, frames),
  };
}

async function readFrame(parsed: ParsedDicom, index: number, frames: number): Promise<GrayImage> {
  if (!(Number.isInteger(index) && index >= 0 && index < frames)) throw new RangeError(`frame ${index} is not one of the file's ${frames}`);
  try {
    return await decodeFrame(parsed, index);
  } catch (error) {
    // libvips repeats its complaint on several lines and prefixes its own: the first says it.
    const reason = (error as Error).message.split('\n')[0].replace(/^Input buffer has corrupt header: (VipsJpeg: )?/, '');
    throw new Error(`frame ${index + 1} cannot be decoded (${reason})`);
  }
}

function factsOf(parsed: ParsedDicom): DicomFacts {
  const { header } = parsed;
  return {
    ...(header.manufacturer ? { manufacturer: header.manufacturer } : {}),
    ...(header.model ? { model: header.model } : {}),
    transferSyntax: syntaxName(header.transferSyntax),
    frames: header.frames,
    ...(header.fps ? { fps: header.fps } : {}),
    ...(header.frameTimesMs ? { frameTimesFrom: 'FrameTimeVector' as const } : {}),
    ...(header.spacingMm ? { spacingMm: header.spacingMm, spacingFrom: header.spacingFrom } : {}),
  };
}

/** One line of patient-free facts: "Phantom Devices PX-1, 10 frames 96×64, 25 fps, 0.2×0.25 mm/px (ultrasound region), JPEG Baseline". */
export function describeDicom(file: DicomFile): string {
  const { facts, header } = file;
  const device = [facts.manufacturer, facts.model].filter(Boolean).join(' ') || 'unknown device';
  const parts = [device, `${plural(facts.frames, 'frame')} ${header.format.columns}×${header.format.rows}`];
  if (facts.fps) parts.push(`${facts.fps} fps`);
  if (facts.frameTimesFrom) parts.push(`frame times from ${facts.frameTimesFrom}`);
  parts.push(facts.spacingMm ? `${facts.spacingMm[0]}×${facts.spacingMm[1]} mm/px (${facts.spacingFrom})` : 'no pixel spacing');
  parts.push(facts.transferSyntax);
  return parts.join(', ');
}
