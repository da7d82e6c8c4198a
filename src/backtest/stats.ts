/**
 * Performance statistics of an equity curve: returns, risk, drawdowns, trade
 * statistics, costs, and alpha/beta against an index.
 *
 * Conventions: daily returns are close to close over trading days, the first
 * one measured from the capital before the first fill (so the first day's
 * costs count); annualization uses 252 trading days; CAGR uses calendar time
 * (days / 365.25); drawdowns treat the starting capital as the first peak, and
 * their durations count trading days (closes) of the backtest, never calendar
 * days: a drawdown can last at most the backtest's closes less one.
 *
 * A ruined book (equity at or below zero, liquidated by the engine) keeps its
 * liquidation value to the end: returns after the ruin are 0, the ruin day's
 * return may be below -100% (a short that gapped past the remaining equity),
 * CAGR is -100%, and the drawdown never recovers.
 *
 * @module
 */
import { daysBetween } from "@alfred/core";
import type { CostBreakdown, PerformanceStats, Trade, TradeStats } from "./types.ts";

/** Trading days per year used to annualize. */
export const TRADING_DAYS = 252;

/** What {@linkcode performanceStats} needs. */
export interface StatsInput {
  /** Trading days of the period, ascending. */
  dates: readonly string[];
  /** Equity at each date's close. */
  equity: ArrayLike<number>;
  /** Capital before the first fill. */
  capital: number;
  /** 1 where a position was held into that day. */
  exposed: ArrayLike<number>;
  trades: readonly Trade[];
  costs: CostBreakdown;
  /** Sum of |traded notional|. */
  tradedNotional: number;
  /** Daily risk-free rate for each date (a fraction per day); null means 0. */
  riskFreeDaily: ArrayLike<number> | null;
  /** Where the risk-free rate came from, repeated in the stats. */
  riskFreeLabel: string;
  /** The index's daily return on each date (entry 0 unused); null without an index. */
  indexReturns: ArrayLike<number> | null;
}

/**
 * Daily returns of an equity curve, the first measured from the starting capital; returns
 * after equity has reached zero or less are 0.
 *
 * @param capital equity before the first close
 * @param equity equity at each close
 * @returns one return per close
 * @example
 * ```ts
 * dailyReturns(100, [99, 108.9]); // [-0.01, 0.1]
 * ```
 */
export function dailyReturns(capital: number, equity: ArrayLike<number>): Float64Array {
  const out = new Float64Array(equity.length);
  let prev = capital;
  for (let i = 0; i < equity.length; i++) {
    // Once equity is gone (<= 0) the book is dead: later returns are 0, not a division by it.
    out[i] = prev > 0 ? equity[i] / prev - 1 : 0;
    prev = equity[i];
  }
  return out;
}

/**
 * Drawdown at each close: the fall below the running peak (the capital counts as the first peak).
 *
 * @param capital equity before the first close
 * @param equity equity at each close
 * @returns positive fractions (0 at a new peak)
 */
export function drawdownSeries(capital: number, equity: ArrayLike<number>): Float64Array {
  const out = new Float64Array(equity.length);
  let peak = capital;
  for (let i = 0; i < equity.length; i++) {
    if (equity[i] > peak) peak = equity[i];
    out[i] = peak > 0 ? 1 - equity[i] / peak : 0;
  }
  return out;
}

/** The deepest drawdown and how long it lasted. */
export interface MaxDrawdown {
  /** Positive fraction (above 1 when equity fell below zero). */
  depth: number;
  peak: string | null;
  trough: string | null;
  /** First date back at the peak; null when never. */
  recovery: string | null;
  /**
   * Trading days (closes of the curve) from the peak's close to the recovery's close, or to
   * the last close when not recovered; 0 without a drawdown. At most `equity.length - 1`.
   */
  tradingDays: number;
}

/**
 * The deepest drawdown of an equity curve and its duration in trading days.
 *
 * The duration counts closes of the curve, not calendar days: a peak on one close and a
 * recovery on the next is 1 trading day, whatever weekend or holiday lies between. The
 * capital is the first peak, dated at the first close (the first fill happens at it).
 *
 * @param dates the closes' dates (trading days)
 * @param capital equity before the first close (the first peak, dated at the first date)
 * @param equity equity at each close
 * @returns depth, peak, trough, recovery and duration in trading days
 * @throws {RangeError} when dates and equity differ in length
 * @example
 * ```ts
 * // Friday peak, Monday trough, Wednesday recovery: 3 trading days (5 calendar days).
 * maxDrawdown(["2000-01-07", "2000-01-10", "2000-01-11", "2000-01-12"], 100, [110, 99, 105, 111])
 *   .tradingDays; // 3
 * ```
 */
export function maxDrawdown(
  dates: readonly string[],
  capital: number,
  equity: ArrayLike<number>,
): MaxDrawdown {
  if (dates.length !== equity.length) {
    throw new RangeError(
      `Invalid drawdown input: ${equity.length} equity values but ${dates.length} dates`,
    );
  }
  let peak = capital;
  let peakAt = 0;
  let best = 0;
  let bestPeakAt = -1;
  let bestTroughAt = -1;
  let bestPeakValue = capital;
  for (let i = 0; i < equity.length; i++) {
    if (equity[i] >= peak) {
      peak = equity[i];
      peakAt = i;
      continue;
    }
    const dd = peak > 0 ? 1 - equity[i] / peak : 0;
    if (dd > best) {
      best = dd;
      bestPeakAt = peakAt;
      bestTroughAt = i;
      bestPeakValue = peak;
    }
  }
  if (bestTroughAt < 0) {
    return { depth: 0, peak: null, trough: null, recovery: null, tradingDays: 0 };
  }
  let recoveryAt = -1;
  for (let i = bestTroughAt + 1; i < equity.length; i++) {
    if (equity[i] >= bestPeakValue) {
      recoveryAt = i;
      break;
    }
  }
  const endAt = recoveryAt >= 0 ? recoveryAt : equity.length - 1;
  return {
    depth: best,
    peak: dates[bestPeakAt],
    trough: dates[bestTroughAt],
    recovery: recoveryAt >= 0 ? dates[recoveryAt] : null,
    tradingDays: endAt - bestPeakAt,
  };
}

