import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The reference OpenIGTLink example programs (Debian: libopenigtlink-dev openigtlink-examples
 * cmake g++; .ci/run installs them), built once with cmake into a cache outside the checkout
 * and reused by later runs.
 */
export const EXAMPLES = '/usr/share/doc/openigtlink-examples/examples';
const CONFIG_DIR = '/usr/lib/openigtlink';
export const TEST_IMAGES = join(EXAMPLES, 'Imager/img');

export interface ReferencePrograms {
  /** `ImagerServer <port> <fps> <imgdir>`: serves 256×256 uint8 test images, 100 per connection. */
  imagerServer: string;
  /** `ReceiveClient <host> <port>`: prints each message it receives; IMAGE ones after the library's CRC check. */
  receiveClient: string;
}

const run = promisify(execFile);

/** Why the reference programs cannot be built here, or undefined when they can. */
export function referenceMissing(): string | undefined {
  if (!existsSync(join(EXAMPLES, 'Imager/ImagerServer.cxx')) || !existsSync(join(CONFIG_DIR, 'OpenIGTLinkConfig.cmake'))) {
    return 'the reference OpenIGTLink library and examples (apt-get install libopenigtlink-dev openigtlink-examples cmake g++)';
  }
  return undefined;
}

export async function buildReferencePrograms(): Promise<ReferencePrograms> {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bonestream', 'openigtlink-examples');
  const build = async (folder: string, target: string): Promise<string> => {
    const dir = join(cache, folder);
    const binary = join(dir, target);
    if (existsSync(binary)) return binary;
    mkdirSync(dir, { recursive: true });
    // The examples ask for CMake 2.4; CMake 4 refuses anything before 3.5 unless told this.
    await run('cmake', ['-S', join(EXAMPLES, folder), '-B', dir, `-DOpenIGTLink_DIR=${CONFIG_DIR}`, '-DCMAKE_POLICY_VERSION_MINIMUM=3.5'], { timeout: 120_000 });
    await run('cmake', ['--build', dir, '--target', target], { timeout: 240_000 });
    return binary;
  };
  return { imagerServer: await build('Imager', 'ImagerServer'), receiveClient: await build('Receiver', 'ReceiveClient') };
}
