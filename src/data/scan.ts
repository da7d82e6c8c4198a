/**
 * Which tickers have continuous daily history (the research notes' scanner): the basis of
 * `deno task scan` and of the `since` option of ticker selection.
 *
 * @module
 */
import pl from "nodejs-polars";
import { dayToIso, isoToDay } from "@alfred/core";
import { type Dataset, returnsColumn, sortedByTickerDay } from "./dataset.ts";

/** Options of {@linkcode scanContinuity} and {@linkcode continuousTickers}. */
export interface ScanOptions {
  /** Longest run of the dataset's trading days a ticker may miss (default 5). */
  maxGap?: number;
  /** Last date considered, inclusive (default: the dataset's last date). */
  until?: string;
}

/** Defaults of {@linkcode ScanOptions}. */
export const SCAN_DEFAULTS = { maxGap: 5 } as const;

/** One ticker's daily history since the scan date. */
export interface TickerContinuity {
  ticker: string;
  /** First and last date with a close, or null without any. */
  first: string | null;
  last: string | null;
  /** Days with a close, and the dataset's trading days in the window. */
  days: number;
  calendarDays: number;
  /** Longest run of the dataset's trading days without a close (leading and trailing runs count). */
  maxGap: number;
  continuous: boolean;
}

/** Rows of the prices table, by ticker run: see {@linkcode priceRows}. */
export interface PriceRows {
  /** The tickers with rows, in string order. */
  tickers: string[];
  /** Ticker k's rows are `start[k] .. start[k + 1] - 1` (one more entry than tickers). */
  start: Int32Array;
  /** Day numbers (days since 1970-01-01), ascending within each ticker's run. */
  day: Int32Array;
  close: Float64Array;
}

/**
 * Rows of the prices table with a finite positive close, sorted by ticker and day: each ticker's
 * run of rows, their day numbers and closes as typed arrays (no value per row is boxed or made a
 * string: at 10,000 tickers over 25 years the table has 65 million rows). The close is the
 * dataset's returns column (`adj_close` where the manifest's `returns` says so), so selection
 * correlates the returns the run uses.
 *
 * @param dataset the dataset (needs a prices table)
 * @param from first date, inclusive (default: the first)
 * @param to last date, inclusive (default: the last)
 * @returns the rows by ticker run
 */
export function priceRows(
  dataset: Dataset,
  from?: string,
  to?: string,
): PriceRows {
  let df = dataset.table("prices").select(
    pl.col("ticker"),
    pl.col("date").cast(pl.Int32).alias("day"),
    pl.col(returnsColumn(dataset.manifest)).alias("close"),
  ).filter(pl.col("close").isNotNull().and(pl.col("close").gt(0)));
  if (from !== undefined) df = df.filter(pl.col("day").gtEq(isoToDay(from)));
  if (to !== undefined) df = df.filter(pl.col("day").ltEq(isoToDay(to)));
  df = sortedByTickerDay(df, "day");
  // Typed arrays straight from the columns (no nulls: the close is filtered, the date is required)
  // rather than boxed values per row; the tickers as runs, from their counts in ticker order.
  const day = df.getColumn("day");
  const close = df.getColumn("close").cast(pl.Float64);
  const counts = df.getColumn("ticker").cast(pl.Utf8).valueCounts().sort("ticker");
  const sizes = counts.getColumn("count").toArray() as number[];
  const start = new Int32Array(sizes.length + 1);
  sizes.forEach((n, k) => start[k + 1] = start[k] + Number(n));
  return {
    tickers: counts.getColumn("ticker").toArray() as string[],
    start,
    day: day.nullCount() === 0
      ? day.toTypedArray() as Int32Array
      : Int32Array.from(day.toArray() as number[]),
    close: close.toTypedArray() as Float64Array,
  };
}

/**
 * The distinct day numbers of `day`, ascending, and each day's place among them
 * (`index[d - first]`, −1 for a day not there): the dataset's calendar over a window, in one pass
 * over the rows.
 *
 * @param day day numbers
 * @returns the calendar and the lookup from day to place
 */
