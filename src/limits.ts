/**
 * Every limit of bonestream in one place (docs/architecture.md, "Limits"): what each bounds, its
 * default, and why that number. The modules that enforce them read them from here; tests and
 * load runs tune the service's through `startServer({ limits })`. Where the order of two
 * limits matters, it is checked when this module loads (`checkLimits`), so a change that
 * breaks one fails at once, and in test/limits.test.ts. The method's setting ranges (a
 * window of at most 100 frames bounds the bank's memory) sit with the options they check, in
 * src/settings.ts.
 */

/**
 * The largest image, frame, label or features geometry bonestream reads: the pixels of an 8K
 * UHD frame (7680×4320, 33.2 Mpx). Ultrasound frames are well under 2K; a header that claims
 * more is refused before anything is allocated for it (src/io/pixel-limit.ts).
 */
export const MAX_PIXELS = 7680 * 4320;

/**
 * OpenIGTLink bodies larger than this are not ultrasound frames (64 MiB: 4096×4096 float32);
 * they are skipped unread, never allocated (src/igtl/parser.ts, src/ingest/igtl-run.ts).
 */
export const MAX_IGTL_BODY_BYTES = 64 << 20;

export interface Backoff {
  initial: number;
  max: number;
}

/**
 * Restarts of a live source's ffmpeg and of the inference worker wait `initial`, doubling after
 * each failed run up to `max`: half a second gets past a blip, ten seconds keep a dead device
 * or a backend that cannot start from spinning.
 */
const RESTART_BACKOFF_MS: Backoff = { initial: 500, max: 10_000 };

export interface SourceLimits {
  /** A restartable source with no frame for this long is killed and restarted (src/ingest/source.ts). */
  stallTimeoutMs: number;
  /** Time allowed from starting ffmpeg to its first frame: connecting, probing, the first keyframe. */
  openTimeoutMs: number;
  /** Restart delay: starts at `initial`, doubles after each failed run, capped at `max`. */
  backoffMs: Backoff;
}

export const SOURCE_LIMITS: SourceLimits = {
  // A probe sends 10–60 frames a second: 5 s without one is a hung device or stream, not a slow frame.
  stallTimeoutMs: 5000,
  // A network stream's first frame waits for the connection, ffmpeg's probe and a keyframe.
  openTimeoutMs: 10_000,
  backoffMs: { ...RESTART_BACKOFF_MS },
};

/** What the hub allows each WebSocket client (src/server/hub.ts). */
export interface HubLimits {
  /**
   * Unsent bytes per client: above this a client gets no new frames until it catches up;
   * masks, replies, status and pongs get `smallMessageSlack` times as much room.
   */
  maxBufferedBytes: number;
  /** How many times `maxBufferedBytes` the small messages (masks, replies, status, pongs) may fill. */
  smallMessageSlack: number;
  /** Control messages longer than this are refused with an error (the socket stays open). */
  maxControlBytes: number;
  /** Control messages per second per client; more are refused (a flood must not thrash the bank). */
  maxControlPerSecond: number;
  /** Refused messages per second per client; more close the socket (1008): refusing costs CPU too. */
  maxRefusalsPerSecond: number;
  /** Clients that do not answer a ping within this interval are dropped (half-open sockets). */
  pingIntervalMs: number;
  /**
   * A client with unsent data of which not one byte left for this long is not reading: it is
   * closed (1008), whatever it sends meanwhile (pongs included).
   */
  stallTimeoutMs: number;
}

/** The HTTP(S) server's connection slots (src/server/slots.ts). */
export interface SlotLimits {
  /** TCP connections at once (HTTP and WebSocket, TLS or not). */
  maxConnections: number;
  /** Connections from one address that have not yet passed the gate; more evict that address's oldest. */
  maxPendingPerAddress: number;
}

/** The live service's limits (src/server/server.ts), each an option of `startServer`. */
export interface ServerLimits extends HubLimits, SlotLimits {
  /** WebSocket clients at once; more get 503. */
  maxClients: number;
  /** Largest WebSocket message accepted at all; larger ones close the socket (1009). */
  maxPayloadBytes: number;
  /** Largest request head; larger ones get 431. */
  maxHeaderBytes: number;
  /** Time allowed for a request's headers (slow or half-open HTTP clients); the whole request gets three times as long. */
  headersTimeoutMs: number;
  /** Time allowed for a TLS handshake. */
  tlsHandshakeTimeoutMs: number;
  /** The frames' JPEG quality for the clients (not a bound, but tuned with them: it sets a frame's size). */
  jpegQuality: number;
  /** startServer waits this long at most for the source's first frame (so hello can give its size). */
  sourceStartWaitMs: number;
  /** Restart delay of a failed inference worker, as `SourceLimits.backoffMs`. */
  workerBackoffMs: Backoff;
}

