import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GrayImage } from '../types.js';
import { UserError } from '../util/errors.js';
import { log } from '../util/log.js';
import { DEVICE_BYTES, encodeMessage, timestampOfMs } from '../igtl/header.js';
import { IDENTITY_AXES, IMAGE_TYPE, encodeImageBody, type ImageGeometry } from '../igtl/image.js';
import { plural } from '../util/plural.js';
import { DEFAULT_IGTL_LIMITS, type IgtlLimits } from '../limits.js';

/** What can be sent per processed frame: the mask, and the frame it was computed from. */
export const IGTL_CONTENTS = ['mask', 'image'] as const;
export type IgtlContent = (typeof IGTL_CONTENTS)[number];

/** 18944 is PLUS's (and Slicer's default) image port; the next one keeps the two apart on one machine. */
export const DEFAULT_IGTL_PORT = 18945;
export const DEFAULT_IGTL_DEVICE = 'BoneMask';
/** The frame's device name when sent beside the mask (`--igtl-send mask,image`). */
export const FRAME_DEVICE = 'Image';

export interface IgtlServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  device: string;
  send: IgtlContent[];
  /** Pixel size in mm; overrides the source's. Without either, 1 mm (the reference library's default). */
  mmPerPx?: number;
  limits?: Partial<IgtlLimits>;
  /** The service's metrics registry: the OpenIGTLink counters join it. */
  registry: Registry;
}

/** One processed frame as the IMAGE messages need it. */
export interface IgtlFrameResult {
  mask: GrayImage;
  image: GrayImage;
  /** Epoch ms of capture: the messages' timestamp. */
  capturedAtMs: number;
  spacingMm?: [number, number];
  /** performance.now() when the frame reached the server, for the latency histogram. */
  arrivedAt: number;
}

export interface IgtlServerStats {
  port: number;
  clients: number;
  messagesOut: number;
  /** Messages a slow client never got because newer ones replaced them. */
  dropped: number;
  /** Connections refused at the client limit. */
  rejected: number;
}

export function checkIgtlDevice(device: string): void {
  if (!/^[\x20-\x7e]+$/.test(device) || device.length > DEVICE_BYTES) {
    throw new UserError(`--igtl-device must be 1..${DEVICE_BYTES} printable ASCII characters (got ${JSON.stringify(device)})`);
  }
}

interface Batch {
  messages: Buffer[];
  arrivedAt: number;
}

interface Client {
  socket: Socket;
  /** The newest frame's messages, waiting for the socket to drain; a newer frame replaces them. */
  pending?: Batch;
}

/**
 * bonestream as an OpenIGTLink server, as SlicerIGT expects of an AI module: per processed
 * frame, every connected client gets an IMAGE of the mask (and optionally of the frame) with
 * the frame's capture time and spacing. Each message is encoded once for all clients. A client
 * that does not keep up holds at most maxBufferedBytes plus one frame's messages: newer frames
 * replace the waiting one, so it always gets the newest and the others never wait for it.
 * Whatever clients send is read and discarded (this server takes no commands).
 */