/**
 * Win rate, average win and loss (as trade returns) and profit factor (gross profit / gross loss).
 *
 * @param trades round trips
 * @returns the statistics; undefined ones are null
 */
export function tradeStats(trades: readonly Trade[]): TradeStats {
  // Winning and losing round trips alike: how many, their returns summed, their |pnl| summed.
  const win = { n: 0, returns: 0, gross: 0 };
  const loss = { n: 0, returns: 0, gross: 0 };
  for (const t of trades) {
    const side = t.pnl > 0 ? win : t.pnl < 0 ? loss : null;
    if (side === null) continue;
    side.n++;
    side.returns += t.return;
    side.gross += Math.abs(t.pnl);
  }
  return {
    trades: trades.length,
    wins: win.n,
    winRate: trades.length > 0 ? win.n / trades.length : null,
    avgWin: win.n > 0 ? win.returns / win.n : null,
    avgLoss: loss.n > 0 ? loss.returns / loss.n : null,
    profitFactor: loss.n > 0 ? win.gross / loss.gross : null,
  };
}

function mean(xs: ArrayLike<number>, from = 0): number {
  let s = 0;
  for (let i = from; i < xs.length; i++) s += xs[i];
  return xs.length - from > 0 ? s / (xs.length - from) : NaN;
}

/**
 * The statistics table row of one equity curve.
 *
 * @param input the curve, its trades, costs, risk-free rate and index returns
 * @returns every statistic; ones that are undefined for this curve are null
 * @throws {RangeError} when the curve is empty or arrays disagree in length
 */
export function performanceStats(input: StatsInput): PerformanceStats {
  const { dates, equity, capital } = input;
  const n = equity.length;
  if (n === 0 || dates.length !== n || input.exposed.length !== n) {
    throw new RangeError(
      `Invalid statistics input: ${n} equity values, ${dates.length} dates, ${input.exposed.length} exposure flags`,
    );
  }
  const returns = dailyReturns(capital, equity);
  const rf = (i: number) => (input.riskFreeDaily ? input.riskFreeDaily[i] : 0);
  const excess = returns.map((r, i) => r - rf(i));
  const endEquity = equity[n - 1];
  const totalReturn = endEquity / capital - 1;
  const years = daysBetween(dates[0], dates[n - 1]) / 365.25;
  const cagr = years > 0
    ? (endEquity > 0 ? Math.pow(endEquity / capital, 1 / years) - 1 : -1)
    : null;

  let volatility: number | null = null;
  let sharpe: number | null = null;
  let sortino: number | null = null;
  if (n >= 2) {
    const m = mean(returns);
    let v = 0;
    for (const r of returns) v += (r - m) ** 2;
    volatility = Math.sqrt(v / (n - 1)) * Math.sqrt(TRADING_DAYS);
    const me = mean(excess);
    let ve = 0;
    let down = 0;
    for (const e of excess) {
      ve += (e - me) ** 2;
      if (e < 0) down += e * e;
    }
    const sd = Math.sqrt(ve / (n - 1));
    if (sd > 1e-15) sharpe = (me / sd) * Math.sqrt(TRADING_DAYS);
    const dd = Math.sqrt(down / n);
    if (dd > 1e-15) sortino = (me / dd) * Math.sqrt(TRADING_DAYS);
  }
  const mdd = maxDrawdown(dates, capital, equity);
  const calmar = cagr !== null && mdd.depth > 0 ? cagr / mdd.depth : null;

  let alpha: number | null = null;
  let beta: number | null = null;
  if (input.indexReturns && n >= 3) {
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 1; i < n; i++) {
      x.push(input.indexReturns[i] - rf(i));
      y.push(returns[i] - rf(i));
    }
    const mx = mean(x);
    const my = mean(y);
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < x.length; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) ** 2;
    }
    if (sxx > 1e-30) {
      beta = sxy / sxx;
      alpha = (my - beta * mx) * TRADING_DAYS;
    }
  }

  let held = 0;
  for (let i = 1; i < n; i++) held += input.exposed[i] ? 1 : 0;
  const ts = tradeStats(input.trades);
  const avgEquity = mean(equity);
  return {
    startEquity: capital,
    endEquity,
    totalReturn,
    cagr,
    volatility,
    sharpe,
    sortino,
    calmar,
    maxDrawdown: mdd.depth,
    maxDrawdownPeak: mdd.peak,
    maxDrawdownTrough: mdd.trough,
    maxDrawdownRecovery: mdd.recovery,
    maxDrawdownTradingDays: mdd.tradingDays,
    trades: ts.trades,
    winRate: ts.winRate,
    avgWin: ts.avgWin,
    avgLoss: ts.avgLoss,
    profitFactor: ts.profitFactor,
    exposure: n > 1 ? held / (n - 1) : 0,
    turnover: years > 0 && avgEquity > 0 ? input.tradedNotional / years / avgEquity : null,
    costs: { ...input.costs },
    alpha,
    beta,
    riskFree: input.riskFreeLabel,
  };
}
