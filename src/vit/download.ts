import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ProxyAgent } from 'proxy-agent';
import { UserError, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { createProgress, NO_BAR, type Progress } from '../util/progress.js';

/**
 * Downloads one large file over HTTP(S) the way a model should arrive: into `<target>.part`,
 * resumed with a Range request after an interruption, checked (size, sha256, the caller's
 * validation) and only then renamed into place, with `<target>.sha256` beside it.
 * Proxies come from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (proxy-agent).
 */
export interface DownloadOptions {
  url: string;
  /** Final path; the transfer goes to `<target>.part`. */
  target: string;
  /** Expected sha256 (hex); the file is refused when it differs. */
  sha256?: string | null;
  /** Size to show when the server sends no Content-Length. */
  expectedSize?: number;
  /** Throws when the completed file is unusable; the file is then deleted. */
  validate?: (path: string) => Promise<void>;
  /** Progress bar label. */
  label?: string;
  /** No progress bar, no log lines. */
  quiet?: boolean;
  /** Time to open the connection before the source counts as unreachable. */
  connectTimeoutMs?: number;
  /** Silence before the response headers (unreachable) or within the body (interrupted). */
  idleTimeoutMs?: number;
  /** Discard a partial file from an earlier run instead of resuming it. */
  fresh?: boolean;
  /** Resumed attempts after an interrupted transfer. */
  retries?: number;
  retryDelayMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
}

const DEFAULTS = { connectTimeoutMs: 5_000, idleTimeoutMs: 30_000, retries: 3, retryDelayMs: 1_000 };
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/** A transfer that broke off after it started: worth resuming. */
class Interrupted extends Error {}

export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const settings = { ...DEFAULTS, ...options };
  const part = `${options.target}.part`;
  const unlock = await lockDownload(options.target);
  const agent = new ProxyAgent();
  const say = (message: string) => {
    if (!options.quiet) log.info(message);
  };
  let progress: Progress | undefined;
  try {
    if (options.fresh) await rm(part, { force: true });
    say(`downloading ${options.url} to ${options.target}`);
    for (let attempt = 0; ; attempt++) {
      try {
        await transferOnce(options, part, agent, settings, say, (total) => {
          progress ??= options.quiet ? NO_BAR : bytesProgress(options.label ?? basename(options.target), total);
          return progress;
        });
        break;
      } catch (error) {
        if (!(error instanceof Interrupted)) throw error;
        if (attempt >= settings.retries) {
          throw new UserError(
            `download of ${options.url} interrupted (${error.message}); the partial file ${part} is kept: run the command again to resume`,
          );
        }
        say(`transfer interrupted (${error.message}); resuming, attempt ${attempt + 2} of ${settings.retries + 1}`);
        await new Promise((resolve) => setTimeout(resolve, settings.retryDelayMs));
      }
    }
    progress?.stop();
    progress = undefined;
    return await finish(options, part);
  } finally {
    progress?.stop();
    agent.destroy();
    await unlock();
  }
}

/**
 * One download per target at a time (`npm start` and `fetch-model` may race): a lock file
 * holding the owner's pid; a lock whose process is gone is stale and taken over.
 */
