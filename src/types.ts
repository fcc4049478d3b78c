/** Shared shapes that cross module boundaries: images in, patch features out. */

/** An 8-bit grayscale image, row-major. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array; // [height * width]
}

export interface Size {
  width: number;
  height: number;
}

/** Where the patch grid sits, so masks can be mapped back to the original pixels. */
export interface PatchGeometry {
  stride: number;
  patchSize: number;
  /** The image the backend saw: smaller edge resized to loadSize. */
  resized: Size;
  /** The image as it came in. */
  original: Size;
}

/** What a backend extracts from one image: the paper's patch descriptors and saliency. */
export interface Features {
  grid: [rows: number, cols: number];
  /** Descriptor length D (384 for ViT-S keys). */
  dim: number;
  /** [rows * cols, D], row-major over the grid, each row L2-normalized. */
  descriptors: Float32Array;
  /** [rows * cols], min–max normalized to [0, 1] per image. */
  saliency: Float32Array;
  geometry: PatchGeometry;
}

export type BackendName = 'dino' | 'physics';

export interface ExtractOptions {
  /**
   * The paper's robustness experiment: I + eps·N(0, 1) added to the normalized input the
   * backend sees (ImageNet-normalized for the ViT), with a seeded generator.
   */
  noise?: { eps: number; seed: number };
}

/** A feature backend (DINO ViT or the embedded physics model); one instance per settings. */
export interface Extractor {
  readonly backend: BackendName;
  /** Model name or file, or 'physics'. Shown to users wherever the backend is named. */
  readonly model: string;
  readonly stride: number;
  readonly loadSize: number;
  extract(image: GrayImage, options?: ExtractOptions): Promise<Features>;
  dispose(): Promise<void>;
}

/** A frame area-downsampled for the bone evidence (src/physics/working.ts makes it). */
export interface WorkingImage {
  width: number;
  height: number;
  data: Float32Array; // [height * width], 0..1
  /** Working px per source-frame px, along x and along y. */
  scaleX: number;
  scaleY: number;
}

/** The bone-surface evidence of a frame (src/physics/evidence.ts), on its working image. */
export interface Evidence {
  image: WorkingImage;
  /** [height * width] of the working image, 0..1. */
  map: Float32Array;
}
