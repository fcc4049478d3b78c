import * as assert from 'uvu/assert';
import { UserError } from '../../src/util/errors.js';

/** Awaits a promise that must reject with a UserError, and returns its message. */
export async function userErrorMessage(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, UserError);
    return (error as Error).message;
  }
  return assert.unreachable('expected a UserError') as never;
}
