/**
 * Alfred: a declarative experiment runner for machine learning on stock
 * markets. The public API is what a program needs to drive it: load and
 * compare experiment configs, run and analyze them, open the stores, read run
 * records and render their reports and the journal. The stages themselves are
 * the runner's own (`src/`); the training engines are the workspace package
 * `@alfred/engines`, with its own public API.
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

// the whole pipeline
export { analyzeRun, runExperiment } from "./src/pipeline.ts";
export type { AnalyzeOptions, RunOptions, RunOutcome } from "./src/pipeline.ts";
export type { TrainFoldsOptions } from "./src/train/folds.ts";
export type { EpochLog, StopReason } from "@alfred/engines";

// stores: models, and for several machines runs and datasets
export { FileModelStore } from "./src/store/model_store.ts";
export type {
  ModelMeta,
  ModelStore,
  StoredModel,
  TrainSummary,
  WeightSpec,
} from "./src/store/model_store.ts";
export type { RemovedTemp } from "./src/store/temp.ts";
export { openStores } from "./src/store/shared_file.ts";
export type {
  DataStore,
  RunStore,
  RunSummary,
  Stores,
  UnreadableRecord,
} from "./src/store/stores.ts";

// the run record
export { loadRuns, readRunPredictions, readRunRecord } from "./src/store/run_record.ts";
export type { RunRecord, RunStatus } from "./src/record/schema.ts";
export type { PredictionRow } from "./src/record/tables.ts";

// report
export { renderReport } from "./src/report/report.ts";
export type { RenderedReport, ReportOptions } from "./src/report/report.ts";
export { renderJournal } from "./src/report/journal.ts";
export type { JournalOptions } from "./src/report/journal.ts";
