/**
 * Shared pieces of the `inference_*` tests: the SciPy/statsmodels fixtures written by
 * `tests/fixtures/inference/make_fixtures.py`, and a relative-or-absolute closeness check.
 *
 * @module
 */
import { assertAlmostEquals } from "./assert.ts";

/** The fixtures (see the generator's docstring for where each value comes from). */
// deno-lint-ignore no-explicit-any
export const FIXTURES: any = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/inference/fixtures.json", import.meta.url)),
);

/**
 * Asserts |actual − expected| ≤ max(rel·|expected|, abs).
 *
 * @param actual the computed value
 * @param expected the reference value
 * @param rel relative tolerance
 * @param abs absolute tolerance (default 0)
 * @param what what is compared, for the message
 */
export function assertClose(
  actual: number,
  expected: number,
  rel: number,
  abs = 0,
  what = "value",
): void {
  assertAlmostEquals(actual, expected, Math.max(rel * Math.abs(expected), abs), what);
}
