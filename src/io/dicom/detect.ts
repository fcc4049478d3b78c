import { open } from 'node:fs/promises';

/** How a file holds its DICOM dataset, told from its first bytes. */
export type DicomLayout = 'part10' | 'bare';

/** Bytes needed to tell: the 128-byte preamble, 'DICM', and the first element after it. */
export const DETECT_BYTES = 144;

/** The value representations of PS3.5 table 6.2-1: an explicit-VR element names one of these at bytes 4–5. */
const VRS = new Set('AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '));

/**
 * 'part10': the preamble and 'DICM' at byte 128 (PS3.10 7.1). 'bare': a dataset written
 * without them, as some scanners export it — recognized by its first element, a little-endian
 * tag of group 0x0008 (identification, which every image's dataset opens with) and, in
 * explicit VR, a valid VR after it. Anything else is not DICOM, whatever its name.
 */
export function dicomLayout(head: Uint8Array): DicomLayout | undefined {
  if (head.length >= 132 && head[128] === 0x44 && head[129] === 0x49 && head[130] === 0x43 && head[131] === 0x4d) return 'part10';
  if (head.length < 8 || head[0] !== 0x08 || head[1] !== 0x00) return undefined;
  const element = head[2] | (head[3] << 8);
  // Group 0008's elements in an image dataset lie below 0x2200; an implicit-VR length is small.
  if (element > 0x2200) return undefined;
  if (explicitVr(head) !== undefined) return 'bare';
  const length = head[4] | (head[5] << 8) | (head[6] << 16) | (head[7] << 24);
  return length >= 0 && length < 0x10000 ? 'bare' : undefined;
}

/** The VR of the first element when it is written explicitly (bare datasets only). */
export function explicitVr(head: Uint8Array): string | undefined {
  const vr = String.fromCharCode(head[4], head[5]);
  return VRS.has(vr) ? vr : undefined;
}

/** True when the file at `path` holds a DICOM dataset, by content (not by name). */
export async function isDicomFile(path: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const head = new Uint8Array(DETECT_BYTES);
    const { bytesRead } = await file.read(head, 0, DETECT_BYTES, 0);
    return dicomLayout(head.subarray(0, bytesRead)) !== undefined;
  } catch {
    // A folder (EISDIR) or an unreadable file is not DICOM: the caller's own open names the fault.
    return false;
  } finally {
    await file.close();
  }
}

/**
 * Whether the DICOM reader takes this file: its content is DICOM, or its name ends in .dcm or
 * .dicom — then the reader's error says why it is not one, which helps more than ffmpeg's or
 * sharp's "unknown format".
 */
export async function readsAsDicom(path: string): Promise<boolean> {
  return /\.(dcm|dicom)$/i.test(path) || (await isDicomFile(path));
}
