import type { Frame } from '../ingest/source.js';
import { graySharp } from '../io/image.js';
import { log } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { Hub } from './hub.js';
import type { Inference, InferenceResult } from './inference.js';
import { Mailbox } from './mailbox.js';
import type { Metrics } from './metrics.js';
import { encodeBinary, encodeMask, type MaskContent } from '../wire/protocol.js';
import { RateMeter } from '../wire/rate.js';

export interface RelayStats {
  framesIn: number;
  masksOut: number;
  fpsIn: number;
  masksPerSecond: number;
  /** Since the newest mask was sent; null before the first. */
  lastMaskAgeMs: number | null;
}

/**
 * The data path of the service: each decoded frame goes to the inference worker's mailbox
 * and, JPEG-encoded once, to every client; each mask comes back, is PNG-encoded once and
 * follows. Encoding never queues: a frame that arrives while the previous one is still
 * being encoded replaces the one waiting.
 */
export class Relay {
  private readonly fpsIn = new RateMeter();
  private readonly masksPerSecond = new RateMeter();
  private readonly jpegMailbox = new Mailbox<Frame>();
  private encoding = false;
  private maskChain = Promise.resolve();
  private framesIn = 0;
  private masksOut = 0;
  private lastMaskAt?: number;

  constructor(
    private readonly hub: Hub,
    private readonly inference: Inference,
    private readonly metrics: Metrics,
    private readonly jpegQuality: number,
  ) {}

  frame(frame: Frame): void {
    this.metrics.framesIn.inc();
    this.framesIn++;
    this.fpsIn.mark();
    const { seq, ptsMs, image, capturedAtMs, spacingMm } = frame;
    if (this.inference.submit({ seq, ptsMs, image, capturedAtMs, spacingMm, arrivedAt: performance.now() })) {
      this.metrics.framesSkipped.inc();
    }
    this.jpegMailbox.put(frame);
    void this.pumpJpeg();
  }

  /** Masks are sent in the order they were computed. */
  mask(result: InferenceResult): void {
    this.maskChain = this.maskChain.then(() => this.sendMask(result));
  }

  stats(): RelayStats {
    return {
      framesIn: this.framesIn,
      masksOut: this.masksOut,
      fpsIn: round(this.fpsIn.perSecond()),
      masksPerSecond: round(this.masksPerSecond.perSecond()),
      lastMaskAgeMs: this.lastMaskAt === undefined ? null : Math.round(performance.now() - this.lastMaskAt),
    };
  }

  private async pumpJpeg(): Promise<void> {
    if (this.encoding) return;
    const frame = this.jpegMailbox.take();
    if (!frame) return;
    this.encoding = true;
    try {
      const jpeg = await graySharp(frame.image).jpeg({ quality: this.jpegQuality }).toBuffer();
      this.hub.broadcast(encodeBinary({ type: 'frame', seq: frame.seq, pts: frame.ptsMs }, jpeg), 'frame');
    } catch (error) {
      log.warn(`frame ${frame.seq}: JPEG encoding failed: ${errorMessage(error)}`);
    } finally {
      this.encoding = false;
    }
    void this.pumpJpeg();
  }

  private async sendMask(result: InferenceResult): Promise<void> {
    try {
      const png = await graySharp(result.mask).png({ compressionLevel: 3 }).toBuffer();
      const latencyMs = performance.now() - result.arrivedAt;
      this.metrics.masksOut.inc();
      this.metrics.maskLatency.observe(latencyMs / 1000);
      this.metrics.workerStep.observe({ step: 'extract' }, result.timing.extractMs / 1000);
      this.metrics.workerStep.observe({ step: 'bank' }, result.timing.bankMs / 1000);
      this.metrics.workerStep.observe({ step: 'surface' }, result.timing.surfaceMs / 1000);
      this.masksOut++;
      this.masksPerSecond.mark();
      this.lastMaskAt = performance.now();
      const content: MaskContent = {
        seq: result.seq,
        pts: result.ptsMs,
        width: result.mask.width,
        height: result.mask.height,
        latencyMs: Math.round(latencyMs * 10) / 10,
        salientClusters: result.salientClusters,
        k: result.k,
        backend: this.inference.backend,
        kind: result.kind,
      };
      // Masks are small and the point of the service: they get more buffer room than frames (src/limits.ts).
      this.hub.broadcast(encodeMask(content, png, result.polylines), 'mask');
    } catch (error) {
      log.warn(`mask ${result.seq}: PNG encoding failed: ${errorMessage(error)}`);
    }
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
