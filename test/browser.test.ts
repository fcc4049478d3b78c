import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'puppeteer-core';
import { findChromium, launchChromium } from '../scripts/chromium.js';
import { startPhantomServer } from './helpers/service.js';
import { serveOn } from './helpers/live.js';
import { needing } from './helpers/env.js';

/** Pixels of the canvas where the overlay colour dominates the gray video (overlay present). */
function countTinted(page: Page, channel: 'red' | 'green'): Promise<number> {
  return page.evaluate((channel) => {
    const canvas = document.getElementById('view') as HTMLCanvasElement;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g] = [data[i], data[i + 1]];
      if (channel === 'green' ? g - r > 80 : r - g > 80) count++;
    }
    return count;
  }, channel);
}

const chromium = findChromium();
const withChromium = needing(chromium ? undefined : 'no Chromium (set CHROMIUM_PATH or install Debian\'s chromium)');

const text = (page: Page, id: string) => page.$eval(`#${id}`, (element) => element.textContent ?? '');

withChromium('the client in headless Chromium draws the video with the mask overlay and live stats', async () => {
  const server = await startPhantomServer({ token: 'browser-test-token' });
  const { browser, close } = await launchChromium(chromium!);
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(String(error)));
    // Console errors include Content-Security-Policy violations and failed requests.
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    await page.goto(`${server.url}?token=browser-test-token`);
    await page.waitForFunction(() => Number(document.getElementById('masks-per-s')?.textContent) > 0, { timeout: 20_000 });
    // Default overlay colour #00ff66: green where the mask is.
    await page.waitForFunction(
      () => {
        const canvas = document.getElementById('view') as HTMLCanvasElement;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        for (let i = 0; i < data.length; i += 4) if (data[i + 1] - data[i] > 80) return true;
        return false;
      },
      { timeout: 10_000 },
    );
    const green = await countTinted(page, 'green');
    const size = await page.$eval('#view', (canvas) => [(canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height]);
    assert.equal(size, [256, 256]);
    assert.ok(green > 100 && green < 256 * 256 * 0.3, `overlay covers ${green} pixels`);

    assert.match(await text(page, 'backend'), /PHYSICS/);
    assert.is(await text(page, 'source-state'), 'running');
    const fps = Number(await text(page, 'fps-in'));
    assert.ok(fps > 3 && fps < 20, `frames/s ${fps}`);
    const age1 = await text(page, 'mask-age');
    assert.match(age1, /^\d+ ms$/);
    await page.waitForFunction((before) => document.getElementById('mask-age')?.textContent !== before, { timeout: 5000 }, age1);

    // The colour control recolours the overlay.
    await page.$eval('#colour', (input) => {
      (input as HTMLInputElement).value = '#ff0000';
      input.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(
      () => {
        const canvas = document.getElementById('view') as HTMLCanvasElement;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        for (let i = 0; i < data.length; i += 4) if (data[i] - data[i + 1] > 80) return true;
        return false;
      },
      { timeout: 5000 },
    );
    assert.ok((await countTinted(page, 'red')) > 100);
    assert.is(await countTinted(page, 'green'), 0);
    assert.equal(problems, []);
  } finally {
    await close();
    await server.close();
  }
});

withChromium('a disconnected client does not look live (dimmed, no mask, banner with the last mask\'s age, status unknown) and reconnects by itself', async () => {
  const first = await startPhantomServer();
  const { browser, close } = await launchChromium(chromium!);
  let second: Awaited<ReturnType<typeof startPhantomServer>> | undefined;
  try {
    const page = await browser.newPage();
    await page.goto(first.url);
    await page.waitForFunction(() => Number(document.getElementById('masks-per-s')?.textContent) > 0, { timeout: 20_000 });
    await first.close();
    await page.waitForFunction(() => /server stopped; reconnecting/.test(document.getElementById('connection')?.textContent ?? ''), { timeout: 5000 });
    for (const id of ['backend', 'source-state', 'fps-in', 'masks-per-s', 'mask-age']) assert.is(await text(page, id), 'unknown', id);
    assert.is(await countTinted(page, 'green'), 0, 'the mask is hidden');
    assert.match(await page.$eval('#view', (canvas) => getComputedStyle(canvas).filter), /brightness\(0\.35\)/);
    const banner = () => page.$eval('#banner', (element) => ((element as HTMLElement).hidden ? '' : element.textContent ?? ''));
    assert.match(await banner(), /^NOT LIVE: no connection to the server \(last mask \d+ s ago\)$/);
    // The banner's age keeps counting while the server is away.
    await page.waitForFunction(() => /last mask [2-9] s ago/.test(document.getElementById('banner')?.textContent ?? ''), { timeout: 6000 });
    second = await startPhantomServer({ port: first.port });
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'connected', { timeout: 15_000 });
    assert.is(await banner(), '', 'the banner goes once connected');
    assert.match(await page.$eval('#view', (canvas) => getComputedStyle(canvas).filter), /^none$/);
    // Frames of the new server (seq from 0 again) are drawn: the note names a fresh mask.
    const note = await text(page, 'note');
    await page.waitForFunction((before) => document.getElementById('note')?.textContent !== before, { timeout: 10_000 }, note);
    assert.is(await text(page, 'source-state'), 'running');
  } finally {
    await close();
    await second?.close();
  }
});

withChromium('a source that is not running is flagged from the first message on (hello), not only after a status change', async () => {
  const server = await serveOn('/nonexistent/bonestream-absent.mp4', {});
  const { browser, close } = await launchChromium(chromium!);
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'connected', { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById('source-state')?.textContent !== 'connecting', { timeout: 5000 });
    assert.is(await text(page, 'source-state'), 'error');
    assert.is(await page.$eval('#source-state', (element) => element.className), 'bad');
    // The reason is on the page, over the picture (not only in /healthz).
    assert.match(await text(page, 'banner'), /^source error: .*bonestream-absent\.mp4: no such file/);
    assert.is(await page.$eval('#banner', (element) => (element as HTMLElement).hidden), false);
  } finally {
    await close();
    await server.close();
  }
});

test.run();
