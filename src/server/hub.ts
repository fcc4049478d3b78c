import type { WebSocket, RawData } from 'ws';
import { log, throttled } from '../util/log.js';
import type { Metrics } from './metrics.js';
import { parseControl, type ControlMessage } from './control.js';
import { DIAGNOSTIC_LIMITS, SHUTDOWN, type HubLimits } from '../limits.js';
import type { HelloMessage, StatusMessage, TextMessage } from '../wire/protocol.js';

export interface HubHooks {
  hello(): HelloMessage;
  /** Applies a validated control message; returns the reply to send. */
  control(message: ControlMessage): TextMessage;
}

/** Why the server closed a client itself, as counted in /metrics. */
export type CloseReason = 'not-reading' | 'refusals' | 'ping';

interface Client {
  alive: boolean;
  /** Set once the server closes this client: nothing more is sent to it or read from it. */
  closing: boolean;
  controlWindowStart: number;
  controlCount: number;
  refusalCount: number;
  /** Payload bytes handed to ws; minus ws's bufferedAmount, what the client's socket has taken. */
  sentBytes: number;
  taken: number;
  takenAt: number;
}

/**
 * The connected WebSocket clients: greets them, fans out frames and masks with per-client
 * back-pressure (a slow client skips messages, never buffers them), and answers control
 * messages. One encoded buffer is shared by all clients. Every message to a client goes
 * through `deliver`, so no kind of message can grow a client's buffer past its limit.
 */
export class Hub {
  private readonly clients = new Map<WebSocket, Client>();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly stallTimer: NodeJS.Timeout;
  /** Connects and disconnects are logged at a bounded rate, the rest counted: 5 000 connects are not 5 000 lines. */
  private readonly clientLog = throttled(log.info, DIAGNOSTIC_LIMITS.logLinesPerSecond, 'client connects and disconnects');

