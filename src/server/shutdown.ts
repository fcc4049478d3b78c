/**
 * The shutdown promise (docs/architecture.md, "Limits"): SIGINT/SIGTERM end `serve` within
 * 2 s under any load. Closing runs the clients' close handshakes, the worker's stop and the
 * source's stop side by side, so each bound must fit under the deadline after which the
 * process exits anyway, and that deadline under the promise. The numbers live here together
 * and their order is checked when the module loads.
 */
export interface ShutdownTimes {
  /** What README promises: the process is gone this long after the signal. */
  promiseMs: number;
  /** `serve` exits the process at this point whatever is still closing. */
  deadlineMs: number;
  /** The worker may finish its frame this long before it is terminated (src/server/inference.ts). */
  workerGraceMs: number;
  /** A client that does not take its close frame loses its socket after this (src/server/hub.ts). */
  clientCloseMs: number;
}

export const SHUTDOWN: ShutdownTimes = { promiseMs: 2000, deadlineMs: 1800, workerGraceMs: 1500, clientCloseMs: 1000 };

/** Throws when the times cannot keep the promise. */
export function checkShutdownTimes(times: ShutdownTimes): void {
  const slowest = Math.max(times.workerGraceMs, times.clientCloseMs);
  if (!(slowest < times.deadlineMs && times.deadlineMs < times.promiseMs)) {
    throw new Error(
      `shutdown times out of order: worker grace ${times.workerGraceMs} ms and client close ${times.clientCloseMs} ms must end before the deadline ${times.deadlineMs} ms, and it before the ${times.promiseMs}-ms promise`,
    );
  }
}

checkShutdownTimes(SHUTDOWN);