export class IgtlServer {
  private readonly clients = new Set<Client>();
  private readonly metrics;
  private messagesOut = 0;
  private dropped = 0;
  private rejected = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: IgtlServerOptions,
    private readonly limits: IgtlLimits,
  ) {
    const registers = [options.registry];
    this.metrics = {
      clients: new Gauge({ name: 'bonestream_igtl_clients', help: 'Connected OpenIGTLink clients', registers }),
      messages: new Counter({ name: 'bonestream_igtl_messages_out_total', help: 'OpenIGTLink IMAGE messages written to clients', labelNames: ['content'] as const, registers }),
      dropped: new Counter({ name: 'bonestream_igtl_messages_dropped_total', help: 'OpenIGTLink messages a slow client never got (a newer frame replaced them)', registers }),
      rejected: new Counter({ name: 'bonestream_igtl_rejected_total', help: 'OpenIGTLink connections refused at the client limit', registers }),
      latency: new Histogram({
        name: 'bonestream_igtl_mask_latency_seconds',
        help: "From a frame's arrival to its mask IMAGE written to a client's socket",
        buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
        registers,
      }),
    };
    server.on('connection', (socket) => this.add(socket));
    server.on('drop', () => {
      this.rejected++;
      this.metrics.rejected.inc();
      log.warn(`OpenIGTLink: connection refused, ${plural(this.limits.maxClients, 'client')} already connected`);
    });
  }

  static async start(options: IgtlServerOptions): Promise<IgtlServer> {
    checkIgtlDevice(options.device);
    const limits = { ...DEFAULT_IGTL_LIMITS, ...options.limits };
    const server = createServer();
    server.maxConnections = limits.maxClients;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const reason = error.code === 'EADDRINUSE' ? 'the port is in use (pick another with --igtl-port)' : error.message;
        reject(new UserError(`OpenIGTLink: cannot listen on ${options.host}:${options.port}: ${reason}`));
      });
      server.listen(options.port, options.host, resolve);
    });
    const igtl = new IgtlServer(server, options, limits);
    log.info(`OpenIGTLink: serving ${options.send.join(' and ')} as IMAGE (${options.device}) on ${options.host}:${igtl.port}`);
    return igtl;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  stats(): IgtlServerStats {
    return { port: this.port, clients: this.clients.size, messagesOut: this.messagesOut, dropped: this.dropped, rejected: this.rejected };
  }

  /** Sends one processed frame to every client; nothing is encoded while nobody listens. */
  send(result: IgtlFrameResult): void {
    if (this.clients.size === 0) return;
    const spacing = this.options.mmPerPx ?? result.spacingMm;
    const geometry: ImageGeometry = {
      spacing: spacing === undefined ? [1, 1, 1] : typeof spacing === 'number' ? [spacing, spacing, 1] : [spacing[0], spacing[1], 1],
      axes: IDENTITY_AXES,
      position: [0, 0, 0],
    };
    const timestamp = timestampOfMs(result.capturedAtMs);
    const messages = this.options.send.map((content) =>
      content === 'mask'
        ? encodeMessage({ type: IMAGE_TYPE, device: this.options.device, timestamp }, encodeImageBody(result.mask, geometry))
        : encodeMessage({ type: IMAGE_TYPE, device: FRAME_DEVICE, timestamp }, encodeImageBody(result.image, geometry)),
    );
    const batch: Batch = { messages, arrivedAt: result.arrivedAt };
    for (const client of this.clients) {
      if (client.socket.writableLength > this.limits.maxBufferedBytes) {
        if (client.pending) this.drop(client.pending.messages.length);
        client.pending = batch;
        continue;
      }
      this.write(client, batch);
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const client of this.clients) client.socket.destroy();
    await closed;
  }

  private add(socket: Socket): void {
    const client: Client = { socket };
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.clients.add(client);
    this.metrics.clients.set(this.clients.size);
    log.info(`OpenIGTLink client connected from ${peer} (${this.clients.size} connected)`);
    socket.setNoDelay(true);
    // Half-open connections (a client machine that vanished) are found and closed.
    socket.setKeepAlive(true, this.limits.keepAliveMs);
    socket.on('data', () => undefined);
    socket.on('error', () => socket.destroy());
    socket.on('drain', () => {
      const waiting = client.pending;
      client.pending = undefined;
      if (waiting) this.write(client, waiting);
    });
    socket.on('close', () => {
      this.clients.delete(client);
      this.metrics.clients.set(this.clients.size);
      log.info(`OpenIGTLink client from ${peer} disconnected (${this.clients.size} connected)`);
    });
  }

  /** The mask's latency ends when its message has been handed to the kernel. */
  private write(client: Client, batch: Batch): void {
    batch.messages.forEach((message, i) => {
      const content = this.options.send[i];
      const written = (error?: Error | null) => {
        if (!error) this.metrics.latency.observe((performance.now() - batch.arrivedAt) / 1000);
      };
      client.socket.write(message, content === 'mask' ? written : undefined);
      this.messagesOut++;
      this.metrics.messages.inc({ content });
    });
  }

  private drop(count: number): void {
    this.dropped += count;
    this.metrics.dropped.inc(count);
  }
}
