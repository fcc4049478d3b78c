import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FrameSource, type Frame, type FrameSourceOptions, type SourceSpec } from '../ingest/source.js';
import type { BackendRequest } from '../backend.js';
import { DEFAULTS } from '../config.js';
import { UserError } from '../util/errors.js';
import { log, throttled } from '../util/log.js';
import { accessGate, checkBindPolicy } from './auth.js';
import type { ControlMessage } from './control.js';
import { overallStatus, type Health } from './health.js';
import { clientErrorHandler, createHttpServer, requestHandler, upgradeHandler } from './http.js';
import { Hub } from './hub.js';
import { Inference, type InferenceOptions, type InferenceResult } from './inference.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PROTOCOL_VERSION, type HelloMessage, type Settings, type SourceState, type SourceStatus, type StatusMessage, type TextMessage } from '../wire/protocol.js';
import { Relay } from './relay.js';
import { ConnectionSlots } from './slots.js';
import { DEFAULT_LIMITS, DIAGNOSTIC_LIMITS, type ServerLimits } from '../limits.js';
import { checkMethodSettings } from '../settings.js';
import { IgtlServer, type IgtlServerOptions } from './igtl.js';
import { DEFAULT_MASK, type MaskSettings } from '../surface/stage.js';

export interface ServerOptions {
  source: SourceSpec;
  sourceOptions?: FrameSourceOptions;
  backend: BackendRequest;
  /** The method's settings (src/settings.ts); checked here, before a worker starts. */
  window?: number;
  tau?: number;
  votes?: number;
  seed?: number;
  k?: number | 'auto';
  /** What the masks show (`--mask`, `--band`, `--region-depth`); DEFAULT_MASK when absent. */
  mask?: MaskSettings;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Origins (besides the server's own) whose pages may open the stream. */
  allowOrigins?: string[];
  /** Any of the service's limits (src/limits.ts, DEFAULT_LIMITS for the rest). */
  limits?: Partial<ServerLimits>;
  /** Also serve masks over OpenIGTLink (`--igtl-port`); its bind policy is checked by the caller. */
  igtl?: Omit<IgtlServerOptions, 'registry'>;
  /** Starts the inference worker (inference.ts `startWorker` unless given; tests wrap it). */
  createWorker?: InferenceOptions['createWorker'];
}

export interface RunningServer {
  /** The client's address (without the token). */
  url: string;
  port: number;
  host: string;
  health(): Health;
  metrics: Metrics;
  source: FrameSource;
  inference: Inference;
  /** The OpenIGTLink server's port, with `igtl`. */
  igtlPort?: number;
  /**
   * Close frames to clients, ffmpeg and the worker stopped, sockets closed. `workerGraceMs`:
   * how long the worker may take to finish its frame before it is terminated (default
   * SHUTDOWN.workerGraceMs in src/limits.ts, inside serve's 2-s shutdown promise); a caller that can wait should give a full-size
   * ViT's frame time, since terminating native inference mid-run can abort the process.
   */
  close(options?: { workerGraceMs?: number }): Promise<void>;
}

/**
 * Starts the live service: the source's frames are relayed to every client as JPEG at the
 * source rate, while the inference worker segments the newest frame whenever it is free and
 * its masks follow, each tied to its frame by seq/pts.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? DEFAULTS.host;
  const token = options.token || undefined;
  checkBindPolicy(host, token);
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = createMetrics();
  const startedAt = Date.now();

  const bank = {
    window: options.window ?? DEFAULTS.window,
    tau: options.tau ?? DEFAULTS.tau,
    votes: options.votes ?? DEFAULTS.votes,
    seed: options.seed ?? DEFAULTS.seed,
    k: options.k ?? 'auto',
  };
  checkMethodSettings(bank);
  const inference = new Inference({
    request: options.backend,
    bank,
    mask: options.mask ?? DEFAULT_MASK,
    backoffMs: limits.workerBackoffMs,
    createWorker: options.createWorker,
  });
  // A service waits for its device or stream to come up rather than giving up on the first try.
  const source = new FrameSource(options.source, { retryFirstOpen: true, ...options.sourceOptions });
  const backend = await inference.start();
  // The physics extractor announces itself as it is made (src/physics/extractor.ts), in the worker.
  if (backend.backend !== 'physics') log.info(`backend: ${backend.backend} (${backend.model})`);

  const settings = (): Settings => {
    const bank = inference.bankOptions;
    return { stride: options.backend.stride, loadSize: options.backend.loadSize, window: bank.window, tau: bank.tau, votes: bank.votes };
  };
  const sourceInfo = () => ({ width: source.info?.width ?? 0, height: source.info?.height ?? 0, fps: source.info?.fps ?? 0 });
  let sourceDetail: string | undefined;
  const sourceStatus = (): SourceStatus => ({ state: source.state, detail: sourceDetail, ...sourceInfo() });

  const status = (): StatusMessage => ({
    type: 'status',
    source: sourceStatus(),
    backend: { name: inference.backend, model: inference.model, state: inference.state, detail: inference.detail },
    settings: settings(),
  });

  const controlLog = throttled(log.info, DIAGNOSTIC_LIMITS.logLinesPerSecond, 'control messages');
  const hub = new Hub(limits, metrics, {
    hello: (): HelloMessage => ({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      source: sourceStatus(),
      backend: inference.backend,
      model: inference.model,
      backendState: inference.state,
      settings: settings(),
      // Everyone who gets in holds the token when one is set, so every connection may send control.
      control: true,
    }),
    control: (message: ControlMessage): TextMessage => {
      if (message.type === 'reset') inference.reset();
      else {
        const { type: _type, ...changes } = message;
        inference.update(changes);
      }
      controlLog(`control: ${message.type}`, message.type === 'control' ? { ...message } : undefined);
      hub.broadcastText(status());
      return { type: 'ack', of: message.type, settings: settings() };
    },
  });

  const relay = new Relay(hub, inference, metrics, limits.jpegQuality);
  source.on('frame', (frame: Frame) => relay.frame(frame));
  inference.on('mask', (result) => relay.mask(result));
  // Started below, with the HTTP server; masks only come once the source runs, after both.
  let igtl: IgtlServer | undefined;
  inference.on('mask', (result: InferenceResult) => igtl?.send({
    mask: result.mask,
    image: result.frame.image,
    capturedAtMs: result.frame.capturedAtMs ?? performance.timeOrigin + result.arrivedAt,
    spacingMm: result.frame.spacingMm,
    arrivedAt: result.arrivedAt,
  }));

  // States: to the log, the metrics, and every client.
  metrics.setSourceState(source.state);
  metrics.setBackendState(inference.state, inference.backend);
  source.on('state', (state: SourceState, detail?: string) => {
    sourceDetail = detail;
    metrics.setSourceState(state);
    // The source logs its own restarts, with the reason.
    if (state === 'error') log.error(`source: ${detail ?? 'failed'}`);
    else if (state === 'stalled') log.warn(`source: stalled (${detail})`);
    else if (state !== 'restarting') log.info(`source: ${state}`);
    hub.broadcastText(status());
  });
  // An 'error' event without a listener would end the process.
  source.on('error', (error: Error) => log.error(`source: ${error.message}`));
  source.on('info', () => hub.broadcastText(status()));
  inference.on('state', (state, detail) => {
    metrics.setBackendState(state, inference.backend);
    hub.broadcastText(status());
    if (state === 'running') log.info(`backend ${inference.backend}: running`);
    else log.warn(`backend ${inference.backend}: ${state}${detail ? ` (${detail})` : ''}`);
  });
  inference.on('restart', () => metrics.workerRestarts.inc());

  const health = (): Health => ({
    status: overallStatus(source.state, inference.state),
    backend: inference.backend,
    model: inference.model,
    backendState: inference.state,
    backendDetail: inference.detail,
    source: sourceStatus(),
    ...relay.stats(),
    framesNotSegmented: inference.framesSkipped,
    workerRestarts: inference.restarts,
    clients: hub.size,
    settings: settings(),
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    igtl: igtl?.stats(),
    igtlSource: source.igtlStats && { images: source.igtlStats.images, problems: { ...source.igtlStats.problems } },
  });

  // HTTP and the WebSocket upgrade, both behind the same gate.
  const scheme = options.tls ? 'https' : 'http';
  // Connections whose requests pass the gate keep their slots; the others are evicted first (slots.ts).
  const slots = new ConnectionSlots(limits, metrics);
  const gate = slots.marking(accessGate({ token, host, scheme, port: () => (httpServer.address() as AddressInfo).port, allowOrigins: options.allowOrigins ?? [] }));

  // Node checks header/request timeouts only every connectionsCheckingInterval (30 s by
  // default): check often enough that a half-open request is dropped near headersTimeoutMs.
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: Math.max(100, limits.headersTimeoutMs / 4),
    handshakeTimeout: limits.tlsHandshakeTimeoutMs,
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes, perMessageDeflate: false, autoPong: false });
  // autoPong is off because the hub sends pongs itself, within each client's buffer limit (hub.ts).
  let httpServer: Server;
  try {
    if (options.igtl) igtl = await IgtlServer.start({ ...options.igtl, registry: metrics.registry });
    httpServer = createHttpServer(options.tls, serverOptions, requestHandler(gate, metrics, health, Boolean(options.tls)));
    slots.attach(httpServer);
    httpServer.headersTimeout = limits.headersTimeoutMs;
    httpServer.requestTimeout = limits.headersTimeoutMs * 3;
    httpServer.on('clientError', clientErrorHandler);
    httpServer.on('upgrade', upgradeHandler(gate, metrics, wss, () => hub.size < limits.maxClients, (ws, request) => hub.add(ws, request.socket.remoteAddress)));
    await listen(httpServer, host, options.port ?? DEFAULTS.port);
  } catch (error) {
    // Nothing is connected yet: the worker, the hub's ping timer and the OpenIGTLink listener are all there is to stop.
    await Promise.all([inference.stop(), hub.closeAll('server failed to start'), igtl?.close()]);
    throw error;
  }
  const port = (httpServer.address() as AddressInfo).port;
  // The source starts last, when nothing else can fail. Its first frame is awaited for a
  // bounded time only: a live source may take long to deliver one (or never, when it is
  // missing or broken); the service runs meanwhile and reports the source's state.
  // A failed start also ends in the 'error' state, which the state listener logs and reports.
  const sourceStarted = source.start().then(
    () => undefined,
    () => undefined,
  );
  let startWait: NodeJS.Timeout | undefined;
  await Promise.race([sourceStarted, new Promise((resolve) => (startWait = setTimeout(resolve, limits.sourceStartWaitMs)))]);
  clearTimeout(startWait);
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  log.info(`listening on ${url}${token ? ' (token required)' : ''}`);

  let closing: Promise<void> | undefined;
  const close = (closeOptions: { workerGraceMs?: number } = {}) =>
    (closing ??= (async () => {
      // Admit nobody from here on: a client let in while the others are being closed would
      // never get its close frame, and its socket would keep httpServer.close() waiting.
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      wss.close();
      await Promise.all([hub.closeAll('server shutting down'), source.stop(), inference.stop(closeOptions.workerGraceMs), igtl?.close()]);
      httpServer.closeAllConnections();
      await closed;
    })());

  return { url, port, host, health, metrics, source, inference, igtlPort: igtl?.port, close };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the port is in use (pick another with --port, or --port 0 for any free one)' : error.message;
      // The address and port are the user's: the CLI says so plainly instead of reporting an internal error.
      reject(new UserError(`cannot listen on ${host}:${port}: ${reason}`));
    });
    server.listen(port, host, resolve);
  });
}
