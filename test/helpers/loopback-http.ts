import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 with an ephemeral port, for tests of code that downloads. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LoopbackServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = await startServer(() => {});
  const port = Number(new URL(server.origin).port);
  await server.close();
  return port;
}

/**
 * Serves `bytes` as a file server would: 200 with Content-Length, or 206 with Content-Range
 * for `Range: bytes=N-`, or 416 when N is past the end.
 */
export function serveBytes(bytes: Buffer, req: IncomingMessage, res: ServerResponse): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (!range) {
    res.writeHead(200, { 'Content-Length': bytes.length, 'Content-Type': 'application/octet-stream' });
    res.end(bytes);
    return;
  }
  const start = Number(range[1]);
  if (start >= bytes.length) {
    res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` });
    res.end();
    return;
  }
  res.writeHead(206, {
    'Content-Length': bytes.length - start,
    'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
  });
  res.end(bytes.subarray(start));
}

/** Sends the headers for the whole file and `cut` bytes of it, then kills the connection. */
export function serveThenDrop(bytes: Buffer, cut: number, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Length': bytes.length });
  res.write(bytes.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
}

const PROXY_VARIABLES = [
  'http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY',
  'npm_config_proxy', 'npm_config_http_proxy', 'npm_config_https_proxy', 'npm_config_no_proxy',
];

/**
 * Clears every proxy variable (a developer's or CI's proxy must not see loopback test
 * traffic), sets `values`, and returns a function that restores the environment.
 */
export function proxyEnvironment(values: Record<string, string> = {}): () => void {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
