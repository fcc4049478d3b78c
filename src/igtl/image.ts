import type { GrayImage } from '../types.js';

/**
 * The body of an OpenIGTLink IMAGE message, version 1 (igtl_image.h): a 72-byte big-endian
 * header, then the pixels of the sub-volume.
 *   u16 version | u8 components | u8 scalar type | u8 endian (1 big, 2 little) | u8 coordinates (1 RAS, 2 LPS)
 *   u16[3] size | f32[12] matrix (i·spacing_i, j·spacing_j, k·spacing_k, position) | u16[3] sub-volume offset | u16[3] sub-volume size
 */
export const IMAGE_HEADER_BYTES = 72;
export const IMAGE_TYPE = 'IMAGE';

/** Scalar type codes of the protocol, with the byte size of each. */
export const SCALAR_TYPES = {
  int8: { code: 2, bytes: 1 },
  uint8: { code: 3, bytes: 1 },
  int16: { code: 4, bytes: 2 },
  uint16: { code: 5, bytes: 2 },
  int32: { code: 6, bytes: 4 },
  uint32: { code: 7, bytes: 4 },
  float32: { code: 10, bytes: 4 },
  float64: { code: 11, bytes: 8 },
} as const;
export type ScalarType = keyof typeof SCALAR_TYPES;

const ENDIAN_BIG = 1;
const ENDIAN_LITTLE = 2;
const COORD_RAS = 1;

export type Vec3 = [number, number, number];

/** Where the image lies: unit axis directions, pixel spacing (mm) and the position of its centre. */
export interface ImageGeometry {
  spacing: Vec3;
  /** Unit directions of the i (column), j (row) and k (slice) axes. */
  axes: [Vec3, Vec3, Vec3];
  /** The image centre in patient coordinates (OpenIGTLink's "origin"), mm. */
  position: Vec3;
}

export const IDENTITY_AXES: [Vec3, Vec3, Vec3] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

export interface ImageMessage {
  components: number;
  scalarType: ScalarType;
  bigEndian: boolean;
  /** Size of the whole image; the pixels are those of the sub-volume. */
  size: Vec3;
  geometry: ImageGeometry;
  subvolume: { offset: Vec3; size: Vec3 };
  /** The sub-volume's pixels as sent, a view into the body. */
  pixels: Uint8Array;
}

/** An IMAGE body that breaks its own rules, or uses what bonestream cannot turn into gray. */
export class ImageError extends Error {
  constructor(
    message: string,
    readonly kind: 'malformed' | 'unsupported',
  ) {
    super(message);
  }
}

/** The IMAGE body of one 8-bit gray image (a mask or a frame): one component, big endian, the whole image. */
export function encodeImageBody(image: GrayImage, geometry: ImageGeometry): Buffer {
  const out = Buffer.alloc(IMAGE_HEADER_BYTES + image.data.length);
  out.writeUInt16BE(1, 0);
  out.writeUInt8(1, 2);
  out.writeUInt8(SCALAR_TYPES.uint8.code, 3);
  out.writeUInt8(ENDIAN_BIG, 4);
  out.writeUInt8(COORD_RAS, 5);
  const size: Vec3 = [image.width, image.height, 1];
  size.forEach((n, i) => out.writeUInt16BE(n, 6 + 2 * i));
  matrixOf(geometry).forEach((value, i) => out.writeFloatBE(value, 12 + 4 * i));
  size.forEach((n, i) => out.writeUInt16BE(n, 66 + 2 * i));
  out.set(image.data, IMAGE_HEADER_BYTES);
  return out;
}

/** Reads an IMAGE body (its CRC already checked); throws ImageError for a body that is not one. */
export function decodeImageBody(body: Uint8Array): ImageMessage {
  if (body.length < IMAGE_HEADER_BYTES) throw new ImageError(`an IMAGE body has a ${IMAGE_HEADER_BYTES}-byte header (got ${body.length} bytes)`, 'malformed');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = view.getUint16(0);
  if (version !== 1) throw new ImageError(`IMAGE header version ${version} (only 1 is defined)`, 'unsupported');
  const components = view.getUint8(2);
  const code = view.getUint8(3);
  const endian = view.getUint8(4);
  const scalarType = (Object.keys(SCALAR_TYPES) as ScalarType[]).find((name) => SCALAR_TYPES[name].code === code);
  if (!scalarType) throw new ImageError(`IMAGE scalar type ${code} is not defined`, 'malformed');
  if (endian !== ENDIAN_BIG && endian !== ENDIAN_LITTLE) throw new ImageError(`IMAGE endian ${endian} is neither 1 (big) nor 2 (little)`, 'malformed');
  const u16s = (offset: number): Vec3 => [view.getUint16(offset), view.getUint16(offset + 2), view.getUint16(offset + 4)];
  const size = u16s(6);
  const matrix = Array.from({ length: 12 }, (_, i) => view.getFloat32(12 + 4 * i));
  const offset = u16s(60);
  const subSize = u16s(66);
  if (components < 1) throw new ImageError('IMAGE with 0 components', 'malformed');
  for (let i = 0; i < 3; i++) {
    if (subSize[i] < 1 || offset[i] + subSize[i] > size[i]) {
      throw new ImageError(`IMAGE sub-volume ${offset.join(',')}+${subSize.join('x')} does not lie inside ${size.join('x')}`, 'malformed');
    }
  }
  const expected = subSize[0] * subSize[1] * subSize[2] * components * SCALAR_TYPES[scalarType].bytes;
  if (body.length - IMAGE_HEADER_BYTES !== expected) {
    throw new ImageError(`IMAGE ${subSize.join('x')}×${components} ${scalarType} needs ${expected} pixel bytes (got ${body.length - IMAGE_HEADER_BYTES})`, 'malformed');
  }
  return {
    components,
    scalarType,
    bigEndian: endian === ENDIAN_BIG,
    size,
    geometry: geometryOf(matrix),
    subvolume: { offset, size: subSize },
    pixels: body.subarray(IMAGE_HEADER_BYTES),
  };
}

/** The protocol's 12 floats: each axis times its spacing, then the position. */
function matrixOf(geometry: ImageGeometry): number[] {
  const { axes, spacing, position } = geometry;
  return [...axes[0].map((v) => v * spacing[0]), ...axes[1].map((v) => v * spacing[1]), ...axes[2].map((v) => v * spacing[2]), ...position];
}

/** Spacing is the length of each scaled axis, as igtl_image_get_matrix reads it back. */
function geometryOf(matrix: number[]): ImageGeometry {
  const column = (i: number): Vec3 => [matrix[3 * i], matrix[3 * i + 1], matrix[3 * i + 2]];
  const spacing = [0, 1, 2].map((i) => Math.hypot(...column(i))) as Vec3;
  const axes = [0, 1, 2].map((i) => column(i).map((v) => (spacing[i] > 0 ? v / spacing[i] : 0)) as Vec3) as [Vec3, Vec3, Vec3];
  return { spacing, axes, position: column(3) };
}