async function lockDownload(target: string): Promise<() => Promise<void>> {
  const lock = `${target}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError(`cannot write next to ${target}: ${errorMessage(error)}`, { cause: error });
      }
    }
    const owner = Number(await readFile(lock, 'utf8').catch(() => ''));
    if (isAlive(owner)) {
      throw new UserError(`${target} is being downloaded by process ${owner}; wait for it, or delete ${lock} if that is wrong`);
    }
    await rm(lock, { force: true });
  }
  throw new UserError(`cannot take the download lock ${lock}`);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One request: resumes from the bytes already in `part`, appends the rest, checks the length. */
async function transferOnce(
  options: DownloadOptions,
  part: string,
  agent: http.Agent,
  settings: typeof DEFAULTS,
  say: (message: string) => void,
  progressFor: (total: number) => Progress,
): Promise<void> {
  const offset = await sizeOf(part);
  const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
  const response = await open(options, headers, agent, settings);
  const length = Number(response.headers['content-length'] ?? NaN);
  let start = 0;
  let total = Number.isFinite(length) ? length : undefined;

  if (response.statusCode === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
    if (!range || Number(range[1]) !== offset) {
      say(`the server resumed at the wrong offset (${response.headers['content-range']}); starting over`);
      return startOver(response, options, part, agent, settings, say, progressFor);
    }
    start = offset;
    total = range[2] !== '*' ? Number(range[2]) : total !== undefined ? offset + total : undefined;
    say(`resuming at ${megabytes(offset)} of ${total !== undefined ? megabytes(total) : 'an unknown size'}`);
  } else if (response.statusCode === 416 && offset > 0) {
    // Nothing left to send: either the part file is already whole, or it is longer than the file.
    const size = /^bytes \*\/(\d+)$/.exec(response.headers['content-range'] ?? '')?.[1];
    if (Number(size) === offset) {
      response.resume();
      return;
    }
    say(`the partial file (${offset} bytes) does not match the server's (${size ?? 'unknown'} bytes); starting over`);
    return startOver(response, options, part, agent, settings, say, progressFor);
  } else if (response.statusCode !== 200) {
    response.resume();
    throw new UserError(`download of ${options.url} failed: HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trim());
  } else if (offset > 0) {
    say('the server does not resume transfers; starting over');
  }

  const progress = progressFor(total ?? options.expectedSize ?? 0);
  let done = start;
  const began = Date.now();
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      const rate = (done - start) / Math.max(1e-3, (Date.now() - began) / 1000);
      progress.update(done, { done: megabytes(done), rate: `${megabytes(rate)}/s` });
      callback(null, chunk);
    },
  });
  response.setTimeout(settings.idleTimeoutMs, () => response.destroy(new Error(`no data for ${settings.idleTimeoutMs / 1000} s`)));
  const file = createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
  let fileError: Error | undefined;
  file.on('error', (error) => (fileError = error));
  try {
    await pipeline(response, counter, file);
  } catch (error) {
    // A full disk or a read-only directory will not get better by trying again.
    if (fileError) throw new UserError(`cannot write ${part}: ${fileError.message}`, { cause: fileError });
    throw new Interrupted(`${errorMessage(error)} after ${megabytes(done)}`);
  }
  if (total !== undefined && done < total) throw new Interrupted(`connection closed after ${done} of ${total} bytes`);
  if (total !== undefined && done > total) {
    await rm(part, { force: true });
    throw new UserError(`download of ${options.url} failed: received ${done} bytes, the server announced ${total}; the file was removed`);
  }
}

/** Drops a response and the part file it does not fit, and transfers from byte 0 (no Range, so once). */
async function startOver(response: IncomingMessage, ...args: Parameters<typeof transferOnce>): Promise<void> {
  response.resume();
  await rm(args[1], { force: true });
  return transferOnce(...args);
}

/** Sends the request, following redirects (the Hub redirects to its CDN). */
async function open(
  options: DownloadOptions,
  headers: Record<string, string>,
  agent: http.Agent,
  timeouts: { connectTimeoutMs: number; idleTimeoutMs: number },
): Promise<IncomingMessage> {
  let url = new URL(options.url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new UserError(`cannot download ${url.href}: only http and https URLs are supported`);
    }
    let response: IncomingMessage;
    try {
      response = await request(url, headers, agent, timeouts);
    } catch (error) {
      throw new UserError(unreachable(options, url, error), { cause: error });
    }
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode ?? 0) || !location) return response;
    response.resume();
    url = new URL(location, url);
  }
  throw new UserError(`download of ${options.url} failed: more than ${MAX_REDIRECTS} redirects`);
}

/** One GET; rejects when the connection is not open within connectTimeoutMs or the headers do not follow within idleTimeoutMs. */
function request(
  url: URL,
  headers: Record<string, string>,
  agent: http.Agent,
  timeouts: { connectTimeoutMs: number; idleTimeoutMs: number },
): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { headers: { 'User-Agent': 'bonestream', ...headers }, agent }, (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    const giveUp = (what: string, ms: number) =>
      setTimeout(() => req.destroy(Object.assign(new Error(`${what} within ${ms / 1000} s`), { code: 'ETIMEDOUT' })), ms);
    let timer = giveUp('no connection', timeouts.connectTimeoutMs);
    const connected = () => {
      clearTimeout(timer);
      timer = giveUp('no answer', timeouts.idleTimeoutMs);
    };
    req.on('socket', (socket) => (socket.connecting ? socket.once('connect', connected) : connected()));
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The offline message: what failed, and how to put the file in place without this command. */
function unreachable(options: DownloadOptions, url: URL, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code && !errorMessage(error).includes(code) ? `${code}: ${errorMessage(error)}` : errorMessage(error);
  return [
    `cannot reach ${url.host} (${reason}).`,
    `This machine may be offline or need a proxy (set HTTPS_PROXY). To install the file by hand, download`,
    `  ${options.url}`,
    `on a connected machine and copy it to`,
    `  ${options.target}`,
    ...(options.sha256 ? [`(its sha256 is ${options.sha256})`] : []),
  ].join('\n');
}

/** Size, sha256 and the caller's validation, then the rename: a bad file never takes the final name. */
async function finish(options: DownloadOptions, part: string): Promise<DownloadResult> {
  const bytes = await sizeOf(part);
  const sha256 = await hashFile(part);
  if (options.sha256 && options.sha256.toLowerCase() !== sha256) {
    await rm(part, { force: true });
    throw new UserError(
      `download of ${options.url} is corrupt: sha256 ${sha256}, expected ${options.sha256}; the file was removed, run the command again`,
    );
  }
  if (options.validate) {
    try {
      await options.validate(part);
    } catch (error) {
      await rm(part, { force: true });
      throw new UserError(`download of ${options.url} is not usable and was removed: ${errorMessage(error)}`, { cause: error });
    }
  }
  await rename(part, options.target);
  await writeSha256(options.target, sha256);
  if (!options.quiet) log.info(`saved ${options.target} (${megabytes(bytes)}, sha256 ${sha256})`);
  return { path: options.target, bytes, sha256 };
}

/** `<file>.sha256` in the format of sha256sum, so `sha256sum -c` can check it. */
export async function writeSha256(file: string, sha256: string): Promise<void> {
  await writeFile(`${file}.sha256`, `${sha256}  ${basename(file)}\n`);
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function bytesProgress(label: string, total: number): Progress {
  return createProgress(label, total, `${label} [{bar}] {percentage}% | {done} of ${megabytes(total)} | {rate} | ETA {eta_formatted}`, {
    done: megabytes(0),
    rate: '–',
  });
}

/** Bytes as decimal megabytes with one decimal: `86.7 MB`. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
