import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { WebSocketServer } from 'ws';
import { FrameSource, type Frame, type FrameSourceOptions, type SourceSpec } from '../ingest/source.js';
import type { BackendRequest } from '../backend.js';
import { DEFAULTS } from '../config.js';
import { log } from '../util/log.js';
import { UserError, errorMessage } from '../util/errors.js';
import { checkBindPolicy, hostHeaderAllowed, originAllowed, requestToken, tokenMatcher } from './auth.js';
import { clientPage } from './client-page.js';
import type { ControlMessage } from './control.js';
import { overallStatus, type Health } from './health.js';
import { Hub, type HubLimits } from './hub.js';
import { Inference, type InferenceResult } from './inference.js';
import { Mailbox } from './mailbox.js';
import { createMetrics, type Metrics } from './metrics.js';
import { encodeBinary, PROTOCOL_VERSION, type HelloMessage, type Settings, type SourceState, type StatusMessage, type TextMessage } from './protocol.js';
import { RateMeter } from './rate.js';

/** Every limit of the service, explicit, with safe defaults (fuzz and load tests tune them). */
export interface ServerLimits extends HubLimits {
  /** WebSocket clients at once; more get 503. */
  maxClients: number;
  /** TCP connections at once (HTTP and WebSocket); more are dropped on accept. */
  maxConnections: number;
  /** Largest WebSocket message accepted at all; larger ones close the socket (1009). */
  maxPayloadBytes: number;
  maxHeaderBytes: number;
  /** Time allowed for a request's headers (slow or half-open HTTP clients). */
  headersTimeoutMs: number;
  jpegQuality: number;
  /** startServer waits this long at most for the source's first frame (so hello can give its size). */
  sourceStartWaitMs: number;
  workerBackoffMs: { initial: number; max: number };
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBufferedBytes: 1 << 20,
  maxControlBytes: 4096,
  maxControlPerSecond: 20,
  pingIntervalMs: 15_000,
  maxClients: 64,
  maxConnections: 256,
  maxPayloadBytes: 64 * 1024,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  jpegQuality: 80,
  sourceStartWaitMs: 10_000,
  workerBackoffMs: { initial: 500, max: 10_000 },
};

