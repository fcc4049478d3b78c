import { InvalidArgumentError } from 'commander';
import { FACETS, type Facet } from '../config.js';
import { SETTING_RANGES, optionName, rangeMessage, type SettingName } from '../settings.js';

/** A commander option parser for an integer within [min, max]; errors name the value. */
export function intInRange(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max} (got ${raw})`);
    }
    return value;
  };
}

/** A commander option parser for a finite number within [min, max]. */
export function numberInRange(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be a number in ${min}..${max} (got ${raw})`);
    }
    return value;
  };
}

/** The parser of a method setting's option (--tau, --window …), with the range every entry point uses. */
export function settingParser(name: SettingName): (raw: string) => number {
  const { min, max, integer } = SETTING_RANGES[name];
  const parse = (integer ? intInRange : numberInRange)(optionName(name), min, max);
  return (raw: string): number => {
    try {
      return parse(raw);
    } catch {
      throw new InvalidArgumentError(rangeMessage(name, raw));
    }
  };
}

/** A commander option parser for a comma-separated list of numbers, each within [min, max]. */
export function numberList(name: string, min: number, max: number) {
  const one = numberInRange(name, min, max);
  return (raw: string): number[] => raw.split(',').map((part) => one(part.trim()));
}

/** A facet name; `option` names the option in the message (--facet, or viz's --facets). */
export function facet(raw: string, option = '--facet'): Facet {
  if (!(FACETS as readonly string[]).includes(raw)) {
    throw new InvalidArgumentError(`${option} must ${option === '--facet' ? 'be one of' : 'list only'} ${FACETS.join(', ')} (got ${raw})`);
  }
  return raw as Facet;
}
