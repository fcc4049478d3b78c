import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetchModel, locateWeights, readManifest, weightsPath } from '../src/vit/models.js';
import { listModels } from '../src/commands/fetch-model.js';
import { userErrorMessage } from './helpers/user-error.js';
import { makeTinyVit } from './helpers/tiny-vit.js';
import { REPO_ROOT } from './helpers/env.js';
import { closedPort, proxyEnvironment, serveBytes, startServer, type LoopbackServer } from './helpers/loopback-http.js';

const MODEL = makeTinyVit({ dim: 64, depth: 2, heads: 2, mlpDim: 128, posGrid: 4, seed: 11 });

interface Context {
  dir: string;
  server: LoopbackServer;
  requests: number;
  restoreEnv: () => void;
  modelsDirBefore: string | undefined;
}

const test = suite<Context>('models');

test.before(async (context) => {
  context.restoreEnv = proxyEnvironment();
  context.modelsDirBefore = process.env.BONESTREAM_MODELS_DIR;
  context.server = await startServer((req, res) => {
    context.requests++;
    serveBytes(MODEL, req, res);
  });
});

test.after(async (context) => {
  await context.server.close();
  context.restoreEnv();
  if (context.modelsDirBefore === undefined) delete process.env.BONESTREAM_MODELS_DIR;
  else process.env.BONESTREAM_MODELS_DIR = context.modelsDirBefore;
});

test.before.each((context) => {
  context.dir = mkdtempSync(join(tmpdir(), 'bonestream-models-'));
  context.requests = 0;
  process.env.BONESTREAM_MODELS_DIR = context.dir;
});

test.after.each((context) => {
  rmSync(context.dir, { recursive: true, force: true });
});

test('the manifest lists the four DINO models, ViT-S/8 by default, each consistent with its architecture', () => {
  const manifest = readManifest();
  assert.is(manifest.default, 'dino-vits8');
  assert.equal(Object.keys(manifest.models).sort(), ['dino-vitb16', 'dino-vitb8', 'dino-vits16', 'dino-vits8']);
  for (const [name, entry] of Object.entries(manifest.models)) {
    const { dim, heads, patch } = entry.architecture;
    assert.is(entry.repo, `facebook/${name}`);
    assert.is(entry.license, 'Apache-2.0');
    assert.ok(entry.url.startsWith(`https://huggingface.co/facebook/${name}/resolve/`), entry.url);
    assert.ok(entry.url.endsWith('/model.safetensors'), entry.url);
    assert.is(dim / heads, 64, name);
    assert.is(name.endsWith(`${patch}`), true, name);
    // float32 parameters of a 12-block ViT without pooler; the header adds ~22 kB.
    const grid = 224 / patch;
    const params = dim + (1 + grid * grid) * dim + dim * 3 * patch * patch + dim + 12 * (12 * dim * dim + 13 * dim) + 2 * dim;
    assert.ok(entry.size - 4 * params > 0 && entry.size - 4 * params < 30_000, `${name}: ${entry.size} vs ${4 * params}`);
  }
});

test('locateWeights: manifest names resolve in the models directory, files are taken as they are', async (context) => {
  assert.is(await locateWeights('dino-vits8'), undefined);
  writeFileSync(weightsPath('dino-vits8'), 'x');
  assert.is(await locateWeights('dino-vits8'), join(context.dir, 'dino-vits8.safetensors'));
  const custom = join(context.dir, 'mine.safetensors');
  writeFileSync(custom, MODEL);
  assert.is(await locateWeights(custom), custom);
  assert.match(await userErrorMessage(locateWeights('dino-vitz8')), /unknown model dino-vitz8; known models: dino-vits8, dino-vits16, dino-vitb8, dino-vitb16/);
  assert.match(await userErrorMessage(locateWeights(join(context.dir, 'absent.safetensors'))), /no such file .*absent\.safetensors/);
});

