import cliProgress from 'cli-progress';
import { routeLog } from './log.js';

export interface Progress {
  /** `done` past the total raises the total: it was an estimate. */
  update(done: number, payload?: Record<string, string | number>): void;
  increment(by?: number, payload?: Record<string, string | number>): void;
  /** Ends the bar at `done` of `done`, full: for work whose total was an estimate (a video's frames). */
  finish(done: number): void;
  stop(): void;
}

/** What createProgress gives when no bar is drawn; also for work that must stay quiet. */
export const NO_BAR: Progress = { update() {}, increment() {}, finish() {}, stop() {} };

/**
 * A progress bar on stderr for long work. It draws only on a terminal, so logs, pipes
 * and tests stay clean. While it is drawn, log lines are written above it (not glued onto
 * its line, and not drawn over), and the bar is redrawn below them.
 * `format` may use cli-progress tokens ({bar} {value} {total} {percentage} {eta_formatted})
 * and any payload keys; give those keys in `initialPayload` so the first frame does not show them raw.
 * `stream` is stderr but in tests.
 */
export function createProgress(
  label: string,
  total: number,
  format = `${label} [{bar}] {value}/{total} {percentage}% ETA {eta_formatted}`,
  initialPayload: Record<string, string | number> = {},
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (!stream.isTTY || process.env.BONESTREAM_NO_PROGRESS) return NO_BAR;
  // Until something is done there is no rate to estimate from: "ETA –", not "ETA 0s".
  const noEtaYet = format.replace('{eta_formatted}', '–');
  const bars = new cliProgress.MultiBar(
    {
      format: (options, params, payload) =>
        cliProgress.Format.Formatter({ ...options, format: params.value > 0 ? format : noEtaYet }, params, payload),
      stream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, 0, initialPayload);
  routeLog((line) => bars.log(line));
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    routeLog(undefined);
    // Draw once more so that log lines still waiting are written above the final bar.
    bars.update();
    bars.stop();
  };
  return {
    update: (done, payload) => {
      // A total that was an estimate (a variable-rate video's frames) grows with the work,
      // rather than the bar showing more done than its total.
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done, payload);
    },
    increment: (by = 1, payload) => bar.increment(by, payload),
    finish: (done) => {
      bar.setTotal(done);
      bar.update(done);
      stop();
    },
    stop,
  };
}
