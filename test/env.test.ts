import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from './helpers/env.js';

/** Runs uvu, as `npm test` does, on one file whose second test needs something absent. */
function runSuite(env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bonestream-skips-'));
  try {
    const helper = pathToFileURL(resolve(REPO_ROOT, 'test/helpers/env.ts')).href;
    // An ES module (.mts, outside the package's "type") importing the same uvu module as the helper.
    const uvu = import.meta.resolve('uvu');
    writeFileSync(
      join(dir, 'needs.test.mts'),
      `import { test } from '${uvu}';\nimport { needing } from '${helper}';\n` +
        `test('always runs', () => {});\nneeding('no frobnicator')('needs a frobnicator', () => {});\ntest.run();\n`,
    );
    const { CI: _ci, ...rest } = process.env;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', dir, '\\.test\\.mts$'], {
      cwd: REPO_ROOT,
      env: { ...rest, NO_COLOR: '1', ...env },
      encoding: 'utf8',
    });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a test needing something absent is counted as skipped in the summary, with the reason printed', () => {
  const { status, output } = runSuite({});
  assert.is(status, 0, output);
  assert.match(output, /skipped: needs a frobnicator: no frobnicator/);
  // uvu's Total counts the tests that ran.
  assert.match(output, /Total:\s+1\b/);
  assert.match(output, /Passed:\s+1\b/);
  assert.match(output, /Skipped:\s+1\b/);
});

test('under CI a missing requirement fails its test, and nothing is skipped', () => {
  const { status, output } = runSuite({ CI: '1' });
  assert.is(status, 1, output);
  assert.match(output, /required under CI: no frobnicator/);
  assert.match(output, /Skipped:\s+0\b/);
});

test.run();
