/**
 * Training a run's models, one per fold: each fold's scaler (fitted on its training rows) and
 * design matrices, its model restored from the model store or trained by the experiment's
 * engine (checkpointed, resumable, stored once trained), its shuffled-label control, and its
 * metrics before and after training. An interrupt stops after the fold it hit.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { Prng } from "@alfred/core";
import { type EpochLog, predict, type TrainResult } from "@alfred/engines";
import type { Experiment } from "../config/schema.ts";
import type { Prepared } from "../dataset/prepare.ts";
import type { Fold } from "../dataset/split.ts";
import { Scaler, scalerKinds } from "../dataset/scaler.ts";
import { foldMatrices } from "../dataset/matrix.ts";
import { buildModel } from "../models/registry.ts";
import { makeLoss } from "../models/losses.ts";
import { analysisForwardRows } from "../analysis/mod.ts";
import type { RunStatus, SplitMetrics } from "../record/mod.ts";
import type { Stages } from "../record/timings.ts";
import {
  fromStoredModel,
  modelHash,
  type ModelStore,
  toStoredModel,
} from "../store/model_store.ts";
import { modelCheckpoint } from "./checkpoint.ts";
import { type Engine, fitQuietly, trainWithEngine } from "./engine.ts";
import { type EvaluatedFold, evaluator } from "./evaluate.ts";
import { UNTRAINED_MODEL_WARNING } from "./metrics.ts";
import { progressReporter } from "./progress.ts";

/** How a run trains its models: the model store, checkpoints, interrupts and progress. */
export interface TrainFoldsOptions {
  /** Where trained models are stored and restored from. */
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
  /** Standard output is a terminal: the progress bar redraws its line. */
  tty: boolean;
}

/** One fold's model: how it came to be, and what evaluation and analysis take from it. */
export interface FoldOutcome extends EvaluatedFold {
  /** The training's result; null when the model was restored from the store. */
  training: TrainResult | null;
  /** The model was restored from the store instead of trained. */
  restored: boolean;
  /** The model's store key ({@linkcode foldModelHash}). */
  modelHash: string;
  /** The fold's scaler, fitted on its training rows. */
  scaler: Scaler;
  /** The trained model (the caller disposes of it). */
  model: tf.LayersModel;
}

/** What {@linkcode trainFolds} returns. */
export interface TrainedFolds {
  /** Each fold's model, in order, up to the fold an interrupt hit. */
  folds: FoldOutcome[];
  /** `interrupted` when an interrupt stopped a training, else `complete`. */
  status: RunStatus;
  /** What interrupted the run, for the record and report. */
  error?: string;
  /** The device as the run records it (the engine that trained last named). */
  trainDevice: string;
}

/**
 * The model store key of one fold's model: everything that determines its weights.
 *
 * @param e the experiment
 * @param p the prepared data
 * @param fold the fold
 * @returns the key (a sha256 hex digest)
 */
export async function foldModelHash(e: Experiment, p: Prepared, fold: Fold): Promise<string> {
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
    ...(p.q.sequence ? { fields: p.q.sequence.fields.length } : {}),
  });
}

/**
 * Trains (or restores from the store) one model per fold, with its shuffled-label control
 * (`analysis.shuffled_control`), and evaluates each before and after training. A trained model
 * is stored and its checkpoint removed; an interrupt keeps the checkpoint and ends the run after
 * that fold with status `interrupted`.
 *
 * @param e the experiment
 * @param p the prepared data
 * @param engine the engine the run trains with
 * @param options the model store, checkpoints, interrupts and progress
 * @param stages times the `scale`, `train` and `control` stages
 * @returns each fold's model and the run's status
 * @throws {Error} with `resume: true` when the first model trained has no checkpoint
 */
export async function trainFolds(
  e: Experiment,
  p: Prepared,
  engine: Engine,
  options: TrainFoldsOptions,
  stages: Stages,
): Promise<TrainedFolds> {
  const { q, folds } = p;
  const { backend, device } = engine;
  const { log } = options;
  const loss = makeLoss(e.loss);
  const kinds = scalerKinds(q, e.features, e.scaling);
  const evaluate = evaluator(e, q);
  const outcomes: FoldOutcome[] = [];
  let trainDevice = engine.trainDevice;
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
    let model: tf.LayersModel = buildModel(
      e.model,
      q.features.length,
      e.label,
      e.seed,
      q.sequence,
    );
    const key = await foldModelHash(e, p, fold);
    // For the ETA: the trainings after this fold's model, each about as long:
    // its shuffled-label control, then each later fold's model and control.
    const controls = e.analysis.shuffled_control?.enabled ? 1 : 0;
    const laterTrainings = (folds.length - 1 - folds.indexOf(fold)) * (1 + controls);
    const forwardStart = performance.now();
    const preTrain: SplitMetrics = {
      train: await evaluate(train.y, await predict(model, train.x), fold.train),
      eval: await evaluate(ev.y, await predict(model, ev.x), fold.eval),
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
      const checkpoint = await modelCheckpoint({
        dir: options.checkpointDir,
        key,
        resume: options.resume,
        mustResume,
        model: `${e.name}${folds.length > 1 ? ` (${fold.name})` : ""}`,
        log: (line) => log(`${fold.name}: ${line}`),
      });
      mustResume = false;
      const result = await stages.time("train", () =>
        trainWithEngine(e, backend, {
          model,
          loss,
          train: e.train,
          seed: e.seed,
          x: train.x,
          y: train.y,
          xVal: val.x,
          yVal: val.y,
          onEpoch: (epoch: EpochLog) => {
            progress(epoch);
            options.onEpoch?.(fold.name, epoch);
          },
          onResume: (history: EpochLog[]) => {
            progress.resume(history);
            log(`${fold.name}: resumed from "${checkpoint.path}" after epoch ${history.length}`);
          },
          signal: options.signal,
          lastEpochFit: true,
          checkpoint,
        }, q.sequence));
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
            sequence: q.sequence,
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
          train: await evaluate(train.y, await predict(model, train.x), fold.train),
          validation: await evaluate(val.y, await predict(model, val.x), fold.validation),
          eval: await evaluate(ev.y, evalPred, fold.eval),
        },
        ...(training?.lastEpochTrain
          ? { lastEpoch: { train: await evaluate(train.y, training.lastEpochTrain, fold.train) } }
          : {}),
      },
      scaler,
      matrices,
      model,
    });
    if (interrupted) break;
  }
  if (outcomes.every((o) => o.training === null && !o.restored)) log(UNTRAINED_MODEL_WARNING);
  return {
    folds: outcomes,
    status: interrupted ? "interrupted" : "complete",
    ...(interrupted ? { error: interruption } : {}),
    trainDevice,
  };
}
