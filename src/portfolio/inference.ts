/**
 * What a portfolio run may claim: each manager's daily net returns over the evaluated period
 * (the book's equity, so after commissions and spread) given the library of `src/inference/`:
 *
 * - a 95% percentile interval (by default) of its Sharpe, Sortino, CAGR and maximum drawdown from
 *   the stationary bootstrap, the block length chosen on its own returns by Politis & White and
 *   recorded, every resampling seeded by the experiment's seed;
 * - for every manager but 1/N, Ledoit & Wolf's paired Sharpe-difference test against
 *   `equal_weight` on the same days (excess returns over the daily risk-free rate), and its
 *   verdict: "beats 1/N net of costs at 95% (…)" or "does not beat 1/N net of costs …".
 *
 * Nothing here is a new statistic: the intervals are `bootstrapSeries` of the backtest's own
 * statistics (`backtestStatistic`), the test is `sharpeDifferenceLedoitWolf`, the verdict
 * `verdict`, exactly as `src/inference/run.ts` applies them to an analyst's backtest.
 *
 * @module
 */
import {
  backtestStatistic,
  BOOTSTRAP_DEFAULTS,
  bootstrapSeries,
  optimalBlockLength,
  sharpeDifferenceLedoitWolf,
  verdict,
} from "../inference/mod.ts";
import { RETURN_STATISTICS } from "../inference/run.ts";
import { dailyReturns } from "../backtest/stats.ts";
import type { ManagerInference, PortfolioInference } from "./schema.ts";

/** The manager every other is tested against: 1/N, rebalanced. */
export const ONE_OVER_N = "equal_weight";

/** The name of the Sharpe-difference test, as `src/inference/run.ts` names it. */
const TEST_NAME = "Ledoit-Wolf Sharpe difference";

/** One manager's daily curve over the evaluated period. */
export interface ManagerCurve {
  /** The manager's registry name (`equal_weight` is 1/N). */
  name: string;
  /** The trading days of the evaluated period, one per equity value. */
  dates: readonly string[];
  /** Equity before the first day. */
  capital: number;
  /** Equity at each close, net of every cost. */
  equity: ArrayLike<number>;
  /** The daily risk-free rate of each date, or null for 0 (as the statistics table used). */
  riskFreeDaily: ArrayLike<number> | null;
}

/** How {@linkcode portfolioInference} resamples. */
export interface PortfolioInferenceOptions {
  /** Seed of every resampling (the experiment's seed). */
  seed: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
}

/**
 * Every manager's intervals, and every manager but 1/N tested against 1/N.
 *
 * @param curves each manager's daily curve, all on the same dates
 * @param options seed, level, resamples
 * @returns the run-level settings and one entry per manager by name; what could not be computed
 *   (a flat curve, no 1/N among the managers) is left out and said in the manager's `notes`
 * @throws {RangeError} when the curves do not share their dates
 * @example
 * ```ts
 * const { managers } = portfolioInference(curves, { seed: 7 });
 * managers.eiie.verdict?.statement; // "does not beat 1/N net of costs at 95% (…, one-sided p = 0.31)"
 * ```
 */
export function portfolioInference(
  curves: readonly ManagerCurve[],
  options: PortfolioInferenceOptions,
): { inference: PortfolioInference; managers: Record<string, ManagerInference> } {
  const level = options.level ?? BOOTSTRAP_DEFAULTS.level;
  const resamples = options.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const resampling = { seed: options.seed, level, resamples };
  for (const c of curves) {
    if (
      c.dates.length !== curves[0].dates.length || c.dates[0] !== curves[0].dates[0] ||
      c.dates.at(-1) !== curves[0].dates.at(-1) || c.equity.length !== c.dates.length
    ) {
      throw new RangeError(
        `Invalid manager curves: "${c.name}" has ${c.equity.length} values over ${c.dates.length} days ${
          c.dates[0]
        }..${c.dates.at(-1)}, "${curves[0].name}" ${curves[0].dates.length} days ${
          curves[0].dates[0]
        }..${curves[0].dates.at(-1)}`,
      );
    }
  }
  const excess = (c: ManagerCurve) => {
    const r = dailyReturns(c.capital, c.equity);
    return c.riskFreeDaily ? r.map((v, i) => v - c.riskFreeDaily![i]) : r;
  };
  const oneOverN = curves.find((c) => c.name === ONE_OVER_N) ?? null;
  const managers: Record<string, ManagerInference> = {};
  for (const c of curves) {
    const notes: string[] = [];
    const attempt = <T>(what: string, f: () => T): T | null => {
      try {
        return f();
      } catch (error) {
        notes.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        return null;
      }
    };
    const returns = dailyReturns(c.capital, c.equity);
    const rf = c.riskFreeDaily ? Float64Array.from(c.riskFreeDaily) : null;
    const intervals: ManagerInference["intervals"] = {};
    const chosen = attempt("block length", () => optimalBlockLength(returns));
    if (chosen) {
      for (const name of RETURN_STATISTICS) {
        const statistic = backtestStatistic(name, { dates: c.dates, capital: c.capital });
        const interval = attempt(
          `${name} interval`,
          () =>
            bootstrapSeries(
              rf ? [returns, rf] : [returns],
              ([r, f]) => statistic(r, rf ? f : null),
              { ...resampling, blockLength: chosen.stationary },
            ),
        );
        // The block length was chosen on the manager's returns alone, as for an analyst's backtest.
        if (interval) intervals[name] = { ...interval, blockLengthSource: "politis-white" };
      }
    }
    let test: ManagerInference["test"] = null;
    let verdictRecord: ManagerInference["verdict"] = null;
    if (c.name !== ONE_OVER_N) {
      if (!oneOverN) notes.push(`No test against 1/N: "${ONE_OVER_N}" is not among the managers`);
      const tested = oneOverN &&
        attempt("Sharpe difference against 1/N", () => {
          const r = sharpeDifferenceLedoitWolf(excess(c), excess(oneOverN));
          // Identical curves give 0/0; verdict refuses a p-value that is not one.
          return { r, v: verdict({ name: TEST_NAME, pValue: r.pValueAGreater }, level) };
        });
      if (tested) {
        const { r, v } = tested;
        test = {
          test: "sharpe-difference",
          name: TEST_NAME,
          metric: "sharpe",
          against: ONE_OVER_N,
          statistic: r.statistic,
          pValue: r.pValue,
          pValueModelBetter: r.pValueAGreater,
          details: {
            dailySharpeManager: r.sharpeA,
            dailySharpeOneOverN: r.sharpeB,
            correlation: r.correlation,
            ...(r.bandwidth !== null ? { bandwidth: r.bandwidth } : {}),
          },
        };
        verdictRecord = {
          ...v,
          statement: v.statement.replace("its best baseline", "1/N net of costs"),
          against: ONE_OVER_N,
        };
      }
    }
    managers[c.name] = {
      blockLength: chosen
        ? { stationary: chosen.stationary, bandwidth: chosen.bandwidth, days: returns.length }
        : null,
      intervals,
      test,
      verdict: verdictRecord,
      notes,
    };
  }
  return {
    inference: { level, resamples, seed: options.seed, against: ONE_OVER_N },
    managers,
  };
}
