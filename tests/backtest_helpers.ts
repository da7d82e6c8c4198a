/**
 * Shared helpers for the backtest tests: configs, price series, business-day
 * calendars, seeded random price paths and signals.
 *
 * @module
 */
import { BacktestConfig } from "../src/config/schema.ts";
import { Prng, quarterOf } from "@alfred/core";
import type { PriceSeries, Signal } from "../src/backtest/types.ts";

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
 * Monday-to-Friday dates from `from` to `to` inclusive.
 *
 * @param from ISO date
 * @param to ISO date
 * @returns ISO dates
 */
export function businessDays(from: string, to: string): string[] {
  const out: string[] = [];
  for (
    let t = Date.parse(`${from}T00:00:00Z`);
    t <= Date.parse(`${to}T00:00:00Z`);
    t += 86_400_000
  ) {
    const d = new Date(t);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

/**
 * A seeded uniform generator on [0, 1): `@alfred/core`'s mulberry32 from the seed as its state.
 *
 * @param seed integer seed
 * @returns the generator
 */
export function rng(seed: number): () => number {
  const p = Prng.fromState(seed);
  return () => p.next();
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
 * Asserts two numbers agree to a relative tolerance.
 *
 * @param actual the computed value
 * @param expected the hand-computed value
 * @param tol relative tolerance
 * @param what label for the message
 * @throws {Error} when they differ
 */
export function near(actual: number, expected: number, tol = 1e-9, what = "value"): void {
  const scale = Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tol * scale)) {
    throw new Error(`${what}: expected ${expected}, got ${actual}`);
  }
}

/**
 * Asserts a value holds no NaN or infinite number anywhere (it must survive JSON).
 *
 * @param value the value to scan
 * @param what label for the message
 * @throws {Error} naming the paths of the bad numbers
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
  if (bad.length > 0) throw new Error(`Non-finite numbers: ${bad.slice(0, 10).join(", ")}`);
}
