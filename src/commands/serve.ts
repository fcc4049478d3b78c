import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULTS } from '../config.js';
import { intInRange, numberInRange } from './parsers.js';
import { parseSource, type SourceArgOptions } from '../ingest/source.js';
import type { SourceKind } from '../ingest/spec.js';
import { startServer, type RunningServer } from '../server/server.js';
import { isLoopback, parseOrigins } from '../server/auth.js';
import { UserError, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { fetchModel, locateWeights } from '../vit/models.js';
import { addBackendOptions, addMaskOptions, addSegmentOptions, backendRequest, maskSettings, type BackendOptions, type MaskOptions, type SegmentOptions } from './options.js';
import { DEFAULT_IGTL_DEVICE, DEFAULT_IGTL_PORT, IGTL_CONTENTS, checkIgtlDevice, type IgtlContent } from '../server/igtl.js';
import { SHUTDOWN } from '../limits.js';
import type { ServerOptions } from '../server/server.js';

/** What `npm start` plays: the committed phantom video (src/phantom PHANTOM_VIDEO). */
export const DEFAULT_VIDEO = fileURLToPath(new URL('../../fixtures/phantom-data/video.mp4', import.meta.url));


interface ServeOptions extends BackendOptions, SegmentOptions, MaskOptions, SourceArgOptions {
  source?: string;
  default?: boolean;
  window: number;
  host: string;
  port: number;
  token?: string;
  tlsCert?: string;
  tlsKey?: string;
  allowOrigin?: string[];
  mmPerPx?: number;
  igtlPort?: number;
  igtlHost?: string;
  igtlAllowRemote?: boolean;
  igtlDevice?: string;
  igtlSend?: IgtlContent[];
}

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('serve live bone masks over HTTP/WebSocket with a browser client (/, /stream, /healthz, /metrics)')
    .option('--source <file|device|url|->', 'video or DICOM file, capture device (v4l2:/dev/video0), stream URL (rtsp/udp/srt/http), or - for stdin')
    .option('--default', 'what `npm start` runs: the committed phantom video, looping in real time, with the best backend (tries to download the DINO weights first when they are missing)')
    .option('--loop', 'files: start again at the end')
    .option('--realtime', "files and stdin: pace at the video's frame rate instead of as fast as possible")
    .option('--crop <x,y,w,h>', 'cut this region out of every frame (a device screen with UI around the image)')
    .option('--format <name>', 'ffmpeg input format of the source (e.g. v4l2, mpegts); probed when absent');
  addMaskOptions(addSegmentOptions(addBackendOptions(command), 'frame'))
    .option('--host <address>', 'address to listen on; anything but loopback requires --token', DEFAULTS.host)
    .option('--port <n>', 'TCP port (0 picks a free one)', intInRange('--port', 0, 65535), DEFAULTS.port)
    .option('--token <secret>', 'require this token on every request (Authorization: Bearer … or ?token=…); default $BONESTREAM_TOKEN')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS/WSS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--allow-origin <origins>', 'comma-separated origins (https://host:port) whose pages may open the stream, besides this server', originList)
    .option('--mm-per-px <x>', "pixel size in mm, sent in OpenIGTLink images (default: the source's, else 1)", numberInRange('--mm-per-px', 1e-6, 1000))
    .option('--igtl-port <n>', `also serve masks as OpenIGTLink IMAGE messages on this TCP port (e.g. ${DEFAULT_IGTL_PORT}; 0 picks a free one); off by default`, intInRange('--igtl-port', 0, 65535))
    .option('--igtl-host <address>', `address of the OpenIGTLink server (default ${DEFAULTS.host}); anything but loopback requires --igtl-allow-remote`)
    .option('--igtl-allow-remote', 'let --igtl-host be reachable from other machines (OpenIGTLink has no authentication)')
    .option('--igtl-device <name>', `device name of the mask IMAGE messages (default ${DEFAULT_IGTL_DEVICE})`)
    .option('--igtl-send <list>', `what to send per processed frame: ${IGTL_CONTENTS.join(',')} (image: the frame itself, as device Image; default mask)`, contentList)
    .action(async (options: ServeOptions) => {
      await serve(options);
    });
}

function contentList(raw: string): IgtlContent[] {
  const parts = raw.split(',').map((part) => part.trim());
  const unknown = parts.find((part) => !(IGTL_CONTENTS as readonly string[]).includes(part));
  if (unknown !== undefined || parts.length === 0) throw new InvalidArgumentError(`--igtl-send takes a list of ${IGTL_CONTENTS.join(', ')} (got ${raw})`);
  return [...new Set(parts as IgtlContent[])];
}

/** The OpenIGTLink options, checked together: they mean nothing without --igtl-port. */
function igtlOptions(options: ServeOptions): ServerOptions['igtl'] {
  const host = options.igtlHost ?? DEFAULTS.host;
  if (options.igtlPort === undefined) {
    const given = { '--igtl-host': options.igtlHost, '--igtl-allow-remote': options.igtlAllowRemote, '--igtl-device': options.igtlDevice, '--igtl-send': options.igtlSend };
    const stray = Object.entries(given).find(([, value]) => value !== undefined);
    if (stray) throw new UserError(`${stray[0]} needs --igtl-port (OpenIGTLink is off without it)`);
    return undefined;
  }
  // OpenIGTLink has no authentication: anything but loopback needs the user's explicit word.
  if (!isLoopback(host) && !options.igtlAllowRemote) {
    throw new UserError(
      `--igtl-host ${host} would send bone masks and images to anyone who connects (OpenIGTLink has no authentication): add --igtl-allow-remote to mean it, or bind 127.0.0.1`,
    );
  }
  const device = options.igtlDevice ?? DEFAULT_IGTL_DEVICE;
  checkIgtlDevice(device);
  return { host, port: options.igtlPort, device, send: options.igtlSend ?? ['mask'], mmPerPx: options.mmPerPx };
}

function originList(raw: string): string[] {
  try {
    return parseOrigins(raw);
  } catch (error) {
    throw new InvalidArgumentError(errorMessage(error));
  }
}

async function serve(options: ServeOptions): Promise<void> {
  if (options.default && options.source) throw new UserError('--default plays the phantom video: give either --default or --source, not both');
  if (!options.default && !options.source) throw new UserError('--source is required (a file, device, URL or -), or --default for the phantom demo');
  const source = options.default
    ? parseSource(DEFAULT_VIDEO, { loop: true, realtime: true, crop: options.crop })
    : parseSource(options.source!, options);
  const token = options.token ?? (process.env.BONESTREAM_TOKEN || undefined);
  if (options.token) log.warn('--token is visible to other users of this machine (ps); prefer BONESTREAM_TOKEN');
  const tls = await readTls(options.tlsCert, options.tlsKey);
  const igtl = igtlOptions(options);

  if (options.default && options.backend === 'auto') await fetchWeightsIfMissing(options.model);

  // A signal while the service starts (the source may take seconds to open) ends it at once; the
  // decoder's exit hook stops ffmpeg. Once the server runs, untilSignal shuts it down in order.
  const early = (signal: NodeJS.Signals) => {
    log.info(`${signal} during start-up: exiting`);
    process.exit(0);
  };
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const server = await startServer({
    source,
    backend: backendRequest(options),
    window: options.window,
    tau: options.tau,
    votes: options.votes,
    k: options.k,
    seed: options.seed,
    mask: maskSettings(options),
    host: options.host,
    port: options.port,
    token,
    tls,
    allowOrigins: options.allowOrigin,
    igtl,
  }).finally(() => {
    process.off('SIGINT', early);
    process.off('SIGTERM', early);
  });
  await refuseUnopenableFile(server, source.kind);
  process.stdout.write(`bonestream: open ${server.url}${token ? '?token=<your token>' : ''}\n`);
  if (!isLoopback(options.host)) log.warn(`listening on ${options.host}: reachable from other machines, token required`);
  if (igtl && !isLoopback(igtl.host)) log.warn(`OpenIGTLink on ${igtl.host}: anyone who can reach it receives the masks${igtl.send.includes('image') ? ' and the images' : ''}, without authentication`);
  if (server.igtlPort !== undefined) process.stdout.write(`bonestream: OpenIGTLink ${igtl!.device} on ${igtl!.host}:${server.igtlPort}\n`);
  await untilSignal(server);
}

/**
 * A file that cannot be opened (missing, not a video, a --crop that does not fit) is the
 * user's to fix: serve says why and exits instead of showing a black page for ever. Devices,
 * streams and stdin may come up later, so they stay in their retry loop.
 */
async function refuseUnopenableFile(server: RunningServer, kind: SourceKind): Promise<void> {
  const { state, detail } = server.health().source;
  if (kind !== 'file' || state !== 'error') return;
  await server.close();
  throw new UserError(detail ?? 'the --source file cannot be opened');
}

/**
 * `npm start` offers the ViT when it can: it downloads missing weights here, in the main
 * thread, so the download shows its progress bar; the worker then finds them in models/
 * (or, when the download failed, falls back to physics and says so).
 */
async function fetchWeightsIfMissing(model: string): Promise<void> {
  if (await locateWeights(model)) return;
  try {
    await fetchModel(model);
  } catch (error) {
    log.warn(`could not download ${model} (${errorMessage(error).split('\n')[0]}); using the physics backend`);
  }
}

async function readTls(certPath?: string, keyPath?: string): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) throw new UserError('HTTPS needs both --tls-cert and --tls-key');
  const read = async (path: string, option: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new UserError(`${option} ${path}: cannot read (${errorMessage(error)})`);
    }
  };
  return { cert: await read(certPath, '--tls-cert'), key: await read(keyPath, '--tls-key') };
}

/** Runs until SIGINT/SIGTERM, then closes clients, ffmpeg and the worker, and exits 0. */
function untilSignal(server: RunningServer): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info(`${signal}: shutting down`);
      setTimeout(() => {
        log.warn(`shutdown took over ${SHUTDOWN.deadlineMs} ms; exiting anyway`);
        process.exit(0);
      }, SHUTDOWN.deadlineMs).unref();
      server.close().then(resolve, (error) => {
        log.error(`shutdown: ${errorMessage(error)}`);
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
