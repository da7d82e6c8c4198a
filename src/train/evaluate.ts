/**
 * Evaluation of a run's models: the metrics of the experiment's label mode (with the
 * experiment's own loss), each fold's model before and after training, and the run's eval
 * predictions pooled over the folds beside the baselines fitted on the same training rows, per
 * eval ticker, and as the backtest's signals.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { quarterNumber } from "@alfred/core";
import type { Experiment } from "../config/schema.ts";
import type { Signal } from "../backtest/types.ts";
import type { QuarterlyFrame } from "../features/quarterly.ts";
import { type FoldMatrices, frameColumn } from "../dataset/matrix.ts";
import type { Fold } from "../dataset/split.ts";
import { makeLoss } from "../models/losses.ts";
import type { MetricSet, RunMetrics, SplitMetrics } from "../record/mod.ts";
import type { Stages } from "../record/timings.ts";
import { baselines } from "./baselines.ts";
import { classificationMetrics, metricsByGroup, regressionMetrics } from "./metrics.ts";

/**
 * The experiment's own loss (`loss:`) of predictions, computed on the active backend.
 *
 * @param e the experiment
 * @returns the mean loss of labels and predictions
 */
export function experimentLoss(
  e: Experiment,
): (y: Float32Array, pred: Float32Array) => Promise<number> {
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

/** Metrics of predictions of the given rows of the quarterly frame. */
export type Evaluate = (
  y: ArrayLike<number>,
  pred: ArrayLike<number>,
  rows: number[],
) => Promise<MetricSet>;

/**
 * The metrics of the experiment's label mode. `loss` is the experiment's own loss (BCE for
 * direction; for magnitude the configured regression loss, so it is comparable with the
 * training history), beside MSE and the other metrics; magnitude's information coefficient
 * groups the rows by quarter.
 *
 * @param e the experiment
 * @param q the quarterly frame the rows index
 * @returns a function of labels, predictions and their rows
 * @example
 * ```ts
 * const evaluate = evaluator(e, p.q);
 * const metrics = await evaluate(ev.y, await predict(model, ev.x), fold.eval);
 * ```
 */
export function evaluator(e: Experiment, q: QuarterlyFrame): Evaluate {
  const quarters = frameColumn<string>(q, "quarter");
  const loss = experimentLoss(e);
  return async (y, pred, rows) => {
    if (e.label.mode === "direction") return classificationMetrics(y, pred);
    const m = regressionMetrics(y, pred, rows.map((r) => quarters[r]));
    return { ...m, loss: await loss(Float32Array.from(y), Float32Array.from(pred)) };
  };
}

/** The metrics of one fold's model. */
export interface FoldEvaluation {
  /** The untrained model on the training and eval rows. */
  preTrain: SplitMetrics;
  /** The trained (or restored) model on the training, validation and eval rows. */
  postTrain: SplitMetrics;
  /** The training rows under the last epoch's weights, where an earlier epoch's were kept. */
  lastEpoch?: SplitMetrics;
}

/** One fold's model as evaluation sees it. */
export interface EvaluatedFold {
  /** The fold. */
  fold: Fold;
  /** The fold's scaled design matrices. */
  matrices: FoldMatrices;
  /** The model's predictions of the fold's eval rows. */
  evalPred: Float32Array;
  /** Eval predictions of the same model trained on shuffled labels (the chance control). */
  controlPred: Float32Array | null;
  /** The fold's model before and after training. */
  metrics: FoldEvaluation;
}

/** Eval predictions pooled over the folds: their rows of the quarterly frame, in fold order. */
export interface PooledPredictions {
  /** Rows of the quarterly frame. */
  rows: number[];
  /** The model's prediction of each row. */
  pred: Float32Array;
}

/** The eval predictions pooled over the folds (walk-forward eval periods do not overlap). */
function pooled(
  folds: readonly EvaluatedFold[],
  of: (f: EvaluatedFold) => Float32Array = (f) => f.evalPred,
): PooledPredictions {
  const rows = folds.flatMap((f) => f.fold.eval);
  const pred = new Float32Array(rows.length);
  let at = 0;
  for (const f of folds) {
    pred.set(of(f), at);
    at += of(f).length;
  }
  return { rows, pred };
}

/**
 * Last quarter's move of each row of the quarterly frame (sorted by ticker and date): its close
 * over the ticker's previous quarter's close, minus 1. Unknown (NaN) where the ticker has no row
 * for the previous quarter: its first row, or a row after a dropped quarter. The momentum baseline
 * treats unknown moves as missing, never as a flat quarter.
 *
 * @param q the quarterly frame (`ticker`, `quarter`, `close`)
 * @returns one move per frame row
 * @example
 * ```ts
 * previousQuarterMoves(q)[0]; // NaN: the first ticker's first quarter has no previous one
 * ```
 */
export function previousQuarterMoves(q: QuarterlyFrame): Float64Array {
  const tickers = frameColumn<string>(q, "ticker");
  const quarters = frameColumn<string>(q, "quarter");
  const closes = frameColumn<number>(q, "close");
  const moves = new Float64Array(tickers.length).fill(NaN);
  for (let i = 1; i < tickers.length; i++) {
    if (
      tickers[i] === tickers[i - 1] &&
      quarterNumber(quarters[i]) - 1 === quarterNumber(quarters[i - 1])
    ) {
      moves[i] = closes[i] / closes[i - 1] - 1;
    }
  }
  return moves;
}

/** Baselines fitted on each fold's training rows, pooled like the model's predictions. */
function baselinePredictions(
  e: Experiment,
  q: QuarterlyFrame,
  folds: readonly EvaluatedFold[],
  total: number,
): Record<string, Float32Array> {
  const moves = previousQuarterMoves(q);
  const preds: Record<string, Float32Array> = {};
  let at = 0;
  for (const f of folds) {
    const { train, ev } = f.matrices;
    const result = baselines({
      mode: e.label.mode,
      xTrain: train.x,
      yTrain: train.y,
      xEval: ev.x,
      yEval: ev.y,
      momentumEval: Float64Array.from(f.fold.eval, (r) => moves[r]),
      seed: e.seed,
    });
    for (const b of result) {
      preds[b.name] ??= new Float32Array(total);
      preds[b.name].set(b.predictions, at);
    }
    at += f.fold.eval.length;
  }
  return preds;
}

/** The last epoch's training fit where some fold restored an earlier epoch (per fold when several). */
function lastEpochMetrics(
  folds: readonly EvaluatedFold[],
  single: EvaluatedFold | null,
): { lastEpoch?: SplitMetrics } {
  if (single) return single.metrics.lastEpoch ? { lastEpoch: single.metrics.lastEpoch } : {};
  const kept = folds.filter((f) => f.metrics.lastEpoch?.train);
  if (kept.length === 0) return {};
  return {
    lastEpoch: {
      folds: Object.fromEntries(
        kept.map((f) => [f.fold.name, { train: f.metrics.lastEpoch!.train! }]),
      ),
    },
  };
}

/**
 * The run's metrics: each fold's model before and after training (one fold: its own; several:
 * per fold, with the post-training eval pooled over them), the baselines fitted on each fold's
 * training rows and the shuffled-label control (where every fold has one) on the pooled eval
 * rows, and the eval metrics per eval ticker.
 *
 * @param e the experiment
 * @param q the quarterly frame
 * @param folds the evaluated folds, in order
 * @param stages times the `baselines` stage
 * @returns the record's metrics, the pooled eval predictions with their labels and quarters, and
 *   each baseline's (and the control's) predictions on the same rows
 */
export async function evaluateRun(
  e: Experiment,
  q: QuarterlyFrame,
  folds: readonly EvaluatedFold[],
  stages: Stages,
): Promise<RunEvaluation> {
  const mode = e.label.mode;
  const evaluate = evaluator(e, q);
  const labels = frameColumn<number>(q, q.label);
  const rowTickers = frameColumn<string>(q, "ticker");
  const quarters = frameColumn<string>(q, "quarter");
  const run = pooled(folds);
  const evalY = Float32Array.from(run.rows, (r) => labels[r]);
  const evalTickers = run.rows.map((r) => rowTickers[r]);

  const baselineMetrics: Record<string, MetricSet> = {};
  const baselinePreds = await stages.time("baselines", async () => {
    const preds = baselinePredictions(e, q, folds, run.rows.length);
    if (folds.every((f) => f.controlPred)) {
      preds["shuffled labels"] = pooled(folds, (f) => f.controlPred!).pred;
    }
    for (const [name, pred] of Object.entries(preds)) {
      baselineMetrics[name] = await evaluate(evalY, pred, run.rows);
    }
    return preds;
  });
  const perTicker: Record<string, MetricSet> = {};
  const groups = mode === "direction"
    ? metricsByGroup("direction", evalY, run.pred, evalTickers)
    : metricsByGroup("magnitude", evalY, run.pred, evalTickers, {
      quarters: run.rows.map((r) => quarters[r]),
    });
  for (const g of groups) perTicker[g.group] = g.metrics;

  const single = folds.length === 1 ? folds[0] : null;
  const metrics: RunMetrics = {
    mode,
    preTrain: single ? single.metrics.preTrain : {
      folds: Object.fromEntries(
        folds.map((f) => [f.fold.name, { eval: f.metrics.preTrain.eval! }]),
      ),
    },
    postTrain: single ? single.metrics.postTrain : {
      eval: await evaluate(evalY, run.pred, run.rows),
      folds: Object.fromEntries(
        folds.map((f) => [f.fold.name, { eval: f.metrics.postTrain.eval! }]),
      ),
    },
    ...lastEpochMetrics(folds, single),
    perTicker,
    baselines: baselineMetrics,
  };
  return {
    metrics,
    pooled: run,
    evalY,
    evalQuarters: run.rows.map((r) => quarters[r]),
    baselines: baselinePreds,
  };
}

/** What {@linkcode evaluateRun} gives: the metrics and the predictions they were computed from. */
export interface RunEvaluation {
  /** The record's metrics. */
  metrics: RunMetrics;
  /** The pooled eval predictions and their rows. */
  pooled: PooledPredictions;
  /** The labels of the pooled eval rows. */
  evalY: Float32Array;
  /** The quarter of each pooled eval row. */
  evalQuarters: string[];
  /** Each baseline's (and the shuffled-label control's) predictions on the pooled eval rows. */
  baselines: Record<string, Float32Array>;
}

/**
 * The pooled eval predictions as the backtest's signals: each formed at its quarter's last close.
 *
 * @param q the quarterly frame
 * @param run the pooled eval predictions
 * @returns one signal per eval row
 */
export function evalSignals(q: QuarterlyFrame, run: PooledPredictions): Signal[] {
  const tickers = frameColumn<string>(q, "ticker");
  const dates = frameColumn<string>(q, "date");
  return run.rows.map((r, i) => ({ ticker: tickers[r], date: dates[r], score: run.pred[i] }));
}
