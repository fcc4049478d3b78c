/** Events per second over a sliding time window (fps in, masks/s), cheap at video rates. */
export class RateMeter {
  private readonly times: number[] = [];

  constructor(
    private readonly windowMs = 2000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  mark(): void {
    const t = this.now();
    this.times.push(t);
    this.prune(t);
  }

  /** Events per second over the window; 0 before two events; decays when events stop. */
  perSecond(): number {
    const t = this.now();
    this.prune(t);
    const n = this.times.length;
    return n < 2 ? 0 : (1000 * (n - 1)) / Math.max(t - this.times[0], 1);
  }

  private prune(t: number): void {
    while (this.times.length && this.times[0] < t - this.windowMs) this.times.shift();
  }
}
