/**
 * A run's inference: the library of this folder applied to one run's eval predictions, its
 * baselines' and its backtest, giving what the run record keeps under `inference` and the report
 * shows beside each figure:
 *
 * - 95% percentile intervals (by default): the row bootstrap for each eval metric, the quarter
 *   bootstrap for IC and rank IC, and the stationary bootstrap of the strategy's daily returns
 *   (block length by Politis & White, recorded) for Sharpe, Sortino, CAGR and maximum drawdown;
 * - paired tests of the model against its best baseline: McNemar on accuracy (sign accuracy in
 *   magnitude runs), Diebold–Mariano on the per-row loss (cross-entropy, or squared error), and
 *   Ledoit & Wolf's Sharpe-difference test of the strategy against buy-and-hold;
 * - the verdicts: the model's (McNemar for direction, Diebold–Mariano for magnitude) and the
 *   strategy's (the Sharpe-difference test).
 *
 * Every resampling is seeded by the run's seed, so the same run gives the same intervals.
 *
 * @module
 */
import type {
  BootstrapRecord,
  PairedTestRecord,
  RunInference,
  VerdictRecord,
} from "../record/mod.ts";
import {
  BOOTSTRAP_DEFAULTS,
  bootstrapPeriods,
  bootstrapRows,
  bootstrapSeries,
} from "./bootstrap.ts";
import { optimalBlockLength } from "./bootstrap.ts";
import { backtestStatistic, type BacktestStatisticName } from "./sharpe.ts";
import { dieboldMariano, mcnemar, sharpeDifferenceLedoitWolf, verdict } from "./tests.ts";
import { classificationMetrics, regressionMetrics } from "../train/metrics.ts";
import { dailyReturns } from "../backtest/stats.ts";
import type { BacktestResult } from "../backtest/types.ts";

/** Eval metrics given a row-bootstrap interval, per label mode, in table order. */
export const ROW_METRICS = {
  direction: ["loss", "accuracy", "precision", "recall", "f1"],
  magnitude: ["mse", "mae", "r2", "pearson", "signAccuracy"],
} as const;

/** Backtest statistics of the strategy given a stationary-bootstrap interval. */
export const RETURN_STATISTICS: readonly BacktestStatisticName[] = [
  "sharpe",
  "sortino",
  "cagr",
  "maxDrawdown",
];

/** Probabilities are clipped to [ε, 1 − ε] in the per-row cross-entropy (as in the metrics). */
const BCE_EPSILON = 1e-7;

/** One equity curve of the backtest and its name. */
export interface EquityCurve {
  /** `index` (with the index's name in `label`) or `basket`. */
  name: string;
  /** How the report names it, e.g. `buy-and-hold of DJIA`. */
  label: string;
  /** Equity at each close, aligned with the strategy's dates. */
  equity: ArrayLike<number>;
}

/** What {@linkcode runInference} needs of a run. */
export interface RunInferenceInput {
  mode: "direction" | "magnitude";
  /** Eval labels. */
  y: ArrayLike<number>;
  /** The model's eval predictions (probabilities or returns), one per label. */
  pred: ArrayLike<number>;
  /** The quarter of each eval row (for the IC's quarter bootstrap). */
  quarters: readonly string[];
  /** Each baseline's eval predictions on the same rows. */
  baselines: Record<string, ArrayLike<number>>;
  /** The backtest's daily curves, or null without a backtest. */
  backtest: {
    dates: readonly string[];
    capital: number;
    strategy: ArrayLike<number>;
    /** The daily risk-free rate of each date, or null for 0 (as the statistics table used). */
    riskFreeDaily: ArrayLike<number> | null;
    /** The buy-and-hold benchmarks, the first the one tested against (the index, else the basket). */
    benchmarks: EquityCurve[];
  } | null;
  /** Seed of every resampling (the run's seed). */
  seed: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
}

/** What every paired test reports, as its record keeps it: the statistic and the two p-values. */
function outcome(
  r: { statistic: number; pValue: number; pValueModelBetter: number },
): Pick<PairedTestRecord, "statistic" | "pValue" | "pValueModelBetter"> {
  return { statistic: r.statistic, pValue: r.pValue, pValueModelBetter: r.pValueModelBetter };
}

/**
 * The intervals, paired tests and verdicts of one run.
 *
 * @param input the run's eval labels and predictions, its baselines' and its backtest curves
 * @returns what the record keeps under `inference`; what could not be computed (too few rows, a
 *   flat strategy) is left out and said in `notes`. Between one resampling and the next it yields
 *   to the event loop, so a worker keeps renewing its job's lock while this runs.
 * @throws {RangeError} when the predictions and labels differ in length
 * @example
 * ```ts
 * const inference = await runInference({ mode: "direction", y, pred, quarters, baselines, backtest, seed: 42 });
 * inference.verdict?.statement; // "does not beat its best baseline at 95% (McNemar …)"
 * ```
 */
