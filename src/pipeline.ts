/**
 * The pipeline: one resolved experiment in, one run record out.
 *
 * data → tickers → quarterly features and labels → split ({@linkcode prepare}) → per fold: scaler
 * (training rows only) → model (trained, or restored from the model store) → metrics against
 * baselines → backtest against buy-and-hold → analysis → run record. Each stage is a module of
 * its own; this file only wires them together.
 *
 * @module
 */
import type { Experiment } from "./config/schema.ts";
import { configHash } from "./config/hash.ts";
import { parseExperimentText } from "./config/load.ts";
import { priceSeries } from "./data/series.ts";
import { checkPrepared, prepare, type Prepared } from "./dataset/prepare.ts";
import { Scaler, scalerKinds } from "./dataset/scaler.ts";
import { foldMatrices } from "./dataset/matrix.ts";
import { selectBackend } from "./train/backend.ts";
import { checkEngine, planTraining } from "./train/engine.ts";
import { foldModelHash, trainFolds, type TrainFoldsOptions } from "./train/folds.ts";
import { evalSignals, evaluateRun } from "./train/evaluate.ts";
import { inferenceCurves, runInference } from "./inference/run.ts";
import { runBacktest } from "./backtest/mod.ts";
import { analyzeModel } from "./analysis/experiment.ts";
import type { RunRecord } from "./record/mod.ts";
import { predictionRows, runRecord } from "./record/build.ts";
import { Stages } from "./record/timings.ts";
import { captureEnvironment } from "./store/environment.ts";
import { fromStoredModel, type ModelStore } from "./store/model_store.ts";
import {
  readRunRecord,
  releaseRunId,
  reserveRunId,
  rewriteRunRecord,
  type RunReservation,
  writeRunRecord,
} from "./store/run_record.ts";
import { reportFiles } from "./report/report.ts";

/** How to run: where results and models go, and what to say on the way. */
export interface RunOptions extends TrainFoldsOptions {
  /** Folder holding `results/<experiment>/<run-id>/` (default `results`). */
  resultsDir: string;
  /**
   * Called right before the run's folder is written; throwing abandons the run (nothing is
   * written, its run id is released). A worker checks here that it still holds its job.
   */
  beforeWrite?: () => Promise<void>;
  /** Folder of cached language-model news digests (default `.alfred/news-cache`). */
  newsCacheDir?: string;
  /** Folder of the datasets experiments generate (`data.synth`; default `.alfred/synth`). */
  synthCacheDir?: string;
  /**
   * Completes the record before it is written: what it returns is written and returned (a run
   * of several seeds adds every seed's results in the same write).
   */
  finish?: (record: RunRecord) => RunRecord;
}

/** What a finished run returns. */
export interface RunOutcome {
  /** The run's record, as written. */
  record: RunRecord;
  /** Folder the run record was written to. */
  dir: string;
}

/** What {@linkcode runPrepared} returns: the run, and the data it ran on. */
export interface PreparedOutcome extends RunOutcome {
  /** The data it trained and was evaluated on, for another run of the same data. */
  prepared: Prepared;
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
  const { record, dir } = await runPrepared(e, options);
  return { record, dir };
}

/**
 * {@linkcode runExperiment}, on data prepared before when given (for an experiment that differs
 * at most in its seed, model or training: `checkPrepared`), so several seeds share one
 * preparation; it also returns the data the run used.
 *
 * @param e the resolved experiment
 * @param options where to write and how to report progress
 * @param prepared data prepared for another run of the same data, not prepared again
 * @returns the run record, its folder and the prepared data
 * @throws {RangeError} when `prepared` is another experiment's data; else as `runExperiment`
 */
export async function runPrepared(
  e: Experiment,
  options: RunOptions,
  prepared?: Prepared,
): Promise<PreparedOutcome> {
  const started = new Date();
  const hash = configHash(e);
  const reservation = await reserveRunId(options.resultsDir, e.name, started, hash);
  try {
    return await runReserved(e, options, prepared, started, hash, reservation);
  } catch (error) {
    await releaseRunId(reservation);
    throw error;
  }
}

