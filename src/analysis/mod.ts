/**
 * The `analysis:` block of an experiment: ablation, Shapley values and the
 * loss-target helper, run on a trained model's scaled matrices.
 *
 * @module
 */
import type { AnalysisConfig } from "../config/schema.ts";
import { type Matrix, Prng } from "@alfred/core";
import type { RunAnalysis } from "../record/mod.ts";
import { fieldColumnIndices, type SequenceShape } from "../features/sequence.ts";
import { ablation, columnMeans, type Score } from "./ablation.ts";
import { meanAbsShap, type PredictFn, shapValues } from "./shap.ts";
import { lossTarget } from "./loss_target.ts";

export { ablation, columnMeans, neutralize, verdict } from "./ablation.ts";
export type { AblationKind, AblationRow, Score, Verdict } from "./ablation.ts";
export { AdditivityError, checkAdditivity, meanAbsShap, shapValues } from "./shap.ts";
export type { PredictFn, ShapResult } from "./shap.ts";
export { lossTarget } from "./loss_target.ts";
export type { LossTarget } from "./loss_target.ts";

/** Inputs of {@linkcode runAnalysis}. */
export interface AnalysisInput {
  config: AnalysisConfig;
  predict: PredictFn;
  /** Scaled training rows (background sample and neutral values). */
  xTrain: Matrix;
  yTrain: Float32Array;
  /** Scaled eval rows (ablated and explained). */
  xEval: Matrix;
  yEval: Float32Array;
  /** Eval row labels such as `IBM 1999Q2`, for the top attributions. */
  evalKeys: string[];
  features: string[];
  families: Record<string, string[]>;
  /**
   * The window's shape when the input is one (`QuarterlyFrame.sequence`): ablation and Shapley
   * values then work per field, all its time steps together.
   */
  sequence?: SequenceShape;
  mode: "direction" | "magnitude";
  /** Loss and main metric of predictions. */
  score: Score;
  /** Name of the main metric (`f1` or `signAccuracy`). */
  metricName: string;
  seed: number;
  log: (line: string) => void;
}

/**
 * A seeded sample of rows: the first `count` of a permutation of `0..n-1` from `new Prng(seed)`.
 *
 * @param n rows to sample from
 * @param count rows wanted (all `n` when `count >= n`)
 * @param seed the generator's seed
 * @returns distinct indices below `n`, ascending
 */
export function sampleRows(n: number, count: number, seed: number): number[] {
  const idx = new Prng(seed).permutation(n);
  return Array.from(idx.subarray(0, Math.min(count, n))).sort((a, b) => a - b);
}

function rowsOf(x: Matrix, rows: number[]): Matrix {
  const data = new Float32Array(rows.length * x.cols);
  rows.forEach((r, i) => data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols));
  return { data, rows: rows.length, cols: x.cols };
}

/**
 * Rows the `analysis:` block will pass through the model (each a forward
 * pass), for a run's ETA: the loss target's eval pass, the ablation's full
 * pass plus one per feature and family, and the Shapley values' evaluations.
 *
 * @param config the analysis config
 * @param sizes eval and training rows, features and families; for a window input, its `fields`
 *   (ablation and Shapley values then go per field, not per column)
 * @returns forward-pass rows
 */
export function analysisForwardRows(
  config: AnalysisConfig,
  sizes: {
    evalRows: number;
    trainRows: number;
    features: number;
    families: number;
    fields?: number;
  },
): number {
  if (sizes.fields !== undefined) sizes = { ...sizes, features: sizes.fields };
  let rows = 0;
  if (config.loss_target) rows += sizes.evalRows;
  if (config.ablation?.enabled) rows += (1 + sizes.features + sizes.families) * sizes.evalRows;
  if (config.shap?.enabled) {
    const s = config.shap;
    rows += Math.min(s.explain, sizes.evalRows) * Math.min(s.background, sizes.trainRows) *
      s.permutations * (sizes.features + 1);
  }
  return rows;
}