export async function runInference(input: RunInferenceInput): Promise<RunInference> {
  const level = input.level ?? BOOTSTRAP_DEFAULTS.level;
  const resamples = input.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const options = { seed: input.seed, level, resamples };
  const { mode, y, pred } = input;
  if (y.length !== pred.length) {
    throw new RangeError(
      `Invalid inference input: ${y.length} labels but ${pred.length} predictions`,
    );
  }
  const notes: string[] = [];
  const attempt = async <T>(what: string, f: () => T): Promise<T | null> => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      return f();
    } catch (error) {
      notes.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  };

  const metrics: Record<string, BootstrapRecord> = {};
  const n = y.length;
  const pick = (values: ArrayLike<number>, rows: Int32Array) => {
    const out = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]];
    return out;
  };
  // Every metric's bootstrap draws the same resamples (same seed, same n), so each resample's
  // metrics are computed once and each bootstrap reads its own: one pass over the rows per
  // resample, not one per metric. A resample is recognised by its position and a checksum of its
  // rows; anything else is computed afresh.
  const memo: { sum: number; values: Record<string, unknown> }[] = [];
  let call = 0;
  for (const name of ROW_METRICS[mode]) {
    call = 0;
    const metric = (rows: Int32Array): number => {
      let sum = 0;
      for (let i = 0; i < rows.length; i++) sum = (Math.imul(sum, 31) + rows[i]) | 0;
      let m = memo[call];
      if (!m || m.sum !== sum) {
        const values: Record<string, unknown> = mode === "direction"
          ? { ...classificationMetrics(pick(y, rows), pick(pred, rows)) }
          : { ...regressionMetrics(pick(y, rows), pick(pred, rows)) };
        m = memo[call] = { sum, values };
      }
      call++;
      const v = m.values[name];
      return typeof v === "number" ? v : NaN;
    };
    const interval = await attempt(
      `eval ${name} interval`,
      () => bootstrapRows(n, metric, options),
    );
    if (interval) metrics[name] = interval;
  }
  if (mode === "magnitude") {
    const ic = regressionMetrics(y, pred, input.quarters).ic;
    for (const key of ["ic", "rankIc"] as const) {
      const values = (ic?.perQuarter ?? []).map((q) => q[key]).filter((v): v is number =>
        v !== null
      );
      const interval = await attempt(
        `eval ${key} interval`,
        () => bootstrapPeriods(values, options),
      );
      if (interval) metrics[key] = interval;
    }
  }

  const tests: PairedTestRecord[] = [];
  const hitMetric = mode === "direction" ? "accuracy" : "signAccuracy";
  const hits = (p: ArrayLike<number>) =>
    Array.from(
      y,
      (label, i) =>
        mode === "direction" ? (p[i] > 0.5) === (label === 1) : (p[i] > 0) === (label > 0),
    );
  const rowLoss = (p: ArrayLike<number>) =>
    Float64Array.from(y, (label, i) => {
      if (mode === "magnitude") return (p[i] - label) ** 2;
      const q = Math.min(1 - BCE_EPSILON, Math.max(BCE_EPSILON, p[i]));
      return label === 1 ? -Math.log(q) : -Math.log(1 - q);
    });
  const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / v.length;
  const names = Object.keys(input.baselines).sort();
  const bestBy = (score: (name: string) => number, higher: boolean): string | null => {
    let best: string | null = null;
    for (const name of names) {
      const s = score(name);
      if (!Number.isFinite(s)) continue;
      if (best === null || (higher ? s > score(best) : s < score(best))) best = name;
    }
    return best;
  };
  // A paired test of the model against the best baseline by some score, kept when it could run.
  const againstBest = async <R>(
    what: string,
    best: string | null,
    run: (baseline: string) => R,
    record: (r: R, against: string) => PairedTestRecord,
  ) => {
    if (best === null) return;
    const r = await attempt(what, () => run(best));
    if (r) tests.push(record(r, best));
  };
  const modelHits = hits(pred);
  await againstBest(
    "McNemar test",
    bestBy((b) => mean(hits(input.baselines[b]).map(Number)), true),
    (b) => mcnemar(modelHits, hits(input.baselines[b])),
    (r, against) => ({
      test: "mcnemar",
      name: `McNemar (${r.variant})`,
      metric: hitMetric,
      against,
      ...outcome(r),
      details: { b: r.b, c: r.c, discordant: r.discordant },
    }),
  );
  const modelLoss = rowLoss(pred);
  await againstBest(
    "Diebold-Mariano test",
    bestBy((b) => mean(rowLoss(input.baselines[b])), false),
    (b) => dieboldMariano(modelLoss, rowLoss(input.baselines[b])),
    (r, against) => ({
      test: "diebold-mariano",
      name: "Diebold-Mariano (HLN)",
      metric: mode === "direction" ? "loss" : "mse",
      against,
      ...outcome(r),
      details: { meanDifference: r.meanDifference, df: r.df, lag: r.lag },
    }),
  );

  const backtest: Record<string, BootstrapRecord> = {};
  let blockLength: RunInference["blockLength"] = null;
  let backtestVerdict: VerdictRecord | null = null;
  const bt = input.backtest;
  if (bt) {
    const returns = dailyReturns(bt.capital, bt.strategy);
    const rf = bt.riskFreeDaily
      ? Float64Array.from(bt.riskFreeDaily)
      : new Float64Array(returns.length);
    const chosen = await attempt("block length", () => optimalBlockLength(returns));
    if (chosen) {
      blockLength = {
        stationary: chosen.stationary,
        bandwidth: chosen.bandwidth,
        days: returns.length,
      };
      for (const name of RETURN_STATISTICS) {
        const statistic = backtestStatistic(name, { dates: bt.dates, capital: bt.capital });
        const interval = await attempt(
          `strategy ${name} interval`,
          () =>
            bootstrapSeries([returns, rf], ([r, f]) => statistic(r, bt.riskFreeDaily ? f : null), {
              ...options,
              blockLength: chosen.stationary,
            }),
        );
        // The block length was chosen on the strategy's returns alone (the risk-free rate moves
        // slowly, and its own choice would be the longest allowed).
        if (interval) backtest[name] = { ...interval, blockLengthSource: "politis-white" };
      }
    }
    const benchmark = bt.benchmarks[0];
    if (benchmark) {
      const excess = (r: Float64Array) => r.map((v, i) => v - rf[i]);
      const r = await attempt(
        `Sharpe difference against ${benchmark.label}`,
        () =>
          sharpeDifferenceLedoitWolf(
            excess(returns),
            excess(dailyReturns(bt.capital, benchmark.equity)),
          ),
      );
      if (r) {
        const test: PairedTestRecord = {
          test: "sharpe-difference",
          name: "Ledoit-Wolf Sharpe difference",
          metric: "sharpe",
          against: benchmark.name,
          ...outcome({ ...r, pValueModelBetter: r.pValueAGreater }),
          details: {
            dailySharpeStrategy: r.sharpeA,
            dailySharpeBenchmark: r.sharpeB,
            correlation: r.correlation,
          },
        };
        tests.push(test);
        backtestVerdict = verdictOf(test, level, benchmark.label, "buy-and-hold");
      }
    }
  }
  const primary = tests.find((t) =>
    t.test === (mode === "direction" ? "mcnemar" : "diebold-mariano")
  );
  return {
    level,
    resamples,
    seed: input.seed,
    metrics,
    backtest,
    blockLength,
    tests,
    verdict: primary ? verdictOf(primary, level, primary.against, "baseline") : null,
    backtestVerdict,
    notes,
  };
}

