import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/env.js';
import { tempDir } from './helpers/videos.js';

/** A bad --out is found before the work, named, without a stack trace, and never hangs (/proc). */
const dir = tempDir('bonestream-out-');
const data = join(REPO_ROOT, 'fixtures/phantom-data');
const images = [join(data, 'images/phantom-00.png'), join(data, 'images/phantom-01.png')];
const fast = ['--backend', 'physics', '--load-size', '64'];
const file = join(dir, 'a-file');
const features = join(dir, 'features');

test.before(async () => {
  writeFileSync(file, 'in the way\n');
  const made = await runCli(['features', ...images, '--out', features, ...fast]);
  assert.is(made.code, 0, made.stderr);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const commands: Array<[string, string[]]> = [
  ['segment', ['segment', ...images, ...fast]],
  ['cosegment', ['cosegment', features]],
  ['features', ['features', ...images, ...fast]],
  ['experiment', ['experiment', 'same-domain', '--images', join(data, 'images'), '--labels', join(data, 'labels/surface'), '--sizes', '2', '--repeats', '1', ...fast]],
];

for (const [name, args] of commands) {
  test(`${name}: --out that is a file, or under /proc, fails at once with exit 1 and the option named`, async () => {
    for (const [out, message] of [
      [file, /--out .*a-file: .*a-file is a file, not a folder/],
      [join(file, 'sub'), /--out .*a-file\/sub: .*a-file is a file, not a folder/],
      ['/proc/bonestream-test/x', /--out \/proc\/bonestream-test\/x: cannot create \/proc\/bonestream-test/],
    ] as const) {
      const started = Date.now();
      const { code, stderr } = await runCli([...args, '--out', out]);
      assert.is(code, 1, `${name} --out ${out}: ${stderr}`);
      assert.match(stderr, message);
      assert.not.match(stderr, /internal error|\n\s+at /, 'no stack trace');
      assert.not.match(stderr, /backend: /, 'refused before the backend is opened');
      assert.ok(Date.now() - started < 20_000, `${name} --out ${out} took ${Date.now() - started} ms`);
    }
  });
}

test.run();
