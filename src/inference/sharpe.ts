/**
 * The backtest's own statistics as callbacks of a return series, for the bootstrap.
 *
 * Nothing is redefined here: a resampled series of daily returns is turned back into an
 * equity curve (capital × Π(1 + r)) and handed to `performanceStats` of
 * `src/backtest/stats.ts`, so Sharpe (annualized with 252 days, excess over the daily
 * risk-free rate, sample sd n − 1), Sortino (downside deviation over all n days), CAGR
 * (calendar time of the dates) and maximum drawdown (capital as the first peak) are exactly
 * the numbers of the statistics table.
 *
 * @module
 */
import { performanceStats, TRADING_DAYS } from "../backtest/stats.ts";
import type { PerformanceStats } from "../backtest/types.ts";

/** The statistics of the backtest table that a bootstrap interval is given for. */
export type BacktestStatisticName =
  | "sharpe"
  | "sortino"
  | "cagr"
  | "maxDrawdown"
  | "volatility"
  | "totalReturn";

/** What turns a return series back into the backtest's inputs. */
export interface BacktestContext {
  /** The trading days of the period (the CAGR's calendar span); one per return. */
  dates: readonly string[];
  /** Capital before the first close (default 1: the statistics are scale-free). */
  capital?: number;
}

/** A statistic of a daily return series, with the daily risk-free rate aligned to it. */
export type ReturnStatistic = (
  returns: ArrayLike<number>,
  riskFreeDaily?: ArrayLike<number> | null,
) => number;

const NO_COSTS = { commission: 0, slippage: 0, borrow: 0, total: 0 };

/**
 * The equity curve of daily returns: e₀ = capital·(1 + r₀), eᵢ = eᵢ₋₁·(1 + rᵢ); once equity
 * reaches zero or less it stays there (the engine's liquidation).
 *
 * @param capital equity before the first return
 * @param returns daily returns
 * @returns equity at each close
 * @throws never
 */
export function equityFromReturns(capital: number, returns: ArrayLike<number>): Float64Array {
  const out = new Float64Array(returns.length);
  let e = capital;
  for (let i = 0; i < returns.length; i++) {
    e = e > 0 ? e * (1 + returns[i]) : e;
    out[i] = e;
  }
  return out;
}

/**
 * The backtest's statistics table row of a daily return series (via `performanceStats`).
 *
 * @param returns daily returns, one per date
 * @param context the dates and capital
 * @param riskFreeDaily the daily risk-free rate of each date, or null for 0
 * @returns the row
 * @throws {RangeError} when returns and dates differ in length or are empty
 */
export function statsOfReturns(
  returns: ArrayLike<number>,
  context: BacktestContext,
  riskFreeDaily: ArrayLike<number> | null = null,
): PerformanceStats {
  const capital = context.capital ?? 1;
  const n = returns.length;
  if (n !== context.dates.length) {
    throw new RangeError(`Invalid returns: ${n} returns but ${context.dates.length} dates`);
  }
  if (riskFreeDaily && riskFreeDaily.length !== n) {
    throw new RangeError(`Invalid risk-free rate: ${riskFreeDaily.length} values for ${n} returns`);
  }
  return performanceStats({
    dates: context.dates,
    equity: equityFromReturns(capital, returns),
    capital,
    exposed: new Uint8Array(n),
    trades: [],
    costs: NO_COSTS,
    tradedNotional: 0,
    riskFreeDaily,
    riskFreeLabel: riskFreeDaily ? "given" : "0",
    indexReturns: null,
  });
}

/**
 * One statistic of the backtest table as a callback of daily returns, for
 * `bootstrapReturns`/`bootstrapSeries`; NaN where the table has null (a flat series' Sharpe).
 *
 * @param name which statistic: sharpe, sortino, cagr, maxDrawdown, volatility, totalReturn
 * @param context the dates (for CAGR) and capital
 * @returns `(returns, riskFreeDaily?) => number`
 * @throws never itself; the callback throws {RangeError} as {@linkcode statsOfReturns} (returns
 *   and dates of different lengths)
 * @example
 * ```ts
 * const sharpe = backtestStatistic("sharpe", { dates });
 * bootstrapSeries([excessReturns], ([r]) => sharpe(r), { seed: 1 });
 * ```
 */
export function backtestStatistic(
  name: BacktestStatisticName,
  context: BacktestContext,
): ReturnStatistic {
  return (returns, riskFreeDaily = null) => {
    const value = statsOfReturns(returns, context, riskFreeDaily)[name];
    return value === null ? NaN : value;
  };
}

/**
 * The backtest's Sharpe ratio per day (its annualized Sharpe / √252): what the deflated
 * Sharpe ratio and the Sharpe-difference tests take.
 *
 * @param annualized an annualized Sharpe ratio from the statistics table
 * @returns the per-day Sharpe ratio
 * @throws never
 */
export function dailySharpe(annualized: number): number {
  return annualized / Math.sqrt(TRADING_DAYS);
}
