/**
 * The pipeline: one resolved experiment in, one run record out.
 *
 * data → tickers → quarterly features and labels → split → scaler (training
 * rows only) → model (trained, or restored from the model store) → metrics
 * against baselines → backtest against buy-and-hold → analysis → run record.
 * Each stage is a module of its own; this file only wires them together.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import { dayQuarter, dayToIso, isoToDay, type Matrix, Prng } from "@alfred/core";
import type { Experiment } from "./config/schema.ts";
import { configHash } from "./config/hash.ts";
import { experimentToYaml } from "./config/yaml.ts";
import { parseExperimentText } from "./config/load.ts";
import { type Dataset, loadDataset } from "./data/dataset.ts";
import { type ResolvedTickers, resolveTickers } from "./data/select.ts";
import { buildQuarterly, type QuarterlyFrame } from "./features/quarterly.ts";
import { featureCorrelations } from "./features/correlation.ts";
import { requireMarketSeries } from "./features/families.ts";
import { type Fold, splitRows } from "./dataset/split.ts";
import { rowSetHash, Scaler, scalerKinds } from "./dataset/scaler.ts";
import { type DesignMatrix, designMatrix } from "./dataset/matrix.ts";
import {
  buildModel,
  checkFits,
  describeModel,
  gib,
  type ModelDescription,
} from "./models/registry.ts";
import { makeLoss } from "./models/losses.ts";
import { selectBackend } from "./train/backend.ts";
import {
  checkFusedFits,
  type EpochLog,
  fusedCpuBytes,
  fusedCpuSgemm,
  fusedLayout,
  fusedUnsupported,
  predict,
  type TrainArgs,
  trainFused,
  trainFusedCpu,
  trainModel,
  type TrainResult,
} from "@alfred/engines";
import {
  checkPlanFits,
  currentRssBytes,
  type EngineMemory,
  type MemoryPlan,
  memoryPlan,
  peakRssBytes,
} from "./train/memory.ts";
import { adamStepWarning, stalledTraining } from "./train/warnings.ts";
import { fileCheckpointer } from "./train/checkpoint.ts";
import { type ProgressReporter, progressReporter } from "./train/progress.ts";
import {
  classificationMetrics,
  metricsByGroup,
  regressionMetrics,
  UNTRAINED_MODEL_WARNING,
} from "./train/metrics.ts";
import { baselines } from "./train/baselines.ts";
import { fromStoredModel, modelHash, type ModelStore, toStoredModel } from "./store/model_store.ts";
import { runBacktest } from "./backtest/mod.ts";
import type { PriceSeries, Signal } from "./backtest/types.ts";
import {
  backtestRecord,
  type MetricSet,
  RECORD_VERSION,
  type RunFold,
  type RunRecord,
  type RunStatus,
  type SplitMetrics,
} from "./record/mod.ts";
import { reportFiles } from "./report/report.ts";
import {
  readRunRecord,
  releaseRunId,
  reserveRunId,
  rewriteRunRecord,
  type RunReservation,
  writeRunRecord,
} from "./store/run_record.ts";
import { captureEnvironment } from "./store/environment.ts";
import {
  analysisForwardRows,
  columnMeans,
  neutralize,
  runAnalysis,
  type Score,
  verdict,
} from "./analysis/mod.ts";
import { isoDates } from "./data/dataset.ts";
import { type DigestedNews, digestNews, newsLine } from "./news/digest.ts";
import { defaultEvalFrom, defaultWalkForwardStart } from "./dataset/split.ts";

/** How to run: where results and models go, and what to say on the way. */
export interface RunOptions {
  /** Folder holding `results/<experiment>/<run-id>/` (default `results`). */
  resultsDir: string;
  store: ModelStore;
  /** Train even when the store holds the model. */
  retrain?: boolean;
  /**
   * Continue an interrupted training from its checkpoint: `true` requires one
   * (the first model this run trains must have a checkpoint, else the run
   * fails naming the path it looked for); `"if-any"` resumes where there is
   * one and trains from the start where there is none. Absent: any old
   * checkpoint is removed and training starts from the first epoch.
   */
  resume?: boolean | "if-any";
  /** Folder for training checkpoints (default `.alfred/checkpoints`). */
  checkpointDir?: string;
  /** Folder of cached language-model news digests (default `.alfred/news-cache`). */
  newsCacheDir?: string;
  /**
   * Stops the run cleanly: training saves a checkpoint of its last completed
   * epoch and stops, and the run is written with status `"interrupted"`.
   */
  signal?: AbortSignal;
  /** One line of progress or information. */
  log: (line: string) => void;
  /** Raw text for the progress bar. */
  write: (text: string) => void;
  /** Called after every training epoch of the main model (e.g. to report progress to a queue). */
  onEpoch?: (fold: string, log: EpochLog) => void;
  /**
   * Called right before the run's folder is written; throwing abandons the run (nothing is
   * written, its run id is released). A worker checks here that it still holds its job.
   */
  beforeWrite?: () => Promise<void>;
  tty: boolean;
}

/** What a finished run returns. */
export interface RunOutcome {
  record: RunRecord;
  /** Folder the run record was written to. */
  dir: string;
}

/** Quarter numbers of every calendar quarter from `from` to `to`. */
function calendarQuarters(from: string, to: string): number[] {
  const first = dayQuarter(isoToDay(from)), last = dayQuarter(isoToDay(to));
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}

