import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CLIENT_DIR = fileURLToPath(new URL('../../client/', import.meta.url));
const SCRIPT_SLOT = '<!-- client script -->';

export interface ClientPage {
  html: string;
  /**
   * Content-Security-Policy for the page: only its own inline script (by hash) runs, it may
   * connect only to this server, and no other site may frame it.
   */
  csp: string;
}

let page: Promise<ClientPage> | undefined;

/**
 * The browser client as one HTML document: client/main.ts bundled by esbuild in memory
 * and inlined into client/index.html, built once per process on first use. Inlining keeps
 * the page a single request, so a page opened with `?token=` needs no further credentials.
 */
export function clientPage(): Promise<ClientPage> {
  page ??= buildPage().catch((error) => {
    page = undefined;
    throw error;
  });
  return page;
}

async function buildPage(): Promise<ClientPage> {
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
  const hash = createHash('sha256').update(code, 'utf8').digest('base64');
  return {
    html: html.replace(SCRIPT_SLOT, () => `<script type="module">${code}</script>`),
    csp: [
      "default-src 'none'",
      `script-src 'sha256-${hash}'`,
      "style-src 'unsafe-inline'",
      "img-src 'self' blob: data:",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; '),
  };
}
