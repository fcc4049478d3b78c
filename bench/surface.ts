/**
 * The bone-surface stage: its cost per 950×812 frame (the real recordings' size)
 * on the main thread, alone and after the physics backend, on phantom frames of that size
 * (the real data is never in the repository). Budget: stage ≤ 25 ms, physics + stage ≤ 60 ms.
 */
import { loadavg } from 'node:os';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import { boneEvidence } from '../src/physics/evidence.js';
import { surfaceStage, DEFAULT_MASK } from '../src/surface/stage.js';
import { renderPhantom, phantomDefaults } from '../src/phantom/index.js';
import { DEFAULTS } from '../src/config.js';
import type { GrayImage } from '../src/types.js';
import { percentile, time } from './segment.js';

const FRAMES = 12;

export async function benchSurface(): Promise<Record<string, number>> {
  const load = loadavg()[0];
  const options = phantomDefaults(950, 812, 3);
  const frames = Array.from({ length: FRAMES }, (_, i) => renderPhantom(options, i * 3));
  // The cell mask the stage searches around: the true region grown as a coarse mask would be.
  const cells = frames.map((f) => f.region);
  // A frame's evidence is computed once and then reused (src/physics/evidence.ts): each
  // measurement gets a frame object of its own, as a newly decoded frame is.
  const fresh = (i: number): GrayImage => ({ ...frames[i].image });
  const stage = (i: number, gray = fresh(i)) => surfaceStage({ gray, cells: cells[i] }, DEFAULT_MASK);
  stage(0); // warm up the JIT and the FFT plans and filters
  const evidence = frames.map((_, i) => time(() => boneEvidence(fresh(i))));
  const stages = frames.map((_, i) => time(() => stage(i)));

  const extractor = createPhysicsExtractor({ stride: DEFAULTS.stride, loadSize: DEFAULTS.loadSize });
  await extractor.extract(frames[0].image);
  const both: Array<{ wall: number; cpu: number }> = [];
  for (let i = 0; i < frames.length; i++) {
    const gray = fresh(i);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await extractor.extract(gray);
    stage(i, gray);
    const used = process.cpuUsage(cpu);
    both.push({ wall: performance.now() - start, cpu: (used.user + used.system) / 1000 });
  }
  const p50 = (runs: Array<{ wall: number; cpu: number }>, key: 'wall' | 'cpu') => percentile(runs.map((r) => r[key]), 50);
  const best = (runs: Array<{ wall: number; cpu: number }>, key: 'wall' | 'cpu') => Math.min(...runs.map((r) => r[key]));
  return {
    'load average (1 min) at start': load,
    'evidence 950×812: ms per frame, p50': p50(evidence, 'wall'),
    'evidence 950×812: CPU ms per frame, p50': p50(evidence, 'cpu'),
    'surface stage 950×812 (evidence, DP, band mask): ms per frame, p50': p50(stages, 'wall'),
    'surface stage 950×812: ms per frame, best': best(stages, 'wall'),
    'surface stage 950×812: CPU ms per frame, p50': p50(stages, 'cpu'),
    'physics 224 stride 8 + surface stage, 950×812: ms per frame, p50': p50(both, 'wall'),
    'physics 224 stride 8 + surface stage, 950×812: ms per frame, best': best(both, 'wall'),
    'physics 224 stride 8 + surface stage, 950×812: CPU ms per frame, p50': p50(both, 'cpu'),
  };
}
