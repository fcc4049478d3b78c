import { connect, type Socket } from 'node:net';
import { IMAGE_TYPE } from '../src/igtl/image.js';
import { MessageParser } from '../src/igtl/parser.js';

/**
 * An OpenIGTLink client for the bench: connects to `serve --igtl-port`, and for every IMAGE of
 * `device` records its latency, from the capture time in its timestamp to its arrival here
 * (same machine, same clock).
 */
export interface IgtlLatencyClient {
  latenciesMs: number[];
  problems: number;
  close(): void;
}

export function igtlLatencyClient(port: number, device: string): IgtlLatencyClient {
  const latenciesMs: number[] = [];
  const client = { latenciesMs, problems: 0, close: () => socket.destroy() };
  const parser = new MessageParser(
    { maxBodyBytes: 64 << 20 },
    {
      wants: (header) => header.type === IMAGE_TYPE && header.device === device,
      message: (header) => latenciesMs.push(performance.timeOrigin + performance.now() - header.timestampS * 1000),
      problem: (kind) => {
        if (kind !== 'skipped') client.problems++;
      },
    },
  );
  const socket: Socket = connect({ host: '127.0.0.1', port });
  socket.on('data', (chunk: Buffer) => parser.push(chunk));
  socket.on('error', () => undefined);
  return client;
}
