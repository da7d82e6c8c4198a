/**
 * Small assertion helpers for the models, losses and backend tests (no JSR,
 * so no `@std/assert`). Messages name expected and actual values.
 *
 * @module
 */
import { deepStrictEqual } from "node:assert";

/** Throws when `condition` is falsy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Deep strict equality (node:assert semantics). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** `|actual − expected| ≤ tolerance`, NaN never passes. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(
      `${
        message ? message + ": " : ""
      }expected ${expected} ± ${tolerance}, got ${actual} (difference ${
        Math.abs(actual - expected)
      })`,
    );
  }
}

/** `fn` throws an instance of `type` whose message contains `includes`. */
export function assertThrows(
  fn: () => unknown,
  type: new (...args: never[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, type, includes);
    return e as Error;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}

/** `fn()` rejects with an instance of `type` whose message contains `includes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  type: new (...args: never[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, type, includes);
    return e as Error;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}

function checkError(e: unknown, type: new (...args: never[]) => Error, includes?: string): void {
  if (!(e instanceof type)) {
    throw new Error(`expected ${type.name}, got ${(e as Error)?.constructor?.name}: ${e}`);
  }
  if (includes !== undefined && !e.message.includes(includes)) {
    throw new Error(`expected the message to contain "${includes}", got "${e.message}"`);
  }
}
