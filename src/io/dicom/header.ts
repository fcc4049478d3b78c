import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { UserError } from '../../util/errors.js';
import { checkPixels } from '../pixel-limit.js';
import { dicomLayout, explicitVr } from './detect.js';
import { cineTiming, type CineTiming } from './timing.js';

/** Transfer syntaxes whose frames are read here (PS3.6 annex A). */
export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';
const SUPPORTED = new Set([IMPLICIT_LE, EXPLICIT_LE, JPEG_BASELINE, RLE_LOSSLESS]);

/** Names of the syntaxes a refusal is likely to meet, so the message says more than a UID. */
const SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.100': 'MPEG-2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  [JPEG_BASELINE]: 'JPEG Baseline',
  [RLE_LOSSLESS]: 'RLE Lossless',
  [EXPLICIT_LE]: 'Explicit VR Little Endian',
  [IMPLICIT_LE]: 'Implicit VR Little Endian',
};

export function syntaxName(uid: string): string {
  return SYNTAX_NAMES[uid] ?? 'unknown';
}

/** A rectangle in the file's pixels. */
export interface Area {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The pixel format of every frame (PS3.3 C.7.6.3, the Image Pixel module). */
export interface PixelFormat {
  rows: number;
  columns: number;
  samplesPerPixel: 1 | 3;
  photometric: string;
  /** 0: samples interleaved per pixel; 1: one plane per sample. */
  planar: 0 | 1;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  signed: boolean;
}

/**
 * What bonestream takes from a file's header. Patient, study and institution attributes are
 * never read: nothing here can carry them into a log, a summary or a client.
 */
export interface DicomHeader extends CineTiming {
  transferSyntax: string;
  format: PixelFormat;
  /** NumberOfFrames as declared (1 when absent). */
  frames: number;
  /** The first 2D-tissue ultrasound region: its area and, in cm units, its pixel size. */
  region?: Area;
  /** mm per pixel along x (columns) and y (rows); undefined when the file gives none. */
  spacingMm?: [number, number];
  /** Where the spacing came from, for the message that names it. */
  spacingFrom?: 'ultrasound region' | 'PixelSpacing';
  manufacturer?: string;
  model?: string;
}

/** The parsed dataset with the byte range of its pixel data, clamped to what the file holds. */
export interface ParsedDicom {
  header: DicomHeader;
  dataSet: DataSet;
  pixelData: Element;
  /** Bytes of pixel data the file actually holds (less than declared when it is cut short). */
  pixelBytes: number;
  /** The file ended inside the dataset. */
  truncated: boolean;
}

/** Tags, in dicom-parser's spelling. */
const TAG = {
  transferSyntax: 'x00020010',
  manufacturer: 'x00080070',
  model: 'x00081090',
  regions: 'x00186011',
  regionDataType: 'x00186014',
  minX0: 'x00186018',
  minY0: 'x0018601a',
  maxX1: 'x0018601c',
  maxY1: 'x0018601e',
  unitsX: 'x00186024',
  unitsY: 'x00186026',
  deltaX: 'x0018602c',
  deltaY: 'x0018602e',
  samplesPerPixel: 'x00280002',
  photometric: 'x00280004',
  numberOfFrames: 'x00280008',
  planar: 'x00280006',
  rows: 'x00280010',
  columns: 'x00280011',
  pixelSpacing: 'x00280030',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  pixelRepresentation: 'x00280103',
  pixelData: 'x7fe00010',
} as const;

/** RegionDataType 1 is "Tissue" (2D B-mode), PhysicalUnits 3 is cm (PS3.3 C.8.5.5.1.2 and .15). */
const TISSUE = 1;
const CENTIMETRE = 3;
const PHOTOMETRICS = new Set(['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422']);

/** What every conversion hint says: two converters that write an uncompressed copy. */
export const CONVERT_HINT = 'convert it first, e.g. `gdcmconv --raw IN.dcm OUT.dcm` (GDCM) or `dcmdjpeg IN.dcm OUT.dcm` (DCMTK)';

/**
 * Parses a DICOM file's bytes (Part 10, or a bare dataset) and checks, before any pixel is
 * touched, that its frames can be read: a supported transfer syntax and photometric
 * interpretation, a sane size, and pixel data for at least one frame. `name` starts every message.
 */
export function parseDicom(name: string, bytes: Uint8Array): ParsedDicom {
  const layout = dicomLayout(bytes);
  if (!layout) throw new UserError(`${name}: not a DICOM file (no 'DICM' at byte 128, and no dataset at its start)`);
  let dataSet: DataSet;
  let truncated = false;
  try {
    dataSet = dicomParser.parseDicom(bytes, layout === 'bare' ? { TransferSyntaxUID: explicitVr(bytes) ? EXPLICIT_LE : IMPLICIT_LE } : undefined);
  } catch (failure) {
    // dicom-parser throws a string, or an object with the part it parsed before the end.
    const partial = (failure as { dataSet?: DataSet; exception?: string })?.dataSet;
    const why = typeof failure === 'string' ? failure : ((failure as { exception?: string })?.exception ?? String(failure));
    if (!partial?.elements[TAG.pixelData]) throw new UserError(`${name}: truncated or corrupt DICOM (${why.replace(/^dicomParser[.:]\w+: /, '')})`);
    dataSet = partial;
    truncated = true;
  }
  const transferSyntax = layout === 'bare' ? (explicitVr(bytes) ? EXPLICIT_LE : IMPLICIT_LE) : metaSyntax(dataSet, bytes);
  if (!SUPPORTED.has(transferSyntax)) {
    throw new UserError(`${name}: transfer syntax ${transferSyntax} (${syntaxName(transferSyntax)}) is not supported (only uncompressed, JPEG Baseline and RLE Lossless are); ${CONVERT_HINT}`);
  }
  const pixelData = dataSet.elements[TAG.pixelData];
  if (!pixelData) throw new UserError(`${name}: a DICOM file without pixel data (PixelData 7FE0,0010), not an image`);
  const format = pixelFormat(name, dataSet, transferSyntax);
  const frames = dataSet.intString(TAG.numberOfFrames) ?? 1;
  if (!(Number.isInteger(frames) && frames >= 1)) throw new UserError(`${name}: NumberOfFrames must be a whole number ≥ 1 (got ${dataSet.string(TAG.numberOfFrames)})`);
  const pixelBytes = Math.max(0, Math.min(pixelData.length, bytes.length - pixelData.dataOffset));
  const geometry = geometryOf(dataSet, format);
  return {
    header: {
      transferSyntax,
      format,
      frames,
      ...cineTiming(dataSet, frames),
      ...geometry,
      manufacturer: text(dataSet, TAG.manufacturer),
      model: text(dataSet, TAG.model),
    },
    dataSet,
    pixelData,
    pixelBytes,
    truncated: truncated || pixelBytes < pixelData.length,
  };
}

/** The file meta's transfer syntax; a dataset cut short comes back from dicom-parser without its meta, which is read again then. */
function metaSyntax(dataSet: DataSet, bytes: Uint8Array): string {
  const uid = dataSet.string(TAG.transferSyntax) ?? dicomParser.readPart10Header(bytes).string(TAG.transferSyntax);
  return uid ?? IMPLICIT_LE;
}

function pixelFormat(name: string, dataSet: DataSet, transferSyntax: string): PixelFormat {
  const rows = dataSet.uint16(TAG.rows) ?? 0;
  const columns = dataSet.uint16(TAG.columns) ?? 0;
  checkPixels(name, columns, rows, 'DICOM frame');
  if (!(rows >= 1 && columns >= 1)) {
    throw new UserError(`${name}: frame size ${columns}×${rows} is not an image (Rows and Columns must be at least 1)`);
  }
  const samples = dataSet.uint16(TAG.samplesPerPixel) ?? 1;
  const photometric = text(dataSet, TAG.photometric) ?? (samples === 1 ? 'MONOCHROME2' : 'RGB');
  const bitsAllocated = dataSet.uint16(TAG.bitsAllocated) ?? 8;
  const bitsStored = dataSet.uint16(TAG.bitsStored) ?? bitsAllocated;
  if (!PHOTOMETRICS.has(photometric)) {
    throw new UserError(`${name}: photometric interpretation ${photometric} is not supported (MONOCHROME1, MONOCHROME2, RGB, YBR_FULL, YBR_FULL_422 are)`);
  }
  const colour = photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2';
  if ((colour ? 3 : 1) !== samples) throw new UserError(`${name}: ${photometric} needs ${colour ? 3 : 1} samples per pixel (the file says ${samples})`);
  if (!(bitsAllocated === 8 || (bitsAllocated === 16 && !colour))) {
    throw new UserError(`${name}: ${bitsAllocated}-bit ${photometric} pixels are not supported (8-bit, and 16-bit grayscale, are)`);
  }
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) throw new UserError(`${name}: BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`);
  if (transferSyntax === JPEG_BASELINE && bitsAllocated !== 8) throw new UserError(`${name}: JPEG Baseline holds 8-bit samples (the file says ${bitsAllocated})`);
  return {
    rows,
    columns,
    samplesPerPixel: samples as 1 | 3,
    photometric,
    planar: dataSet.uint16(TAG.planar) === 1 ? 1 : 0,
    bitsAllocated: bitsAllocated as 8 | 16,
    bitsStored,
    signed: dataSet.uint16(TAG.pixelRepresentation) === 1,
  };
}

