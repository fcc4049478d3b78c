import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Debian's Chromium, or CHROMIUM_PATH; undefined when neither is there. */
export function findChromium(): string | undefined {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => path && existsSync(path));
}

/**
 * Headless Chromium with a fresh profile and nothing that reaches the network by itself
 * (no sync, component updates or background requests). close() removes the profile.
 */
export async function launchChromium(executablePath: string): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'bonestream-chromium-'));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  const browser = await puppeteer
    .launch({
      executablePath,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
      ],
    })
    .catch((error: unknown) => {
      removeProfile();
      throw error;
    });
  return {
    browser,
    async close() {
      await browser.close();
      removeProfile();
    },
  };
}
