/**
 * What a run trains and evaluates on, prepared before any model exists: the experiment checked
 * against its dataset ({@linkcode checkData}: tickers, market series, benchmark, risk-free), the
 * quarterly features and labels of the resolved tickers, and the split's folds
 * ({@linkcode prepare}). Depends on the experiment's data, features, label and split only, not on
 * its seed or model, so one {@linkcode Prepared} serves every model trained on it.
 *
 * @module
 */
import pl from "nodejs-polars";
import { dayQuarter, dayToIso, isoToDay } from "@alfred/core";
import type { Experiment } from "../config/schema.ts";
import { canonicalJson } from "../config/hash.ts";
import type { PriceSeries } from "../backtest/types.ts";
import { type Dataset, freeUnreferencedFrames } from "../data/dataset.ts";
import { loadExperimentDataset, type SynthSource } from "../data/synth_cache.ts";
import { marketSeries } from "../data/series.ts";
import { type ResolvedTickers, resolveTickers } from "../data/select.ts";
import { keepMembers, Universe } from "../data/universe.ts";
import { requireMarketSeries } from "../features/families.ts";
import {
  buildQuarterly,
  familyFeatureColumns,
  type QuarterlyFrame,
} from "../features/quarterly.ts";
import { dailyFieldsOf, SEQUENCE_KEY, SequenceError, sequenceShape } from "../features/sequence.ts";
import { Stages } from "../record/timings.ts";
import { type DigestedNews, digestNews, newsLine } from "../news/digest.ts";
import { defaultEvalFrom, defaultWalkForwardStart, type Fold, splitRows } from "./split.ts";

/** Quarter numbers of every calendar quarter from `from` to `to`. */
function calendarQuarters(from: string, to: string): number[] {
  const first = dayQuarter(isoToDay(from)), last = dayQuarter(isoToDay(to));
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}

/**
 * Where training data ends, decided before any features are built: the split's
 * `eval_from` (default: 70% into the data window's quarters, the same rule as
 * `defaultEvalFrom`) and the last date whose returns the ticker selection may see.
 *
 * @param e the resolved experiment
 * @param span the data window (the experiment's `data.from`/`data.to`, else the manifest's)
 * @returns the split with its `eval_from` resolved, and the selection's last date
 * @example
 * ```ts
 * const { split, selectionEnd } = trainingBoundary(e, { from: "2000-01-01", to: "2009-12-31" });
 * ```
 */
export function trainingBoundary(
  e: Experiment,
  span: { from: string; to: string },
): { split: Experiment["split"]; selectionEnd: string } {
  const quarters = calendarQuarters(span.from, span.to);
  const dayBefore = (iso: string) => dayToIso(isoToDay(iso) - 1);
  switch (e.split.method) {
    case "ticker_and_time":
    case "by_time": {
      const evalFrom = e.split.eval_from ?? defaultEvalFrom(quarters);
      return { split: { ...e.split, eval_from: evalFrom }, selectionEnd: dayBefore(evalFrom) };
    }
    case "walk_forward": {
      // The first fold trains before the first eval fold: select on those returns only.
      const evalFrom = e.split.eval_from ?? defaultWalkForwardStart(quarters, e.split.folds);
      return { split: { ...e.split, eval_from: evalFrom }, selectionEnd: dayBefore(evalFrom) };
    }
    case "by_ticker":
      return { split: e.split, selectionEnd: span.to };
  }
}

/** What a run checks against its dataset before any long work. */
export type DataCheckName = "tickers" | "series" | "benchmark" | "risk-free" | "sequence";

/** One check of an experiment against its dataset, and what it found. */
export interface DataCheck {
  /**
   * `tickers`: the train and eval tickers resolve; `series`: the market series the features
   * name exist; `benchmark`: the backtest's index series exists; `risk-free`: the dataset's
   * risk-free yield series exists; `sequence`: the window's fields are ones the dataset gives and
   * its length fits the data window ({@linkcode checkSequence}).
   */
  name: DataCheckName;
  /** What is wrong (the error the run would stop with), or null when the check passed. */
  error: Error | null;
}

