/**
 * Bring a run record's loosely typed parts into the shape the report reads. The backtest stage
 * returns daily series as columns (`series: { dates, strategy, index, basket, drawdown }`) and
 * `null` for a missing index; the record keeps them as {@linkcode BacktestSummary}: equity points
 * `{ date, strategy, index?, basket? }` and only the statistics that exist. Drawdowns are not
 * stored: they follow from the equity.
 *
 * @module
 */
import type { BacktestSummary, EquityPoint, RunRecord } from "../store/run_record.ts";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function seriesPoints(series: Record<string, unknown>): EquityPoint[] {
  const dates = series.dates as unknown[];
  const column = (name: string): ArrayLike<number> | null => {
    const v = series[name];
    return Array.isArray(v) || ArrayBuffer.isView(v) ? v as unknown as ArrayLike<number> : null;
  };
  const strategy = column("strategy");
  const index = column("index");
  const basket = column("basket");
  if (!strategy) return [];
  return dates.map((date, i) => {
    const point: EquityPoint = { date: String(date), strategy: strategy[i] };
    if (index) point.index = index[i];
    if (basket) point.basket = basket[i];
    return point;
  });
}

/**
 * The backtest part of a record in {@linkcode BacktestSummary} shape, from either that shape or
 * the backtest stage's result.
 *
 * @param value the recorded backtest (or null)
 * @returns the summary, or null when there was no backtest
 * @throws {TypeError} when the value is neither shape
 */
export function backtestSummary(value: unknown): BacktestSummary | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || !isObject(value.stats)) {
    throw new TypeError('Invalid backtest in run record: expected an object with "stats"');
  }
  const { series, equity, stats, perTicker, warnings, assumptions, ...rest } = value;
  const cleanStats: BacktestSummary["stats"] = {};
  for (const [name, row] of Object.entries(stats)) {
    if (isObject(row)) cleanStats[name] = row as Record<string, number | null>;
  }
  let points: EquityPoint[] = [];
  if (Array.isArray(equity)) points = equity as EquityPoint[];
  else if (isObject(series) && Array.isArray(series.dates)) points = seriesPoints(series);
  return {
    ...rest,
    stats: cleanStats,
    equity: points,
    perTicker: Array.isArray(perTicker) ? perTicker as Record<string, unknown>[] : [],
    warnings: Array.isArray(warnings) ? warnings.map(String) : [],
    assumptions: Array.isArray(assumptions) || isObject(assumptions)
      ? assumptions as BacktestSummary["assumptions"]
      : [],
  };
}

/**
 * A record with its backtest in {@linkcode BacktestSummary} shape (a shallow copy; the input is
 * not changed).
 *
 * @param record the record as the pipeline built it
 * @returns the normalized record
 */
export function normalizeRecord(record: RunRecord): RunRecord {
  return { ...record, backtest: backtestSummary(record.backtest) };
}
