import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'puppeteer-core';
import { findChromium, launchChromium } from '../scripts/chromium.js';
import { startPhantomServer } from './helpers/service.js';
import { serveOn } from './helpers/live.js';
import { needing } from './helpers/env.js';
import { DEFAULT_OVERLAY } from '../src/segment/overlay.js';
import { renderPhantom, PHANTOM_VIDEO } from '../src/phantom/index.js';
import { truthRows } from './helpers/phantom-truth.js';
import { makeResizingVideo, resizingUnsupported, tempDir } from './helpers/videos.js';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

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
const withChromiumResizing = needing(chromium ? resizingUnsupported : 'no Chromium (set CHROMIUM_PATH or install Debian\'s chromium)');

/** Toolbar items wrapped onto a further row: those that start below the first item's bottom. */
const wrappedItems = (page: Page) =>
  page.evaluate(() => {
    const items = Array.from(document.querySelectorAll('header > *'), (item) => item.getBoundingClientRect());
    return items.filter((item) => item.top >= items[0].bottom).length;
  });

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
    // Default line colour #00c8ff, the overlay PNGs' cyan: green well above red where the line is.
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
    // The canvas is its element's size in device pixels (devicePixelRatio 1 here), not the video's.
    const size = await page.$eval('#view', (canvas) => [(canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height, canvas.clientWidth, canvas.clientHeight]);
    assert.equal(size.slice(0, 2), size.slice(2));
    assert.ok(green > 100 && green < size[0] * size[1] * 0.05, `the line covers ${green} pixels`);

    // One colour for the surface line here and in the overlay PNGs and videos.
    const lineHex = `#${DEFAULT_OVERLAY.line.color.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
    assert.is(await page.$eval('#colour', (input) => (input as HTMLInputElement).value), lineHex);
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

/** The phantom's true surface row per column (centre of its band; −1 where no bone: JSON has no NaN), for each frame of its loop. */
function loopTruth(): number[][] {
  return Array.from({ length: PHANTOM_VIDEO.loopFrames }, (_, frame) => Array.from(truthRows(renderPhantom(PHANTOM_VIDEO, frame).surface), (row) => (Number.isNaN(row) ? -1 : row)));
}

withChromium('the bone surface is a crisp line over the bone at devicePixelRatio 2, with the width and colour of the URL, and the fill on request', async () => {
  const server = await startPhantomServer();
  const { browser, close } = await launchChromium(chromium!);
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 800, height: 600, deviceScaleFactor: 2 });
    await page.goto(`${server.url}?colour=00ff66&width=3`);
    await page.$eval('#sync', (input) => {
      (input as HTMLInputElement).checked = true;
      input.dispatchEvent(new Event('change'));
    });
    await page.waitForFunction(() => /delayed to the mask's frame \d+/.test(document.getElementById('note')?.textContent ?? ''), { timeout: 20_000 });
    assert.is(await page.$eval('#line-width', (input) => (input as HTMLInputElement).value), '3');
    // One look at the canvas and the note together: the frame drawn is the mask's own (sync), so its truth is known.
    const look = await page.evaluate((truth: number[][]) => {
      const canvas = document.getElementById('view') as HTMLCanvasElement;
      const seq = Number(/frame (\d+)/.exec(document.getElementById('note')!.textContent!)![1]);
      const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const rows = truth[seq % truth.length];
      const scale = Math.min(width / rows.length, height / rows.length);
      const box = { x: (width - rows.length * scale) / 2, y: (height - rows.length * scale) / 2 };
      // No named helpers in here: the test's loader would wrap them in a function the page lacks.
      // Green over red: > 80 is the line (coverage > 1/3 of #00ff66 over gray), 10..80 its blended edge.
      let bone = 0;
      let hit = 0;
      let blended = 0;
      const thickness: number[] = [];
      rows.forEach((row, x) => {
        if (row < 0) return;
        bone++;
        const cx = Math.round(box.x + (x + 0.5) * scale);
        let run = 0;
        // The line within 6 source px of the true surface, in this canvas column.
        for (let y = Math.round(box.y + (row - 6) * scale); y <= Math.round(box.y + (row + 6) * scale); y++) {
          const excess = data[(y * width + cx) * 4 + 1] - data[(y * width + cx) * 4];
          if (excess > 80) run++;
          else if (excess > 10) blended++;
        }
        if (run) {
          hit++;
          thickness.push(run);
        }
      });
      let far = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 1] - data[i] > 80) far++;
      thickness.sort((a, b) => a - b);
      return { canvas: [width, height, canvas.clientWidth, canvas.clientHeight], bone, hit, blended, thickness: thickness[thickness.length >> 1] ?? 0, coloured: far };
    }, loopTruth());
    assert.equal(look.canvas.slice(0, 2), [look.canvas[2] * 2, look.canvas[3] * 2], 'the canvas has devicePixelRatio × its CSS size');
    assert.ok(look.hit >= 0.8 * look.bone, `the line lies on the true surface in ${look.hit} of ${look.bone} bone columns`);
    // 3 CSS px × 2: about 6 device px across (more where the line slopes), not a band of the mask.
    assert.ok(look.thickness >= 5 && look.thickness <= 10, `line ${look.thickness} device px thick`);
    assert.ok(look.blended > 0, 'anti-aliased edges');
    // The fill adds the band: several times the line's pixels.
    await page.$eval('#fill', (input) => {
      (input as HTMLInputElement).checked = true;
      input.dispatchEvent(new Event('change'));
    });
    const filled = await countTinted(page, 'green');
    assert.ok(filled > look.coloured * 1.5, `fill ${filled} pixels against the line's ${look.coloured}`);
  } finally {
    await close();
    await server.close();
  }
});