/**
 * Where training data ends, decided before any features are built: the split's
 * `eval_from` (default: 70% into the data window's quarters, the same rule as
 * `defaultEvalFrom`) and the last date whose returns the ticker selection may see.
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

/** Last quarter's move of each row (close over the ticker's previous quarter close, minus 1). */
function previousQuarterMoves(q: QuarterlyFrame): Float64Array {
  const tickers = column<string>(q, "ticker");
  const closes = column<number>(q, "close");
  const moves = new Float64Array(tickers.length);
  for (let i = 1; i < tickers.length; i++) {
    if (tickers[i] === tickers[i - 1]) moves[i] = closes[i] / closes[i - 1] - 1;
  }
  return moves;
}

function column<T>(q: QuarterlyFrame, name: string): T[] {
  return q.frame.getColumn(name).toArray() as T[];
}

function pick<T>(values: ArrayLike<T>, rows: number[]): T[] {
  return rows.map((r) => values[r]);
}

/** The experiment's own loss of predictions, computed on the active backend. */
function experimentLoss(e: Experiment): (y: Float32Array, pred: Float32Array) => Promise<number> {
  const lossFn = makeLoss(e.loss);
  return async (y, pred) => {
    const t = tf.tidy(() =>
      lossFn(tf.tensor2d(y, [y.length, 1]), tf.tensor2d(pred, [pred.length, 1]))
    );
    try {
      return (await t.data())[0];
    } finally {
      t.dispose();
    }
  };
}

/**
 * Evaluation metrics for the experiment's label mode. `loss` is the experiment's own loss (BCE
 * for direction; for magnitude the configured regression loss, so it is comparable with the
 * training history), beside MSE and the other metrics.
 */
async function evaluate(
  e: Experiment,
  y: ArrayLike<number>,
  pred: ArrayLike<number>,
  quarters: string[],
): Promise<MetricSet> {
  if (e.label.mode === "direction") return classificationMetrics(y, pred);
  const m = regressionMetrics(y, pred, quarters);
  const loss = await experimentLoss(e)(Float32Array.from(y), Float32Array.from(pred));
  return { ...m, loss };
}

/** Daily closes per ticker, for the backtest. */
function priceSeries(dataset: Dataset, tickers: string[]): Map<string, PriceSeries> {
  const prices = dataset.table("prices");
  const out = new Map<string, PriceSeries>();
  for (const ticker of tickers) {
    const rows = prices.filter(pl.col("ticker").eq(pl.lit(ticker))).sort("date");
    out.set(ticker, {
      dates: isoDates(rows.getColumn("date")) as string[],
      close: Float64Array.from(rows.getColumn("close").toArray() as number[]),
    });
  }
  return out;
}

/** One market series as a price-like series (dates and values). */
function marketSeries(dataset: Dataset, name: string | null): PriceSeries | null {
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

/** What a run checks against its dataset before any long work. */
export type DataCheckName = "tickers" | "series" | "benchmark" | "risk-free";

/** One check of an experiment against its dataset, and what it found. */
export interface DataCheck {
  /**
   * `tickers`: the train and eval tickers resolve; `series`: the market series the features
   * name exist; `benchmark`: the backtest's index series exists; `risk-free`: the dataset's
   * risk-free yield series exists.
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
  const tickers = check("tickers", () => resolveTickers(dataset, e.data, boundary.selectionEnd));
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
  return { checks, boundary, tickers, index, riskFree };
}

/**
 * Trains with the experiment's engine: `trainModel`, or the fused engine of
 * the active backend (see {@linkcode fusedTarget}).
 *
 * @param e the experiment
 * @param backend the active backend
 * @param args the trainer's arguments
 * @returns what the engine returned
 */
function trainWithEngine(e: Experiment, backend: string, args: TrainArgs): Promise<TrainResult> {
  if (e.train.engine !== "fused") return trainModel(args);
  const description = describeModel(e.model, args.x.cols, {
    label: e.label,
    batchSize: e.train.batch_size,
  });
  const fused = { ...args, description, lossConfig: e.loss };
  const target = fusedTarget(backend);
  return target === "webgpu" ? trainFused(fused) : trainFusedCpu({ ...fused, sgemm: target });
}

/**
 * A fresh model trained without checkpoints (controls, ablation retrains),
 * with progress lines when `progress` is given.
 */
async function fitQuietly(
  e: Experiment,
  backend: string,
  data: { x: Matrix; y: Float32Array; xVal: Matrix; yVal: Float32Array },
  signal?: AbortSignal,
  progress?: ProgressReporter,
): Promise<{ model: tf.LayersModel; result: TrainResult }> {
  const model = buildModel(e.model, data.x.cols, e.label, e.seed);
  const result = await trainWithEngine(e, backend, {
    model,
    loss: makeLoss(e.loss),
    train: e.train,
    seed: e.seed,
    ...data,
    signal,
    onEpoch: progress,
  });
  progress?.finish(result);
  return { model, result };
}

/** The model store key of one fold's model: everything that determines its weights. */
async function foldModelHash(e: Experiment, p: Prepared, fold: Fold): Promise<string> {
  return await modelHash({
    model: e.model,
    loss: e.loss,
    train: e.train,
    features: e.features,
    label: e.label,
    split: { ...e.split, fold: fold.name },
    scaling: e.scaling,
    dataFingerprint: p.fingerprint,
    seed: e.seed,
    tickers: p.tickers.train,
    evalTickers: p.tickers.eval,
    data: { from: e.data.from ?? null, to: e.data.to ?? null },
  });
}

/** Stage timer: records seconds per stage, in order. */
class Stages {
  readonly seconds: Record<string, number> = {};
  async time<T>(name: string, f: () => T | Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.seconds[name] = (this.seconds[name] ?? 0) + (performance.now() - t0) / 1000;
    }
  }
}

interface FoldOutcome {
  fold: Fold;
  evalPred: Float32Array;
  /** Eval predictions of the same model trained on shuffled labels (the chance control). */
  controlPred: Float32Array | null;
  training: TrainResult | null;
  restored: boolean;
  modelHash: string;
  metrics: { preTrain: SplitMetrics; postTrain: SplitMetrics; lastEpoch?: SplitMetrics };
  scaler: Scaler;
  /** The fold's scaled design matrices, built once and shared by every later stage. */
  matrices: FoldMatrices;
  model: tf.LayersModel;
}

/** A fold's training, validation and eval rows, scaled by the fold's scaler. */
interface FoldMatrices {
  train: DesignMatrix;
  val: DesignMatrix;
  ev: DesignMatrix;
}

/** Scale a fold's rows with its scaler (fitted on its training rows). */
function foldMatrices(q: QuarterlyFrame, fold: Fold, scaler: Scaler): FoldMatrices {
  return {
    train: designMatrix(q, fold.train, scaler),
    val: designMatrix(q, fold.validation, scaler),
    ev: designMatrix(q, fold.eval, scaler),
  };
}

/** Everything the stages before training produce. */
interface Prepared {
  dataset: Dataset;
  fingerprint: string;
  tickers: ResolvedTickers;
  selectionEnd: string;
  q: QuarterlyFrame;
  folds: Fold[];
  /** First day of the eval period as resolved (config or default); null for by_ticker. */
  evalFrom: string | null;
  index: CheckedData["index"];
  riskFree: CheckedData["riskFree"];
  /** The digested news, when the `news` family is chosen. */
  news?: DigestedNews;
}

async function prepare(
  e: Experiment,
  stages: Stages,
  log: (s: string) => void,
  newsCacheDir?: string,
): Promise<Prepared> {
  const dataset = await stages.time("data", () => loadDataset(e.data.dataset));
  const checked = await stages.time("tickers", () => checkData(e, dataset));
  const failed = checked.checks.find((c) => c.error !== null);
  if (failed) throw failed.error;
  const { boundary, index, riskFree } = checked;
  const tickers = checked.tickers!;
  const fingerprint = await dataset.fingerprint();
  log(`train tickers: ${tickers.train.join(" ")}`);
  log(`eval tickers:  ${tickers.eval.join(" ")}`);
  // news (issue 21): digest the articles before the roll-up, which is synchronous.
  const newsCfg = e.features.families.news;
  const news = newsCfg
    ? await stages.time("news", async () => {
      const d = await digestNews(
        dataset,
        newsCfg,
        [...tickers.train, ...tickers.eval],
        e.data.to === undefined ? Infinity : isoToDay(e.data.to) * 86_400_000 + 86_400_000,
        { cacheDir: newsCacheDir, log },
      );
      log(newsLine(d.stats));
      return d;
    })
    : undefined;
  const q = await stages.time("features", () =>
    buildQuarterly(dataset, e.features, e.label, {
      tickers: [...tickers.train, ...tickers.eval],
      from: e.data.from,
      to: e.data.to,
      ...(news ? { news } : {}),
    }));
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
  };
}