export function dayCalendar(day: Int32Array): { calendar: number[]; index: (d: number) => number } {
  if (day.length === 0) return { calendar: [], index: () => -1 };
  let lo = day[0], hi = day[0];
  for (let i = 1; i < day.length; i++) {
    if (day[i] < lo) lo = day[i];
    else if (day[i] > hi) hi = day[i];
  }
  const place = new Int32Array(hi - lo + 1).fill(-1);
  for (let i = 0; i < day.length; i++) place[day[i] - lo] = 0;
  const calendar: number[] = [];
  for (let k = 0; k < place.length; k++) {
    if (place[k] === 0) {
      place[k] = calendar.length;
      calendar.push(lo + k);
    }
  }
  return { calendar, index: (d) => (d < lo || d > hi ? -1 : place[d - lo]) };
}

/**
 * Each ticker's continuity since `since`, measured on the dataset's calendar (every date on which
 * any ticker has a close).
 *
 * @param dataset the dataset (needs a prices table)
 * @param since first date, inclusive
 * @param options `maxGap` (trading days a ticker may miss in a row) and `until`
 * @returns one entry per ticker of the manifest, in ticker order
 * @throws {RangeError} when `since` lies well before the dataset's first date (no ticker can have
 * history since then) or after its last
 */
export function scanContinuity(
  dataset: Dataset,
  since: string,
  options: ScanOptions = {},
): TickerContinuity[] {
  const maxGap = options.maxGap ?? SCAN_DEFAULTS.maxGap;
  if (!Number.isInteger(maxGap) || maxGap < 0) {
    throw new RangeError(`Invalid max gap "${maxGap}": expected an integer >= 0`);
  }
  const sinceDay = isoToDay(since);
  const rows = priceRows(dataset, since, options.until);
  const { calendar, index } = dayCalendar(rows.day);
  if (calendar.length === 0) {
    throw new RangeError(
      `Dataset "${dataset.name}" has no prices from "${since}"${
        options.until ? ` to "${options.until}"` : ""
      }: it spans ${dataset.manifest.from}..${dataset.manifest.to}`,
    );
  }
  // A since date more than a week before the first trading day asks for history the dataset lacks.
  if (calendar[0] - sinceDay > 7 + maxGap) {
    throw new RangeError(
      `Dataset "${dataset.name}" starts on ${
        dayToIso(calendar[0])
      }, after "${since}": no ticker has history since then`,
    );
  }
  const byTicker = new Map<string, Int32Array>();
  rows.tickers.forEach((t, k) => {
    const idx = new Int32Array(rows.start[k + 1] - rows.start[k]);
    for (let i = 0; i < idx.length; i++) idx[i] = index(rows.day[rows.start[k] + i]);
    byTicker.set(t, idx);
  });
  const tickers = [...new Set([...dataset.manifest.tickers, ...byTicker.keys()])].sort();
  return tickers.map((ticker) => {
    const idx = byTicker.get(ticker) ?? new Int32Array(0);
    if (idx.length === 0) {
      return {
        ticker,
        first: null,
        last: null,
        days: 0,
        calendarDays: calendar.length,
        maxGap: calendar.length,
        continuous: false,
      };
    }
    let gap = Math.max(idx[0], calendar.length - 1 - idx[idx.length - 1]);
    for (let k = 1; k < idx.length; k++) gap = Math.max(gap, idx[k] - idx[k - 1] - 1);
    return {
      ticker,
      first: dayToIso(calendar[idx[0]]),
      last: dayToIso(calendar[idx[idx.length - 1]]),
      days: idx.length,
      calendarDays: calendar.length,
      maxGap: gap,
      continuous: gap <= maxGap,
    };
  });
}

/**
 * Tickers with continuous daily history since `since`: a close on the dataset's first trading day
 * on or after `since` (give or take `maxGap` days), through its last, and no run of more than
 * `maxGap` missing trading days in between. Tickers that stop trading before the end are excluded.
 *
 * @param dataset the dataset (needs a prices table)
 * @param since first date, inclusive
 * @param options `maxGap` (default 5) and `until` (default: the dataset's end)
 * @returns the tickers, sorted
 * @throws {RangeError} as {@linkcode scanContinuity}
 * @example
 * ```ts
 * const tickers = continuousTickers(await loadDataset("synth-small"), "2004-01-01");
 * ```
 */
export function continuousTickers(
  dataset: Dataset,
  since: string,
  options: ScanOptions = {},
): string[] {
  return scanContinuity(dataset, since, options).filter((t) => t.continuous).map((t) => t.ticker);
}
