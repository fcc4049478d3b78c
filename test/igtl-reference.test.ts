import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MaskHeader } from '../src/wire/protocol.js';
import { needing } from './helpers/env.js';
import { buildReferencePrograms, referenceMissing, TEST_IMAGES, type ReferencePrograms } from './helpers/igtl-reference.js';
import { serveOn } from './helpers/live.js';
import { record, startPhantomServer, wsUrl } from './helpers/service.js';
import { freePort, stopProcess, tcpListening, waitFor } from './helpers/videos.js';

/**
 * bonestream against the reference OpenIGTLink implementation, both ways: its ImagerServer
 * as our source, its ReceiveClient as our client. Under CI these must run (.ci/run installs
 * the packages); elsewhere they skip, saying what is missing.
 */
let programs: ReferencePrograms | undefined;
const missing = referenceMissing();
const withReference = needing(missing);

test.before(async () => {
  if (missing) return;
  programs = await buildReferencePrograms();
});

/** ImagerServer's test images: 256×256, one uint8 component. */
const IMAGER_SIZE = 256;

withReference('reference ImagerServer → serve --source igtl://… → masks of the image\'s size on the WebSocket', async () => {
  const port = await freePort();
  // The reference server binds every interface (its ServerSocket has no address); it lives for this test only.
  const imager = spawn(programs!.imagerServer, [String(port), '20', TEST_IMAGES], { stdio: 'ignore' });
  try {
    await waitFor('ImagerServer listening', () => tcpListening(port), 10_000);
    const server = await serveOn(`igtl://127.0.0.1:${port}`, {});
    const client = record(wsUrl(server));
    try {
      await client.until((r) => r.binary.filter((m) => m.header.type === 'mask').length >= 3, 60_000, 'three masks');
      const masks = client.received.binary.filter((m) => m.header.type === 'mask').map((m) => m.header as MaskHeader);
      assert.ok(masks.every((m) => m.width === IMAGER_SIZE && m.height === IMAGER_SIZE), JSON.stringify(masks.map((m) => [m.width, m.height])));
      const health = server.health();
      assert.is(health.source.state, 'running');
      assert.equal([health.source.width, health.source.height], [IMAGER_SIZE, IMAGER_SIZE]);
      assert.ok(health.igtlSource!.images >= 3, `images ${health.igtlSource!.images}`);
      assert.is(health.igtlSource!.problems.crc, 0);
    } finally {
      await client.close();
      await server.close();
    }
  } finally {
    await stopProcess(imager);
  }
});

/** ReceiveClient's report per IMAGE that passed the library's CRC check. */
interface Received {
  device: string;
  size: number[];
}

function parseReceiveClient(output: string): Received[] {
  const images: Received[] = [];
  const pattern = /Device Name\s*:\s*(\S+)\s*\n\s*Scalar Type\s*:\s*\d+\s*\n\s*Dimensions\s*:\s*\((\d+), (\d+), (\d+)\)/g;
  for (const match of output.matchAll(pattern)) images.push({ device: match[1], size: [Number(match[2]), Number(match[3]), Number(match[4])] });
  return images;
}

withReference('serve --igtl-port → reference ReceiveClient gets IMAGE messages named BoneMask of the source\'s size, one per mask', async () => {
  const server = await startPhantomServer({ igtl: { host: '127.0.0.1', port: 0, device: 'BoneMask', send: ['mask'] } });
  let receiver: ChildProcess | undefined;
  // Counted on the event the OpenIGTLink server sends on (the WebSocket's count lags behind its PNG encoding).
  let masks = 0;
  server.inference.on('mask', () => masks++);
  try {
    await waitFor('the source\'s size', () => server.health().source.width > 0, 30_000);
    receiver = spawn(programs!.receiveClient, ['127.0.0.1', String(server.igtlPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    receiver.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
    await waitFor('an OpenIGTLink client', () => server.health().igtl!.clients === 1, 10_000);
    const sentBefore = server.health().igtl!.messagesOut;
    await waitFor('five IMAGE messages at ReceiveClient', () => parseReceiveClient(output).length >= 5, 60_000);
    const images = parseReceiveClient(output);
    const { width, height } = server.health().source;
    assert.ok(images.every((image) => image.device === 'BoneMask'), JSON.stringify(images.slice(0, 3)));
    assert.ok(images.every((image) => image.size.join() === `${width},${height},1`), `${JSON.stringify(images[0])} vs ${width}x${height}`);
    // One IMAGE per mask: what the client printed is what the server wrote (less what is still in flight).
    const health = server.health();
    assert.ok(health.igtl!.messagesOut - sentBefore >= images.length - 1, `${health.igtl!.messagesOut - sentBefore} sent, ${images.length} received`);
    assert.ok(health.igtl!.messagesOut <= masks, `${health.igtl!.messagesOut} IMAGEs for ${masks} masks`);
    assert.is(health.igtl!.dropped, 0);
    const metrics = await server.metrics.registry.metrics();
    assert.match(metrics, /bonestream_igtl_clients 1/);
    assert.match(metrics, /bonestream_igtl_messages_out_total\{content="mask"\} \d+/);
  } finally {
    if (receiver) await stopProcess(receiver);
    await server.close();
  }
});

test.run();
