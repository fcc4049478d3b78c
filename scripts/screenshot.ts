/**
 * `node --import tsx scripts/screenshot.ts [--backend auto|dino|physics] [--out docs/client.png]`:
 * a screenshot of the browser client on the committed phantom video, for the README. It only
 * ever plays the phantom (never clips from ../shared/data, which must not be published).
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseSource } from '../src/ingest/source.js';
import { startServer } from '../src/server/server.js';
import { DEFAULT_VIDEO } from '../src/commands/serve.js';
import { defaultBackend } from '../test/helpers/live.js';
import { findChromium, launchChromium } from './chromium.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'physics' },
    out: { type: 'string', default: fileURLToPath(new URL('../docs/client.png', import.meta.url)) },
  },
});
const backend = values.backend as 'auto' | 'dino' | 'physics';
if (!['auto', 'dino', 'physics'].includes(backend)) throw new Error(`--backend must be auto, dino or physics (got ${backend})`);
const chromium = findChromium();
if (!chromium) throw new Error('no Chromium found: install Debian\'s chromium or set CHROMIUM_PATH');

const server = await startServer({
  source: parseSource(DEFAULT_VIDEO, { loop: true, realtime: true }),
  backend: defaultBackend(backend),
  port: 0,
});
const { browser, close } = await launchChromium(chromium);
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 620, deviceScaleFactor: 1 });
  await page.goto(server.url);
  await page.waitForFunction(() => Number(document.getElementById('masks-per-s')?.textContent) > 0, { timeout: 30_000 });
  // Let the rates settle over their two-second window.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await page.screenshot({ path: values.out! });
  process.stdout.write(`wrote ${values.out}\n`);
} finally {
  await close();
  await server.close();
}