/** Seconds between a run's checkpoints (the final state is always saved). */
export const CHECKPOINT_SECONDS = 60;

/**
 * Rows the run will still pass through its models once this fold's model (or,
 * with `afterControl`, its control) has trained: the last epoch's fit of the
 * training rows, the trained model's metrics, the control's eval pass, each
 * later fold's passes, and the analysis of the last fold. For the ETA.
 */
function forwardRowsAfter(
  e: Experiment,
  p: Prepared,
  foldIndex: number,
  afterControl: boolean,
): number {
  const control = e.analysis.shuffled_control?.enabled === true;
  const training = (f: Fold) => f.train.length; // the last epoch's fit of the training rows
  const trained = (f: Fold) => f.train.length + f.validation.length + f.eval.length;
  let rows = 0;
  p.folds.forEach((f, i) => {
    if (i < foldIndex) return;
    const later = i > foldIndex;
    if (later) rows += f.train.length + f.eval.length + training(f); // before training; its model
    if (later || !afterControl) rows += trained(f);
    if (control) rows += f.eval.length; // the control's eval pass
  });
  const last = p.folds[p.folds.length - 1];
  return rows + analysisForwardRows(e.analysis, {
    evalRows: last.eval.length,
    trainRows: last.train.length,
    features: p.q.features.length,
    families: Object.keys(p.q.families).length,
  });
}

/**
 * Which fused engine trains on a backend: the WGSL one on `webgpu`, the CPU
 * one with the BLAS sgemm on `cpu-blas` and with its own wasm SIMD sgemm on
 * `wasm`.
 *
 * @param backend the active backend
 * @returns the engine's target
 * @throws {Error} for another backend, naming the three that work
 */
export function fusedTarget(backend: string): "webgpu" | "blas" | "wasm" {
  if (backend === "webgpu") return "webgpu";
  if (backend === "cpu-blas") return "blas";
  if (backend === "wasm") return "wasm";
  throw new Error(
    `train.engine "fused" runs on backend "webgpu" (WGSL), "cpu-blas" (BLAS sgemm) or "wasm" (wasm SIMD sgemm), not on "${backend}": set train.backend to one of them, or train.engine: tfjs`,
  );
}

/**
 * The run's memory plan: the process as it is now (runtime, data, features)
 * plus the models and what the training engine will allocate for the largest
 * fold (its batch and validation chunk).
 */
