/**
 * Shared helpers for the backtest tests: configs, price series, seeded random price paths
 * and signals (the calendars and the uniform stream are `synth_helpers.ts`'s).
 *
 * @module
 */
import { BacktestConfig } from "../src/config/schema.ts";
import { quarterOf } from "@alfred/core";
import type { PriceSeries, Signal } from "../src/backtest/types.ts";
import { assert, assertAlmostEquals } from "./assert.ts";

/**
 * A backtest config: the schema defaults overridden by `over`.
 *
 * @param over keys to override (YAML names)
 * @returns the parsed config
 */
export function config(over: Record<string, unknown> = {}): BacktestConfig {
  return BacktestConfig.parse(over);
}

/**
 * A price series from parallel lists.
 *
 * @param dates ISO dates ascending
 * @param close closes
 * @returns the series
 */
export function series(dates: string[], close: number[]): PriceSeries {
  return { dates, close: Float64Array.from(close) };
}

/**
 * A standard normal draw from a uniform generator (Box-Muller).
 *
 * @param u the uniform generator
 * @returns one draw
 */
export function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/**
 * Geometric random-walk closes on a calendar.
 *
 * @param dates the calendar
 * @param u the uniform generator
 * @param dailyVol daily log-return standard deviation
 * @returns the series, starting at 100
 */
export function randomWalk(dates: string[], u: () => number, dailyVol = 0.015): PriceSeries {
  const close = new Float64Array(dates.length);
  let p = 100;
  for (let i = 0; i < dates.length; i++) {
    if (i > 0) p *= Math.exp(dailyVol * normal(u));
    close[i] = p;
  }
  return { dates: [...dates], close };
}

/**
 * The last date of each calendar quarter in a calendar.
 *
 * @param dates ascending ISO dates
 * @returns one date per quarter, in order
 */
export function quarterEnds(dates: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < dates.length; i++) {
    if (i === dates.length - 1 || quarterOf(dates[i + 1]) !== quarterOf(dates[i])) {
      out.push(dates[i]);
    }
  }
  return out;
}

/**
 * Signals for every ticker at the given dates, scored by a function.
 *
 * @param tickers tickers
 * @param dates signal dates
 * @param score the score of (ticker, date index)
 * @returns the signals
 */
export function signalsFor(
  tickers: readonly string[],
  dates: readonly string[],
  score: (ticker: string, q: number) => number,
): Signal[] {
  const out: Signal[] = [];
  for (let q = 0; q < dates.length; q++) {
    for (const t of tickers) out.push({ ticker: t, date: dates[q], score: score(t, q) });
  }
  return out;
}

/**
 * Asserts two numbers agree to `tol · max(1, |expected|)`: absolute below 1, relative above.
 *
 * @param actual the computed value
 * @param expected the hand-computed value
 * @param tol the tolerance per unit of `max(1, |expected|)`
 * @param what label for the message
 * @throws {AssertionError} when they differ
 */
export function near(actual: number, expected: number, tol = 1e-9, what = "value"): void {
  assertAlmostEquals(actual, expected, tol * Math.max(1, Math.abs(expected)), what);
}

/**
 * Asserts a value holds no NaN or infinite number anywhere (it must survive JSON).
 *
 * @param value the value to scan
 * @param what label for the message
 * @throws {AssertionError} naming the paths of the bad numbers
 */
export function assertFinite(value: unknown, what = "result"): void {
  const bad: string[] = [];
  const scan = (x: unknown, path: string) => {
    if (typeof x === "number" && !Number.isFinite(x)) bad.push(`${path} = ${x}`);
    else if (x && typeof x === "object") {
      for (const [k, v] of Object.entries(x)) scan(v, `${path}.${k}`);
    }
  };
  scan(value, what);
  assert(bad.length === 0, `Non-finite numbers: ${bad.slice(0, 10).join(", ")}`);
}
