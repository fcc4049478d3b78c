/**
 * `npm run bench [-- --json] [-- --only SUITES] [-- --soak] [-- --help]`: performance figures, measured
 * in one run so they can be compared as ratios (these machines are shared and noisy).
 */
import { parseArgs } from 'node:util';

type Bench = () => Promise<Record<string, unknown>>;

const SUITES: Record<string, () => Promise<Bench>> = {
  vit: async () => (await import('./vit.js')).benchVit,
  segment: async () => (await import('./segment.js')).benchSegment,
  service: async () => (await import('./service.js')).benchService,
  surface: async () => (await import('./surface.js')).benchSurface,
  stability: async () => (await import('./stability.js')).benchStability,
};

const USAGE = `usage: npm run bench [-- options]

performance figures, measured in one run so that they compare as ratios

options:
  --json            print the figures as JSON (default: a table)
  --only <suites>   comma-separated suites to run (default: all of ${Object.keys(SUITES).join(', ')})
  --soak            the long soak instead (50 clients and an abusive one against the live service)
  -h, --help        this text

environment: BONESTREAM_SOAK_SECONDS sets the soak's length (seconds, at least 10)
`;

let values: { json: boolean; only?: string; soak: boolean; help: boolean };
try {
  ({ values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      soak: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const selected = values.soak ? ['soak'] : (values.only?.split(',') ?? Object.keys(SUITES));
const results: Record<string, unknown> = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version, date: new Date().toISOString() },
};
for (const name of selected) {
  const load = name === 'soak' ? async () => (await import('./soak.js')).benchSoak : SUITES[name];
  if (!load) {
    process.stderr.write(`bench: unknown suite ${name} (known: ${Object.keys(SUITES).join(', ')}, soak)\n`);
    process.exit(2);
  }
  process.stderr.write(`bench: ${name}…\n`);
  results[name] = await (await load())();
}
process.stdout.write(values.json ? JSON.stringify(results, null, 2) + '\n' : formatTable(results));

function formatTable(all: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const [suite, figures] of Object.entries(all)) {
    lines.push(`# ${suite}`);
    for (const [key, value] of Object.entries(figures as Record<string, unknown>)) {
      lines.push(`  ${key.padEnd(48)} ${typeof value === 'number' ? +value.toFixed(3) : JSON.stringify(value)}`);
    }
  }
  return lines.join('\n') + '\n';
}