function planMemory(
  e: Experiment,
  description: ModelDescription,
  fused: "webgpu" | "blas" | "wasm" | null,
  folds: Fold[],
): MemoryPlan {
  const models = e.analysis.shuffled_control?.enabled ? 2 : 1;
  let engine: EngineMemory = { engine: "tfjs", optimizer: e.train.optimizer };
  if (fused === "webgpu") engine = { engine: "fused-webgpu" };
  if (fused === "blas" || fused === "wasm") {
    const { layers, params } = fusedLayout(description);
    const rows = Math.max(
      ...folds.map((f) =>
        Math.max(Math.min(e.train.batch_size, f.train.length), Math.min(f.validation.length, 1024))
      ),
    );
    // The wasm sgemm gives each engine thread (one per CPU at most) a packing scratch.
    const threads = fused === "wasm" ? navigator.hardwareConcurrency ?? 1 : 0;
    engine = {
      engine: "fused-cpu",
      bytes: fusedCpuBytes(layers, params, rows, e.train.optimizer, threads),
    };
  }
  return memoryPlan(description, engine, { runtimeBytes: currentRssBytes(), models });
}

/**
 * Run one resolved experiment end to end and write its run record. The run id
 * is reserved in the results folder first, so runs started at the same time
 * (in this process or others) never share one.
 *
 * @param e the resolved experiment (one sweep point)
 * @param options where to write and how to report progress
 * @returns the run record and the folder it was written to
 * @throws {Error} for data, feature or model problems, or `resume: true` without a checkpoint;
 *   nothing is written then
 */
export async function runExperiment(e: Experiment, options: RunOptions): Promise<RunOutcome> {
  const started = new Date();
  const hash = configHash(e);
  const reservation = await reserveRunId(options.resultsDir, e.name, started, hash);
  try {
    return await runReserved(e, options, started, hash, reservation);
  } catch (error) {
    await releaseRunId(reservation);
    throw error;
  }
}