/**
 * Run the configured analyses.
 *
 * @param input the trained model, matrices and configuration
 * @returns what the run record keeps under `analysis`
 * @throws {AdditivityError} when Shapley values do not add up within the tolerance
 */
export async function runAnalysis(input: AnalysisInput): Promise<RunAnalysis> {
  const { config, log } = input;
  const out: RunAnalysis = {};
  if (config.loss_target) {
    const train = lossTarget(input.yTrain, config.loss_target.r2);
    const evalTarget = lossTarget(input.yEval, config.loss_target.r2);
    const achieved = (await input.score(input.yEval, await input.predict(input.xEval))).loss;
    out.lossTarget = { train, eval: evalTarget, achievedEvalLoss: achieved };
  }
  if (config.ablation?.enabled) {
    const inputs = input.sequence
      ? `${input.sequence.fields.length} window fields`
      : `${input.features.length} features`;
    log(`ablation: ${inputs}, ${Object.keys(input.families).length} families`);
    const neutral = columnMeans(input.xTrain);
    const result = await ablation({
      predict: input.predict,
      x: input.xEval,
      y: input.yEval,
      features: input.features,
      families: input.families,
      neutral,
      score: input.score,
      ...(input.sequence ? { sequence: input.sequence } : {}),
    });
    out.ablation = {
      metric: input.metricName,
      neutralizedWith: "the column's training mean after scaling (0 for standard-scaled columns)",
      full: result.full,
      rows: result.rows,
    };
  }
  if (config.shap?.enabled) {
    const shap = config.shap;
    const bgRows = sampleRows(input.xTrain.rows, shap.background, input.seed);
    const exRows = sampleRows(input.xEval.rows, shap.explain, input.seed + 1);
    // A window's players are its fields (each over all its time steps); else the columns.
    const seq = input.sequence;
    const groups = seq?.fields.map((f) => fieldColumnIndices(seq, f));
    const players = seq ? seq.fields : input.features;
    const evaluations = exRows.length * bgRows.length * shap.permutations *
      (players.length + 1);
    log(
      `shap: ${exRows.length} eval rows against ${bgRows.length} training rows, ` +
        `${shap.permutations} permutations${seq ? `, ${players.length} window fields` : ""} (${
          evaluations.toLocaleString("en-US")
        } evaluations)`,
    );
    const explain = rowsOf(input.xEval, exRows);
    const result = await shapValues(input.predict, explain, rowsOf(input.xTrain, bgRows), {
      permutations: shap.permutations,
      tolerance: shap.tolerance,
      seed: input.seed,
      ...(groups ? { groups } : {}),
    });
    const ranking = meanAbsShap(players, result.values);
    const center = input.mode === "direction" ? 0.5 : 0;
    const confident = result.outputs
      .map((o, i) => ({ i, confidence: Math.abs(o - center) }))
      .sort((a, b) => b.confidence - a.confidence || a.i - b.i)
      .slice(0, 5)
      .map(({ i }) => ({
        row: input.evalKeys[exRows[i]],
        output: result.outputs[i],
        top: players
          .map((name, j) => ({ feature: name, value: result.values[i][j] }))
          .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
          .slice(0, 5),
      }));
    out.shap = {
      method: "sampled permutation Shapley values against a training background sample",
      baseValue: result.baseValue,
      maxAdditivityError: result.maxAdditivityError,
      tolerance: shap.tolerance,
      meanAbs: Object.fromEntries(ranking),
      features: players,
      values: result.values,
      // A window field's value is its last step's (the one at the row's cut-off).
      featureValues: exRows.map((r) => {
        const row = input.xEval.data.subarray(r * input.xEval.cols, (r + 1) * input.xEval.cols);
        return groups ? groups.map((g) => row[g[g.length - 1]]) : Array.from(row);
      }),
      topConfident: confident,
    };
  }
  return out;
}
