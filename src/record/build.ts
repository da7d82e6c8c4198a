/**
 * The run record of a finished run, assembled from the stages' typed results: the prepared
 * data, each fold's model, the metrics, the backtest and the analysis. Also what the record
 * says about leakage per fold, the run's warnings, and the eval predictions table.
 *
 * Imported by the pipeline only (not re-exported by `mod.ts`): it depends on the stages whose
 * results it records, which the store and the report below them need not load.
 *
 * @module
 */
import type { Experiment } from "../config/schema.ts";
import { experimentToYaml } from "../config/yaml.ts";
import type { BacktestResult } from "../backtest/types.ts";
import { returnsColumn } from "../data/dataset.ts";
import { universeWarnings } from "../data/universe.ts";
import { featureCorrelations } from "../features/correlation.ts";
import type { QuarterlyFrame } from "../features/quarterly.ts";
import { frameColumn } from "../dataset/matrix.ts";
import type { Prepared } from "../dataset/prepare.ts";
import { rowSetHash, type Scaler } from "../dataset/scaler.ts";
import type { Fold } from "../dataset/split.ts";
import type { ModelDescription } from "../models/registry.ts";
import type { FoldOutcome } from "../train/folds.ts";
import type { PooledPredictions } from "../train/evaluate.ts";
import { type MemoryPlan, peakRssBytes } from "../train/memory.ts";
import { adamStepWarning, stalledTraining } from "../train/warnings.ts";
import { backtestRecord } from "./backtest.ts";
import { summariseWarnings } from "./warnings.ts";
import {
  RECORD_VERSION,
  type RunAnalysis,
  type RunEnvironment,
  type RunFold,
  type RunInference,
  type RunMetrics,
  type RunRecord,
  type RunStatus,
} from "./schema.ts";
import type { PredictionRow } from "./tables.ts";
import type { Stages } from "./timings.ts";

/** The parts a run record is assembled from. */
export interface RunParts {
  /** The resolved experiment. */
  e: Experiment;
  /** The run id reserved for the run. */
  runId: string;
  /** The experiment's config hash. */
  configHash: string;
  /** How the run ended. */
  status: RunStatus;
  /** What interrupted the run. */
  error?: string;
  /** When the run started. */
  started: Date;
  /** The run's stage timings. */
  stages: Stages;
  /** Backend, device, versions, git state, host. */
  environment: RunEnvironment;
  /** The memory plan printed before training (the peak is measured now). */
  memory: MemoryPlan;
  /** The model, described for the run's input width. */
  description: ModelDescription;
  /** The prepared data. */
  prepared: Prepared;
  /** Each fold's model, in order (fewer than the folds when an interrupt stopped the run). */
  folds: readonly FoldOutcome[];
  /** The run's metrics (`evaluateRun`). */
  metrics: RunMetrics;
  /** The backtest of the pooled eval predictions. */
  backtest: BacktestResult;
  /** The analysis of the last fold's model, when the config asked for one. */
  analysis?: RunAnalysis;
  /** Intervals, paired tests against the baselines and the verdicts. */
  inference?: RunInference;
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
  const labelDates = frameColumn<string>(q, "label_date");
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

/**
 * The data, split, Adam-step, training and backtest warnings, each once, kinds repeated per
 * ticker summarised.
 */
function runWarnings(parts: RunParts): string[] {
  const { e, prepared: p, folds, backtest } = parts;
  return summariseWarnings([
    ...new Set([
      ...(p.dataset.manifest.synthetic
        ? ["Synthetic data: these numbers say nothing about real markets"]
        : []),
      ...universeWarnings(
        p.dataset.manifest.warnings,
        p.universe !== null,
        p.dataset.manifest.synthetic,
      ),
      ...p.folds.flatMap((f) => f.warnings),
      ...[adamStepWarning(parts.description.widths, e.train)]
        .filter((w): w is string => w !== null),
      ...folds.flatMap((o) => {
        const w = o.training ? stalledTraining(o.training.history) : null;
        return w ? [folds.length > 1 ? `${o.fold.name}: ${w}` : w] : [];
      }),
      ...backtest.warnings,
    ]),
  ]);
}

/**
 * The run record of a finished (or interrupted) run. The model, scaler, correlations and
 * training sections are the last fold's; the split lists every fold with its leakage facts.
 *
 * @param parts the stages' results and the run's facts
 * @returns the record (validated when written)
 */
export function runRecord(parts: RunParts): RunRecord {
  const { e, prepared: p, folds, description } = parts;
  const { q } = p;
  const last = folds.at(-1);
  const training = last?.training;
  return {
    version: RECORD_VERSION,
    runId: parts.runId,
    experiment: e.name,
    description: e.description,
    status: parts.status,
    ...(parts.error ? { error: parts.error } : {}),
    configHash: parts.configHash,
    configYaml: experimentToYaml(e),
    config: e,
    data: {
      dataset: e.data.dataset,
      fingerprint: p.fingerprint,
      manifestWarnings: p.dataset.manifest.warnings,
      synthetic: p.dataset.manifest.synthetic,
      returns: returnsColumn(p.dataset.manifest),
      universe: p.universe ? "point-in-time" : "fixed",
      tickers: {
        train: p.tickers.train,
        eval: p.tickers.eval,
        selection: { returnsUpTo: p.selectionEnd, selections: p.tickers.selections },
      },
      from: e.data.from ?? p.dataset.manifest.from,
      to: e.data.to ?? p.dataset.manifest.to,
      ...(p.synth
        ? {
          synth: { params: { ...p.synth.params }, generator: p.synth.generator, key: p.synth.key },
        }
        : {}),
    },
    seeds: { seed: e.seed },
    environment: parts.environment,
    timings: {
      start: parts.started.toISOString(),
      end: new Date().toISOString(),
      stages: parts.stages.seconds,
    },
    memory: { planned: parts.memory.bytes, parts: parts.memory.parts, peak: peakRssBytes() },
    model: {
      family: e.model.family,
      size: description.size,
      layers: description.layers,
      parameters: description.parameters,
      bytes: description.bytes,
      modelHash: last?.modelHash ?? "",
      restoredFromStore: folds.length > 0 && folds.every((o) => o.restored),
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
        ...foldLeakage(q, f, folds.find((o) => o.fold === f)?.scaler),
      })),
      warnings: [...new Set(p.folds.flatMap((f) => f.warnings))],
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
    metrics: parts.metrics,
    backtest: backtestRecord(parts.backtest),
    ...(parts.analysis ? { analysis: parts.analysis } : {}),
    ...(parts.inference ? { inference: parts.inference } : {}),
    ...(parts.prepared.news ? { news: parts.prepared.news.stats } : {}),
    warnings: runWarnings(parts),
  };
}

/**
 * The eval predictions table (`predictions.parquet`): one row per pooled eval row, with its
 * label as the quarterly frame holds it.
 *
 * @param q the quarterly frame
 * @param run the pooled eval predictions
 * @returns the rows, in pooled order
 */
export function predictionRows(q: QuarterlyFrame, run: PooledPredictions): PredictionRow[] {
  const labels = frameColumn<number>(q, q.label);
  const tickers = frameColumn<string>(q, "ticker");
  const quarters = frameColumn<string>(q, "quarter");
  const dates = frameColumn<string>(q, "date");
  return run.rows.map((r, i) => ({
    ticker: tickers[r],
    quarter: quarters[r],
    date: dates[r],
    split: "eval",
    actual: labels[r],
    predicted: run.pred[i],
  }));
}
