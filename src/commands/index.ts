import type { Command } from 'commander';
import { register as serve } from './serve.js';
import { register as video } from './video.js';
import { register as features } from './features.js';
import { register as experiment } from './experiment.js';
import { register as viz } from './viz.js';
import { register as fetchModel } from './fetch-model.js';
import { register as phantom } from './phantom.js';
import { register as cosegment } from './cosegment.js';
import { register as segment } from './segment.js';
import { register as checkPrecision } from './check-precision.js';

/**
 * Every subcommand, in the order `bonestream --help` lists them. A command module exports
 * `register(program)`, which adds the subcommand with all its options and their defaults.
 * Actions set `process.exitCode` when some of the work failed; they throw UserError for
 * input the user must fix.
 */
export const COMMANDS: Array<(program: Command) => void> = [
  serve,
  video,
  fetchModel,
  features,
  cosegment,
  segment,
  experiment,
  viz,
  checkPrecision,
  phantom,
];
