import type { WebSocket, RawData } from 'ws';
import { log } from '../util/log.js';
import type { Metrics } from './metrics.js';
import { parseControl, type ControlMessage } from './control.js';
import type { HelloMessage, StatusMessage, TextMessage } from '../wire/protocol.js';

export interface HubLimits {
  /** A client whose unsent bytes exceed this gets no new frames until it catches up. */
  maxBufferedBytes: number;
  /** Control messages longer than this are refused with an error (the socket stays open). */
  maxControlBytes: number;
  /** Control messages per second per client; more are refused (a flood must not thrash the bank). */
  maxControlPerSecond: number;
  /** Clients that do not answer a ping within this interval are dropped (half-open sockets). */
  pingIntervalMs: number;
}

export interface HubHooks {
  hello(): HelloMessage;
  /** Applies a validated control message; returns the reply to send. */
  control(message: ControlMessage): TextMessage;
}

interface Client {
  alive: boolean;
  controlWindowStart: number;
  controlCount: number;
}

/**
 * The connected WebSocket clients: greets them, fans out frames and masks with per-client
 * back-pressure (a slow client skips messages, never buffers them), and answers control
 * messages. One encoded buffer is shared by all clients.
 */
export class Hub {
  private readonly clients = new Map<WebSocket, Client>();
  private readonly pingTimer: NodeJS.Timeout;

  constructor(
    private readonly limits: HubLimits,
    private readonly metrics: Metrics,
    private readonly hooks: HubHooks,
  ) {
    this.pingTimer = setInterval(() => this.ping(), limits.pingIntervalMs);
    this.pingTimer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** `peer` (the remote address) is logged on connect and close, for the audit trail. */
  add(ws: WebSocket, peer = 'unknown'): void {
    const client: Client = { alive: true, controlWindowStart: 0, controlCount: 0 };
    this.clients.set(ws, client);
    this.metrics.clients.set(this.clients.size);
    log.info(`client connected from ${peer} (${this.clients.size} connected)`);
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => this.onMessage(ws, client, data, isBinary));
    ws.on('error', () => ws.terminate());
    ws.on('close', (code) => {
      this.clients.delete(ws);
      this.metrics.clients.set(this.clients.size);
      log.info(`client from ${peer} disconnected (code ${code}; ${this.clients.size} connected)`);
    });
    this.sendText(ws, this.hooks.hello());
  }

  /**
   * Sends a binary message to every client that can take it now. `slack` scales the buffer
   * limit: masks (small, and the point of the service) get more room than video frames.
   */
  broadcast(message: Buffer, type: 'frame' | 'mask', slack = 1): void {
    for (const ws of this.clients.keys()) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > this.limits.maxBufferedBytes * slack) {
        this.metrics.dropped.inc({ type });
        continue;
      }
      ws.send(message, { binary: true });
    }
  }

  broadcastText(message: StatusMessage): void {
    for (const ws of this.clients.keys()) {
      if (ws.readyState === ws.OPEN) this.sendText(ws, message);
    }
  }

  /** Sends every client a close frame (1001 going away) and forgets them. */
  async closeAll(reason: string, timeoutMs = 1000): Promise<void> {
    clearInterval(this.pingTimer);
    const closing = [...this.clients.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, timeoutMs);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close(1001, reason);
        }),
    );
    await Promise.all(closing);
    this.clients.clear();
  }

  private sendText(ws: WebSocket, message: TextMessage): void {
    ws.send(JSON.stringify(message));
  }

  private onMessage(ws: WebSocket, client: Client, data: RawData, isBinary: boolean): void {
    const reply = this.reply(client, data, isBinary);
    this.metrics.controlMessages.inc({ outcome: reply.type === 'error' ? 'refused' : 'applied' });
    this.sendText(ws, reply);
  }

  private reply(client: Client, data: RawData, isBinary: boolean): TextMessage {
    if (isBinary) return { type: 'error', message: 'binary messages are not accepted: control messages are JSON text' };
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const size = bytes.length;
    if (size > this.limits.maxControlBytes) {
      return { type: 'error', message: `message too large (${size} bytes; the limit is ${this.limits.maxControlBytes})` };
    }
    const now = Date.now();
    if (now - client.controlWindowStart >= 1000) {
      client.controlWindowStart = now;
      client.controlCount = 0;
    }
    if (++client.controlCount > this.limits.maxControlPerSecond) {
      return { type: 'error', message: `too many control messages (limit ${this.limits.maxControlPerSecond} per second)` };
    }
    const parsed = parseControl(bytes.toString('utf8'));
    return parsed.ok ? this.hooks.control(parsed.message) : { type: 'error', message: parsed.error };
  }

  private ping(): void {
    for (const [ws, client] of this.clients) {
      if (!client.alive) {
        ws.terminate();
        continue;
      }
      client.alive = false;
      ws.ping();
    }
  }
}
