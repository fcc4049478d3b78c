import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer } from '../src/server/server.js';
import type { StatusMessage, HelloMessage } from '../src/wire/protocol.js';
import type { Health } from '../src/server/health.js';
import { encodeSafetensors, parseSafetensors, type TensorToWrite } from '../src/vit/safetensors.js';
import { seededRandom } from '../src/util/random.js';
import { DEFAULT_VIDEO } from '../src/commands/serve.js';
import { record, get, startPhantomServer, upgradeOutcome, wsUrl, type Received } from './helpers/service.js';
import { freePort, pidAlive, startFfmpeg, stopProcess, tempDir, waitFor } from './helpers/videos.js';
import { makeTinyVit } from './helpers/tiny-vit.js';
import { childPids, isRunning, processName, runBonestream, servedUrl, serveOn, sleep } from './helpers/live.js';
import { faultyWorkers } from './helpers/faulty-worker.js';

/**
 * Faults the live service must survive: its ffmpeg killed, a stalled source, inputs
 * that are not (whole) videos, a crashing inference worker, bad weights, and signals.
 */
const dir = tempDir('bonestream-faults-');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const FAST_RESTART = { initial: 150, max: 600 };

const statuses = (r: Received) => r.text.filter((m): m is StatusMessage => m.type === 'status');
const frames = (r: Received) => r.binary.filter((m) => m.header.type === 'frame');
const masks = (r: Received) => r.binary.filter((m) => m.header.type === 'mask');
const health = async (server: RunningServer) => JSON.parse((await get(`${server.url}healthz`)).body) as Health;
const metricsText = async (server: RunningServer) => (await get(`${server.url}metrics`)).body;

/** Loops the phantom in real time as H.264 in MPEG-TS over UDP to `url`, a keyframe every 5 frames so readers lock on fast. */
const publishPhantom = (url: string) =>
  startFfmpeg(['-re', '-stream_loop', '-1', '-i', DEFAULT_VIDEO, '-c:v', 'libx264', '-preset', 'ultrafast',
    '-tune', 'zerolatency', '-g', '5', '-pix_fmt', 'yuv420p', '-f', 'mpegts', `${url}?pkt_size=1316`]);

test('ffmpeg killed mid-stream: restarted with back-off, clients see the state change and recover, no process left', async () => {
  // A run that lasts `max` resets the back-off; the second kill comes well before 5 s.
  const backoffMs = { initial: 150, max: 5000 };
  const server = await startPhantomServer({ sourceOptions: { backoffMs } });
  const client = record(wsUrl(server));
  const pids: number[] = [];
  try {
    await client.until((r) => masks(r).length >= 2, 20_000, 'the first masks');
    for (let round = 0; round < 2; round++) {
      const pid = server.source.pid!;
      pids.push(pid);
      assert.is(processName(pid), 'ffmpeg');
      assert.ok(childPids(process.pid).includes(pid), 'the source\'s ffmpeg is a child of the server');
      const seen = statuses(client.received).length;
      const lastFrame = frames(client.received).at(-1)!.header.seq;
      const lastMask = masks(client.received).at(-1)!.header.seq;
      process.kill(pid, 'SIGKILL');

      await client.until(() => statuses(client.received).slice(seen).some((s) => s.source.state === 'restarting'), 5000, 'status: restarting');
      const restarting = statuses(client.received).slice(seen).find((s) => s.source.state === 'restarting')!;
      assert.match(restarting.source.detail ?? '', /ffmpeg was killed \(SIGKILL\); restarting in \d+ ms/);
      await client.until(() => statuses(client.received).slice(seen).some((s) => s.source.state === 'running'), 10_000, 'status: running again');
      await client.until(() => (masks(client.received).at(-1)?.header.seq ?? -1) > lastFrame + 3, 15_000, 'masks of new frames');
      assert.ok(frames(client.received).at(-1)!.header.seq > lastFrame, 'frames flow again');
      assert.ok(masks(client.received).at(-1)!.header.seq > lastMask, 'masks flow again');
      await waitFor(`killed ffmpeg ${pid} to be reaped`, () => !pidAlive(pid), 3000);
      assert.is.not(server.source.pid, pid);
    }
    // Back-off: the second restart waited longer than the first.
    const delays = statuses(client.received)
      .map((s) => /restarting in (\d+) ms/.exec(s.source.detail ?? '')?.[1])
      .filter((d): d is string => d !== undefined)
      .map(Number);
    assert.equal(delays, [backoffMs.initial, backoffMs.initial * 2]);
    const body = await health(server);
    assert.is(body.status, 'ok');
    assert.is(body.source.state, 'running');
    pids.push(server.source.pid!);
  } finally {
    await client.close();
    await server.close();
  }
  for (const pid of pids) assert.not.ok(pidAlive(pid), `ffmpeg ${pid} is gone after close()`);
  assert.not.ok(childPids(process.pid).some((pid) => processName(pid) === 'ffmpeg'), 'no ffmpeg child left');
});

