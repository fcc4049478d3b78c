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