function verdictOf(
  test: PairedTestRecord,
  level: number,
  against: string,
  kind: "baseline" | "buy-and-hold",
): VerdictRecord {
  const v = verdict({ name: test.name, pValue: test.pValueModelBetter }, level);
  const statement = kind === "baseline"
    ? v.statement.replace("its best baseline", `its best baseline (${against})`)
    : v.statement.replace("its best baseline", against);
  return { ...v, statement, against: test.against };
}

/**
 * The backtest's daily curves as {@linkcode runInference} takes them: the strategy, the daily
 * risk-free rate, and the buy-and-hold benchmarks, the index first (the one tested against) and
 * then the eval basket.
 *
 * @param r what `runBacktest` returned
 * @returns the curves
 */
export function inferenceCurves(r: BacktestResult): NonNullable<RunInferenceInput["backtest"]> {
  const s = r.series;
  const benchmarks: EquityCurve[] = [];
  if (s.index && r.benchmarks.index) {
    benchmarks.push({
      name: "index",
      label: `buy-and-hold of ${r.benchmarks.index}`,
      equity: s.index,
    });
  }
  benchmarks.push({ name: "basket", label: "buy-and-hold of the eval basket", equity: s.basket });
  return {
    dates: s.dates,
    capital: r.config.initial_capital,
    strategy: s.strategy,
    riskFreeDaily: s.riskFree,
    benchmarks,
  };
}
