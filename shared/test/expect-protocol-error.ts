import { expect } from '@jest/globals';
import { isProtocolError, type ErrorCode, type ProtocolError } from '#shared';

/** Runs `action`, which must throw a ProtocolError with `code`; returns the error for further checks. */
export function expectProtocolError(action: () => unknown, code: ErrorCode): ProtocolError {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  if (!isProtocolError(thrown)) {
    throw new Error(
      `expected a ProtocolError ${code}, got ${thrown === undefined ? 'no error' : String(thrown)}`,
    );
  }
  expect(thrown.code).toBe(code);
  return thrown;
}
