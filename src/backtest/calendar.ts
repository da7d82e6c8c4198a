/**
 * The backtest's trading calendar: the union of price dates, aligning price
 * series onto it and searching it. Dates and quarters themselves are
 * `@alfred/core`'s.
 *
 * @module
 */
import { countAtOrBelow, isIsoDate } from "@alfred/core";
import type { PriceSeries } from "./types.ts";

/**
 * Checks an ISO date string.
 *
 * @param date the value to check
 * @param what what the date is, for the error message
 * @throws {RangeError} when the value is not a calendar date written `YYYY-MM-DD`
 */
export function assertIsoDate(date: string, what: string): void {
  if (!isIsoDate(date)) {
    throw new RangeError(`Invalid date "${date}" in ${what}: expected YYYY-MM-DD`);
  }
}

/**
 * Checks a price series: dates valid and strictly ascending, closes finite and positive.
 *
 * @param name the ticker or series name, for error messages
 * @param series the series to check
 * @param validDates dates already found valid, added to as dates pass: series of many tickers share
 *   a few thousand dates, each checked once rather than once per ticker
 * @throws {RangeError} naming the series and the offending date
 */
export function validatePriceSeries(
  name: string,
  series: PriceSeries,
  validDates: Set<string> = new Set(),
): void {
  if (series.dates.length !== series.close.length) {
    throw new RangeError(
      `Invalid price series "${name}": ${series.dates.length} dates but ${series.close.length} closes`,
    );
  }
  for (let i = 0; i < series.dates.length; i++) {
    const d = series.dates[i];
    if (!validDates.has(d)) {
      assertIsoDate(d, `price series "${name}"`);
      validDates.add(d);
    }
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
  const i = countAtOrBelow(calendar, date);
  return i < calendar.length ? i : -1;
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