test('fetchModel downloads into the models directory, then finds it present without a request', async (context) => {
  const url = `${context.server.origin}/tiny.safetensors`;
  const path = await fetchModel('tiny', { url, quiet: true });
  assert.is(path, join(context.dir, 'tiny.safetensors'));
  assert.ok(readFileSync(path).equals(MODEL));
  assert.ok(existsSync(`${path}.sha256`));
  assert.is(context.requests, 1);
  assert.is(await fetchModel('tiny', { url, quiet: true }), path);
  assert.is(context.requests, 1);
  await fetchModel('tiny', { url, quiet: true, force: true });
  assert.is(context.requests, 2);
});

test('a model fetched under its own name is listed and usable by that name', async (context) => {
  await fetchModel('tiny', { url: `${context.server.origin}/tiny.safetensors`, quiet: true });
  assert.is(await locateWeights('tiny'), join(context.dir, 'tiny.safetensors'));
  const row = listModels(context.dir).split('\n').find((line) => line.startsWith('tiny '));
  assert.match(row ?? '', /^tiny\s+yes \([\d.]+ [kM]B\)\s+-\s+not in the manifest/);
  assert.match(await userErrorMessage(locateWeights('tinier')), /unknown model tinier; known models: dino-vits8, .*dino-vitb16, tiny \(/);
});

test('fetchModel refuses weights whose architecture is not the named model and removes them', async (context) => {
  const other = join(context.dir, 'elsewhere');
  const message = await userErrorMessage(fetchModel('dino-vits8', { url: `${context.server.origin}/x`, modelsDir: other, quiet: true }));
  assert.match(message, /not usable and was removed: .*dino-vits8\.safetensors\.part: not dino-vits8: dim 64 \(expected 384\), depth 2 \(expected 12\), heads 2 \(expected 6\)/);
  assert.not.ok(existsSync(join(other, 'dino-vits8.safetensors')));
  assert.not.ok(existsSync(join(other, 'dino-vits8.safetensors.part')));
});

test('fetchModel validates a file placed by hand and names it when it is broken', async (context) => {
  writeFileSync(weightsPath('dino-vits8'), MODEL.subarray(0, 100));
  assert.match(await userErrorMessage(fetchModel('dino-vits8', { quiet: true })), /dino-vits8\.safetensors: not a valid safetensors file: header length/);
  assert.is(context.requests, 0);
  assert.match(await userErrorMessage(fetchModel('nonesuch', { quiet: true })), /unknown model nonesuch; known models: .*give --url/);
  assert.match(await userErrorMessage(fetchModel('../evil', { url: 'http://127.0.0.1:9/x', quiet: true })), /model name "\.\.\/evil" must be letters/);
});

test('--list shows every model, the default and which are present', (context) => {
  writeFileSync(weightsPath('dino-vitb8'), Buffer.alloc(2_500_000));
  const lines = listModels(context.dir).split('\n');
  assert.match(lines[0], /^model\s+present\s+size\s+architecture\s+licence\s+source$/);
  assert.match(lines[1], /^dino-vits8 \(default\)\s+no\s+86\.7 MB\s+dim 384, 12 blocks, 6 heads, patch 8\s+Apache-2\.0\s+facebook\/dino-vits8@main$/);
  assert.match(lines.find((line) => line.startsWith('dino-vitb8 ')) ?? '', /yes \(2\.5 MB\)/);
  assert.ok(lines.includes(`weights directory: ${context.dir}`));
});

test('the fetch-model command prints the manual instructions and exits 1 when offline', async (context) => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}/dino-vits8/model.safetensors`;
  const run = promisify(execFile);
  const env = { ...process.env, BONESTREAM_NO_PROGRESS: '1' };
  const error = await run(process.execPath, ['bin/bonestream.js', 'fetch-model', 'dino-vits8', '--url', url, '--models-dir', context.dir], { cwd: REPO_ROOT, env }).then(
    () => assert.unreachable('fetch-model must fail') as never,
    (failed: { code: number; stderr: string }) => failed,
  );
  assert.is(error.code, 1);
  assert.match(error.stderr, /bonestream: cannot reach 127\.0\.0\.1:\d+ \(.*ECONNREFUSED/);
  assert.ok(error.stderr.includes(`  ${join(context.dir, 'dino-vits8.safetensors')}\n`), error.stderr);
  assert.not.match(error.stderr, /\n\s+at /);
});

test.run();