async function runReserved(
  e: Experiment,
  options: RunOptions,
  prepared: Prepared | undefined,
  started: Date,
  hash: string,
  reservation: RunReservation,
): Promise<PreparedOutcome> {
  const stages = new Stages();
  const { log } = options;
  log(`run ${e.name} ${reservation.runId}`);

  // train.backend and train.engine: what the engine can check is checked before the data work.
  const selected = await stages.time("backend", () => selectBackend(e.train.backend));
  log(`backend ${selected.backend} on ${selected.device}`);
  await checkEngine(e, selected.backend);

  // data, features, label, split: prepared here, or by an earlier run of the same data
  const p = prepared ? checkPrepared(e, prepared) : await prepare(e, {
    log,
    stages,
    newsCacheDir: options.newsCacheDir,
    synthCacheDir: options.synthCacheDir,
  });
  if (prepared) {
    log(`data, features and folds as prepared before: ${p.q.frame.height} rows`);
  }

  // model, loss, train: one model per fold
  const { engine, memory, description } = planTraining(e, p, selected, log);
  const trained = await trainFolds(e, p, engine, options, stages);
  try {
    // metrics against the baselines
    const evaluation = await evaluateRun(e, p.q, trained.folds, stages);
    const { metrics, pooled } = evaluation;

    // backtest
    const backtest = await stages.time("backtest", () =>
      runBacktest({
        signals: evalSignals(p.q, pooled),
        prices: priceSeries(p.dataset, p.tickers.eval),
        index: p.index,
        riskFree: p.riskFree,
        labelMode: e.label.mode,
        config: e.backtest,
        ...(p.universe
          ? {
            membership: new Map(p.tickers.eval.map((t) => [t, p.universe!.spells(t)] as const)),
          }
          : {}),
      }));
    for (const r of backtest.ruin) {
      log(
        `backtest: ${r.book} ruined on ${r.date} (equity ${r.equity.toFixed(2)} at that close), ` +
          `liquidated at ${r.liquidationValue.toFixed(2)}: no further trading`,
      );
    }

    // intervals, paired tests against the best baseline and buy-and-hold, verdicts
    const inference = await stages.time("inference", () =>
      runInference({
        mode: e.label.mode,
        y: evaluation.evalY,
        pred: pooled.pred,
        quarters: evaluation.evalQuarters,
        baselines: evaluation.baselines,
        backtest: inferenceCurves(backtest),
        seed: e.seed,
      }));

    // analysis, on the last fold's model
    const last = trained.folds.at(-1);
    const analyzed = last && trained.status === "complete" && Object.keys(e.analysis).length > 0
      ? await stages.time("analysis", () => analyzeModel(e, engine.backend, p.q, last, options))
      : undefined;
    const [status, error] = analyzed?.interrupted
      ? ["interrupted" as const, "interrupted during the ablation retraining (the model is stored)"]
      : [trained.status, trained.error];

    // the run record
    const built = runRecord({
      e,
      runId: reservation.runId,
      configHash: hash,
      status,
      error,
      started,
      stages,
      environment: await captureEnvironment(engine.backend, trained.trainDevice),
      memory,
      description,
      prepared: p,
      folds: trained.folds,
      metrics,
      backtest,
      analysis: analyzed?.analysis,
      inference,
    });
    const record = options.finish ? options.finish(built) : built;
    await options.beforeWrite?.();
    const dir = await writeRunRecord(
      options.resultsDir,
      record,
      { predictions: predictionRows(p.q, pooled), render: reportFiles },
      reservation,
    );
    return { record, dir, prepared: p };
  } finally {
    for (const o of trained.folds) o.model.dispose();
  }
}

/** Options of {@linkcode analyzeRun}. */
export interface AnalyzeOptions {
  /** Where the run's model is found. */
  store: ModelStore;
  /** `--set` overrides of the run's config (e.g. `analysis.shap.enabled=true`). */
  set?: string[];
  /** One line of progress or information. */
  log: (line: string) => void;
  /** Interrupts ablation retraining at its next epoch. */
  signal?: AbortSignal;
  /** Folder of cached language-model news digests (default `.alfred/news-cache`), as the run's. */
  newsCacheDir?: string;
  /** Folder of the datasets experiments generate (`data.synth`; default `.alfred/synth`). */
  synthCacheDir?: string;
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
  const p = await prepare(e, {
    log: options.log,
    newsCacheDir: options.newsCacheDir,
    synthCacheDir: options.synthCacheDir,
  });
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
  const kinds = scalerKinds(p.q, e.features, e.scaling);
  const scaler = Scaler.fit(p.q.frame, fold.train, p.q.features, kinds);
  const model = await fromStoredModel(stored);
  try {
    const matrices = foldMatrices(p.q, fold, scaler);
    const { analysis } = await analyzeModel(e, backend, p.q, { matrices, model }, options);
    const updated: RunRecord = { ...record, analysis };
    await rewriteRunRecord(dir, updated, reportFiles);
    return updated;
  } finally {
    model.dispose();
  }
}