test('a stalled live source is detected within the bounded time, shown in /healthz, restarted, and recovers', async () => {
  const port = await freePort();
  const url = `udp://127.0.0.1:${port}`;
  const stallTimeoutMs = 1000;
  const publisher = publishPhantom(url);
  const server = await serveOn(url, {}, { sourceOptions: { stallTimeoutMs, openTimeoutMs: 3000, backoffMs: FAST_RESTART } });
  const client = record(wsUrl(server));
  try {
    await client.until((r) => r.binary.length >= 5, 20_000, 'frames from the UDP stream');
    await waitFor('source running', () => server.source.state === 'running', 5000);
    const stalledPid = server.source.pid!;
    const seen = statuses(client.received).length;

    publisher.kill('SIGSTOP');
    const pausedAt = Date.now();
    let reported: Health | undefined;
    while (!reported && Date.now() - pausedAt < stallTimeoutMs + 4000) {
      const body = await health(server);
      if (/no frame for 1000 ms/.test(body.source.detail ?? '')) reported = body;
      else await sleep(100);
    }
    const detectedAfter = Date.now() - pausedAt;
    assert.ok(reported, '/healthz names the stall');
    assert.ok(detectedAfter <= stallTimeoutMs + 1500, `stall in /healthz ${detectedAfter} ms after the source paused`);
    assert.ok(['stalled', 'restarting'].includes(reported!.source.state), reported!.source.state);
    assert.is(reported!.status, 'degraded');
    assert.ok(statuses(client.received).slice(seen).some((s) => s.source.state === 'stalled' && s.source.detail === 'no frame for 1000 ms'), 'clients told: stalled');
    await waitFor('the stalled ffmpeg to be killed and a new one started', () => !pidAlive(stalledPid) && server.source.pid !== undefined, 5000);

    publisher.kill('SIGCONT');
    const before = frames(client.received).length;
    await client.until(() => frames(client.received).length >= before + 5, 15_000, 'frames after the stall');
    await waitFor('running again', () => server.source.state === 'running', 5000);
    const after = await health(server);
    assert.is(after.source.state, 'running');
    assert.is(after.status, 'ok');
  } finally {
    publisher.kill('SIGCONT');
    await client.close();
    await server.close();
    await stopProcess(publisher);
  }
});

test('a live stream that is not up when the server starts: reported, retried with back-off, picked up when it appears', async () => {
  const port = await freePort();
  const url = `udp://127.0.0.1:${port}`;
  const openTimeoutMs = 2500;
  const server = await serveOn(url, {}, { sourceOptions: { openTimeoutMs, backoffMs: FAST_RESTART }, limits: { sourceStartWaitMs: 200 } });
  const client = record(wsUrl(server));
  let publisher: ReturnType<typeof startFfmpeg> | undefined;
  try {
    await waitFor('the first open to fail', () => server.source.state === 'restarting', openTimeoutMs + 5000);
    const body = await health(server);
    assert.is(body.source.state, 'restarting');
    assert.match(body.source.detail ?? '', new RegExp(`^no first frame within ${openTimeoutMs} ms; restarting in \\d+ ms$`));
    assert.is(body.status, 'degraded');
    assert.ok(statuses(client.received).some((s) => s.source.state === 'restarting'), 'clients told');

    publisher = publishPhantom(url);
    await client.until((r) => frames(r).length >= 5, 20_000, 'frames once the stream is up');
    await waitFor('running', () => server.source.state === 'running', 5000);
    assert.is((await health(server)).source.state, 'running');
  } finally {
    await client.close();
    await server.close();
    if (publisher) await stopProcess(publisher);
  }
});

