import { join } from 'node:path';
import type { GrayImage } from '../../src/types.js';
import { REPO_ROOT } from './env.js';

/** The DICOM files fixtures/dicom/make-fixtures.py wrote with pydicom. */
export const DICOM_DIR = join(REPO_ROOT, 'fixtures/dicom');

/** The invented patient attributes in every fixture: no output may contain them. */
export const PATIENT_STRINGS = ['Doe^Jane^Fixture', 'Doe', 'BS-PID-4471', '19700101'];

/** Peak signal-to-noise ratio of two 8-bit images of one size, in dB. */
export function psnr(a: GrayImage, b: GrayImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i] - b.data[i]) ** 2;
  const mse = sum / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** One element of an Explicit VR Little Endian dataset. */
function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const padded = value.length % 2 ? Buffer.concat([value, Buffer.from(vr === 'UI' || vr === 'OB' ? [0] : [0x20])]) : value;
  const long = vr === 'OB' || vr === 'OW' || vr === 'SQ' || vr === 'UN' || vr === 'UT';
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(padded.length, 8);
  else head.writeUInt16LE(padded.length, 6);
  return Buffer.concat([head, padded]);
}

const us = (value: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
};

/**
 * An uncompressed 8-bit MONOCHROME2 multi-frame Part 10 file, for tests that turn real frames
 * (never committed) into DICOM at run time, where no independent writer may be assumed. The
 * committed fixtures come from pydicom (fixtures/dicom/make-fixtures.py), not from this.
 */
export function writeGrayCine(frames: GrayImage[], frameTimeMs: number, pixelSpacingMm: number): Buffer {
  const { width, height } = frames[0];
  const sopClass = '1.2.840.10008.5.1.4.1.1.3.1';
  const instance = '1.2.826.0.1.3680043.8.498.2';
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', Buffer.from(sopClass)),
    element(0x0002, 0x0003, 'UI', Buffer.from(instance)),
    element(0x0002, 0x0010, 'UI', Buffer.from('1.2.840.10008.1.2.1')),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length);
  const dataset = Buffer.concat([
    element(0x0008, 0x0016, 'UI', Buffer.from(sopClass)),
    element(0x0008, 0x0018, 'UI', Buffer.from(instance)),
    element(0x0008, 0x0060, 'CS', Buffer.from('US')),
    element(0x0018, 0x1063, 'DS', Buffer.from(String(frameTimeMs))),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', Buffer.from('MONOCHROME2')),
    element(0x0028, 0x0008, 'IS', Buffer.from(String(frames.length))),
    element(0x0028, 0x0010, 'US', us(height)),
    element(0x0028, 0x0011, 'US', us(width)),
    element(0x0028, 0x0030, 'DS', Buffer.from(`${pixelSpacingMm}\\${pixelSpacingMm}`)),
    element(0x0028, 0x0100, 'US', us(8)),
    element(0x0028, 0x0101, 'US', us(8)),
    element(0x0028, 0x0102, 'US', us(7)),
    element(0x0028, 0x0103, 'US', us(0)),
    element(0x7fe0, 0x0010, 'OB', Buffer.concat(frames.map((frame) => Buffer.from(frame.data)))),
  ]);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), element(0x0002, 0x0000, 'UL', groupLength), meta, dataset]);
}
