/**
 * Which way imports may run (docs/architecture.md, "Layers"). test/imports.test.ts runs these
 * rules from `npm test`; `npx depcruise src client` runs them by hand.
 *
 * The flow: ingest → vit | physics → backend.ts → segment → surface → stream → server; the client only
 * speaks the wire format; eval, replay, phantom and commands sit on top. Each layer lists what it
 * may import; anything else under src/ or client/ is an arrow against the flow.
 */

/**
 * Shared by every layer and importing only each other: shapes, defaults, helpers, the wire
 * format, and the OpenIGTLink codec (igtl/: ingest reads it, the server writes it).
 */
const NEUTRAL = '^src/(types\\.ts|config\\.ts|settings\\.ts|limits\\.ts|patches\\.ts|util/|io/|wire/|igtl/|surface/types\\.ts)';

const INGEST = '^src/ingest/';
const VIT = '^src/vit/';
const PHYSICS = '^src/physics/';
const BACKEND = '^src/backend\\.ts$';
const SEGMENT = '^src/segment/';
const SURFACE = '^src/surface/';
const STREAM = '^src/stream/';
const SERVER = '^src/server/';
const CLIENT = '^client/';
const REPLAY = '^src/replay/';
const EVAL = '^src/eval/';
const PHANTOM = '^src/phantom/';
const COMMANDS = '^src/(commands/|cli\\.ts$)';

/** Each layer and what it may import besides NEUTRAL and itself. */
const LAYERS = {
  ingest: [INGEST, []],
  vit: [VIT, [INGEST]],
  physics: [PHYSICS, [INGEST]],
  backend: [BACKEND, [INGEST, VIT, PHYSICS]],
  segment: [SEGMENT, [INGEST, VIT, PHYSICS, BACKEND]],
  surface: [SURFACE, [INGEST, VIT, PHYSICS, BACKEND, SEGMENT]],
  stream: [STREAM, [INGEST, VIT, PHYSICS, BACKEND, SEGMENT, SURFACE]],
  server: [SERVER, [INGEST, VIT, PHYSICS, BACKEND, SEGMENT, SURFACE, STREAM]],
  client: [CLIENT, []],
  replay: [REPLAY, [INGEST, VIT, PHYSICS, BACKEND, SEGMENT, SURFACE, STREAM]],
  eval: [EVAL, [INGEST, VIT, PHYSICS, BACKEND, SEGMENT, SURFACE, STREAM]],
  phantom: [PHANTOM, [INGEST]],
  commands: [COMMANDS, [INGEST, VIT, PHYSICS, BACKEND, SEGMENT, SURFACE, STREAM, SERVER, REPLAY, EVAL, PHANTOM]],
};

const layerRules = Object.entries(LAYERS).map(([name, [path, below]]) => ({
  name: `flow-${name}`,
  comment: `${name} imports only the neutral modules${below.length ? ' and the layers below it' : ''}`,
  severity: 'error',
  from: { path },
  to: { path: '^(src|client)/', pathNot: [NEUTRAL, path, ...below] },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycle, within a folder or across folders',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'neutral-stays-neutral',
      comment: 'the neutral modules import only each other, so every layer can use them',
      severity: 'error',
      from: { path: NEUTRAL },
      to: { path: '^(src|client)/', pathNot: NEUTRAL },
    },
    ...layerRules,
    {
      name: 'commander-in-commands-only',
      comment: 'the inference worker loads src/ without commander; option parsing lives in src/commands/',
      severity: 'error',
      from: { pathNot: COMMANDS },
      to: { path: '^node_modules/commander/' },
    },
    {
      name: 'product-not-tests',
      comment: 'src/ and client/ never import tests, benchmarks, scripts or fixtures',
      severity: 'error',
      from: { path: '^(src|client)/' },
      to: { path: '^(test|bench|scripts|fixtures)/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve is a typo or a missing dependency',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are arrows too: a type moved against the flow drags its module's meaning with it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages as Node does for this ESM project (vega-lite exports only 'default' and 'types').
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default', 'types'] },
  },
};