/** A file that is not a video, one cut in half, and one with its middle overwritten. */
function badVideos(): Record<'text' | 'truncated' | 'garbled', string> {
  const good = readFileSync(DEFAULT_VIDEO);
  const files = { text: join(dir, 'notes.mp4'), truncated: join(dir, 'truncated.mp4'), garbled: join(dir, 'garbled.mp4') };
  writeFileSync(files.text, 'patient notes, not a video\n');
  writeFileSync(files.truncated, good.subarray(0, good.length >> 1));
  const garbled = Buffer.from(good);
  const random = seededRandom(7);
  for (let i = garbled.length >> 2; i < (3 * garbled.length) >> 2; i++) garbled[i] = Math.floor(random() * 256);
  writeFileSync(files.garbled, garbled);
  return files;
}

test('bonestream video (a child process) on a broken input or a device: a message naming it, exit ≠ 0', async () => {
  const files = badVideos();
  const cases: Array<[string, RegExp]> = [
    [files.text, /notes\.mp4: not a readable video \(Invalid data found/],
    [files.truncated, /truncated\.mp4: .*(damaged|corrupt|partial)/i],
    [files.garbled, /garbled\.mp4: .*(damaged|corrupt|invalid)/i],
    ['v4l2:/dev/video-bonestream-absent', /not a device \(v4l2:\/dev\/video-bonestream-absent\).*bonestream serve/],
  ];
  const runs = cases.map(([input], i) => runBonestream(['video', input, '--out', join(dir, `out-${i}`), '--backend', 'physics']));
  const exits = await Promise.all(runs.map((run) => run.exited));
  cases.forEach(([input, message], i) => {
    assert.is(exits[i].signal, null, `${input}: exited by itself`);
    assert.is.not(exits[i].code, 0, `${input}: exit code`);
    assert.match(runs[i].stderr(), message, input);
    assert.not.match(runs[i].stderr(), /internal error|\n\s+at /, `${input}: no stack trace`);
  });
});

test('the server on a broken, damaged or missing source: source state error and its reason in /healthz and hello; it keeps serving', async () => {
  const files = badVideos();
  const sources: Array<[string, RegExp]> = [
    [files.text, /notes\.mp4: not a readable video/],
    [files.truncated, /truncated\.mp4: .*(damaged|corrupt|partial)/i],
    [join(dir, 'absent.mp4'), /absent\.mp4: no such file/],
    ['v4l2:/dev/video-bonestream-absent', /\/dev\/video-bonestream-absent: no such capture device/],
  ];
  await Promise.all(
    sources.map(async ([input, detail]) => {
      const server = await serveOn(input, {});
      try {
        await waitFor(`${input}: source error`, () => server.source.state === 'error', 15_000);
        const response = await get(`${server.url}healthz`);
        assert.is(response.status, 503, input);
        const body = JSON.parse(response.body) as Health;
        assert.is(body.status, 'error');
        assert.is(body.source.state, 'error');
        assert.match(body.source.detail ?? '', detail);
        const client = record(wsUrl(server));
        await client.until((r) => r.text.length > 0, 5000, 'hello');
        const hello = client.received.text[0] as HelloMessage;
        assert.is(hello.source.state, 'error', input);
        assert.match(hello.source.detail ?? '', detail, 'hello says why');
        await client.close();
        assert.is((await get(server.url)).status, 200, 'the page is still served');
      } finally {
        await server.close();
      }
    }),
  );
});

test('bonestream serve (a child process) exits 1 with the reason when its file cannot be opened; a stream URL is waited for', async () => {
  const files = badVideos();
  const folder = join(dir, 'a-folder.mp4');
  mkdirSync(folder, { recursive: true });
  const cases: Array<[string[], RegExp]> = [
    [['--source', join(dir, 'absent.mp4')], /absent\.mp4: no such file/],
    [['--source', files.text], /notes\.mp4: not a readable video/],
    [['--source', folder], /a-folder\.mp4: /],
    [['--source', DEFAULT_VIDEO, '--crop', '0,0,4000,4000'], /--crop 0,0,4000,4000 does not fit/],
  ];
  const runs = cases.map(([args]) => runBonestream(['serve', ...args, '--port', '0', '--backend', 'physics']));
  const exits = await Promise.all(runs.map((run) => Promise.race([run.exited, new Promise((done) => setTimeout(done, 120_000, { code: 'still running after 120 s', signal: null }).unref())])));
  runs.forEach((run) => run.child.kill('SIGKILL'));
  cases.forEach(([args, message], i) => {
    assert.equal(exits[i], { code: 1, signal: null }, `serve ${args.join(' ')}: ${runs[i].stderr()}`);
    assert.match(runs[i].stderr(), new RegExp(`bonestream: .*${message.source}`), args.join(' '));
    assert.not.match(runs[i].stdout(), /bonestream: open/, 'no address printed');
    assert.not.match(runs[i].stderr(), /internal error|\n\s+at /, 'no stack trace');
  });

  const live = runBonestream(['serve', '--source', `udp://127.0.0.1:${await freePort()}`, '--port', '0', '--backend', 'physics']);
  try {
    await servedUrl(live, 120_000);
    await sleep(500);
    assert.is(live.child.exitCode, null, 'a stream that sends nothing yet is waited for');
  } finally {
    live.child.kill('SIGTERM');
    await live.exited;
  }
});

test('a stream URL\'s password never reaches the log, /healthz or the clients', async () => {
  const logged: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (logged.push(chunk.toString()), true)) as typeof process.stderr.write;
  let server: RunningServer | undefined;
  try {
    const running = (server = await serveOn('http://clinician:s3cret-pw@127.0.0.1:9/feed.ts', {}));
    await waitFor('the failure to be logged, with the user name', () => logged.some((line) => line.includes('source http://clinician:***@127.0.0.1:9/feed.ts: ')), 10_000);
    const client = record(wsUrl(server));
    await client.until((r) => r.text.length > 0, 5000, 'hello');
    const body = await health(server);
    assert.is(running.source.state, 'restarting');
    assert.match(body.source.detail ?? '', /Connection refused/);
    for (const text of [...logged, JSON.stringify(body), JSON.stringify(client.received.text), await metricsText(server)]) {
      assert.not.ok(text.includes('s3cret-pw'), text);
    }
    await client.close();
  } finally {
    process.stderr.write = write;
    await server?.close();
  }
});

