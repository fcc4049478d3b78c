/**
 * Child process of the ViT bench: peak RSS of one session at one precision, alone in its
 * process so that the figure is that session's and not the bench's.
 * argv: weights path, precision, stride.
 */
import { vitSession, vitWeights } from '../src/vit/session.js';
import type { Precision } from '../src/vit/graph.js';

const [path, precision, stride] = process.argv.slice(2);
const session = await vitSession(await vitWeights(path), {
  stride: Number(stride),
  height: 224,
  width: 224,
  facets: [{ facet: 'key', layer: 11 }],
  attention: true,
  precision: precision as Precision,
});
const input = new Float32Array(3 * 224 * 224).fill(0.5);
for (let i = 0; i < 2; i++) await session.run(input);
process.stdout.write(JSON.stringify({ peakRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
