/**
 * The backtest stage's result as the run record keeps it.
 *
 * @module
 */
import type { BacktestResult, PerformanceStats } from "../backtest/types.ts";
import type { RunBacktest, SeriesStats } from "./schema.ts";
import { summariseWarnings } from "./warnings.ts";

/**
 * One equity curve's statistics as recorded: the stage's, with the costs breakdown flat.
 *
 * @param p the stage's statistics of one curve
 * @returns the record's statistics row
 */
export function seriesStats(p: PerformanceStats): SeriesStats {
  const { costs, ...rest } = p;
  return {
    ...rest,
    costs_commission: costs.commission,
    costs_slippage: costs.slippage,
    costs_borrow: costs.borrow,
    costs_total: costs.total,
  };
}

/**
 * The backtest as the run record keeps it: statistics per curve, the daily equity as points,
 * the per-ticker table, trades, ruins, warnings and assumptions. The drawdown series and the
 * fills are not kept: drawdowns follow from the equity, and the trades sum up the fills. Warnings
 * the backtest repeats per ticker are summarised (`summariseWarnings`).
 *
 * @param r what `runBacktest` returned
 * @returns the record's backtest
 * @example
 * ```ts
 * record.backtest = backtestRecord(runBacktest(args));
 * ```
 */
export function backtestRecord(r: BacktestResult): RunBacktest {
  const s = r.series;
  return {
    strategy: r.strategy,
    mode: r.mode,
    period: r.period,
    benchmarks: r.benchmarks,
    stats: {
      strategy: seriesStats(r.stats.strategy),
      ...(r.stats.index ? { index: seriesStats(r.stats.index) } : {}),
      basket: seriesStats(r.stats.basket),
    },
    equity: s.dates.map((date, i) => ({
      date,
      strategy: s.strategy[i],
      index: s.index ? s.index[i] : null,
      basket: s.basket[i],
    })),
    perTicker: r.perTicker,
    trades: r.trades,
    ruin: r.ruin,
    warnings: summariseWarnings(r.warnings),
    assumptions: r.assumptions,
  };
}
