/**
 * Selection among a sweep's points (issue 22): the deflated Sharpe ratio of the best point given
 * how many points were tried and how far their Sharpe ratios spread, and with at least
 * {@linkcode PBO_MIN_POINTS} points the probability of backtest overfitting by CSCV.
 *
 * @module
 */
import { dailyReturns } from "../backtest/stats.ts";
import {
  deflatedSharpeRatio,
  type DsrResult,
  PBO_MIN_POINTS,
  type PboResult,
  probabilityOfBacktestOverfitting,
  sampleMoments,
} from "./deflated.ts";
import { dailySharpe } from "./sharpe.ts";

/** One sweep point's backtest. */
export interface SweepTrial {
  /** How the point is named (its swept values, or its run id). */
  label: string;
  /** The strategy's annualized Sharpe ratio from the statistics table. */
  sharpe: number;
  /** Its trading days. */
  dates: readonly string[];
  /** Its equity at each close. */
  equity: ArrayLike<number>;
  /** Its starting capital. */
  capital: number;
}

/** The deflated Sharpe ratio of the best point, and PBO where there are enough points. */
export interface SweepSelection {
  /** Points with a Sharpe ratio. */
  trials: number;
  /** The best point by Sharpe ratio. */
  best: string;
  /** Its annualized Sharpe ratio. */
  bestSharpe: number;
  /** Sample variance of the points' per-day Sharpe ratios. */
  trialVariance: number;
  /** The deflated Sharpe ratio (per-day Sharpe ratios; SR₀ per day). */
  dsr: DsrResult;
  /** PBO by CSCV (16 blocks) with at least 8 points whose daily returns share their dates. */
  pbo: PboResult | null;
  /** Why PBO is absent, when it is. */
  pboNote: string | null;
}

/**
 * The deflated Sharpe ratio of a sweep's best point (N = the points, V = the sample variance of
 * their per-day Sharpe ratios, the best point's skewness, kurtosis and days from its daily
 * returns), and the probability of backtest overfitting of the points' daily returns (CSCV, 16
 * blocks, each point's Sharpe ratio as the performance) when there are at least 8 points on the
 * same dates.
 *
 * @param trials each point's backtest
 * @returns the selection statistics, or null with fewer than two points
 * @throws {RangeError} as `deflatedSharpeRatio` (a best point with too few days)
 */
export function sweepSelection(trials: SweepTrial[]): SweepSelection | null {
  const usable = trials.filter((t) => Number.isFinite(t.sharpe) && t.dates.length >= 2);
  if (usable.length < 2) return null;
  const perDay = usable.map((t) => dailySharpe(t.sharpe));
  const mean = perDay.reduce((s, v) => s + v, 0) / perDay.length;
  const trialVariance = perDay.reduce((s, v) => s + (v - mean) ** 2, 0) / (perDay.length - 1);
  let bestAt = 0;
  for (let i = 1; i < usable.length; i++) if (perDay[i] > perDay[bestAt]) bestAt = i;
  const best = usable[bestAt];
  const moments = sampleMoments(dailyReturns(best.capital, best.equity));
  const dsr = deflatedSharpeRatio({
    sharpe: perDay[bestAt],
    observations: moments.n,
    skewness: moments.skewness,
    kurtosis: moments.kurtosis,
    trials: usable.length,
    trialVariance,
  });
  let pbo: PboResult | null = null;
  let pboNote: string | null = null;
  if (usable.length < PBO_MIN_POINTS) {
    pboNote = `PBO needs at least ${PBO_MIN_POINTS} points; this sweep has ${usable.length}`;
  } else if (usable.some((t) => t.dates.join() !== best.dates.join())) {
    pboNote = "PBO needs every point's backtest on the same days; these differ";
  } else {
    try {
      pbo = probabilityOfBacktestOverfitting(usable.map((t) => dailyReturns(t.capital, t.equity)));
    } catch (error) {
      pboNote = `PBO: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return {
    trials: usable.length,
    best: best.label,
    bestSharpe: best.sharpe,
    trialVariance,
    dsr,
    pbo,
    pboNote,
  };
}
