/**
 * Buy-and-hold benchmarks over exactly the strategy's period: the dataset's
 * index and the equal-weight basket of the eval tickers.
 *
 * Both buy at the close of the strategy's first fill date, paying the same
 * commission and slippage on that purchase, and are marked (not sold) at the
 * close of its last date. The basket starts with equal weights and is never
 * rebalanced; a ticker without a price on the first date is bought at its
 * first close, and one whose prices end is sold at its last close.
 *
 * @module
 */
import { alignToCalendar } from "./calendar.ts";
import { type BookResult, type CostModel, simulateBook } from "./book.ts";
import type { PriceSeries } from "./types.ts";

/** The span and money every benchmark shares with the strategy. */
export interface BenchmarkSpan {
  calendar: readonly string[];
  /** Calendar index of the strategy's first fill. */
  start: number;
  /** Calendar index of its last date. */
  end: number;
  capital: number;
  costs: CostModel;
}

/**
 * Buy-and-hold of an equal-weight basket, no rebalancing.
 *
 * @param tickers the basket
 * @param closes closes aligned to the calendar (NaN = no bar)
 * @param span the strategy's period, capital and costs
 * @returns the basket's book
 */
export function basketBenchmark(
  tickers: readonly string[],
  closes: ReadonlyMap<string, Float64Array>,
  span: BenchmarkSpan,
): BookResult {
  const weights = new Map(tickers.map((t) => [t, 1 / tickers.length]));
  return simulateBook({
    name: "equal-weight basket",
    tickers,
    capital: span.capital,
    orders: [{ day: span.start, targets: weights, resize: true, reason: "benchmark" }],
    calendar: span.calendar,
    closes,
    start: span.start,
    end: span.end,
    costs: { ...span.costs, borrowBps: 0 },
  });
}

/**
 * Buy-and-hold of an index series, its values carried forward over days it lacks.
 *
 * @param name the index's name (e.g. "DJIA")
 * @param series the index levels
 * @param span the strategy's period, capital and costs
 * @returns the index's book, its levels on the calendar and any warnings
 */
export function indexBenchmark(
  name: string,
  series: PriceSeries,
  span: BenchmarkSpan,
): { book: BookResult; levels: Float64Array; warnings: string[] } {
  const levels = alignToCalendar(series, span.calendar, true);
  const warnings: string[] = [];
  const startDate = span.calendar[span.start];
  const endDate = span.calendar[span.end];
  if (series.dates.length === 0 || series.dates[series.dates.length - 1] < startDate) {
    warnings.push(
      `Index "${name}" has no value on or after ${startDate}: it stays flat in the benchmark`,
    );
  } else if (series.dates[series.dates.length - 1] < endDate) {
    warnings.push(
      `Index "${name}" ends on ${
        series.dates[series.dates.length - 1]
      }, before the period's end ${endDate}: its last value is carried forward`,
    );
  }
  const book = simulateBook({
    name: `index ${name}`,
    tickers: [name],
    capital: span.capital,
    orders: [{ day: span.start, targets: new Map([[name, 1]]), resize: true, reason: "benchmark" }],
    calendar: span.calendar,
    closes: new Map([[name, levels]]),
    start: span.start,
    end: span.end,
    costs: { ...span.costs, borrowBps: 0 },
  });
  return { book, levels, warnings: [...warnings, ...book.warnings] };
}