export const DEFAULT_LIMITS: ServerLimits = {
  // A client that reads nothing costs about this much memory; 64 such clients, twice it each: 128 MiB.
  maxBufferedBytes: 1 << 20,
  // Masks are small and the point of the service: they still go out while a slow client's frames are dropped.
  smallMessageSlack: 2,
  // The largest valid control message (tau, votes and window as JSON) is under 100 bytes.
  maxControlBytes: 4096,
  // A slider dragged by hand sends a few changes a second; each one refits the bank.
  maxControlPerSecond: 20,
  // Only a broken or hostile client keeps sending what is refused; a second of it is enough.
  maxRefusalsPerSecond: 50,
  // A half-open socket (a display switched off) is dropped within two intervals, 30 s.
  pingIntervalMs: 15_000,
  // Long enough for a display on a slow network to take a frame, short enough that a dead one frees its buffer soon.
  stallTimeoutMs: 5000,
  // Displays, a recorder and a few viewers; each may cost smallMessageSlack × maxBufferedBytes.
  maxClients: 64,
  // Room beyond the WebSocket clients for /healthz, /metrics and the page itself.
  maxConnections: 256,
  // One address cannot take every slot before it shows the token.
  maxPendingPerAddress: 64,
  // No message a client sends needs more (ws's default, 100 MiB, would let one message take that much).
  maxPayloadBytes: 64 * 1024,
  // Node's default; no request of this service needs more.
  maxHeaderBytes: 16 * 1024,
  // A request head comes in one packet; 10 s allows for a slow network and frees a slow-loris slot soon.
  headersTimeoutMs: 10_000,
  // Node's default, 120 s, lets stalled handshakes hold slots.
  tlsHandshakeTimeoutMs: 10_000,
  jpegQuality: 80,
  // As long as a source's first open may take (SOURCE_LIMITS.openTimeoutMs).
  sourceStartWaitMs: 10_000,
  workerBackoffMs: { ...RESTART_BACKOFF_MS },
};

/** What the OpenIGTLink server allows (src/server/igtl.ts). */
export interface IgtlLimits {
  /** OpenIGTLink clients at once; more are refused on accept. */
  maxClients: number;
  /** A client with more unsent bytes than this gets only the newest frame's messages, once it drains. */
  maxBufferedBytes: number;
  /** Idle time before TCP keep-alive probes a client, so a client machine that vanished is found and closed. */
  keepAliveMs: number;
}

export const DEFAULT_IGTL_LIMITS: IgtlLimits = {
  // A navigation system and a few viewers (3D Slicer); the port has no authentication.
  maxClients: 16,
  // One 1080p mask and its frame (2 × 2.07 MB) fit; a client that keeps more unsent is behind.
  maxBufferedBytes: 4 << 20,
  // Probes go out only on a socket idle both ways (no masks: the source is down); a vanished client's slot is freed soon.
  keepAliveMs: 10_000,
};

/**
 * The shutdown promise: SIGINT/SIGTERM end `serve` within 2 s under any load. Closing runs the
 * clients' close handshakes, the worker's stop and the source's stop side by side, so each
 * bound must fit under the deadline after which the process exits anyway, and that deadline
 * under the promise.
 */
export interface ShutdownTimes {
  /** What README promises: the process is gone this long after the signal. */
  promiseMs: number;
  /** `serve` exits the process at this point whatever is still closing (src/commands/serve.ts). */
  deadlineMs: number;
  /** The worker may finish its frame this long before it is terminated (src/server/inference.ts). */
  workerGraceMs: number;
  /** A client that does not take its close frame loses its socket after this (src/server/hub.ts). */
  clientCloseMs: number;
}

// The physics backend's frame takes well under a second, so the grace lets it finish; the 200 ms
// between the deadline and the promise are the process's own exit.
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

