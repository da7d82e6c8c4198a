/**
 * Daily series read from a dataset's tables, in the shape the backtest takes: each ticker's
 * closes from `prices`, and one named series of `market` (a benchmark index, a risk-free yield).
 *
 * @module
 */
import pl from "nodejs-polars";
import type { PriceSeries } from "../backtest/types.ts";
import { type Dataset, isoDates, returnsColumn, sortedByTickerDay } from "./dataset.ts";

/**
 * Daily closes per ticker, dates ascending: the dataset's returns column (`adj_close` where the
 * manifest's `returns` says so: total return), so the backtest earns what the labels measure.
 *
 * @param dataset the dataset (needs a prices table)
 * @param tickers the tickers wanted
 * @returns one series per ticker, in the order given
 * @throws {MissingTableError} when the dataset has no prices table
 * @example
 * ```ts
 * const prices = priceSeries(dataset, ["IBM", "KO"]);
 * prices.get("IBM")!.dates[0]; // its first trading day
 * ```
 */
export function priceSeries(dataset: Dataset, tickers: string[]): Map<string, PriceSeries> {
  const column = returnsColumn(dataset.manifest);
  // One filter and one sort for all the tickers, then each ticker's run of rows: a filter of the
  // whole table per ticker would be quadratic in tickers. A lazy scan: only these three columns
  // of the wanted tickers are read, never the whole table.
  const rows = sortedByTickerDay(
    dataset.scan("prices")
      .select("ticker", "date", column)
      .filter(pl.col("ticker").isIn([...new Set(tickers)]))
      .collectSync(),
    "date",
  );
  const dates = isoDates(rows.getColumn("date")) as string[];
  const closeColumn = rows.getColumn(column).cast(pl.Float64);
  const closes = closeColumn.nullCount() === 0
    ? closeColumn.toTypedArray() as Float64Array
    : Float64Array.from(closeColumn.toArray() as number[]);
  // The rows are sorted by ticker: each ticker's run, from the counts in ticker order.
  const counts = rows.getColumn("ticker").cast(pl.Utf8).valueCounts().sort("ticker");
  const names = counts.getColumn("ticker").toArray() as string[];
  const sizes = counts.getColumn("count").toArray() as number[];
  const runs = new Map<string, PriceSeries>();
  let a = 0;
  names.forEach((name, k) => {
    const b = a + Number(sizes[k]);
    runs.set(name, { dates: dates.slice(a, b), close: closes.slice(a, b) });
    a = b;
  });
  const out = new Map<string, PriceSeries>();
  for (const ticker of tickers) {
    out.set(ticker, runs.get(ticker) ?? { dates: [], close: new Float64Array(0) });
  }
  return out;
}

/**
 * One market series as a price-like series (its dates and values), dates ascending.
 *
 * @param dataset the dataset
 * @param name the series (e.g. `DJIA`), or null for none
 * @returns the series; null when `name` is null or the dataset has no market table
 * @throws {RangeError} when the market table has no rows of `name`, listing the manifest's series
 * @example
 * ```ts
 * const index = marketSeries(dataset, dataset.manifest.index);
 * ```
 */
export function marketSeries(dataset: Dataset, name: string | null): PriceSeries | null {
  if (!name || !dataset.has("market")) return null;
  const market = dataset.table("market");
  const rows = market.filter(pl.col("series").eq(pl.lit(name))).sort("date");
  if (rows.height === 0) {
    throw new RangeError(
      `Dataset "${dataset.name}" has no market series "${name}": it has ${
        dataset.manifest.series.map((s) => `"${s.name}"`).join(", ")
      }`,
    );
  }
  return {
    dates: isoDates(rows.getColumn("date")) as string[],
    close: Float64Array.from(rows.getColumn("value").toArray() as number[]),
  };
}