withChromium('a disconnected client does not look live (dimmed, no mask, banner with the last mask\'s age, status unknown) and reconnects by itself; the toolbar is one row at 1280 px', async () => {
  const first = await startPhantomServer();
  const { browser, close } = await launchChromium(chromium!);
  let second: Awaited<ReturnType<typeof startPhantomServer>> | undefined;
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(first.url);
    await page.waitForFunction(() => Number(document.getElementById('masks-per-s')?.textContent) > 0, { timeout: 20_000 });
    assert.is(await wrappedItems(page), 0, 'toolbar items wrapped while live');
    await first.close();
    await page.waitForFunction(() => /server stopped; reconnecting/.test(document.getElementById('connection')?.textContent ?? ''), { timeout: 5000 });
    assert.is(await wrappedItems(page), 0, 'toolbar items wrapped while reconnecting');
    for (const id of ['backend', 'source-state', 'fps-in', 'masks-per-s', 'mask-age']) assert.is(await text(page, id), 'unknown', id);
    assert.is(await countTinted(page, 'green'), 0, 'the mask is hidden');
    assert.match(await page.$eval('#view', (canvas) => getComputedStyle(canvas).filter), /brightness\(0\.35\)/);
    const banner = () => page.$eval('#banner', (element) => ((element as HTMLElement).hidden ? '' : element.textContent ?? ''));
    assert.match(await banner(), /^NOT LIVE: no connection to the server \(last mask \d+ s ago\)$/);
    // The banner's age keeps counting while the server is away.
    const shownAge = Number(/last mask (\d+) s ago/.exec(await banner())![1]);
    await page.waitForFunction((before) => Number(/last mask (\d+) s ago/.exec(document.getElementById('banner')?.textContent ?? '')?.[1]) > before, { timeout: 6000 }, shownAge);
    second = await startPhantomServer({ port: first.port });
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'connected', { timeout: 15_000 });
    assert.is(await banner(), '', 'the banner goes once connected');
    assert.match(await page.$eval('#view', (canvas) => getComputedStyle(canvas).filter), /^none$/);
    // Frames of the new server (seq from 0 again) are drawn: the note names a fresh mask.
    const note = await text(page, 'note');
    await page.waitForFunction((before) => document.getElementById('note')?.textContent !== before, { timeout: 10_000 }, note);
    assert.is(await text(page, 'source-state'), 'running');
  } finally {
    // first.close() again is a no-op when the test got that far; after an early failure it ends the server.
    await close();
    await Promise.all([first.close(), second?.close()]);
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

withChromiumResizing('when the source changes size the client draws the new frames at their own aspect ratio', async () => {
  const dir = tempDir('bonestream-browser-sizes-');
  const video = join(dir, 'shrinking.ts');
  await makeResizingVideo(video, [{ frames: 5, width: 64, height: 48 }, { frames: 25, width: 80, height: 30 }], 10);
  const server = await serveOn(video, { realtime: true });
  const { browser, close } = await launchChromium(chromium!);
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    // The picture is the canvas's non-black box (the test pattern has no black): 8:3 once the 80x30 frames come, not 4:3.
    const aspect = () =>
      page.evaluate(() => {
        const canvas = document.getElementById('view') as HTMLCanvasElement;
        const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let [top, bottom, left, right] = [height, -1, width, -1];
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            if (data[(y * width + x) * 4] < 10) continue;
            [top, bottom, left, right] = [Math.min(top, y), Math.max(bottom, y), Math.min(left, x), Math.max(right, x)];
          }
        }
        return bottom < 0 ? 0 : (right - left + 1) / (bottom - top + 1);
      });
    const deadline = Date.now() + 10_000;
    let seen = await aspect();
    while (Math.abs(seen - 8 / 3) > 0.1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = await aspect();
    }
    assert.ok(Math.abs(seen - 8 / 3) <= 0.1, `the picture's aspect ratio is ${seen.toFixed(2)}, not 8:3`);
  } finally {
    await close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