/** The checks of an experiment against its dataset, and what a run goes on with. */
export interface CheckedData {
  /** The checks made, in order; a check that does not apply (no market family) is left out. */
  checks: DataCheck[];
  /** Where training data ends (see {@linkcode trainingBoundary}). */
  boundary: ReturnType<typeof trainingBoundary>;
  /** The resolved tickers; null when the `tickers` check failed. */
  tickers: ResolvedTickers | null;
  /** The benchmark index series; null without one or when its check failed. */
  index: { name: string; series: PriceSeries } | null;
  /** The risk-free yield series; null without one or when its check failed. */
  riskFree: (PriceSeries & { name: string }) | null;
}

/**
 * Checks what an experiment needs from its dataset, before any long work: the tickers resolve
 * (`resolveTickers`, with its uncorrelated selection), the market series the features name
 * exist, the backtest's benchmark index (`backtest.benchmark`, else the manifest's index) and
 * the dataset's risk-free series exist. Every check runs, so one call reports every problem;
 * `deno task validate` shows them and a run stops at the first.
 *
 * @param e the resolved experiment
 * @param dataset its dataset
 * @returns each check's outcome and the values a run goes on with
 * @example
 * ```ts
 * const { checks } = checkData(e, await loadDataset(e.data.dataset));
 * for (const c of checks) if (c.error) console.error(`${c.name}: ${c.error.message}`);
 * ```
 */
export function checkData(e: Experiment, dataset: Dataset): CheckedData {
  const span = { from: e.data.from ?? dataset.manifest.from, to: e.data.to ?? dataset.manifest.to };
  const boundary = trainingBoundary(e, span);
  const checks: DataCheck[] = [];
  const check = <T>(name: DataCheckName, f: () => T): T | null => {
    try {
      const value = f();
      checks.push({ name, error: null });
      return value;
    } catch (error) {
      checks.push({ name, error: error instanceof Error ? error : new Error(String(error)) });
      return null;
    }
  };
  // A by_time split separates train and eval by period, so they may share tickers (it warns).
  const tickers = check("tickers", () =>
    resolveTickers(dataset, e.data, boundary.selectionEnd, {
      shareTickers: e.split.method === "by_time",
    }));
  const market = e.features.families.market;
  if (market) {
    check(
      "series",
      () =>
        market.series
          ? requireMarketSeries(dataset, market.series, "features.families.market.series")
          : requireMarketSeries(dataset, []),
    );
  }
  // The manifest's own index and risk-free series are used only when it has a market table; a
  // benchmark the config names must exist.
  const hasMarket = dataset.has("market");
  const indexName = e.backtest.benchmark ?? (hasMarket ? dataset.manifest.index : null);
  const index = indexName === null ? null : check("benchmark", () => {
    const neededBy = e.backtest.benchmark !== undefined
      ? "backtest.benchmark"
      : "the backtest's benchmark (the manifest's index)";
    requireMarketSeries(dataset, [indexName], neededBy);
    return { name: indexName, series: marketSeries(dataset, indexName)! };
  });
  const riskFreeName = hasMarket ? dataset.manifest.riskFree : null;
  const riskFree = riskFreeName === null ? null : check("risk-free", () => {
    requireMarketSeries(
      dataset,
      [riskFreeName],
      "the backtest's Sharpe ratio (the manifest's riskFree)",
    );
    return { ...marketSeries(dataset, riskFreeName)!, name: riskFreeName };
  });
  const seq = e.features.sequence;
  if (seq) check("sequence", () => checkSequence(e, dataset, span));
  return { checks, boundary, tickers, index, riskFree };
}

/**
 * Checks `features.sequence` against the dataset before any long work: each field is one the
 * dataset gives (a daily field whose `prices` columns it has; a quarterly field that is a feature
 * column of the chosen families), and the window is no longer than the data window's trading days
 * (daily) or calendar quarters (quarterly).
 *
 * @param e the resolved experiment (with `features.sequence`)
 * @param dataset its dataset
 * @param span the data window
 * @throws {SequenceError} located at the field or at `features.sequence.length`
 * @example
 * ```ts
 * checkSequence(e, dataset, { from: "2000-01-01", to: "2009-12-31" });
 * ```
 */
