/**
 * Events per second (fps in, masks/s) from the most recent events: at most `maxEvents`
 * of them, none older than `windowMs`. Video rates then average over about two seconds,
 * and a ViT that needs more than a second per mask still gets a rate, not zero.
 */
export class RateMeter {
  private readonly times: number[] = [];

  constructor(
    private readonly windowMs = 10_000,
    private readonly maxEvents = 32,
    private readonly now: () => number = () => performance.now(),
  ) {}

  mark(): void {
    const t = this.now();
    this.times.push(t);
    if (this.times.length > this.maxEvents) this.times.shift();
    this.prune(t);
  }

  /**
   * Events per second; 0 before two events. When events stop, the rate falls as
   * 1 / (time since the last one), so a stalled stream reads as slowing down at once.
   */
  perSecond(): number {
    const t = this.now();
    this.prune(t);
    const n = this.times.length;
    if (n < 2) return 0;
    const first = this.times[0];
    const last = this.times[n - 1];
    return Math.min((1000 * (n - 1)) / Math.max(last - first, 1), 1000 / Math.max(t - last, 1e-3));
  }

  private prune(t: number): void {
    while (this.times.length && this.times[0] < t - this.windowMs) this.times.shift();
  }
}
