import { main } from '../../src/cli.js';

/**
 * Runs the CLI in-process, capturing stdout and stderr; clears the process.exitCode a command set, so the test process's own exit status is untouched.
 * `logLevel` sets BONESTREAM_LOG for this run only: all test files share one process, and
 * some lower the level for the whole process (test/helpers/service.ts).
 */
export async function runCli(args: string[], logLevel?: 'debug' | 'info' | 'warn' | 'error'): Promise<{ code: number; stdout: string; stderr: string }> {
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  const level = process.env.BONESTREAM_LOG;
  if (logLevel) process.env.BONESTREAM_LOG = logLevel;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'bonestream', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = undefined;
    if (level === undefined) delete process.env.BONESTREAM_LOG;
    else process.env.BONESTREAM_LOG = level;
  }
}
