import * as assert from 'uvu/assert';
import { UserError } from '../../src/util/errors.js';

/** Awaits a promise that must reject with a UserError, and returns its message. */
export async function userErrorMessage(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return messageOf(error);
  }
  return assert.unreachable('expected a UserError') as never;
}

/** Calls `run`, which must throw a UserError, and returns its message. */
export function thrownUserErrorMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return messageOf(error);
  }
  return assert.unreachable('expected a UserError') as never;
}

function messageOf(error: unknown): string {
  assert.instance(error, UserError);
  return (error as Error).message;
}