async function runReserved(
  e: Experiment,
  options: RunOptions,
  started: Date,
  hash: string,
  reservation: RunReservation,
): Promise<RunOutcome> {
  const stages = new Stages();
  const { runId } = reservation;
  const { log } = options;
  log(`run ${e.name} ${runId}`);

  const { backend, device } = await stages.time("backend", () => selectBackend(e.train.backend));
  log(`backend ${backend} on ${device}`);
  if (e.train.engine === "fused") {
    // Before the data work: a model past the engine's limits fails now (one input: a lower bound).
    const lower = describeModel(e.model, 1, { label: e.label, batchSize: e.train.batch_size });
    await checkFusedFits(fusedTarget(backend), lower, {
      batchSize: e.train.batch_size,
      optimizer: e.train.optimizer,
    });
  }
  const p = await prepare(e, stages, log, options.newsCacheDir);
  const { q, folds } = p;

  const quarters = column<string>(q, "quarter");
  const loss = makeLoss(e.loss);
  const kinds = scalerKinds(q, e.features, e.scaling);
  const description = describeModel(e.model, q.features.length, {
    label: e.label,
    batchSize: e.train.batch_size,
  });
  const fused = e.train.engine === "fused" ? fusedTarget(backend) : null;
  let trainDevice = device;
  if (fused) {
    const why = fusedUnsupported(description);
    if (why) throw new Error(`train.engine "fused" cannot train this model: ${why}`);
    trainDevice = fused === "webgpu"
      ? `${device}; fused WGSL MLP engine`
      : `${device}; fused CPU MLP engine (${fusedCpuSgemm(fused)})`;
    log(`engine: fused ${fused === "webgpu" ? "WebGPU" : "CPU"} MLP engine`);
  } else {
    // The tfjs engine on cpu-blas trains inside the wasm heap.
    checkFits(description, undefined, { backend: backend === "cpu-blas" ? "wasm" : backend });
  }
  const stepWarning = adamStepWarning(description.widths, e.train);
  if (stepWarning) log(`warning: ${stepWarning}`);
  const memory = planMemory(e, description, fused, folds);
  checkPlanFits(memory, `model ${e.model.family} (${description.layers} x ${description.size})`);
  log(
    `model ${e.model.family}: ${description.layers} layers of ${description.size}, ` +
      `${description.parameters.toLocaleString("en-US")} parameters; peak memory about ${
        gib(memory.bytes)
      } (${memory.parts.map((m) => `${m.what} ${gib(m.bytes)}`).join(", ")})`,
  );

  const outcomes: FoldOutcome[] = [];
  let interrupted = false;
  let interruption = "";
  // With `resume: true`, the first model this run trains must continue a checkpoint.
  let mustResume = options.resume === true;
  for (const fold of folds) {
    const scaler = await stages.time(
      "scale",
      () => Scaler.fit(q.frame, fold.train, q.features, kinds),
    );
    const matrices = foldMatrices(q, fold, scaler);
    const { train, val, ev } = matrices;
    let model: tf.LayersModel = buildModel(e.model, q.features.length, e.label, e.seed);
    const key = await foldModelHash(e, p, fold);
    // For the ETA: the trainings after this fold's model, each about as long:
    // its shuffled-label control, then each later fold's model and control.
    const controls = e.analysis.shuffled_control?.enabled ? 1 : 0;
    const laterTrainings = (folds.length - 1 - folds.indexOf(fold)) * (1 + controls);
    const forwardStart = performance.now();
    const preTrain: SplitMetrics = {
      train: await evaluate(e, train.y, await predict(model, train.x), pick(quarters, fold.train)),
      eval: await evaluate(e, ev.y, await predict(model, ev.x), pick(quarters, fold.eval)),
    };
    // Seconds per row of a forward pass (with its metrics), for the ETA's evaluation work.
    const forwardSeconds = (performance.now() - forwardStart) / 1000 /
      Math.max(1, train.x.rows + ev.x.rows);
    const afterSeconds = (control: boolean) =>
      forwardSeconds * forwardRowsAfter(e, p, folds.indexOf(fold), control);
    let training: TrainResult | null = null;
    let restored = false;
    const stored = options.retrain ? null : await options.store.load(key);
    if (stored) {
      model.dispose();
      model = await fromStoredModel(stored);
      restored = true;
      log(
        `${fold.name}: restored model ${key.slice(0, 12)} from the store (--retrain trains again)`,
      );
    } else {
      const progress = progressReporter({
        epochs: e.train.epochs,
        tty: options.tty,
        write: options.write,
        label: folds.length > 1 ? fold.name : "train",
        patience: e.train.patience,
        following: controls + laterTrainings,
        afterSeconds: afterSeconds(false),
      });
      // At most one save a minute (and the final state): a 2048-wide model's
      // state is 600 MB, and saving it after every 0.7 s epoch took 3.5 s.
      const checkpoint = fileCheckpointer(
        `${options.checkpointDir ?? ".alfred/checkpoints"}/${key}.ckpt`,
        1,
        CHECKPOINT_SECONDS,
      );
      if (!options.resume) await checkpoint.clear();
      else if (!(await checkpoint.exists())) {
        if (mustResume) {
          throw new Error(
            `Cannot resume ${e.name}${folds.length > 1 ? ` (${fold.name})` : ""}: ` +
              `no checkpoint "${checkpoint.path}" (one is saved when training is interrupted ` +
              `and removed once the model is stored); run without --resume to train from the ` +
              `start, or with --resume-if-any to resume only where a checkpoint exists`,
          );
        }
        log(`${fold.name}: no checkpoint "${checkpoint.path}": training from the first epoch`);
      }
      mustResume = false;
      const args = {
        model,
        loss,
        train: e.train,
        seed: e.seed,
        x: train.x,
        y: train.y,
        xVal: val.x,
        yVal: val.y,
        onEpoch: (log: EpochLog) => {
          progress(log);
          options.onEpoch?.(fold.name, log);
        },
        onResume: (history: EpochLog[]) => {
          progress.resume(history);
          log(`${fold.name}: resumed from "${checkpoint.path}" after epoch ${history.length}`);
        },
        signal: options.signal,
        lastEpochFit: true,
      };
      const result = await stages.time(
        "train",
        () => trainWithEngine(e, backend, { ...args, checkpoint }),
      );
      training = result;
      progress.finish(result);
      if (result.engine) {
        trainDevice = `${device}; ${result.engine}`;
        log(`${fold.name}: trained by the ${result.engine}`);
      }
      if (result.stoppedBy === "interrupted") {
        interrupted = true;
        const at = `${
          folds.length > 1 ? `${fold.name}, ` : ""
        }after epoch ${result.history.length} of ${e.train.epochs}`;
        interruption = (await checkpoint.exists())
          ? `interrupted during training (${at}); checkpoint "${checkpoint.path}": ` +
            `run again with --resume to continue from it`
          : `interrupted during training (${at}); no checkpoint was saved`;
        log(`${fold.name}: ${interruption}`);
      } else {
        await options.store.save(
          key,
          await toStoredModel(model, {
            scaler: scaler.toJSON(),
            meta: {
              hash: key,
              dataFingerprint: p.fingerprint,
              features: q.features,
              label: q.label,
              backend: `${backend} (${trainDevice})`,
              created: new Date().toISOString(),
              train: {
                bestEpoch: result.bestEpoch,
                bestValLoss: result.bestValLoss,
                stoppedBy: result.stoppedBy,
                epochs: result.history.length,
              },
            },
          }),
        );
        await checkpoint.clear();
      }
    }
    const evalPred = await predict(model, ev.x);
    let controlPred: Float32Array | null = null;
    if (e.analysis.shuffled_control?.enabled && !interrupted) {
      const control = await stages.time("control", () =>
        fitQuietly(
          e,
          backend,
          {
            x: train.x,
            // The control's labels: shuffled copies, the seed itself as the generator's state.
            y: Prng.fromState(e.seed + 1).shuffle(train.y.slice()),
            xVal: val.x,
            yVal: Prng.fromState(e.seed + 2).shuffle(val.y.slice()),
          },
          options.signal,
          progressReporter({
            epochs: e.train.epochs,
            tty: options.tty,
            write: options.write,
            label: folds.length > 1 ? `${fold.name} control` : "control",
            patience: e.train.patience,
            following: laterTrainings,
            afterSeconds: afterSeconds(true),
          }),
        ));
      if (control.result.stoppedBy === "interrupted") {
        // A control cut short says nothing; the model itself is stored.
        interrupted = true;
        interruption = `interrupted during the shuffled-label control${
          folds.length > 1 ? ` of ${fold.name}` : ""
        } (the model is stored; run again to train the control)`;
        log(`${fold.name}: ${interruption}`);
      } else {
        controlPred = await predict(control.model, ev.x);
        log(
          `${fold.name}: shuffled-label control trained (${control.result.history.length} epochs)`,
        );
      }
      control.model.dispose();
    }
    outcomes.push({
      fold,
      evalPred,
      controlPred,
      training,
      restored,
      modelHash: key,
      metrics: {
        preTrain,
        postTrain: {
          train: await evaluate(
            e,
            train.y,
            await predict(model, train.x),
            pick(quarters, fold.train),
          ),
          validation: await evaluate(
            e,
            val.y,
            await predict(model, val.x),
            pick(quarters, fold.validation),
          ),
          eval: await evaluate(e, ev.y, evalPred, pick(quarters, fold.eval)),
        },
        ...(training?.lastEpochTrain
          ? {
            lastEpoch: {
              train: await evaluate(
                e,
                train.y,
                training.lastEpochTrain,
                pick(quarters, fold.train),
              ),
            },
          }
          : {}),
      },
      scaler,
      matrices,
      model,
    });
    if (interrupted) break;
  }
  try {
    return await finishRun({
      e,
      options,
      started,
      stages,
      hash,
      reservation,
      backend,
      device: trainDevice,
      p,
      outcomes,
      status: interrupted ? "interrupted" : "complete",
      ...(interrupted ? { error: interruption } : {}),
      memory,
    });
  } finally {
    for (const o of outcomes) o.model.dispose();
  }
}

