/**
 * Building backtest inputs from long-format columns (as a dataset's `prices`
 * and `market` tables hold them), without depending on a dataframe library:
 * pass the columns' arrays.
 *
 * @module
 */
import { dateToIso, isIsoDate } from "@alfred/core";
import type { PriceSeries } from "./types.ts";

/** A date as an ISO string or a `Date` (a Polars Date column's `toArray()`). */
export type DateLike = string | Date;

function iso(d: DateLike, row: number): string {
  if (d instanceof Date) {
    if (Number.isNaN(d.getTime())) throw new RangeError(`Invalid date in row ${row}`);
    return dateToIso(d);
  }
  if (typeof d !== "string" || !isIsoDate(d)) {
    throw new RangeError(`Invalid date ${JSON.stringify(d)} in row ${row}: expected YYYY-MM-DD`);
  }
  return d;
}

/**
 * Groups long-format rows into one series per key (ticker, or market series name), sorted by date.
 * Rows with a missing value (null or NaN) are skipped: the series has no bar that day.
 *
 * @param columns parallel arrays: the key of each row, its date and its value
 * @param only keep just these keys (default: every key)
 * @returns a series per key
 * @throws {RangeError} on an invalid date or a key with two rows on one date
 * @example
 * ```ts
 * const m = seriesByKey({ keys: ["A", "A"], dates: ["2000-01-04", "2000-01-03"], values: [2, 1] });
 * m.get("A")!.dates; // ["2000-01-03", "2000-01-04"]
 * ```
 */
export function seriesByKey(
  columns: {
    keys: ArrayLike<string>;
    dates: ArrayLike<DateLike>;
    values: ArrayLike<number | null>;
  },
  only?: Iterable<string>,
): Map<string, PriceSeries> {
  const { keys, dates, values } = columns;
  if (keys.length !== dates.length || keys.length !== values.length) {
    throw new RangeError(
      `Columns differ in length: ${keys.length} keys, ${dates.length} dates, ${values.length} values`,
    );
  }
  const keep = only ? new Set(only) : null;
  const rows = new Map<string, { date: string; value: number }[]>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (keep && !keep.has(key)) continue;
    const v = values[i];
    if (v === null || v === undefined || Number.isNaN(v)) continue;
    const list = rows.get(key) ?? [];
    list.push({ date: iso(dates[i], i), value: v });
    rows.set(key, list);
  }
  const out = new Map<string, PriceSeries>();
  for (const key of [...rows.keys()].sort()) {
    const list = rows.get(key)!.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    for (let i = 1; i < list.length; i++) {
      if (list[i].date === list[i - 1].date) {
        throw new RangeError(
          `Duplicate rows for "${key}" on "${list[i].date}": expected one per date`,
        );
      }
    }
    out.set(key, {
      dates: list.map((r) => r.date),
      close: Float64Array.from(list, (r) => r.value),
    });
  }
  return out;
}
