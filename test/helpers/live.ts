import { spawn, type ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseSource, type SourceArgOptions } from '../../src/ingest/spec.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.js';
import { DEFAULTS } from '../../src/config.js';
import type { BackendChoice, BackendRequest } from '../../src/backend.js';
import { decodeBinary } from '../../src/wire/protocol.js';
import { REPO_ROOT } from './env.js';

/**
 * The live service under faults and load: in-process servers on any source, `bonestream`
 * as a child process, raw sockets, and the process table (/proc, Linux).
 */

export const BIN = resolve(REPO_ROOT, 'bin/bonestream.js');

/** A backend request with every option at its default but the backend itself. */
export function defaultBackend(backend: BackendChoice): BackendRequest {
  return { backend, model: DEFAULTS.model, stride: DEFAULTS.stride, loadSize: DEFAULTS.loadSize, layer: DEFAULTS.layer, facet: DEFAULTS.facet };
}

export const PHYSICS = defaultBackend('physics');

/** The service on a free loopback port, on `input`, with the physics backend unless overridden. */
export function serveOn(input: string, source: SourceArgOptions, overrides: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer({ source: parseSource(input, source), backend: PHYSICS, port: 0, ...overrides });
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Pids whose parent is `pid` (from /proc/<pid>/stat; field 4 is the parent). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name sits in parentheses and may hold spaces: split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) children.push(Number(entry));
    } catch {
      // The process ended while the table was read.
    }
  }
  return children;
}

/** The command name of a pid ('ffmpeg', 'node', …), or undefined once it is gone. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * True while a pid runs. A killed orphan stays a zombie until init reaps it, which some
 * containers' init never does: a zombie runs no more, so it counts as ended here.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Resident set size of a pid in bytes (/proc/<pid>/statm, second field, in pages of 4 KiB). */
export function rssOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
}

export interface ChildRun {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `bonestream <args>` as a child process, with progress bars off. */
export function runBonestream(args: string[], env: NodeJS.ProcessEnv = {}): ChildRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BONESTREAM_NO_PROGRESS: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('close', (code, signal) => done({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits for the address `serve` prints on stdout; fails with its stderr if it exits or takes too long. */
export async function servedUrl(run: ChildRun, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /bonestream: open (\S+)/.exec(run.stdout());
    if (match) return match[1];
    if (run.child.exitCode !== null || run.child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`serve did not print its address within ${timeoutMs} ms (exit ${run.child.exitCode}):\n${run.stderr()}`);
    }
    await sleep(50);
  }
}

/**
 * A raw TCP client that completes the WebSocket upgrade on `/stream` and then does whatever
 * the test wants (typically: never reads again). Resolves once the 101 response arrived.
 */
export function rawWebSocket(port: number, path = '/stream'): Promise<Socket> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) return fail(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      done(socket);
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/**
 * One client-to-server WebSocket frame (RFC 6455 §5.2: FIN set, masked as clients must),
 * for raw sockets; `payload` up to 125 bytes for control frames (ping 0x9, pong 0xA).
 */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const head = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([head, mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]))]);
}

/**
 * An abusive client: upgrades, never reads, and writes a burst of 90 pings and
 * pongs (with `control`, small control messages too) every 10 ms; each ping asks for a pong,
 * and pongs alone used to keep a client counted as alive. With `reconnect`, it comes back
 * each time it is closed (`connections` counts the attempts).
 * Stops at `stop()` or after `maxMs`, whichever comes first.
 */
export interface Abuser {
  /** The current connection (the first one until it is closed). */
  socket: Socket;
  connections: number;
  messages: number;
  /** Resolves when the first connection is gone (closed by the server, or a write failed). */
  firstClosed: Promise<void>;
  stop(): Promise<void>;
}

export async function abuser(port: number, options: { control: boolean; reconnect: boolean; maxMs: number }): Promise<Abuser> {
  const control = Buffer.from(JSON.stringify({ type: 'control', tau: 0.3 }));
  const kinds = options.control ? 3 : 2;
  const burst = Buffer.concat(Array.from({ length: 90 }, (_, i) => clientFrame([0x9, 0xa, 0x1][i % kinds], i % kinds === 2 ? control : Buffer.alloc(125, i))));
  const connect = async () => {
    const socket = await rawWebSocket(port);
    socket.pause();
    socket.on('error', () => socket.destroy());
    return socket;
  };
  const first = await connect();
  const state: Abuser = {
    socket: first,
    connections: 1,
    messages: 0,
    firstClosed: new Promise((done) => first.once('close', () => done())),
    stop: async () => {
      stopped = true;
      await running;
      state.socket.destroy();
    },
  };
  let stopped = false;
  const started = performance.now();
  const running = (async () => {
    while (!stopped && performance.now() - started < options.maxMs) {
      if (state.socket.destroyed) {
        if (!options.reconnect) return;
        state.socket = await connect().catch(() => state.socket);
        state.connections++;
      }
      if (!state.socket.destroyed) {
        state.socket.write(burst);
        state.messages += 90;
      }
      await sleep(10);
    }
  })();
  return state;
}

/**
 * The server's end of a loopback connection whose client end is `client`, when the server
 * runs in this process: its `writableLength` is what the server holds in memory for that
 * client (what ws reports as `bufferedAmount`).
 */
export function serverEndOf(client: Socket): Socket | undefined {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.find(
    (handle): handle is Socket => handle instanceof Socket && handle !== client && handle.remotePort === client.localPort && handle.localPort === client.remotePort,
  );
}

/** A client that counts frames and notes when masks arrive, keeping no payloads (its memory stays flat). */
export interface CountingClient {
  ws: WebSocket;
  frames: number;
  /** performance.now() of each mask. */
  maskTimes: number[];
  closed: boolean;
}

export function countingClient(url: string): CountingClient {
  const client: CountingClient = { ws: new WebSocket(url), frames: 0, maskTimes: [], closed: false };
  client.ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    if (decodeBinary(data).header.type === 'mask') client.maskTimes.push(performance.now());
    else client.frames++;
  });
  client.ws.on('close', () => (client.closed = true));
  client.ws.on('error', () => undefined);
  return client;
}
