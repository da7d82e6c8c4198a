/**
 * Calendar helpers for the backtest: quarters of ISO dates, the trading
 * calendar (union of price dates), aligning price series onto it and
 * searching it.
 *
 * @module
 */
import type { PriceSeries } from "./types.ts";

const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Checks an ISO date string.
 *
 * @param date the value to check
 * @param what what the date is, for the error message
 * @throws {RangeError} when the value is not `YYYY-MM-DD`
 */
export function assertIsoDate(date: string, what: string): void {
  const m = ISO.exec(date);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12 || Number(m[3]) < 1 || Number(m[3]) > 31) {
    throw new RangeError(`Invalid date "${date}" in ${what}: expected YYYY-MM-DD`);
  }
}

/**
 * The calendar quarter of an ISO date.
 *
 * @param date ISO date `YYYY-MM-DD`
 * @returns the quarter as `YYYYQn`
 * @example
 * ```ts
 * quarterOf("1995-09-29"); // "1995Q3"
 * ```
 */
export function quarterOf(date: string): string {
  const month = Number(date.slice(5, 7));
  return `${date.slice(0, 4)}Q${Math.floor((month - 1) / 3) + 1}`;
}

/**
 * The quarter after a quarter.
 *
 * @param quarter `YYYYQn`
 * @returns the next quarter, `YYYYQn`
 * @example
 * ```ts
 * nextQuarter("1995Q4"); // "1996Q1"
 * ```
 */
export function nextQuarter(quarter: string): string {
  const year = Number(quarter.slice(0, 4));
  const q = Number(quarter.slice(5));
  return q === 4 ? `${year + 1}Q1` : `${year}Q${q + 1}`;
}

/**
 * The last calendar day of a quarter.
 *
 * @param quarter `YYYYQn`
 * @returns ISO date of the quarter's last calendar day
 * @example
 * ```ts
 * quarterEnd("1995Q1"); // "1995-03-31"
 * ```
 */
export function quarterEnd(quarter: string): string {
  const q = Number(quarter.slice(5));
  return `${quarter.slice(0, 4)}-${["03-31", "06-30", "09-30", "12-31"][q - 1]}`;
}

/**
 * Calendar days between two ISO dates (`to - from`).
 *
 * @param from ISO date
 * @param to ISO date
 * @returns whole days, negative when `to` is earlier
 */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * Checks a price series: dates valid and strictly ascending, closes finite and positive.
 *
 * @param name the ticker or series name, for error messages
 * @param series the series to check
 * @throws {RangeError} naming the series and the offending date
 */
export function validatePriceSeries(name: string, series: PriceSeries): void {
  if (series.dates.length !== series.close.length) {
    throw new RangeError(
      `Invalid price series "${name}": ${series.dates.length} dates but ${series.close.length} closes`,
    );
  }
  for (let i = 0; i < series.dates.length; i++) {
    const d = series.dates[i];
    assertIsoDate(d, `price series "${name}"`);
    if (i > 0 && d <= series.dates[i - 1]) {
      throw new RangeError(
        `Invalid price series "${name}": dates must be strictly ascending, got "${d}" after "${
          series.dates[i - 1]
        }"`,
      );
    }
    const c = series.close[i];
    if (!Number.isFinite(c) || c <= 0) {
      throw new RangeError(
        `Invalid price series "${name}" on "${d}": close must be finite and positive, got ${c}`,
      );
    }
  }
}

/**
 * The trading calendar: the sorted union of the dates of several series.
 *
 * @param series the series whose dates are merged
 * @returns ISO dates ascending, unique
 */
export function buildCalendar(series: Iterable<PriceSeries>): string[] {
  const set = new Set<string>();
  for (const s of series) for (const d of s.dates) set.add(d);
  return [...set].sort();
}

/**
 * Puts a series onto a calendar.
 *
 * @param series the series
 * @param calendar ascending ISO dates
 * @param forwardFill carry the last value over calendar days the series lacks (index, yields)
 * @returns one value per calendar day; NaN where the series has no value (no bar, or before its start)
 */
export function alignToCalendar(
  series: PriceSeries,
  calendar: readonly string[],
  forwardFill: boolean,
): Float64Array {
  const out = new Float64Array(calendar.length).fill(NaN);
  let j = 0;
  let last = NaN;
  for (let i = 0; i < calendar.length; i++) {
    const day = calendar[i];
    while (j < series.dates.length && series.dates[j] < day) {
      last = series.close[j];
      j++;
    }
    if (j < series.dates.length && series.dates[j] === day) {
      last = series.close[j];
      out[i] = last;
      j++;
    } else if (forwardFill) {
      out[i] = last;
    }
  }
  return out;
}

/**
 * Index of the first calendar day strictly after a date.
 *
 * @param calendar ascending ISO dates
 * @param date ISO date
 * @returns the index, or -1 when no day follows
 */
export function firstAfter(calendar: readonly string[], date: string): number {
  let lo = 0;
  let hi = calendar.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (calendar[mid] <= date) lo = mid + 1;
    else hi = mid;
  }
  return lo < calendar.length ? lo : -1;
}

/**
 * Index of the last calendar day on or before a date.
 *
 * @param calendar ascending ISO dates
 * @param date ISO date
 * @returns the index, or -1 when every day is later
 */
export function lastOnOrBefore(calendar: readonly string[], date: string): number {
  const after = firstAfter(calendar, date);
  return (after === -1 ? calendar.length : after) - 1;
}