interface FinishArgs {
  e: Experiment;
  options: RunOptions;
  started: Date;
  stages: Stages;
  hash: string;
  /** The run id reserved for the run, and its temporary folder. */
  reservation: RunReservation;
  backend: string;
  device: string;
  p: Prepared;
  outcomes: FoldOutcome[];
  status: RunStatus;
  /** What interrupted the run, for the record and report. */
  error?: string;
  /** The memory plan printed before training. */
  memory: MemoryPlan;
}

/** The model's eval predictions pooled over the folds (walk-forward eval periods do not overlap). */
function pooled(outcomes: FoldOutcome[]): { rows: number[]; pred: Float32Array } {
  const rows = outcomes.flatMap((o) => o.fold.eval);
  const pred = new Float32Array(rows.length);
  let at = 0;
  for (const o of outcomes) {
    pred.set(o.evalPred, at);
    at += o.evalPred.length;
  }
  return { rows, pred };
}

/** Baselines fitted on each fold's training rows, pooled like the model's predictions. */
function baselinePredictions(
  e: Experiment,
  q: QuarterlyFrame,
  outcomes: FoldOutcome[],
  total: number,
): Record<string, Float32Array> {
  const moves = previousQuarterMoves(q);
  const preds: Record<string, Float32Array> = {};
  let at = 0;
  for (const o of outcomes) {
    const { train, ev } = o.matrices;
    const result = baselines({
      mode: e.label.mode,
      xTrain: train.x,
      yTrain: train.y,
      xEval: ev.x,
      yEval: ev.y,
      momentumEval: Float64Array.from(pick(moves, o.fold.eval)),
      seed: e.seed,
    });
    for (const b of result) {
      preds[b.name] ??= new Float32Array(total);
      preds[b.name].set(b.predictions, at);
    }
    at += o.fold.eval.length;
  }
  return preds;
}

/** Loss (the experiment's own) and main metric (F1 or sign accuracy) of predictions. */
function scorer(e: Experiment): Score {
  const loss = experimentLoss(e);
  return async (y, pred) => ({
    loss: await loss(y, pred),
    metric: e.label.mode === "direction"
      ? classificationMetrics(y, pred).f1
      : regressionMetrics(y, pred).signAccuracy,
  });
}

/**
 * The `analysis:` block on the last fold's model; with `ablation.retrain_top`, the top drop
 * candidates are also retrained from scratch with their column neutralized (an interrupt stops
 * the retraining: the retrains finished before it are kept, and `interrupted` says so).
 */
async function analyzeModel(
  e: Experiment,
  backend: string,
  q: QuarterlyFrame,
  o: Pick<FoldOutcome, "fold" | "matrices" | "model">,
  options: Pick<RunOptions, "log" | "signal">,
): Promise<{ analysis: RunRecord["analysis"]; interrupted: boolean }> {
  let interrupted = false;
  const { train, val, ev } = o.matrices;
  const score = scorer(e);
  const result = await runAnalysis({
    config: e.analysis,
    predict: (x) => predict(o.model, x),
    xTrain: train.x,
    yTrain: train.y,
    xEval: ev.x,
    yEval: ev.y,
    evalKeys: ev.keys.map((k) => `${k.ticker} ${k.quarter}`),
    features: q.features,
    families: q.families,
    mode: e.label.mode,
    score,
    metricName: e.label.mode === "direction" ? "f1" : "signAccuracy",
    seed: e.seed,
    log: options.log,
  });
  const top = e.analysis.ablation?.retrain_top ?? 0;
  if (top > 0 && result.ablation) {
    const full = result.ablation.full;
    const neutral = columnMeans(train.x);
    const candidates = result.ablation.rows
      .filter((r) => r.kind === "feature" && r.verdict === "drop candidate")
      .sort((a, b) => a.deltaLoss - b.deltaLoss)
      .slice(0, top);
    const retrained = [];
    for (const c of candidates) {
      const col = [q.features.indexOf(c.name)];
      options.log(`ablation: retraining without ${c.name}`);
      const fit = await fitQuietly(e, backend, {
        x: neutralize(train.x, col, neutral),
        y: train.y,
        xVal: neutralize(val.x, col, neutral),
        yVal: val.y,
      }, options.signal);
      if (fit.result.stoppedBy === "interrupted") {
        fit.model.dispose();
        interrupted = true;
        options.log(
          `ablation: interrupted while retraining without ${c.name}; ` +
            `${retrained.length} of ${candidates.length} retrains kept`,
        );
        break;
      }
      const s = await score(ev.y, await predict(fit.model, neutralize(ev.x, col, neutral)));
      fit.model.dispose();
      retrained.push({
        feature: c.name,
        loss: s.loss,
        metric: s.metric,
        deltaLoss: s.loss - full.loss,
        deltaMetric: s.metric - full.metric,
        verdict: verdict(s.loss - full.loss, s.metric - full.metric),
        epochs: fit.result.history.length,
      });
    }
    result.ablation.retrained = retrained;
  }
  return { analysis: result, interrupted };
}

/**
 * What a fold's record says about leakage: the latest date a training (or validation) label is
 * known, and the rows its scaler was fitted on beside the training rows' own hash.
 */