/**
 * The first Sequence of Ultrasound Regions item of type tissue gives the image area (the
 * scanner's UI around it is not ultrasound) and, when its units are cm, the pixel size;
 * without one, PixelSpacing (row spacing \ column spacing, in mm) gives the size.
 */
function geometryOf(dataSet: DataSet, format: PixelFormat): Pick<DicomHeader, 'region' | 'spacingMm' | 'spacingFrom'> {
  const items = dataSet.elements[TAG.regions]?.items ?? [];
  const tissue = items.map((item) => item.dataSet).find((item) => item?.uint16(TAG.regionDataType) === TISSUE);
  if (tissue) {
    const x0 = tissue.uint32(TAG.minX0) ?? 0;
    const y0 = tissue.uint32(TAG.minY0) ?? 0;
    const x1 = Math.min(tissue.uint32(TAG.maxX1) ?? format.columns - 1, format.columns - 1);
    const y1 = Math.min(tissue.uint32(TAG.maxY1) ?? format.rows - 1, format.rows - 1);
    const region = x1 >= x0 && y1 >= y0 ? { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } : undefined;
    const dx = tissue.double(TAG.deltaX);
    const dy = tissue.double(TAG.deltaY);
    const cm = tissue.uint16(TAG.unitsX) === CENTIMETRE && tissue.uint16(TAG.unitsY) === CENTIMETRE;
    if (cm && dx !== undefined && dy !== undefined && dx > 0 && dy > 0) {
      return { region, spacingMm: [roundMm(dx * 10), roundMm(dy * 10)], spacingFrom: 'ultrasound region' };
    }
    if (region) return { region, ...pixelSpacing(dataSet) };
  }
  return pixelSpacing(dataSet);
}

function pixelSpacing(dataSet: DataSet): Pick<DicomHeader, 'spacingMm' | 'spacingFrom'> {
  const row = dataSet.floatString(TAG.pixelSpacing, 0);
  const column = dataSet.floatString(TAG.pixelSpacing, 1);
  if (row === undefined || column === undefined || !(row > 0 && column > 0)) return {};
  return { spacingMm: [column, row], spacingFrom: 'PixelSpacing' };
}

/** cm × 10 in binary floating point leaves digits like 0.20000000000000004; a nanometre is plenty. */
function roundMm(mm: number): number {
  return Math.round(mm * 1e6) / 1e6;
}

function text(dataSet: DataSet, tag: string): string | undefined {
  const value = dataSet.string(tag)?.trim();
  return value ? value : undefined;
}
