/**
 * The notes' "poor man's ablation", done per feature and per family: re-evaluate
 * the trained model with an input neutralized and report the change in loss
 * and in the main metric.
 *
 * Neutralizing replaces a column by its training mean in scaled space (zero
 * for a standard-scaled column), so the model sees an input that carries no
 * information about the row. The notes' rule: a feature whose removal raises
 * the loss AND lowers the metric is needed; one whose removal lowers the loss
 * is a candidate to drop.
 *
 * When the input is a window of history (`QuarterlyFrame.sequence`), the inputs ablated one by
 * one are its fields: each field's columns over every time step are neutralized together
 * (`fieldColumnIndices`), since one step of one field says little on its own.
 *
 * @module
 */
import type { Matrix } from "@alfred/core";
import { fieldColumnIndices, type SequenceShape } from "../features/sequence.ts";
import type { PredictFn } from "./shap.ts";

/** Loss and the main metric (F1 or sign accuracy) of predictions. */
export type Score = (
  y: Float32Array,
  pred: Float32Array,
) => Promise<{ loss: number; metric: number }>;

/** What the notes' rule says about one ablation. */
export type Verdict = "needed" | "drop candidate" | "unclear";

/** What an ablation row neutralizes: one feature, one window field over time, or a family. */
export type AblationKind = "feature" | "field" | "family";

/** One ablated feature, window field or family. */
export type AblationRow = {
  name: string;
  kind: AblationKind;
  /** Columns neutralized. */
  columns: string[];
  loss: number;
  metric: number;
  /** Loss with the input neutralized minus the loss with everything. */
  deltaLoss: number;
  /** Metric with the input neutralized minus the metric with everything. */
  deltaMetric: number;
  verdict: Verdict;
};

/** Column means of a matrix (over all its rows). */
export function columnMeans(x: Matrix): Float64Array {
  const means = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) {
    for (let c = 0; c < x.cols; c++) means[c] += x.data[r * x.cols + c];
  }
  for (let c = 0; c < x.cols; c++) means[c] /= Math.max(1, x.rows);
  return means;
}

/** A copy of `x` with the given columns set to their neutral values. */
export function neutralize(x: Matrix, columns: number[], neutral: ArrayLike<number>): Matrix {
  const data = x.data.slice();
  for (let r = 0; r < x.rows; r++) {
    for (const c of columns) data[r * x.cols + c] = neutral[c];
  }
  return { data, rows: x.rows, cols: x.cols };
}

/** The notes' rule. */
export function verdict(deltaLoss: number, deltaMetric: number): Verdict {
  if (deltaLoss > 0 && deltaMetric < 0) return "needed";
  if (deltaLoss < 0) return "drop candidate";
  return "unclear";
}

/**
 * Ablate each feature (each field, all its time steps together, when the input is a window) and
 * each family of more than one column.
 *
 * @param args the model, the eval matrix and labels, feature names and families,
 *   neutral values per column (training means, scaled), the score function and, for a window
 *   input, its shape
 * @returns the full-model score and one row per ablation, sorted by loss change, largest first
 * @throws {RangeError} when a family names a column that is not a feature, or the window's
 *   columns are not the features
 */
export async function ablation(args: {
  predict: PredictFn;
  x: Matrix;
  y: Float32Array;
  features: string[];
  families: Record<string, string[]>;
  neutral: ArrayLike<number>;
  score: Score;
  sequence?: SequenceShape;
}): Promise<{ full: { loss: number; metric: number }; rows: AblationRow[] }> {
  const { predict, x, y, features, score, sequence } = args;
  const full = await score(y, await predict(x));
  const index = new Map(features.map((f, i) => [f, i]));
  const groups: { name: string; kind: AblationKind; columns: string[] }[] = sequence
    ? sequence.fields.map((f) => ({
      name: f,
      kind: "field",
      columns: fieldColumnIndices(sequence, f).map((c) => {
        if (c >= features.length) {
          throw new RangeError(
            `Cannot ablate field "${f}": the window has ${
              sequence.length * sequence.fields.length
            } columns but the input ${features.length}`,
          );
        }
        return features[c];
      }),
    }))
    : features.map((f) => ({ name: f, kind: "feature", columns: [f] }));
  for (const [family, columns] of Object.entries(args.families)) {
    const present = columns.filter((c) => index.has(c));
    if (present.length > 1) groups.push({ name: family, kind: "family", columns: present });
  }
  const rows: AblationRow[] = [];
  for (const g of groups) {
    const cols = g.columns.map((c) => {
      const i = index.get(c);
      if (i === undefined) throw new RangeError(`Cannot ablate "${c}": it is not a feature`);
      return i;
    });
    const s = await score(y, await predict(neutralize(x, cols, args.neutral)));
    const deltaLoss = s.loss - full.loss;
    const deltaMetric = s.metric - full.metric;
    rows.push({
      ...g,
      loss: s.loss,
      metric: s.metric,
      deltaLoss,
      deltaMetric,
      verdict: verdict(deltaLoss, deltaMetric),
    });
  }
  rows.sort((a, b) => b.deltaLoss - a.deltaLoss || a.name.localeCompare(b.name));
  return { full, rows };
}
