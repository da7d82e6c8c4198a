/**
 * Minimal assertions for the config tests (no JSR, so no @std/assert).
 *
 * @module
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  /** @param message What failed. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Asserts that `cond` is truthy. */
export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(message);
}

function canonical(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x !== null && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
        : x === undefined
        ? "__undefined__"
        : x,
  );
}

/** Asserts deep equality (key order ignored; arrays ordered). */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) {
    throw new AssertionError(
      `${message ? message + "\n" : ""}values differ:\n  actual:   ${a}\n  expected: ${e}`,
    );
  }
}

/** Asserts deep inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  if (canonical(actual) === canonical(expected)) {
    throw new AssertionError(message ?? `expected values to differ: ${canonical(actual)}`);
  }
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  if (!text.includes(part)) {
    throw new AssertionError(
      message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
    );
  }
}

/** Asserts that the promise returned by `fn` rejects with an instance of `cls`; returns the error. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw new AssertionError(
      `expected ${cls.name}, got ${e instanceof Error ? e.stack : String(e)}`,
    );
  }
  throw new AssertionError(`expected ${cls.name} to be thrown, but nothing was`);
}