  constructor(
    private readonly limits: HubLimits,
    private readonly metrics: Metrics,
    private readonly hooks: HubHooks,
  ) {
    this.pingTimer = setInterval(() => this.ping(), limits.pingIntervalMs);
    this.pingTimer.unref();
    this.stallTimer = setInterval(() => this.checkStalls(), Math.max(50, limits.stallTimeoutMs / 5));
    this.stallTimer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * `peer` (the remote address) is logged on connect and close, for the audit trail. The
   * WebSocketServer must have `autoPong: false`: pongs are sent here, within the buffer limit.
   */
  add(ws: WebSocket, peer = 'unknown'): void {
    const client: Client = { alive: true, closing: false, controlWindowStart: 0, controlCount: 0, refusalCount: 0, sentBytes: 0, taken: 0, takenAt: performance.now() };
    this.clients.set(ws, client);
    this.metrics.clients.set(this.clients.size);
    this.clientLog(`client connected from ${peer} (${this.clients.size} connected)`);
    ws.on('pong', () => (client.alive = true));
    ws.on('ping', (data) => this.deliver(ws, client, data, 'pong'));
    ws.on('message', (data, isBinary) => this.onMessage(ws, client, data, isBinary));
    ws.on('error', () => ws.terminate());
    ws.on('close', (code) => {
      this.clients.delete(ws);
      this.metrics.clients.set(this.clients.size);
      this.clientLog(`client from ${peer} disconnected (code ${code}; ${this.clients.size} connected)`);
    });
    this.deliver(ws, client, JSON.stringify(this.hooks.hello()), 'text');
  }

  /** Sends a frame or a mask to every client that can take it now (masks get more room). */
  broadcast(message: Buffer, type: 'frame' | 'mask'): void {
    for (const [ws, client] of this.clients) this.deliver(ws, client, message, type);
  }

  broadcastText(message: StatusMessage): void {
    const text = JSON.stringify(message);
    for (const [ws, client] of this.clients) this.deliver(ws, client, text, 'text');
  }

  /** Sends every client a close frame (1001 going away) and forgets them. */
  async closeAll(reason: string, timeoutMs = SHUTDOWN.clientCloseMs): Promise<void> {
    clearInterval(this.pingTimer);
    clearInterval(this.stallTimer);
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

  /**
   * The one way out to a client: dropped (and counted) when its buffer is over the limit for
   * this kind of message, so a client that does not read holds at most about
   * `smallMessageSlack` (2) times the limit.
   */
  private deliver(ws: WebSocket, client: Client, data: Buffer | string, type: 'frame' | 'mask' | 'text' | 'pong'): void {
    if (ws.readyState !== ws.OPEN || client.closing) return;
    if (ws.bufferedAmount > this.limits.maxBufferedBytes * (type === 'frame' ? 1 : this.limits.smallMessageSlack)) {
      this.metrics.dropped.inc({ type });
      return;
    }
    client.sentBytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (type === 'pong') ws.pong(data);
    else ws.send(data, { binary: type !== 'text' });
  }

  private onMessage(ws: WebSocket, client: Client, data: RawData, isBinary: boolean): void {
    if (client.closing) return;
    const reply = this.reply(client, data, isBinary);
    const refused = reply.type === 'error';
    this.metrics.controlMessages.inc({ outcome: refused ? 'refused' : 'applied' });
    // Counted in the rate limit's window: a client that keeps sending what is refused is closed, not answered for ever.
    if (refused && ++client.refusalCount > this.limits.maxRefusalsPerSecond) {
      this.closeClient(ws, client, 'refusals', `more than ${this.limits.maxRefusalsPerSecond} refused messages in a second`);
      return;
    }
    this.deliver(ws, client, JSON.stringify(reply), 'text');
  }

  private reply(client: Client, data: RawData, isBinary: boolean): TextMessage {
    // The rate comes first: a flood is refused before its messages are even looked at.
    const now = Date.now();
    if (now - client.controlWindowStart >= 1000) {
      client.controlWindowStart = now;
      client.controlCount = 0;
      client.refusalCount = 0;
    }
    if (++client.controlCount > this.limits.maxControlPerSecond) {
      return { type: 'error', message: `too many control messages (limit ${this.limits.maxControlPerSecond} per second)` };
    }
    if (isBinary) return { type: 'error', message: 'binary messages are not accepted: control messages are JSON text' };
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const size = bytes.length;
    if (size > this.limits.maxControlBytes) {
      return { type: 'error', message: `message too large (${size} bytes; the limit is ${this.limits.maxControlBytes})` };
    }
    const parsed = parseControl(bytes.toString('utf8'));
    return parsed.ok ? this.hooks.control(parsed.message) : { type: 'error', message: parsed.error };
  }

  /** Closes a client the server gave up on (1008), counted by reason; its socket goes soon after even if it never reads the close frame. */
  private closeClient(ws: WebSocket, client: Client, reason: CloseReason, detail: string): void {
    client.closing = true;
    this.metrics.closedByServer.inc({ reason });
    log.warn(`closing a client: ${detail}`);
    if (reason === 'ping') return void ws.terminate();
    ws.close(1008, detail.slice(0, 120));
    const timer = setTimeout(() => ws.terminate(), SHUTDOWN.clientCloseMs);
    timer.unref();
    ws.once('close', () => clearTimeout(timer));
  }

  private checkStalls(): void {
    const now = performance.now();
    for (const [ws, client] of this.clients) {
      if (client.closing) continue;
      const taken = client.sentBytes - ws.bufferedAmount;
      if (ws.bufferedAmount === 0 || taken > client.taken) {
        client.taken = taken;
        client.takenAt = now;
      } else if (now - client.takenAt > this.limits.stallTimeoutMs) {
        this.closeClient(ws, client, 'not-reading', `nothing read for ${Math.round(now - client.takenAt)} ms (${ws.bufferedAmount} bytes unsent)`);
      }
    }
  }

  private ping(): void {
    for (const [ws, client] of this.clients) {
      if (client.closing) continue;
      if (!client.alive) {
        this.closeClient(ws, client, 'ping', 'no pong within the ping interval');
        continue;
      }
      client.alive = false;
      ws.ping();
    }
  }
}
