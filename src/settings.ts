import { z } from 'zod';
import { UserError } from './util/errors.js';

/**
 * The method's settings (docs/architecture.md, steps 5–6 and the rolling bank), one range
 * table for every way they arrive: command-line options, `startServer` options and the
 * control messages of the live service. Errors name the option as a user types it.
 */
export const SETTING_RANGES = {
  k: { min: 1, max: 64, integer: true },
  tau: { min: 0, max: 1, integer: false },
  votes: { min: 0, max: 100, integer: false },
  seed: { min: 0, max: 2 ** 31 - 1, integer: true },
  // The bank keeps every frame's descriptors (≈ 1.2 MB at 224 px, stride 8): 100 frames bound
  // its memory, live or replayed, and a control message cannot ask for more.
  window: { min: 1, max: 100, integer: true },
} as const;

export type SettingName = keyof typeof SETTING_RANGES;

export interface MethodSettings {
  k: number | 'auto';
  tau: number;
  votes: number;
  seed: number;
  window: number;
}

/** The option as typed on the command line: `--tau`, `--window` … */
export function optionName(name: SettingName): string {
  return `--${name}`;
}

/** The message for a value out of range, as every entry point words it. */
export function rangeMessage(name: SettingName, value: unknown): string {
  const { min, max, integer } = SETTING_RANGES[name];
  const what = name === 'k' ? `an integer in ${min}..${max} or auto` : `${integer ? 'an integer' : 'a number'} in ${min}..${max}`;
  return `${optionName(name)} must be ${what} (got ${String(value)})`;
}

/** The zod schema of one setting (k without its `auto`). */
export function settingSchema(name: SettingName): z.ZodNumber {
  const { min, max, integer } = SETTING_RANGES[name];
  const number = z.number().min(min).max(max);
  return integer ? number.int() : number;
}

const methodSettingsSchema = z.strictObject({
  k: z.union([z.literal('auto'), settingSchema('k')]),
  tau: settingSchema('tau'),
  votes: settingSchema('votes'),
  seed: settingSchema('seed'),
  window: settingSchema('window'),
});

/** Checks settings where they enter (a library caller, a worker's options); throws a UserError naming the first bad one. */
export function checkMethodSettings(settings: Partial<MethodSettings>): void {
  const result = methodSettingsSchema.partial().safeParse(settings);
  if (result.success) return;
  const name = result.error.issues[0].path[0] as SettingName | undefined;
  if (name === undefined || !(name in SETTING_RANGES)) throw new UserError(`unknown setting (${result.error.issues[0].message})`);
  throw new UserError(rangeMessage(name, (settings as Record<string, unknown>)[name]));
}
