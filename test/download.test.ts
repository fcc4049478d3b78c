import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { downloadFile, type DownloadOptions } from '../src/vit/download.js';
import { loadVitWeights } from '../src/vit/weights.js';
import { userErrorMessage } from './helpers/user-error.js';
import { makeTinyVit } from './helpers/tiny-vit.js';
import { closedPort, proxyEnvironment, serveBytes, serveThenDrop, startServer, type LoopbackServer } from './helpers/loopback-http.js';

/** A generated tiny ViT (~400 kB) stands in for the 87 MB model. */
const MODEL = makeTinyVit({ dim: 64, depth: 2, heads: 2, mlpDim: 256, posGrid: 4, seed: 3 });
const SHA256 = createHash('sha256').update(MODEL).digest('hex');

interface Context {
  dir: string;
  server: LoopbackServer;
  /** What the test server does with each request; requests are recorded. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  requests: Array<{ url: string; range?: string }>;
  restoreEnv: () => void;
}

const test = suite<Context>('download');

test.before(async (context) => {
  context.restoreEnv = proxyEnvironment();
  context.server = await startServer((req, res) => {
    context.requests.push({ url: req.url ?? '', range: req.headers.range });
    context.handler(req, res);
  });
});

test.after(async (context) => {
  await context.server.close();
  context.restoreEnv();
});

test.before.each((context) => {
  context.dir = mkdtempSync(join(tmpdir(), 'bonestream-download-'));
  context.requests = [];
  context.handler = (req, res) => serveBytes(MODEL, req, res);
});

test.after.each((context) => {
  rmSync(context.dir, { recursive: true, force: true });
});

function options(context: Context, extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return {
    url: `${context.server.origin}/model.safetensors`,
    target: join(context.dir, 'tiny.safetensors'),
    validate: async (path) => void (await loadVitWeights(path)),
    quiet: true,
    retryDelayMs: 0,
    ...extra,
  };
}

test('downloads through a redirect, renames into place and records the sha256', async (context) => {
  context.handler = (req, res) => {
    if (req.url === '/model.safetensors') {
      res.writeHead(302, { Location: '/cdn/blob?x=1' });
      res.end();
    } else serveBytes(MODEL, req, res);
  };
  const target = join(context.dir, 'tiny.safetensors');
  const result = await downloadFile(options(context, { sha256: SHA256 }));
  assert.equal(result, { path: target, bytes: MODEL.length, sha256: SHA256 });
  assert.ok(readFileSync(target).equals(MODEL));
  assert.not.ok(existsSync(`${target}.part`));
  assert.is(readFileSync(`${target}.sha256`, 'utf8'), `${SHA256}  tiny.safetensors\n`);
  assert.equal(context.requests.map((r) => r.url), ['/model.safetensors', '/cdn/blob?x=1']);
});

test('an interrupted transfer resumes with a Range request and completes', async (context) => {
  const cut = 150_000;
  context.handler = (req, res) => (context.requests.length === 1 ? serveThenDrop(MODEL, cut, res) : serveBytes(MODEL, req, res));
  const result = await downloadFile(options(context, { sha256: SHA256, retries: 2 }));
  assert.is(result.sha256, SHA256);
  assert.is(context.requests.length, 2);
  assert.is(context.requests[0].range, undefined);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(context.requests[1].range ?? '')?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= cut, `resumed at ${context.requests[1].range}`);
  assert.ok(readFileSync(result.path).equals(MODEL));
});

test('without retries the partial file is kept, and the next run resumes it', async (context) => {
  const cut = 200_000;
  context.handler = (req, res) => (context.requests.length === 1 ? serveThenDrop(MODEL, cut, res) : serveBytes(MODEL, req, res));
  const target = join(context.dir, 'tiny.safetensors');
  const message = await userErrorMessage(downloadFile(options(context, { retries: 0 })));
  assert.match(message, /interrupted .*the partial file .*tiny\.safetensors\.part is kept: run the command again to resume/);
  assert.not.ok(existsSync(target));
  const kept = statSync(`${target}.part`).size;
  assert.ok(kept > 0 && kept <= cut);
  const result = await downloadFile(options(context, { sha256: SHA256, retries: 0 }));
  assert.is(context.requests[1].range, `bytes=${kept}-`);
  assert.is(result.sha256, SHA256);
  assert.not.ok(existsSync(`${target}.part`));
});

test('starts over when the server ignores Range and answers 200', async (context) => {
  const target = join(context.dir, 'tiny.safetensors');
  writeFileSync(`${target}.part`, Buffer.alloc(1000, 0xff));
  context.handler = (_req, res) => {
    res.writeHead(200, { 'Content-Length': MODEL.length });
    res.end(MODEL);
  };
  const result = await downloadFile(options(context, { sha256: SHA256 }));
  assert.is(context.requests[0].range, 'bytes=1000-');
  assert.ok(readFileSync(result.path).equals(MODEL));
});

test('fresh: a partial file from an earlier run is discarded, not resumed', async (context) => {
  const target = join(context.dir, 'tiny.safetensors');
  writeFileSync(`${target}.part`, MODEL.subarray(0, 1000));
  await downloadFile(options(context, { sha256: SHA256, fresh: true }));
  assert.equal(context.requests.map((r) => r.range), [undefined]);
});

test('a part file that is already complete is finished without a transfer (416)', async (context) => {
  const target = join(context.dir, 'tiny.safetensors');
  writeFileSync(`${target}.part`, MODEL);
  const result = await downloadFile(options(context, { sha256: SHA256 }));
  assert.is(context.requests[0].range, `bytes=${MODEL.length}-`);
  assert.is(result.bytes, MODEL.length);
  assert.ok(existsSync(target));
});

test('a part file longer than the server\'s file (416), or a resume at the wrong offset, starts over', async (context) => {
  const target = join(context.dir, 'tiny.safetensors');
  writeFileSync(`${target}.part`, Buffer.alloc(MODEL.length + 10));
  const first = await downloadFile(options(context, { sha256: SHA256 }));
  assert.equal(context.requests.map((r) => r.range), [`bytes=${MODEL.length + 10}-`, undefined]);
  assert.is(first.sha256, SHA256);

  rmSync(target);
  writeFileSync(`${target}.part`, MODEL.subarray(0, 5000));
  context.requests = [];
  context.handler = (req, res) => {
    if (!req.headers.range) return serveBytes(MODEL, req, res);
    res.writeHead(206, { 'Content-Length': MODEL.length - 4000, 'Content-Range': `bytes 4000-${MODEL.length - 1}/${MODEL.length}` });
    res.end(MODEL.subarray(4000));
  };
  const second = await downloadFile(options(context, { sha256: SHA256, retries: 0 }));
  assert.equal(context.requests.map((r) => r.range), ['bytes=5000-', undefined]);
  assert.is(second.sha256, SHA256);
});

test('a corrupt file (sha256 mismatch) is refused: not renamed, .part removed', async (context) => {
  const corrupt = Buffer.from(MODEL);
  corrupt[corrupt.length - 1] ^= 0xff;
  context.handler = (req, res) => serveBytes(corrupt, req, res);
  const target = join(context.dir, 'tiny.safetensors');
  const message = await userErrorMessage(downloadFile(options(context, { sha256: SHA256 })));
  assert.match(message, new RegExp(`is corrupt: sha256 [0-9a-f]{64}, expected ${SHA256}; the file was removed`));
  assert.not.ok(existsSync(target));
  assert.not.ok(existsSync(`${target}.part`));
  assert.not.ok(existsSync(`${target}.sha256`));
});

test('a complete transfer that is not valid weights is refused and removed', async (context) => {
  const truncated = MODEL.subarray(0, MODEL.length - 4096);
  context.handler = (req, res) => serveBytes(truncated, req, res);
  const target = join(context.dir, 'tiny.safetensors');
  const message = await userErrorMessage(downloadFile(options(context)));
  assert.match(message, /is not usable and was removed: .*tiny\.safetensors\.part: truncated: tensor /);
  assert.not.ok(existsSync(target));
  assert.not.ok(existsSync(`${target}.part`));
});

test('HTTP 404 is an error naming the URL; nothing is left behind', async (context) => {
  context.handler = (_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Entry not found');
  };
  const message = await userErrorMessage(downloadFile(options(context)));
  assert.match(message, /download of http:\/\/127\.0\.0\.1:\d+\/model\.safetensors failed: HTTP 404 Not Found/);
  assert.not.ok(existsSync(join(context.dir, 'tiny.safetensors.part')));
});

test('offline (connection refused) fails fast with how to place the file by hand', async (context) => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}/facebook/model.safetensors`;
  const target = join(context.dir, 'dino.safetensors');
  const began = Date.now();
  const message = await userErrorMessage(downloadFile(options(context, { url, target, sha256: SHA256 })));
  assert.ok(Date.now() - began < 3000, 'fails fast');
  assert.match(message, new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`));
  assert.ok(message.includes(`download\n  ${url}\n`), message);
  assert.ok(message.includes(`copy it to\n  ${target}\n`), message);
  assert.ok(message.includes(`sha256 is ${SHA256}`), message);
  assert.not.ok(existsSync(`${target}.part`));
});

test('a server that accepts the connection but never answers counts as unreachable', async (context) => {
  context.handler = () => {};
  const began = Date.now();
  const message = await userErrorMessage(downloadFile(options(context, { idleTimeoutMs: 300 })));
  assert.ok(Date.now() - began < 2000);
  assert.match(message, /^cannot reach 127\.0\.0\.1:\d+ \(ETIMEDOUT: no answer within 0\.3 s\)/);
  assert.is(context.requests.length, 1);
});

test('a server that sends headers but no data is given up on after the idle timeout', async (context) => {
  context.handler = (_req, res) => {
    res.writeHead(200, { 'Content-Length': MODEL.length });
    res.flushHeaders();
  };
  const message = await userErrorMessage(downloadFile(options(context, { idleTimeoutMs: 200, retries: 1 })));
  assert.match(message, /interrupted \(no data for 0\.2 s/);
  assert.is(context.requests.length, 2);
});

test('one download per target: a live lock refuses, a stale lock is taken over and released', async (context) => {
  const target = join(context.dir, 'tiny.safetensors');
  writeFileSync(`${target}.lock`, String(process.pid));
  const message = await userErrorMessage(downloadFile(options(context)));
  assert.match(message, new RegExp(`tiny\\.safetensors is being downloaded by process ${process.pid}; wait for it, or delete .*tiny\\.safetensors\\.lock`));
  assert.is(context.requests.length, 0);
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(`${target}.lock`, String(dead));
  await downloadFile(options(context, { sha256: SHA256 }));
  assert.not.ok(existsSync(`${target}.lock`));
});

test('a file that cannot be written is an error at once, not a retried interruption', async (context) => {
  const missingDir = await userErrorMessage(downloadFile(options(context, { target: join(context.dir, 'no', 'such', 'w.safetensors') })));
  assert.match(missingDir, /cannot write next to .*no\/such\/w\.safetensors: ENOENT/);
  const target = join(context.dir, 'tiny.safetensors');
  mkdirSync(`${target}.part`);
  context.handler = (_req, res) => {
    res.writeHead(200, { 'Content-Length': MODEL.length });
    res.end(MODEL);
  };
  const message = await userErrorMessage(downloadFile(options(context, { retries: 3 })));
  assert.match(message, /cannot write .*tiny\.safetensors\.part: EISDIR/);
  assert.is(context.requests.length, 1);
});

test('goes through HTTP_PROXY when it is set', async (context) => {
  const proxied: string[] = [];
  const proxy = await startServer((req, res) => {
    proxied.push(req.url ?? '');
    serveBytes(MODEL, req, res);
  });
  const restore = proxyEnvironment({ HTTP_PROXY: proxy.origin });
  try {
    const result = await downloadFile(options(context, { url: 'http://weights.invalid/model.safetensors', sha256: SHA256 }));
    assert.is(result.sha256, SHA256);
    assert.equal(proxied, ['http://weights.invalid/model.safetensors']);
  } finally {
    restore();
    await proxy.close();
  }
});

test.run();
