/**
 * Test assertions in the Deno standard library's names, built on Node's
 * `node:assert/strict` (JSR's `@std/assert` cannot be reached from our machines).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";

/** Asserts that `condition` is truthy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Asserts deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (message === undefined) nodeAssert.deepStrictEqual(actual, expected);
  else nodeAssert.deepStrictEqual(actual, expected, message);
}

/**
 * Whether `a` and `b` are deeply and strictly equal, by the rule {@linkcode assertEquals} asserts
 * (`NaN` equals `NaN`, `-0` does not equal `0`, an `undefined` key differs from a missing one):
 * for a test that collects its failures and reports them together.
 */
export function equal(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/** Asserts deep strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (message === undefined) nodeAssert.notDeepStrictEqual(actual, expected);
  else nodeAssert.notDeepStrictEqual(actual, expected, message);
}

/**
 * Asserts `|actual − expected| <= tolerance`, as `@std/assert` does: equal numbers (`Object.is`,
 * so `NaN` to `NaN`) pass, and the default tolerance is relative, `1e-7 · |expected|` (`1e-7`
 * when `expected` is not finite). An `actual` that is not a number (`null` or `undefined`, as a
 * metric may be) fails.
 */
export function assertAlmostEquals(
  actual: number | null | undefined,
  expected: number,
  tolerance?: number,
  message?: string,
): void {
  if (Object.is(actual, expected)) return;
  const bound = tolerance ?? (Number.isFinite(expected) ? Math.abs(expected * 1e-7) : 1e-7);
  const ok = typeof actual === "number" && Math.abs(expected - actual) <= bound;
  nodeAssert.ok(
    ok,
    `expected ${actual} to be within ${bound} of ${expected}${message ? `: ${message}` : ""}`,
  );
}

/** Asserts that `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (message === undefined) nodeAssert.match(text, pattern);
  else nodeAssert.match(text, pattern, message);
}

/** Asserts that `text` does not match `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  if (message === undefined) nodeAssert.doesNotMatch(text, pattern);
  else nodeAssert.doesNotMatch(text, pattern, message);
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  nodeAssert.ok(
    text.includes(part),
    message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(
  error: unknown,
  ErrorClass?: ErrorClass<E>,
  includes?: string,
): E {
  if (ErrorClass && !(error instanceof ErrorClass)) {
    nodeAssert.fail(`expected a ${ErrorClass.name}, got ${String(error)}`);
  }
  if (includes !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    nodeAssert.ok(
      message.includes(includes),
      `expected the error message to include ${JSON.stringify(includes)}: ${message}`,
    );
  }
  return error as E;
}

/** Asserts that `f` throws (optionally a given class, with a message fragment); returns the error. */
export function assertThrows<E extends Error = Error>(
  f: () => unknown,
  ErrorClass?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    f();
  } catch (error) {
    return checkError(error, ErrorClass, includes);
  }
  return nodeAssert.fail("expected the function to throw");
}

/** Asserts that `f` rejects (optionally a given class, with a message fragment); returns the error. */
export async function assertRejects<E extends Error = Error>(
  f: () => Promise<unknown>,
  ErrorClass?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await f();
  } catch (error) {
    return checkError(error, ErrorClass, includes);
  }
  return nodeAssert.fail("expected the promise to reject");
}