export interface ServerOptions {
  source: SourceSpec;
  sourceOptions?: FrameSourceOptions;
  backend: BackendRequest;
  window?: number;
  tau?: number;
  votes?: number;
  seed?: number;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Origins (besides the server's own) whose pages may open the stream. */
  allowOrigins?: string[];
  limits?: Partial<ServerLimits>;
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
  /** Close frames to clients, ffmpeg and the worker stopped, sockets closed. */
  close(): Promise<void>;
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

  const inference = new Inference({
    request: options.backend,
    bank: {
      window: options.window ?? DEFAULTS.window,
      tau: options.tau ?? DEFAULTS.tau,
      votes: options.votes ?? DEFAULTS.votes,
      seed: options.seed ?? DEFAULTS.seed,
      k: 'auto',
    },
    backoffMs: limits.workerBackoffMs,
  });
  const source = new FrameSource(options.source, options.sourceOptions);
  const backend = await inference.start();
  log.info(`backend: ${backend.backend}${backend.backend === 'physics' ? ' (embedded physics model, not the ViT)' : ` (${backend.model})`}`);

  const settings = (): Settings => {
    const bank = inference.bankOptions;
    return { stride: options.backend.stride, loadSize: options.backend.loadSize, window: bank.window, tau: bank.tau, votes: bank.votes };
  };
  const sourceInfo = () => ({ width: source.info?.width ?? 0, height: source.info?.height ?? 0, fps: source.info?.fps ?? 0 });
  let sourceDetail: string | undefined;

  const status = (): StatusMessage => ({
    type: 'status',
    source: { state: source.state, detail: sourceDetail, ...sourceInfo() },
    backend: { name: inference.backend, model: inference.model, state: inference.state, detail: inference.detail },
    settings: settings(),
  });

  const hub = new Hub(limits, metrics, {
    hello: (canControl): HelloMessage => ({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      source: { ...sourceInfo(), state: source.state },
      backend: inference.backend,
      model: inference.model,
      backendState: inference.state,
      settings: settings(),
      control: canControl,
    }),
    control: (message: ControlMessage): TextMessage => {
      if (message.type === 'reset') inference.reset();
      else {
        const { type: _type, ...changes } = message;
        inference.update(changes);
      }
      log.info(`control: ${message.type}`, message.type === 'control' ? { ...message } : undefined);
      hub.broadcastText(status());
      return { type: 'ack', of: message.type, settings: settings() };
    },
  });

  // Video: every decoded frame goes to the worker's mailbox and to the JPEG encoder's.
  const fpsIn = new RateMeter();
  const masksPerSecond = new RateMeter();
  let lastMaskAt: number | undefined;
  const counts = { framesIn: 0, masksOut: 0, skippedReported: 0 };
  const jpegMailbox = new Mailbox<Frame>();
  let encoding = false;
  const pumpJpeg = async (): Promise<void> => {
    if (encoding) return;
    const frame = jpegMailbox.take();
    if (!frame) return;
    encoding = true;
    try {
      const { width, height, data } = frame.image;
      const jpeg = await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 1 } })
        .jpeg({ quality: limits.jpegQuality })
        .toBuffer();
      hub.broadcast(encodeBinary({ type: 'frame', seq: frame.seq, pts: frame.ptsMs }, jpeg), 'frame');
    } catch (error) {
      log.warn(`frame ${frame.seq}: JPEG encoding failed: ${errorMessage(error)}`);
    } finally {
      encoding = false;
    }
    void pumpJpeg();
  };
  source.on('frame', (frame: Frame) => {
    metrics.framesIn.inc();
    counts.framesIn++;
    fpsIn.mark();
    inference.submit({ seq: frame.seq, ptsMs: frame.ptsMs, image: frame.image, arrivedAt: performance.now() });
    jpegMailbox.put(frame);
    void pumpJpeg();
  });

  // Masks: PNG-encoded once, in order, then broadcast.
  let maskChain = Promise.resolve();
  inference.on('mask', (result: InferenceResult) => {
    maskChain = maskChain.then(async () => {
      const { width, height, data } = result.mask;
      try {
        const png = await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 1 } })
          .png({ compressionLevel: 3 })
          .toBuffer();
        const latencyMs = performance.now() - result.arrivedAt;
        metrics.masksOut.inc();
        metrics.maskLatency.observe(latencyMs / 1000);
        metrics.framesSkipped.inc(inference.framesSkipped - counts.skippedReported);
        counts.skippedReported = inference.framesSkipped;
        counts.masksOut++;
        masksPerSecond.mark();
        lastMaskAt = performance.now();
        const header = {
          type: 'mask' as const,
          seq: result.seq,
          pts: result.ptsMs,
          width,
          height,
          latencyMs: Math.round(latencyMs * 10) / 10,
          salientClusters: result.salientClusters,
          k: result.k,
          backend: inference.backend,
        };
        hub.broadcast(encodeBinary(header, png), 'mask', 2);
      } catch (error) {
        log.warn(`mask ${result.seq}: PNG encoding failed: ${errorMessage(error)}`);
      }
    });
  });

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

  const health = (): Health => {
    const now = performance.now();
    return {
      status: overallStatus(source.state, inference.state),
      backend: inference.backend,
      model: inference.model,
      backendState: inference.state,
      backendDetail: inference.detail,
      source: { state: source.state, detail: sourceDetail, ...sourceInfo() },
      framesIn: counts.framesIn,
      masksOut: counts.masksOut,
      fpsIn: round(fpsIn.perSecond()),
      masksPerSecond: round(masksPerSecond.perSecond()),
      lastMaskAgeMs: lastMaskAt === undefined ? null : Math.round(now - lastMaskAt),
      framesNotSegmented: inference.framesSkipped,
      workerRestarts: inference.restarts,
      clients: hub.size,
      settings: settings(),
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
    };
  };

  // HTTP and the WebSocket upgrade, both behind the token (when set).
  const tokenOk = token ? tokenMatcher(token) : () => true;
  const hostOk = (request: http.IncomingMessage) => Boolean(token) || hostHeaderAllowed(request.headers.host, host);
  const scheme = options.tls ? 'https' : 'http';
  const onRequest = (request: http.IncomingMessage, response: http.ServerResponse) =>
    void handleRequest(request, response).catch((error) => {
      log.error(`HTTP ${request.method} failed: ${errorMessage(error)}`);
      if (!response.headersSent) reply(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  const handleRequest = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    const url = parseUrl(request.url);
    if (!url) return reply(response, 400, 'text/plain; charset=utf-8', 'bad request\n');
    if (!hostOk(request)) {
      metrics.rejected.inc({ reason: 'host' });
      return reply(response, 403, 'text/plain; charset=utf-8', 'this service answers only to its own address\n');
    }
    if (!tokenOk(requestToken(request, url))) {
      metrics.rejected.inc({ reason: 'token' });
      response.setHeader('WWW-Authenticate', 'Bearer realm="bonestream"');
      return reply(response, 401, 'text/plain; charset=utf-8', 'a valid token is required (Authorization: Bearer … or ?token=…)\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return reply(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    switch (url.pathname) {
      case '/':
      case '/index.html':
        return reply(response, 200, 'text/html; charset=utf-8', await clientPage());
      case '/healthz': {
        const body = health();
        return reply(response, body.status === 'error' ? 503 : 200, 'application/json', JSON.stringify(body));
      }
      case '/metrics':
        return reply(response, 200, metrics.registry.contentType, await metrics.registry.metrics());
      default:
        return reply(response, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };

  // Node checks header/request timeouts only every connectionsCheckingInterval (30 s by
  // default): check often enough that a half-open request is dropped near headersTimeoutMs.
  const serverOptions = { maxHeaderSize: limits.maxHeaderBytes, connectionsCheckingInterval: Math.max(100, limits.headersTimeoutMs / 4) };
  const httpServer = await createHttpServer(options.tls, serverOptions, onRequest).catch(async (error) => {
    await inference.stop();
    throw error;
  });
  httpServer.maxConnections = limits.maxConnections;
  httpServer.headersTimeout = limits.headersTimeoutMs;
  httpServer.requestTimeout = limits.headersTimeoutMs * 3;
  httpServer.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes, perMessageDeflate: false });
  httpServer.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = parseUrl(request.url);
    const refusal = (): [number, string] | undefined => {
      if (!url || url.pathname !== '/stream') return [404, 'Not Found'];
      if (!hostOk(request)) return [403, 'Forbidden'];
      if (!tokenOk(requestToken(request, url))) return [401, 'Unauthorized'];
      const own = `${scheme}://${request.headers.host ?? ''}`;
      if (!originAllowed(request.headers.origin, own, options.allowOrigins ?? [])) return [403, 'Forbidden'];
      if (hub.size >= limits.maxClients) return [503, 'Service Unavailable'];
      return undefined;
    };
    const refused = refusal();
    if (refused) {
      metrics.rejected.inc({ reason: String(refused[0]) });
      socket.end(`HTTP/1.1 ${refused[0]} ${refused[1]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    // Everyone who got in holds the token when one is set, so everyone may send control.
    wss.handleUpgrade(request, socket, head, (ws) => hub.add(ws, true));
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the port is in use (pick another with --port, or --port 0 for any free one)' : error.message;
      reject(new Error(`cannot listen on ${host}:${options.port ?? DEFAULTS.port}: ${reason}`));
    });
    httpServer.listen(options.port ?? DEFAULTS.port, host, resolve);
  }).catch(async (error) => {
    await inference.stop();
    throw error;
  });
  const port = (httpServer.address() as AddressInfo).port;
  // The source starts last, when nothing else can fail. Its first frame is awaited for a
  // bounded time only: a live source may take long to deliver one (or never, when it is
  // missing or broken); the service runs meanwhile and reports the source's state.
  // A failed start also ends in the 'error' state, which is logged and reported below.
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
  const close = () =>
    (closing ??= (async () => {
      await Promise.all([hub.closeAll('server shutting down'), source.stop(), inference.stop()]);
      wss.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    })());

  return { url, port, host, health, metrics, source, inference, close };
}

async function createHttpServer(
  tls: ServerOptions['tls'],
  serverOptions: http.ServerOptions,
  onRequest: http.RequestListener,
): Promise<http.Server> {
  if (!tls) return http.createServer(serverOptions, onRequest);
  try {
    return https.createServer({ ...serverOptions, cert: tls.cert, key: tls.key }, onRequest);
  } catch (error) {
    throw new UserError(`the TLS certificate or key was refused: ${errorMessage(error)}`);
  }
}

function parseUrl(raw: string | undefined): URL | undefined {
  try {
    return new URL(raw ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

function reply(response: http.ServerResponse, code: number, type: string, body: string): void {
  response.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