function foldLeakage(
  q: QuarterlyFrame,
  fold: Fold,
  scaler: Scaler | undefined,
): Pick<RunFold, "lastTrainLabelDate" | "trainRowsHash" | "scalerRows" | "scalerRowsHash"> {
  const labelDates = column<string>(q, "label_date");
  let last = "";
  for (const r of [...fold.train, ...fold.validation]) {
    if (labelDates[r] > last) last = labelDates[r];
  }
  const fitted = scaler?.toJSON();
  return {
    ...(last ? { lastTrainLabelDate: last } : {}),
    trainRowsHash: rowSetHash(fold.train),
    ...(fitted ? { scalerRows: fitted.fittedRows, scalerRowsHash: fitted.rowsHash } : {}),
  };
}

/** The last epoch's training fit where some fold restored an earlier epoch (per fold when several). */
function lastEpochMetrics(
  outcomes: FoldOutcome[],
  single: FoldOutcome | null,
): { lastEpoch?: SplitMetrics } {
  if (single) return single.metrics.lastEpoch ? { lastEpoch: single.metrics.lastEpoch } : {};
  const folds = outcomes.filter((o) => o.metrics.lastEpoch?.train);
  if (folds.length === 0) return {};
  return {
    lastEpoch: {
      folds: Object.fromEntries(
        folds.map((o) => [o.fold.name, { train: o.metrics.lastEpoch!.train! }]),
      ),
    },
  };
}

async function finishRun(a: FinishArgs): Promise<RunOutcome> {
  const { e, options, stages, outcomes, p } = a;
  const { q } = p;
  const mode = e.label.mode;
  const last = outcomes[outcomes.length - 1];
  const labels = column<number>(q, q.label);
  const quarters = column<string>(q, "quarter");
  const rowTickers = column<string>(q, "ticker");
  const rowDates = column<string>(q, "date");

  const { rows: evalRows, pred: evalPred } = pooled(outcomes);
  const evalY = Float32Array.from(pick(labels, evalRows));
  const evalQuarters = pick(quarters, evalRows);
  const evalTickers = pick(rowTickers, evalRows);
  if (outcomes.every((o) => o.training === null && !o.restored)) {
    options.log(UNTRAINED_MODEL_WARNING);
  }

  const baselineMetrics: Record<string, MetricSet> = {};
  await stages.time("baselines", async () => {
    const preds = baselinePredictions(e, q, outcomes, evalRows.length);
    if (outcomes.every((o) => o.controlPred)) {
      preds["shuffled labels"] = pooled(outcomes.map((o) => ({ ...o, evalPred: o.controlPred! })))
        .pred;
    }
    for (const [name, pred] of Object.entries(preds)) {
      baselineMetrics[name] = await evaluate(e, evalY, pred, evalQuarters);
    }
  });
  const perTicker: Record<string, MetricSet> = {};
  const groups = mode === "direction"
    ? metricsByGroup("direction", evalY, evalPred, evalTickers)
    : metricsByGroup("magnitude", evalY, evalPred, evalTickers, { quarters: evalQuarters });
  for (const g of groups) perTicker[g.group] = g.metrics;

  const backtest = await stages.time("backtest", () => {
    const signals: Signal[] = evalRows.map((r, i) => ({
      ticker: rowTickers[r],
      date: rowDates[r],
      score: evalPred[i],
    }));
    return runBacktest({
      signals,
      prices: priceSeries(p.dataset, p.tickers.eval),
      index: p.index,
      riskFree: p.riskFree,
      labelMode: mode,
      config: e.backtest,
    });
  });

  for (const r of backtest.ruin) {
    options.log(
      `backtest: ${r.book} ruined on ${r.date} (equity ${r.equity.toFixed(2)} at that close), ` +
        `liquidated at ${r.liquidationValue.toFixed(2)}: no further trading`,
    );
  }

  const analyzed = last && a.status === "complete" && Object.keys(e.analysis).length > 0
    ? await stages.time("analysis", () => analyzeModel(e, a.backend, q, last, options))
    : undefined;
  const analysis = analyzed?.analysis;
  const [status, error] = analyzed?.interrupted
    ? ["interrupted" as const, "interrupted during the ablation retraining (the model is stored)"]
    : [a.status, a.error];

  const training = last?.training;
  const foldWarnings = [...new Set(p.folds.flatMap((f) => f.warnings))];
  const warnings = [
    ...(p.dataset.manifest.synthetic
      ? ["Synthetic data: these numbers say nothing about real markets"]
      : []),
    ...p.dataset.manifest.warnings,
    ...foldWarnings,
    ...[adamStepWarning(describeModel(e.model, q.features.length).widths, e.train)]
      .filter((w): w is string => w !== null),
    ...outcomes.flatMap((o) => {
      const w = o.training ? stalledTraining(o.training.history) : null;
      return w ? [outcomes.length > 1 ? `${o.fold.name}: ${w}` : w] : [];
    }),
    ...backtest.warnings,
  ];
  const description = describeModel(e.model, q.features.length, {
    label: e.label,
    batchSize: e.train.batch_size,
  });
  const single = outcomes.length === 1 ? outcomes[0] : null;
  const pooledEval = await evaluate(e, evalY, evalPred, evalQuarters);
  const record: RunRecord = {
    version: RECORD_VERSION,
    runId: a.reservation.runId,
    experiment: e.name,
    description: e.description,
    status,
    ...(error ? { error } : {}),
    configHash: a.hash,
    configYaml: experimentToYaml(e),
    config: e,
    data: {
      dataset: e.data.dataset,
      fingerprint: p.fingerprint,
      manifestWarnings: p.dataset.manifest.warnings,
      synthetic: p.dataset.manifest.synthetic,
      tickers: {
        train: p.tickers.train,
        eval: p.tickers.eval,
        selection: {
          returnsUpTo: p.selectionEnd,
          selections: p.tickers.selections,
        },
      },
      from: e.data.from ?? p.dataset.manifest.from,
      to: e.data.to ?? p.dataset.manifest.to,
    },
    seeds: { seed: e.seed },
    environment: await captureEnvironment(a.backend, a.device),
    timings: {
      start: a.started.toISOString(),
      end: new Date().toISOString(),
      stages: a.stages.seconds,
    },
    memory: { planned: a.memory.bytes, parts: a.memory.parts, peak: peakRssBytes() },
    model: {
      family: e.model.family,
      size: description.size,
      layers: description.layers,
      parameters: description.parameters,
      bytes: description.bytes,
      modelHash: last?.modelHash ?? "",
      restoredFromStore: outcomes.length > 0 && outcomes.every((o) => o.restored),
    },
    features: q.features,
    featureFamilies: q.families,
    missing: q.missing,
    scaler: last?.scaler.toJSON() ?? null,
    split: {
      method: e.split.method,
      folds: p.folds.map((f) => ({
        name: f.name,
        trainPeriod: f.trainPeriod,
        evalPeriod: f.evalPeriod,
        trainRows: f.train.length,
        validationRows: f.validation.length,
        evalRows: f.eval.length,
        ...foldLeakage(q, f, outcomes.find((o) => o.fold === f)?.scaler),
      })),
      warnings: foldWarnings,
      horizon: e.label.horizon,
      purge: e.split.purge ?? e.label.horizon,
      embargo: e.split.embargo,
      evalFrom: p.evalFrom,
    },
    // A constant column's correlation is null; the record keeps it as NaN.
    correlations: last
      ? featureCorrelations(q.frame, q.features, q.label, last.fold.train).map((c) => ({
        ...c,
        pearson: c.pearson ?? NaN,
        spearman: c.spearman ?? NaN,
      }))
      : [],
    training: training
      ? {
        history: training.history,
        bestEpoch: training.bestEpoch,
        bestValLoss: training.bestValLoss,
        stoppedBy: training.stoppedBy,
      }
      : last?.restored
      ? { history: [], bestEpoch: 0, bestValLoss: 0, stoppedBy: "restored" }
      : null,
    metrics: {
      mode,
      preTrain: single ? single.metrics.preTrain : {
        folds: Object.fromEntries(
          outcomes.map((o) => [o.fold.name, { eval: o.metrics.preTrain.eval! }]),
        ),
      },
      postTrain: single ? single.metrics.postTrain : {
        eval: pooledEval,
        folds: Object.fromEntries(
          outcomes.map((o) => [o.fold.name, { eval: o.metrics.postTrain.eval! }]),
        ),
      },
      ...(lastEpochMetrics(outcomes, single)),
      perTicker,
      baselines: baselineMetrics,
    },
    backtest: backtestRecord(backtest),
    ...(analysis ? { analysis } : {}),
    ...(p.news ? { news: p.news.stats } : {}),
    warnings: [...new Set(warnings)],
  };
  const predictions = evalRows.map((r, i) => ({
    ticker: rowTickers[r],
    quarter: quarters[r],
    date: rowDates[r],
    split: "eval",
    actual: labels[r],
    predicted: evalPred[i],
  }));
  await options.beforeWrite?.();
  const dir = await writeRunRecord(
    options.resultsDir,
    record,
    { predictions, render: reportFiles },
    a.reservation,
  );
  return { record, dir };
}

