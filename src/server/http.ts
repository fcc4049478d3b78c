import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { WebSocketServer, WebSocket } from 'ws';
import { log } from '../util/log.js';
import { UserError, errorMessage } from '../util/errors.js';
import type { Gate } from './auth.js';
import { clientPage } from './client-page.js';
import type { Health } from './health.js';
import type { Metrics } from './metrics.js';

const TEXT = 'text/plain; charset=utf-8';

/**
 * The HTTP routes: `/` the client, `/healthz`, `/metrics`; every request passes the gate first.
 * Over TLS every answer says so for a year (HSTS, RFC 6797), so a browser never falls back to
 * plain HTTP, where the token would travel in the clear.
 */
export function requestHandler(gate: Gate, metrics: Metrics, health: () => Health, tls: boolean): http.RequestListener {
  const handle = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    if (tls) response.setHeader('Strict-Transport-Security', 'max-age=31536000');
    const url = parseUrl(request.url);
    if (!url) return reply(response, 400, TEXT, 'bad request\n');
    const refused = gate(request, url, false);
    if (refused) {
      metrics.rejected.inc({ reason: refused.reason });
      if (refused.status === 401) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="bonestream"');
        return reply(response, 401, TEXT, 'a valid token is required (Authorization: Bearer … or ?token=…)\n');
      }
      return reply(response, 403, TEXT, 'this service answers only to its own address\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return reply(response, 405, TEXT, 'method not allowed\n');
    }
    switch (url.pathname) {
      case '/':
      case '/index.html': {
        const page = await clientPage();
        response.setHeader('Content-Security-Policy', page.csp);
        return reply(response, 200, 'text/html; charset=utf-8', page.html);
      }
      case '/healthz': {
        const body = health();
        return reply(response, body.status === 'error' ? 503 : 200, 'application/json', JSON.stringify(body));
      }
      case '/metrics':
        return reply(response, 200, metrics.registry.contentType, await metrics.registry.metrics());
      default:
        return reply(response, 404, TEXT, 'not found\n');
    }
  };
  return (request, response) =>
    void handle(request, response).catch((error) => {
      log.error(`HTTP ${request.method} failed: ${errorMessage(error)}`);
      if (!response.headersSent) reply(response, 500, TEXT, 'internal error\n');
      else response.destroy();
    });
}

/**
 * WebSocket upgrades of `/stream`: refused with a bare HTTP status (nothing streamed) unless
 * the gate admits them and a client slot is free.
 */
export function upgradeHandler(
  gate: Gate,
  metrics: Metrics,
  wss: WebSocketServer,
  room: () => boolean,
  admit: (ws: WebSocket, request: http.IncomingMessage) => void,
): (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (request, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = parseUrl(request.url);
    const refusal = (): { status: number; reason: string } | undefined => {
      if (!url || url.pathname !== '/stream') return { status: 404, reason: 'path' };
      return gate(request, url, true) ?? (room() ? undefined : { status: 503, reason: 'clients' });
    };
    const refused = refusal();
    if (refused) {
      metrics.rejected.inc({ reason: refused.reason });
      endWithStatus(socket, refused.status);
      return;
    }
    wss.handleUpgrade(request, socket, head, admit);
  };
}

/** Requests Node's parser gave up on: 431 for oversized headers, 408 for one that never completed, else 400. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  endWithStatus(socket, error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400);
}

/** A bare status line on a raw socket, no body, and the connection closed. */
function endWithStatus(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * An HTTP or, with a certificate, HTTPS server; a certificate or key that TLS refuses is the
 * user's to fix. A TLS handshake gets `handshakeTimeout`; after it, HTTP's own timeouts apply.
 */
export function createHttpServer(
  tls: { cert: string | Buffer; key: string | Buffer } | undefined,
  options: http.ServerOptions & { handshakeTimeout: number },
  onRequest: http.RequestListener,
): http.Server {
  const { handshakeTimeout, ...httpOptions } = options;
  if (!tls) return http.createServer(httpOptions, onRequest);
  try {
    const server = https.createServer({ ...httpOptions, handshakeTimeout, cert: tls.cert, key: tls.key }, onRequest);
    // https hands failed and timed-out handshakes (and peers gone before one) to 'clientError',
    // whose HTTP status cannot be sent over a channel that was never set up: it would sit
    // unsent, and the socket with it, for ever. They are destroyed instead.
    server.removeAllListeners('tlsClientError');
    server.on('tlsClientError', (_error, socket) => socket.destroy());
    return server;
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