/** What the service's own diagnostics may cost: log lines and the ffmpeg lines kept for failure reasons. */
export interface DiagnosticLimits {
  /**
   * Lines a second for client connects and disconnects, and for applied control messages
   * (src/util/log.ts `throttled`); the rest are counted in one line a second: 5 000 connects
   * are not 5 000 lines.
   */
  logLinesPerSecond: number;
  /** Lines a second saying a source's frames changed size: an OpenIGTLink sender may alternate sizes message by message. */
  sizeChangeLinesPerSecond: number;
  /** ffmpeg's last stderr lines kept per run, where a failure's reason is (src/ingest/ffmpeg-log.ts). */
  ffmpegTailLines: number;
  /** How long `ffmpeg -version` and `-h long` may take when choosing and probing an ffmpeg (src/ingest/ffmpeg-path.ts). */
  ffmpegProbeTimeoutMs: number;
}

export const DIAGNOSTIC_LIMITS: DiagnosticLimits = {
  logLinesPerSecond: 10,
  sizeChangeLinesPerSecond: 5,
  // ffmpeg's reason for a failure is in its last few lines; 40 keep it past the lines after it.
  ffmpegTailLines: 40,
  // Either answers in milliseconds; a binary that hangs must not hang the start of a command.
  ffmpegProbeTimeoutMs: 5000,
};

export interface AllLimits {
  maxPixels: number;
  maxIgtlBodyBytes: number;
  source: SourceLimits;
  server: ServerLimits;
  igtl: IgtlLimits;
  shutdown: ShutdownTimes;
  diagnostics: DiagnosticLimits;
}

export const LIMITS: AllLimits = {
  maxPixels: MAX_PIXELS,
  maxIgtlBodyBytes: MAX_IGTL_BODY_BYTES,
  source: SOURCE_LIMITS,
  server: DEFAULT_LIMITS,
  igtl: DEFAULT_IGTL_LIMITS,
  shutdown: SHUTDOWN,
  diagnostics: DIAGNOSTIC_LIMITS,
};

/** The orders between limits that `checkLimits` holds them to, each with why it matters. */
export function limitOrderProblems(limits: AllLimits): string[] {
  const { source, server } = limits;
  const problems: string[] = [];
  const order = (holds: boolean, problem: string) => void (holds || problems.push(problem));
  order(
    source.stallTimeoutMs <= source.openTimeoutMs,
    `the source's stall timeout (${source.stallTimeoutMs} ms) must not exceed its open timeout (${source.openTimeoutMs} ms): a first frame takes longer than the next`,
  );
  for (const [name, backoff] of [['source', source.backoffMs], ['worker', server.workerBackoffMs]] as const) {
    order(0 < backoff.initial && backoff.initial <= backoff.max, `the ${name} back-off needs 0 < initial ≤ max (got ${backoff.initial}, ${backoff.max} ms)`);
  }
  order(
    server.maxControlBytes < server.maxPayloadBytes,
    `the control message limit (${server.maxControlBytes} bytes) must be below the WebSocket payload limit (${server.maxPayloadBytes}): an oversized control message gets an error reply, only a far larger one loses its socket`,
  );
  order(
    server.maxClients < server.maxConnections,
    `WebSocket clients (${server.maxClients}) must be fewer than connections (${server.maxConnections}): /healthz and /metrics still answer when every client is connected`,
  );
  order(
    server.maxPendingPerAddress < server.maxConnections,
    `pending connections per address (${server.maxPendingPerAddress}) must be fewer than connections (${server.maxConnections}): one address cannot hold every slot`,
  );
  order(server.smallMessageSlack >= 1, `small messages must get at least the frames' buffer room (slack ${server.smallMessageSlack})`);
  order(
    server.sourceStartWaitMs >= source.openTimeoutMs,
    `the wait for the first frame (${server.sourceStartWaitMs} ms) must cover the source's open timeout (${source.openTimeoutMs} ms): a source that opens in time is in hello`,
  );
  order(
    limits.maxPixels <= limits.maxIgtlBodyBytes,
    `the OpenIGTLink body limit (${limits.maxIgtlBodyBytes} bytes) must hold an 8-bit frame at the pixel limit (${limits.maxPixels} pixels)`,
  );
  return problems;
}

/** Throws when the shutdown times or any order between limits does not hold, naming each. */
export function checkLimits(limits: AllLimits): void {
  checkShutdownTimes(limits.shutdown);
  const problems = limitOrderProblems(limits);
  if (problems.length) throw new Error(`limits out of order: ${problems.join('; ')}`);
}

checkLimits(LIMITS);
