import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULTS } from '../config.js';
import { intInRange, numberInRange } from './parsers.js';
import { parseSource, type SourceArgOptions } from '../ingest/source.js';
import type { SourceKind } from '../ingest/spec.js';
import { startServer, type RunningServer } from '../server/server.js';
import { isLoopback, parseOrigins } from '../server/auth.js';
import { WINDOW_RANGE } from '../server/control.js';
import { UserError, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { fetchModel, locateWeights } from '../vit/models.js';
import { addBackendOptions, backendRequest, type BackendOptions } from './options.js';

/** What `npm start` plays: the committed phantom video (src/phantom PHANTOM_VIDEO). */
export const DEFAULT_VIDEO = fileURLToPath(new URL('../../fixtures/phantom-data/video.mp4', import.meta.url));

/** SIGINT/SIGTERM must end the process within 2 s (issue 7), even if a part hangs. */
const SHUTDOWN_DEADLINE_MS = 1800;

interface ServeOptions extends BackendOptions, SourceArgOptions {
  source?: string;
  default?: boolean;
  window: number;
  tau: number;
  votes: number;
  host: string;
  port: number;
  token?: string;
  tlsCert?: string;
  tlsKey?: string;
  allowOrigin?: string[];
}

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('serve live bone masks over HTTP/WebSocket with a browser client (/, /stream, /healthz, /metrics)')
    .option('--source <file|device|url|->', 'video file, capture device (v4l2:/dev/video0), stream URL (rtsp/udp/srt/http), or - for stdin')
    .option('--default', 'what `npm start` runs: the committed phantom video, looping in real time, with the best backend (downloads the DINO weights when it can)')
    .option('--loop', 'files: start again at the end')
    .option('--realtime', "files and stdin: pace at the video's frame rate instead of as fast as possible")
    .option('--crop <x,y,w,h>', 'cut this region out of every frame (a device screen with UI around the image)')
    .option('--format <name>', 'ffmpeg input format of the source (e.g. v4l2, mpegts); probed when absent');
  addBackendOptions(command)
    .option('--window <n>', 'frames in the rolling cluster bank', intInRange('--window', WINDOW_RANGE.min, WINDOW_RANGE.max), DEFAULTS.window)
    .option('--tau <x>', "saliency threshold τ for a frame's vote", numberInRange('--tau', 0, 1), DEFAULTS.tau)
    .option('--votes <percent>', 'share of the window that must vote for a salient cluster', numberInRange('--votes', 0, 100), DEFAULTS.votes)
    .option('--host <address>', 'address to listen on; anything but loopback requires --token', DEFAULTS.host)
    .option('--port <n>', 'TCP port (0 picks a free one)', intInRange('--port', 0, 65535), DEFAULTS.port)
    .option('--token <secret>', 'require this token on every request (Authorization: Bearer … or ?token=…); default $BONESTREAM_TOKEN')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS/WSS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--allow-origin <origins>', 'comma-separated origins (https://host:port) whose pages may open the stream, besides this server', originList)
    .action(async (options: ServeOptions) => {
      await serve(options);
    });
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
    host: options.host,
    port: options.port,
    token,
    tls,
    allowOrigins: options.allowOrigin,
  }).finally(() => {
    process.off('SIGINT', early);
    process.off('SIGTERM', early);
  });
  await refuseUnopenableFile(server, source.kind);
  process.stdout.write(`bonestream: open ${server.url}${token ? '?token=<your token>' : ''}\n`);
  if (!isLoopback(options.host)) log.warn(`listening on ${options.host}: reachable from other machines, token required`);
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
        log.warn(`shutdown took over ${SHUTDOWN_DEADLINE_MS} ms; exiting anyway`);
        process.exit(0);
      }, SHUTDOWN_DEADLINE_MS).unref();
      server.close().then(resolve, (error) => {
        log.error(`shutdown: ${errorMessage(error)}`);
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
