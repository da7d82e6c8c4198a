/**
 * Alfred: a declarative experiment runner for machine learning on stock
 * markets. The public API, stage by stage, in pipeline order.
 *
 * @example
 * ```ts
 * import { FileModelStore, loadExperiment, runExperiment } from "./mod.ts";
 * const experiment = await loadExperiment("experiments/quick-direction.yaml");
 * const { dir } = await runExperiment(experiment, {
 *   resultsDir: "results",
 *   store: new FileModelStore(".alfred/models"),
 *   log: console.log,
 *   write: (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
 *   tty: false,
 * });
 * ```
 *
 * @module
 */

// config
export {
  ConfigError,
  configHash,
  diffConfigs,
  experimentToYaml,
  formatConfigDiff,
  loadExperiment,
  loadExperiments,
  parseExperimentText,
} from "./src/config/mod.ts";
export type { ConfigDiff, ConfigIssue, LoadOptions } from "./src/config/mod.ts";
export { Experiment } from "./src/config/schema.ts";

// data
export { loadDataset, MissingTableError, writeDataset } from "./src/data/dataset.ts";
export type { Dataset, Manifest, TableName } from "./src/data/dataset.ts";
export { generateSynthetic, writeSynthetic } from "./src/data/synth.ts";
export { importDataset } from "./src/data/import.ts";
export { fetchDataset } from "./src/data/fetch/mod.ts";
export { continuousTickers } from "./src/data/scan.ts";
export { resolveTickers, selectUncorrelated } from "./src/data/select.ts";
export type { ResolvedTickers, UncorrelatedSelection } from "./src/data/select.ts";
export { marketSeries, priceSeries } from "./src/data/series.ts";

// features
export { buildQuarterly } from "./src/features/quarterly.ts";
export type { QuarterlyFrame } from "./src/features/quarterly.ts";
export { featureCorrelations } from "./src/features/correlation.ts";

// dataset
export { splitRows } from "./src/dataset/split.ts";
export type { Fold } from "./src/dataset/split.ts";
export { Scaler, scalerKinds } from "./src/dataset/scaler.ts";
export { designMatrix } from "./src/dataset/matrix.ts";
export { checkData, prepare, trainingBoundary } from "./src/dataset/prepare.ts";
export type {
  CheckedData,
  DataCheck,
  DataCheckName,
  Prepared,
  PrepareOptions,
} from "./src/dataset/prepare.ts";

// models
export { buildModel, checkFits, describeModel } from "./src/models/registry.ts";
export { makeLoss } from "./src/models/losses.ts";

// train
export { selectBackend } from "./src/train/backend.ts";
export { fileCheckpointer } from "./src/train/checkpoint.ts";
export { stalledTraining } from "./src/train/warnings.ts";
export { classificationMetrics, regressionMetrics } from "./src/train/metrics.ts";
export { baselines } from "./src/train/baselines.ts";
export type { TrainFoldsOptions } from "./src/train/folds.ts";

// engines (the workspace package `@alfred/engines`: the epoch loop, the tfjs and fused engines)
export {
  fusedUnsupported,
  installBlasKernels,
  predict,
  trainFused,
  trainFusedCpu,
  trainModel,
} from "@alfred/engines";
export type { Checkpointer, EpochLog, TrainResult } from "@alfred/engines";
export type { Matrix } from "@alfred/core";

// backtest
export { runBacktest } from "./src/backtest/mod.ts";
export type { BacktestResult, PriceSeries, Signal } from "./src/backtest/types.ts";

// analysis
export { ablation, lossTarget, runAnalysis, shapValues } from "./src/analysis/mod.ts";

// store
export { FileModelStore, modelHash } from "./src/store/model_store.ts";
export { FileRunStore, openStores } from "./src/store/shared_file.ts";
export { MongoModelStore, MongoRunStore } from "./src/store/mongo_store.ts";
export type { ModelStore, StoredModel } from "./src/store/model_store.ts";
export { loadRuns, readRunRecord, writeRunRecord } from "./src/store/run_record.ts";
export type { RunRecord } from "./src/store/run_record.ts";

// report
export { renderReport } from "./src/report/report.ts";
export { renderJournal } from "./src/report/journal.ts";

// the whole pipeline
export { analyzeRun, runExperiment } from "./src/pipeline.ts";
export type { AnalyzeOptions, RunOptions, RunOutcome } from "./src/pipeline.ts";
export { Stages } from "./src/record/timings.ts";

// several machines
export { enqueueExperiments } from "./src/distributed/queue.ts";
export { startWorker } from "./src/distributed/worker.ts";
