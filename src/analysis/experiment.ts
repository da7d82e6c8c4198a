/**
 * The experiment's `analysis:` block run on one fold's trained model (a run analyzes its last
 * fold's): {@linkcode runAnalysis} scored by the experiment's own loss and main metric, then,
 * with `ablation.retrain_top`, the top drop candidates retrained from scratch with their column
 * neutralized, by the experiment's engine.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { predict } from "@alfred/engines";
import type { Experiment } from "../config/schema.ts";
import type { FoldMatrices } from "../dataset/matrix.ts";
import type { QuarterlyFrame } from "../features/quarterly.ts";
import type { RunAnalysis } from "../record/mod.ts";
import { fitQuietly } from "../train/engine.ts";
import { experimentLoss } from "../train/evaluate.ts";
import { classificationMetrics, regressionMetrics } from "../train/metrics.ts";
import { columnMeans, neutralize, type Score, verdict } from "./ablation.ts";
import { runAnalysis } from "./mod.ts";

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

/** What {@linkcode analyzeModel} returns. */
export interface AnalyzedModel {
  /** The record's analysis section. */
  analysis: RunAnalysis;
  /** An interrupt stopped the ablation retraining (the retrains finished before it are kept). */
  interrupted: boolean;
}

/**
 * The `analysis:` block on a fold's trained model; with `ablation.retrain_top`, the top drop
 * candidates are also retrained from scratch with their column neutralized (an interrupt stops
 * the retraining: the retrains finished before it are kept, and `interrupted` says so).
 *
 * @param e the experiment
 * @param backend the active backend (the retrains train with the experiment's engine on it)
 * @param q the quarterly frame (its features and families)
 * @param fold the fold's scaled matrices and its trained model
 * @param options the log, and a signal that stops the retraining
 * @returns the analysis, and whether the retraining was interrupted
 */
export async function analyzeModel(
  e: Experiment,
  backend: string,
  q: QuarterlyFrame,
  fold: { matrices: FoldMatrices; model: tf.LayersModel },
  options: { log: (line: string) => void; signal?: AbortSignal },
): Promise<AnalyzedModel> {
  let interrupted = false;
  const { train, val, ev } = fold.matrices;
  const score = scorer(e);
  const result = await runAnalysis({
    config: e.analysis,
    predict: (x) => predict(fold.model, x),
    xTrain: train.x,
    yTrain: train.y,
    xEval: ev.x,
    yEval: ev.y,
    evalKeys: ev.keys.map((k) => `${k.ticker} ${k.quarter}`),
    features: q.features,
    families: q.families,
    ...(q.sequence ? { sequence: q.sequence } : {}),
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
      .filter((r) => r.kind !== "family" && r.verdict === "drop candidate")
      .sort((a, b) => a.deltaLoss - b.deltaLoss)
      .slice(0, top);
    const retrained = [];
    for (const c of candidates) {
      const col = c.columns.map((name) => q.features.indexOf(name));
      options.log(`ablation: retraining without ${c.name}`);
      const fit = await fitQuietly(e, backend, {
        x: neutralize(train.x, col, neutral),
        y: train.y,
        xVal: neutralize(val.x, col, neutral),
        yVal: val.y,
        ...(q.sequence ? { sequence: q.sequence } : {}),
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
