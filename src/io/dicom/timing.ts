import type { DataSet } from 'dicom-parser';

/** Tags of the Cine module (PS3.3 C.7.6.5) and the General Image module's rate, in dicom-parser's spelling. */
const TAG = {
  recommendedFps: 'x00082144',
  cineRate: 'x00180040',
  frameTime: 'x00181063',
  frameTimeVector: 'x00181065',
} as const;

/** When a cine's frames are shown, as far as its header says. */
export interface CineTiming {
  /** Frames per second from FrameTime, CineRate or RecommendedDisplayFrameRate, else FrameTimeVector's mean; undefined when none. */
  fps?: number;
  /** ms from the first frame, one per declared frame, from a usable FrameTimeVector; undefined otherwise. */
  frameTimesMs?: readonly number[];
  /** Why the file's FrameTimeVector was not used (a wrong length, a value that is no interval), for a warning. */
  frameTimeVectorProblem?: string;
}

/**
 * FrameTimeVector (0018,1065) holds, per frame, the interval in ms since the frame before it
 * (its first value is 0, PS3.3 C.7.6.5.1.2): summed, the frames' own times. A vector that does
 * not fit the file is set aside with the reason, and the rate (FrameTime, CineRate, …) times
 * the frames instead: no frame is lost over a header's mistake.
 */
export function cineTiming(dataSet: DataSet, frames: number): CineTiming {
  const vector = frameTimeVector(dataSet, frames);
  const fps = declaredRate(dataSet) ?? (typeof vector === 'object' ? meanRate(vector) : undefined);
  return {
    ...(fps !== undefined ? { fps } : {}),
    ...(typeof vector === 'object' ? { frameTimesMs: vector } : {}),
    ...(typeof vector === 'string' ? { frameTimeVectorProblem: vector } : {}),
  };
}

/** The frames' times from the vector, a reason it cannot give them, or undefined when the file has none. */
function frameTimeVector(dataSet: DataSet, frames: number): number[] | string | undefined {
  // An empty element says no more than an absent one.
  const text = dataSet.string(TAG.frameTimeVector);
  if (text === undefined) return undefined;
  // Split once: dicom-parser's per-index access splits the whole string again for every value.
  const values = text.split('\\').map((value) => value.trim());
  if (values.length !== frames) return `FrameTimeVector has ${values.length} values for ${frames} frames`;
  const times: number[] = [];
  for (const [index, value] of values.entries()) {
    const intervalMs = value === '' ? NaN : Number(value);
    // The first frame is the origin whatever its value; every later one must come after the one before.
    if (!(Number.isFinite(intervalMs) && (index === 0 ? intervalMs >= 0 : intervalMs > 0))) {
      return `FrameTimeVector value ${index + 1} is '${value}', not an interval in ms after the frame before`;
    }
    times.push(index === 0 ? 0 : times[index - 1] + intervalMs);
  }
  return times;
}

function declaredRate(dataSet: DataSet): number | undefined {
  const frameTimeMs = dataSet.floatString(TAG.frameTime);
  if (frameTimeMs !== undefined && frameTimeMs > 0) return roundFps(1000 / frameTimeMs);
  for (const tag of [TAG.cineRate, TAG.recommendedFps]) {
    const fps = dataSet.intString(tag);
    if (fps !== undefined && fps > 0) return fps;
  }
  return undefined;
}

function meanRate(timesMs: readonly number[]): number | undefined {
  const spanMs = timesMs[timesMs.length - 1];
  return timesMs.length > 1 ? roundFps(((timesMs.length - 1) * 1000) / spanMs) : undefined;
}

function roundFps(fps: number): number {
  return Math.round(fps * 1000) / 1000;
}