export function checkSequence(
  e: Experiment,
  dataset: Dataset,
  span: { from: string; to: string },
): void {
  const seq = e.features.sequence;
  if (!seq) return;
  const window = `the data window "${span.from}".."${span.to}" of dataset "${dataset.name}"`;
  if (seq.source === "daily") {
    const prices = dataset.table("prices");
    const shape = sequenceShape(seq, dailyFieldsOf(prices.columns), dataset.name);
    const from = new Date(`${span.from}T00:00:00Z`), to = new Date(`${span.to}T00:00:00Z`);
    const days = prices.select("date").filter(
      pl.col("date").gtEq(pl.lit(from)).and(pl.col("date").ltEq(pl.lit(to))),
    ).unique().height;
    if (shape.length > days) {
      throw new SequenceError(
        `expected at most ${days} steps: ${window} has ${days} trading days`,
        `${SEQUENCE_KEY}.length`,
      );
    }
    return;
  }
  const shape = sequenceShape(seq, familyFeatureColumns(dataset, e.features), dataset.name);
  const quarters = calendarQuarters(span.from, span.to).length;
  if (shape.length > quarters) {
    throw new SequenceError(
      `expected at most ${quarters} steps: ${window} spans ${quarters} calendar quarters`,
      `${SEQUENCE_KEY}.length`,
    );
  }
}

/** Everything the stages before training produce: one per experiment's data, features and split. */
export interface Prepared {
  /** {@linkcode preparationKey} of the experiment it was prepared for. */
  key: string;
  /** The experiment's dataset. */
  dataset: Dataset;
  /** The dataset's fingerprint (`Dataset.fingerprint`), part of every model's store key. */
  fingerprint: string;
  /** The train and eval tickers, resolved. */
  tickers: ResolvedTickers;
  /** The last date whose returns the ticker selection saw. */
  selectionEnd: string;
  /** The quarterly features and labels of the train and eval tickers. */
  q: QuarterlyFrame;
  /** The split's folds of row indices into `q`. */
  folds: Fold[];
  /** First day of the eval period as resolved (config or default); null for by_ticker. */
  evalFrom: string | null;
  /** The backtest's benchmark index series, if any. */
  index: CheckedData["index"];
  /** The dataset's risk-free yield series, if any. */
  riskFree: CheckedData["riskFree"];
  /** The digested news, when the `news` family is chosen. */
  news?: DigestedNews;
  /** The dataset's point-in-time universe (its `universe` table), or null: a fixed universe. */
  universe: Universe | null;
  /** With `data.synth`: the generator's parameters and the cache key the dataset came from. */
  synth?: SynthSource;
}

/** Options of {@linkcode prepare}. */
export interface PrepareOptions {
  /** One line of information (the tickers, rows and folds). */
  log: (line: string) => void;
  /** Times the stages `data`, `tickers`, `news`, `features` and `split` (default: a timer of its own). */
  stages?: Stages;
  /** Folder of cached language-model news digests (default `.alfred/news-cache`). */
  newsCacheDir?: string;
  /** Folder of the datasets experiments generate (`data.synth`; default `.alfred/synth`). */
  synthCacheDir?: string;
}

/**
 * Loads the experiment's dataset (with `data.synth`, the cached generated one, generated first
 * when missing), checks it ({@linkcode checkData}; the first failed check is
 * thrown), builds the quarterly features and labels and splits them into folds: what every model
 * of the experiment trains and is evaluated on. Prepare once to train several models (seeds) on
 * the same rows.
 *
 * @param e the resolved experiment
 * @param options the log, and the run's stage timer
 * @returns the prepared data
 * @throws {Error} the first failed data check, or a feature or split problem
 * @example
 * ```ts
 * const p = await prepare(e, { log: console.log });
 * p.folds.map((f) => f.name); // ["holdout"]
 * ```
 */
