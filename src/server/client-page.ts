import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CLIENT_DIR = fileURLToPath(new URL('../../client/', import.meta.url));
const SCRIPT_SLOT = '<!-- client script -->';

let page: Promise<string> | undefined;

/**
 * The browser client as one HTML document: client/main.ts bundled by esbuild in memory
 * and inlined into client/index.html, built once per process on first use. Inlining keeps
 * the page a single request, so a page opened with `?token=` needs no further credentials.
 */
export function clientPage(): Promise<string> {
  page ??= buildPage().catch((error) => {
    page = undefined;
    throw error;
  });
  return page;
}

async function buildPage(): Promise<string> {
  const [html, bundle] = await Promise.all([
    readFile(`${CLIENT_DIR}index.html`, 'utf8'),
    build({
      entryPoints: [`${CLIENT_DIR}main.ts`],
      bundle: true,
      write: false,
      format: 'esm',
      target: 'es2020',
      minify: true,
      logLevel: 'silent',
    }),
  ]);
  // A literal "</script" inside the code would end the inline element early.
  const code = bundle.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
  return html.replace(SCRIPT_SLOT, () => `<script type="module">${code}</script>`);
}
