/**
 * Structured, leveled log lines on stderr. Never pass image data here: logs may end up in
 * a hospital's central logging, and pixel data is patient data.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function threshold(): number {
  const env = (process.env.BONESTREAM_LOG ?? 'info') as Level;
  return ORDER[env] ?? ORDER.info;
}

const toStderr = (line: string): void => {
  process.stderr.write(line);
};
let sink = toStderr;

/**
 * Sends log lines to `to` (a progress bar writes them above itself, src/util/progress.ts),
 * or back to stderr when `to` is undefined.
 */
export function routeLog(to: ((line: string) => void) | undefined): void {
  sink = to ?? toStderr;
}

function write(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold()) return;
  const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
  sink(`${new Date().toISOString()} ${level.padEnd(5)} ${message}${extra}\n`);
}

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
};

type Emit = (message: string, fields?: Record<string, unknown>) => void;

/**
 * `emit` for at most `perSecond` lines a second; the lines over it are counted and reported
 * in one line when their second is over. For lines a client can cause at will (connects,
 * control messages): a flood must not flood the log too.
 */
export function throttled(emit: Emit, perSecond: number, what: string): Emit {
  let windowStart = -Infinity;
  let count = 0;
  let suppressed = 0;
  const flush = () => {
    if (suppressed) emit(`${suppressed} more ${what} not logged (limit ${perSecond} a second)`);
    suppressed = 0;
  };
  return (message, fields) => {
    const now = performance.now();
    if (now - windowStart >= 1000) {
      flush();
      windowStart = now;
      count = 0;
    }
    if (++count <= perSecond) return emit(message, fields);
    if (suppressed++ === 0) setTimeout(flush, Math.max(0, windowStart + 1000 - now)).unref();
  };
}