export async function prepare(e: Experiment, options: PrepareOptions): Promise<Prepared> {
  const { log, stages = new Stages() } = options;
  const { dataset, synth } = await stages.time(
    "data",
    () => loadExperimentDataset(e, { cacheDir: options.synthCacheDir, log }),
  );
  const checked = await stages.time("tickers", () => checkData(e, dataset));
  const failed = checked.checks.find((c) => c.error !== null);
  if (failed) throw failed.error;
  const { boundary, index, riskFree } = checked;
  const tickers = checked.tickers!;
  const fingerprint = await dataset.fingerprint();
  log(`train tickers: ${tickers.train.join(" ")}`);
  log(`eval tickers:  ${tickers.eval.join(" ")}`);
  // News is digested before the roll-up, which is synchronous.
  const newsCfg = e.features.families.news;
  const news = newsCfg
    ? await stages.time("news", async () => {
      const d = await digestNews(
        dataset,
        newsCfg,
        [...tickers.train, ...tickers.eval],
        e.data.to === undefined ? Infinity : isoToDay(e.data.to) * 86_400_000 + 86_400_000,
        { cacheDir: options.newsCacheDir, log },
      );
      log(newsLine(d.stats));
      return d;
    })
    : undefined;
  const universe = Universe.of(dataset);
  const q = await stages.time("features", () => {
    const built = buildQuarterly(dataset, e.features, e.label, {
      tickers: [...tickers.train, ...tickers.eval],
      from: e.data.from,
      to: e.data.to,
      ...(news ? { news } : {}),
      ...(universe ? { delisted: universe.lastDays() } : {}),
    });
    if (!universe) return built;
    // A ticker is eligible for a quarter only while it is a member at the quarter's last close.
    const { frame, dropped } = keepMembers(universe, built.frame);
    if (frame.height === 0) {
      throw new RangeError(
        `No quarterly rows left for dataset "${dataset.name}": none of the tickers was a member of its universe at a quarter's end`,
      );
    }
    return {
      ...built,
      frame,
      missing: [...built.missing, { family: "universe", rule: "not a member", rows: dropped }],
    };
  });
  // The tables are read whole only up to here (checks, ticker selection, features): let them go,
  // so training does not hold them beside the features (the prices alone are about 5 GB at
  // 10,000 tickers). The backtest scans the prices columns it needs (`priceSeries`); anything
  // later that asks for a table whole reads it again.
  for (const t of dataset.manifest.tables) dataset.release(t);
  await freeUnreferencedFrames();
  log(`${q.frame.height} quarterly rows, ${q.features.length} features, label ${q.label}`);
  const folds = await stages.time("split", () => splitRows(q, boundary.split, e.label, tickers));
  for (const f of folds) {
    log(
      `${f.name}: train ${f.train.length} rows ${
        f.trainPeriod.join("..")
      }, validation ${f.validation.length}, ` +
        `eval ${f.eval.length} rows ${f.evalPeriod.join("..")}`,
    );
  }
  return {
    key: preparationKey(e),
    dataset,
    fingerprint,
    tickers,
    selectionEnd: boundary.selectionEnd,
    q,
    folds,
    evalFrom: boundary.split.method === "by_ticker" ? null : boundary.split.eval_from ?? null,
    index,
    riskFree,
    ...(news ? { news } : {}),
    universe,
    ...(synth ? { synth } : {}),
  };
}

/**
 * What {@linkcode prepare} reads of an experiment, as canonical JSON: its data, features, label
 * and split, and the backtest's benchmark (checked against the dataset). Experiments with the same
 * key prepare the same {@linkcode Prepared}, whatever their seed, model or training.
 *
 * @param e the resolved experiment
 * @returns the key
 * @example
 * ```ts
 * preparationKey({ ...e, seed: 1 }) === preparationKey({ ...e, seed: 2 }); // true
 * ```
 */
export function preparationKey(e: Experiment): string {
  return canonicalJson({
    data: e.data,
    features: e.features,
    label: e.label,
    split: e.split,
    benchmark: e.backtest.benchmark ?? null,
  });
}

/**
 * Checks that data prepared for one experiment serves another: both have the same
 * {@linkcode preparationKey} (e.g. two seeds of one experiment).
 *
 * @param e the experiment about to run on `p`
 * @param p data prepared earlier
 * @returns `p`
 * @throws {RangeError} when `p` was prepared for an experiment with other data, features, label,
 *   split or benchmark
 */
export function checkPrepared(e: Experiment, p: Prepared): Prepared {
  if (p.key !== preparationKey(e)) {
    throw new RangeError(
      `Cannot run experiment "${e.name}" on data prepared for another: ` +
        "its data, features, label, split or benchmark differ",
    );
  }
  return p;
}
