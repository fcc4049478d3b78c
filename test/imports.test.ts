import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/env.js';
import { tempDir } from './helpers/videos.js';

const run = promisify(execFile);
const DEPCRUISE = join(REPO_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(REPO_ROOT, '.dependency-cruiser.cjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}
interface CruiseResult {
  modules: Array<{ source: string; dependencies: Array<{ resolved: string }> }>;
  summary: { violations: Violation[]; totalCruised: number };
}

/** Runs the depcruise CLI with the project's rules in `cwd`; it exits non-zero on a violation, so the JSON is read either way. */
async function cruise(cwd: string, paths: string[]): Promise<CruiseResult> {
  const args = [DEPCRUISE, ...paths, '--config', CONFIG, '--output-type', 'json', '--no-progress'];
  const output = await run(process.execPath, args, { cwd, maxBuffer: 64 << 20 }).then(
    (done) => done.stdout,
    (failed: { stdout?: string; message: string }) => failed.stdout || assert.unreachable(`depcruise failed: ${failed.message}`),
  );
  return JSON.parse(output as string) as CruiseResult;
}

test('imports run one way: no cycle, no arrow against ingest → vit | physics → segment → surface → server → client', async () => {
  const result = await cruise(REPO_ROOT, ['src', 'client']);
  const listed = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  assert.equal(listed, [], `violations:\n${listed.join('\n')}`);
  // The cruise saw the real graph, not an empty one: the modules and an arrow every run has.
  assert.ok(result.summary.totalCruised > 100, `cruised ${result.summary.totalCruised} modules`);
  const relay = result.modules.find((m) => m.source === 'src/server/relay.ts');
  assert.ok(relay?.dependencies.some((d) => d.resolved === 'src/wire/protocol.ts'), 'server/relay.ts → wire/protocol.ts is seen');
});

test('the rules catch a cycle, a backend importing the other, segmentation importing evaluation, and the client importing the server', async () => {
  const dir = tempDir('bonestream-imports-');
  try {
    const files: Record<string, string> = {
      'tsconfig.json': '{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext" } }',
      'src/physics/a.ts': "import { b } from '../vit/b.js';\nexport const a = b;\n",
      'src/vit/b.ts': 'export const b = 1;\n',
      'src/segment/c.ts': "import { d } from './d.js';\nimport { e } from '../eval/e.js';\nexport const c = d + e;\n",
      'src/segment/d.ts': "import { c } from './c.js';\nexport const d = 1;\nexport const cc = () => c;\n",
      'src/eval/e.ts': 'export const e = 1;\n',
      'client/f.ts': "import { g } from '../src/server/g.js';\nexport const f = g;\n",
      'src/server/g.ts': 'export const g = 1;\n',
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const result = await cruise(dir, ['src', 'client']);
    const found = new Set(result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`));
    for (const expected of [
      'flow-physics: src/physics/a.ts → src/vit/b.ts',
      'flow-segment: src/segment/c.ts → src/eval/e.ts',
      'no-circular: src/segment/c.ts → src/segment/d.ts',
      'flow-client: client/f.ts → src/server/g.ts',
    ]) {
      assert.ok(found.has(expected), `expected ${expected}; found:\n${[...found].join('\n')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
