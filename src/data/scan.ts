/**
 * Which tickers have continuous daily history (the research notes' scanner): the basis of
 * `deno task scan` and of the `since` option of ticker selection.
 *
 * @module
 */
import pl from "nodejs-polars";
import { dayToIso, isoToDay } from "@alfred/core";
import { type Dataset, returnsColumn } from "./dataset.ts";

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

/**
 * Rows of the prices table with a finite positive close: ticker, day number, close, sorted. The
 * close is the dataset's returns column (`adj_close` where the manifest's `returns` says so), so
 * selection correlates the returns the run uses.
 */
export function priceRows(
  dataset: Dataset,
  from?: string,
  to?: string,
): { ticker: string[]; day: Int32Array; close: Float64Array } {
  let df = dataset.table("prices").select(
    pl.col("ticker"),
    pl.col("date").cast(pl.Int32).alias("day"),
    pl.col(returnsColumn(dataset.manifest)).alias("close"),
  ).filter(pl.col("close").isNotNull().and(pl.col("close").gt(0)));
  if (from !== undefined) df = df.filter(pl.col("day").gtEq(isoToDay(from)));
  if (to !== undefined) df = df.filter(pl.col("day").ltEq(isoToDay(to)));
  df = df.sort(["ticker", "day"]);
  // Typed arrays straight from the columns (no nulls: the close is filtered, the date is required)
  // rather than boxed values per row.
  const day = df.getColumn("day");
  const close = df.getColumn("close").cast(pl.Float64);
  return {
    ticker: df.getColumn("ticker").toArray() as string[],
    day: day.nullCount() === 0
      ? day.toTypedArray() as Int32Array
      : Int32Array.from(day.toArray() as number[]),
    close: close.toTypedArray() as Float64Array,
  };
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
  const calendar = [...new Set(rows.day)].sort((a, b) => a - b);
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
  const index = new Map(calendar.map((d, i) => [d, i]));
  const byTicker = new Map<string, number[]>();
  for (let i = 0; i < rows.ticker.length; i++) {
    let list = byTicker.get(rows.ticker[i]);
    if (!list) byTicker.set(rows.ticker[i], list = []);
    list.push(index.get(rows.day[i])!);
  }
  const tickers = [...new Set([...dataset.manifest.tickers, ...byTicker.keys()])].sort();
  return tickers.map((ticker) => {
    const idx = byTicker.get(ticker) ?? [];
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
