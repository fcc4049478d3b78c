import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, payload?: Record<string, string | number>): void;
  increment(by?: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

/**
 * A progress bar on stderr for long work. It draws only on a terminal, so logs, pipes
 * and tests stay clean.
 * `format` may use cli-progress tokens ({bar} {value} {total} {percentage} {eta_formatted})
 * and any payload keys; give those keys in `initialPayload` so the first frame does not show them raw.
 */
export function createProgress(
  label: string,
  total: number,
  format = `${label} [{bar}] {value}/{total} {percentage}% ETA {eta_formatted}`,
  initialPayload: Record<string, string | number> = {},
): Progress {
  const enabled = Boolean(process.stderr.isTTY) && !process.env.BONESTREAM_NO_PROGRESS;
  if (!enabled) return { update() {}, increment() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, initialPayload);
  return {
    update: (done, payload) => bar.update(done, payload),
    increment: (by = 1, payload) => bar.increment(by, payload),
    stop: () => bar.stop(),
  };
}
