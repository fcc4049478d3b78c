import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { SourceArgOptions } from '../../src/ingest/source.js';
import type { RunningServer, ServerOptions } from '../../src/server/server.js';
import { DEFAULT_VIDEO } from '../../src/commands/serve.js';
import { decodeBinary, type BinaryHeader, type TextMessage } from '../../src/wire/protocol.js';
import { serveOn } from './live.js';
import type { SurfacePoint } from '../../src/surface/types.js';

// The service logs every state change; tests show warnings and errors only.
process.env.BONESTREAM_LOG ??= 'warn';

/** The live service on loopback for tests: the committed phantom video, physics backend, a free port. */
export function startPhantomServer(overrides: Partial<ServerOptions> = {}, source: SourceArgOptions = { loop: true, realtime: true }): Promise<RunningServer> {
  return serveOn(DEFAULT_VIDEO, source, overrides);
}

export interface Received {
  text: TextMessage[];
  /** polylines: a mask's bone surface (empty for frames and for `cells`). */
  binary: Array<{ header: BinaryHeader; payload: Uint8Array; polylines: SurfacePoint[][]; at: number }>;
}

/** A WebSocket client that records everything it receives. */
export interface Recorder {
  ws: WebSocket;
  received: Received;
  /** Resolves when `predicate` holds for what was received, rejects after `timeoutMs`. */
  until(predicate: (received: Received) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export function record(url: string, options: WebSocket.ClientOptions = {}): Recorder {
  const ws = new WebSocket(url, options);
  const received: Received = { text: [], binary: [] };
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) received.binary.push({ polylines: [], ...decodeBinary(data), at: performance.now() });
    else received.text.push(JSON.parse(data.toString('utf8')) as TextMessage);
    for (const wake of waiters) wake();
  });
  ws.on('error', () => undefined);
  return {
    ws,
    received,
    until(predicate, timeoutMs = 10_000, what = 'the expected messages') {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return false;
          done();
          resolve();
          return true;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const wake = () => void check();
        const done = () => {
          clearTimeout(timer);
          waiters.delete(wake);
          ws.off('close', wake);
        };
        waiters.add(wake);
        ws.on('close', wake);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      });
    },
  };
}

/** How the server answered a WebSocket upgrade: opened, or refused with an HTTP status. */
export function upgradeOutcome(url: string, options: WebSocket.ClientOptions = {}): Promise<{ opened: boolean; status?: number; messages: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    let messages = 0;
    ws.on('message', () => messages++);
    ws.on('unexpected-response', (_request, response) => {
      resolve({ opened: false, status: response.statusCode, messages });
      ws.terminate();
    });
    ws.on('open', () => {
      setTimeout(() => {
        resolve({ opened: true, messages });
        ws.close();
      }, 100);
    });
    ws.on('error', () => resolve({ opened: false, messages }));
  });
}

/** A GET on loopback (http or https; self-signed certificates accepted): status, headers, body. */
export function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, rejectUnauthorized: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The WebSocket address of a server, in this process or (by the address it printed) a child. */
export const wsUrl = (server: RunningServer | string, path = 'stream') =>
  `${(typeof server === 'string' ? server : server.url).replace(/^http/, 'ws')}${path}`;

/** Frames the server skipped for slow clients so far (from /metrics). */
export async function droppedFrames(server: RunningServer): Promise<number> {
  const body = (await get(`${server.url}metrics`)).body;
  return Number(/^bonestream_client_messages_dropped_total\{type="frame"\} (\S+)$/m.exec(body)?.[1] ?? 0);
}

/** A self-signed certificate for 127.0.0.1 (openssl), written to `dir` as cert.pem and key.pem. */
export function selfSigned(dir: string): { cert: Buffer; key: Buffer; certPath: string; keyPath: string } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath, keyPath };
}