/** Options of {@linkcode analyzeRun}. */
export interface AnalyzeOptions {
  store: ModelStore;
  /** `--set` overrides of the run's config (e.g. `analysis.shap.enabled=true`). */
  set?: string[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Run the `analysis:` block on a finished run's stored model (`deno task analyze RUN_ID`) and
 * rewrite the run's record and report with the result. The data must be the data the run used
 * (same fingerprint) and the model must be in the store.
 *
 * @param dir the run's folder
 * @param options the model store, overrides of the run's config, and a log
 * @returns the updated record
 * @throws {Error} when the data changed since the run or the model is not in the store
 */
export async function analyzeRun(dir: string, options: AnalyzeOptions): Promise<RunRecord> {
  const record = await readRunRecord(dir);
  const [e] = await parseExperimentText(record.configYaml, `${dir}/config.yaml`, {
    set: options.set,
  });
  if (Object.keys(e.analysis).length === 0) {
    throw new RangeError(
      `Run "${record.runId}" has no analysis: block; add one with --set, e.g. --set analysis.ablation.enabled=true`,
    );
  }
  const { backend, device } = await selectBackend(e.train.backend);
  options.log(`backend ${backend} on ${device}`);
  const p = await prepare(e, new Stages(), options.log);
  if (p.fingerprint !== record.data.fingerprint) {
    throw new Error(
      `Dataset "${e.data.dataset}" changed since run "${record.runId}": fingerprint ${
        p.fingerprint.slice(0, 12)
      }, the run used ${record.data.fingerprint.slice(0, 12)}`,
    );
  }
  const fold = p.folds[p.folds.length - 1];
  const key = await foldModelHash(e, p, fold);
  const stored = await options.store.load(key);
  if (!stored) {
    throw new Error(
      `The model of run "${record.runId}" (${key.slice(0, 12)}) is not in the model store: ` +
        `run the experiment again (deno task run) to train it`,
    );
  }
  const scaler = Scaler.fit(
    p.q.frame,
    fold.train,
    p.q.features,
    scalerKinds(p.q, e.features, e.scaling),
  );
  const model = await fromStoredModel(stored);
  try {
    const matrices = foldMatrices(p.q, fold, scaler);
    const { analysis } = await analyzeModel(e, backend, p.q, { fold, matrices, model }, options);
    const updated: RunRecord = { ...record, analysis };
    await rewriteRunRecord(dir, updated, reportFiles);
    return updated;
  } finally {
    model.dispose();
  }
}