test('while the inference worker is down after a crash: /healthz and clients report it, video keeps flowing, then masks resume', async () => {
  const workers = faultyWorkers();
  const server = await startPhantomServer({ limits: { workerBackoffMs: { initial: 400, max: 1600 } }, createWorker: workers.createWorker });
  const client = record(wsUrl(server));
  try {
    await client.until((r) => masks(r).length >= 2, 20_000, 'the first masks');
    const seen = statuses(client.received).length;
    await workers.fault('throw');
    await client.until(() => statuses(client.received).slice(seen).some((s) => s.backend.state === 'restarting'), 5000, 'status: restarting');
    const framesAtCrash = frames(client.received).length;
    const masksAtCrash = masks(client.received).length;
    const down = statuses(client.received).slice(seen).find((s) => s.backend.state === 'restarting')!;
    assert.match(down.backend.detail ?? '', /injected fault|exited/);
    assert.match(down.backend.detail ?? '', /restarting in 400 ms/);
    const body = await health(server);
    assert.is(body.backendState, 'restarting');
    assert.is(body.status, 'degraded');
    assert.is(body.source.state, 'running');
    assert.match(await metricsText(server), /^bonestream_backend_state\{state="restarting",backend="physics"\} 1$/m);
    // Frames that arrive while no worker takes them are counted as they are skipped, not when masks resume.
    await waitFor('frames skipped while the worker is down', () => server.health().framesNotSegmented > body.framesNotSegmented, 5000);
    const skipped = server.health().framesNotSegmented;
    const skippedMetric = Number(/^bonestream_frames_not_segmented_total (\S+)$/m.exec(await metricsText(server))?.[1]);
    assert.ok(skippedMetric >= skipped, `frames_not_segmented_total ${skippedMetric} while /healthz said ${skipped}`);

    await client.until(() => statuses(client.received).slice(seen).some((s) => s.backend.state === 'running'), 20_000, 'status: running again');
    const framesWhileDown = frames(client.received).length - framesAtCrash;
    assert.ok(framesWhileDown > 0, `video relayed while the worker was down (${framesWhileDown} frames)`);
    await client.until(() => masks(client.received).length >= masksAtCrash + 3, 15_000, 'masks again');
    const after = await health(server);
    assert.is(after.status, 'ok');
    assert.is(after.workerRestarts, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test('close() right after the inference worker crashed still shuts everything down', async () => {
  const workers = faultyWorkers();
  const server = await startPhantomServer({ createWorker: workers.createWorker });
  const client = record(wsUrl(server));
  await client.until((r) => masks(r).length >= 1, 20_000, 'a first mask');
  const closedByServer = new Promise<number>((done) => client.ws.once('close', (code) => done(code)));
  void workers.fault('throw');
  await server.close();
  assert.is(await closedByServer, 1001, 'the client got its close frame');
  assert.is((await upgradeOutcome(wsUrl(server))).opened, false, 'nothing listens any more');
});

test('serve --backend dino with a corrupt or wrong-shaped weight file: refused at start, naming the tensor', async () => {
  const tiny = makeTinyVit({ dim: 16, depth: 2, heads: 2, mlpDim: 32, seed: 3 });
  const parsed = parseSafetensors(tiny, 'tiny');
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, entry] of parsed.entries) tensors[name] = { shape: entry.shape, data: parsed.read(name) };
  const key = 'encoder.layer.1.attention.attention.key.weight';
  tensors[key] = { shape: [16, 15], data: new Float32Array(16 * 15) };
  const wrongShape = join(dir, 'wrong-shape.safetensors');
  writeFileSync(wrongShape, encodeSafetensors(tensors, parsed.metadata));
  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, tiny.subarray(0, tiny.length - 100));

  const cases: Array<[string, RegExp]> = [
    [wrongShape, new RegExp(`wrong-shape\\.safetensors: tensor ${key.replace(/\./g, '\\.')} has shape \\[16, 15\\], expected \\[16, 16\\]`)],
    [truncated, /truncated\.safetensors: truncated: tensor \S+ needs bytes/],
  ];
  const runs = cases.map(([model]) => runBonestream(['serve', '--source', DEFAULT_VIDEO, '--backend', 'dino', '--model', model, '--port', '0']));
  const exits = await Promise.all(runs.map((run) => run.exited));
  cases.forEach(([model, message], i) => {
    assert.is(exits[i].code, 1, `${model}: exit code\n${runs[i].stderr()}`);
    assert.match(runs[i].stderr(), message);
    assert.not.match(runs[i].stdout(), /open http/, 'never listened');
  });
});

// SIGTERM has the same test in server.test.ts; Ctrl-C at a console must behave the same.
test('SIGINT on `bonestream serve`: clients get a close frame, ffmpeg stops, exit 0 within 2 s', async () => {
  const run = runBonestream(['serve', '--source', DEFAULT_VIDEO, '--loop', '--realtime', '--backend', 'physics', '--port', '0'], { BONESTREAM_LOG: 'info' });
  try {
    const url = await servedUrl(run, 30_000);
    const client = record(wsUrl(url));
    await client.until((r) => masks(r).length > 0, 20_000, 'a mask');
    const ffmpeg = childPids(run.child.pid!).filter((pid) => processName(pid) === 'ffmpeg');
    assert.is(ffmpeg.length, 1, 'one ffmpeg');
    const closed = new Promise<number>((done) => client.ws.once('close', (code) => done(code)));

    const sentAt = Date.now();
    run.child.kill('SIGINT');
    const exit = await run.exited;
    const tookMs = Date.now() - sentAt;
    assert.equal(exit, { code: 0, signal: null }, run.stderr());
    assert.ok(tookMs < 2000, `exited ${tookMs} ms after SIGINT`);
    assert.is(await closed, 1001, 'close frame: going away');
    assert.not.ok(pidAlive(ffmpeg[0]), 'ffmpeg stopped');
    assert.match(run.stderr(), /SIGINT: shutting down/);
    assert.not.match(run.stderr(), /shutdown took over/, 'a clean shutdown, not the deadline');
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }
});

test('SIGTERM while the service still waits for its stream to come up: exit 0 within 2 s, no ffmpeg left behind', async () => {
  const port = await freePort();
  const run = runBonestream(['serve', '--source', `udp://127.0.0.1:${port}`, '--backend', 'physics', '--port', '0'], { BONESTREAM_LOG: 'info' });
  try {
    let ffmpeg: number[] = [];
    await waitFor('the source\'s ffmpeg', () => (ffmpeg = childPids(run.child.pid!).filter((pid) => processName(pid) === 'ffmpeg')).length > 0, 30_000);
    assert.not.match(run.stdout(), /open http/, 'still starting');
    const sentAt = Date.now();
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    assert.equal(exit, { code: 0, signal: null }, run.stderr());
    assert.ok(Date.now() - sentAt < 2000, `exited ${Date.now() - sentAt} ms after SIGTERM`);
    assert.match(run.stderr(), /SIGTERM during start-up/);
    await waitFor(`ffmpeg ${ffmpeg[0]} to end with its parent`, () => !isRunning(ffmpeg[0]), 1000);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }
});

test.run();
