/**
 * The correlation report: each feature's Pearson and Spearman correlation
 * with the label on training rows, with the research notes' strength words.
 *
 * The label and anything derived from it are never listed: the research
 * notes' table opened with `PQ: 0.9999 - Very Strong`, the label correlated
 * with itself.
 *
 * @module
 */
import type pl from "nodejs-polars";
import { pearson, spearman } from "@alfred/core";
import { LABEL_DERIVED_COLUMNS } from "./labels.ts";
import type { QuarterlyFrame } from "./quarterly.ts";

/** The research notes' strength words, weakest first. */
export type Strength = "Very Weak" | "Weak" | "Moderate" | "Strong" | "Very Strong";

/** One line of the correlation report. */
export interface FeatureCorrelation {
  feature: string;
  /** Pearson correlation with the label; `null` when the feature is constant on the rows. */
  pearson: number | null;
  /** Spearman (rank) correlation with the label; `null` when the feature is constant on the rows. */
  spearman: number | null;
  /** Strength word of |pearson|, or `"Constant"` when undefined. */
  strength: Strength | "Constant";
}

/** |r| at or above which a feature is treated as a copy of the label (a leak), not a finding. */
export const LEAK_THRESHOLD = 0.9999;

/**
 * The research notes' strength word for a correlation.
 *
 * @param r A correlation coefficient.
 * @returns `Very Weak` (|r| < 0.2), `Weak` (< 0.4), `Moderate` (< 0.6), `Strong` (< 0.8), else `Very Strong`.
 * @example
 * ```ts
 * strengthWord(-0.195); // "Very Weak"
 * ```
 */
export function strengthWord(r: number): Strength {
  const a = Math.abs(r);
  if (a < 0.2) return "Very Weak";
  if (a < 0.4) return "Weak";
  if (a < 0.6) return "Moderate";
  if (a < 0.8) return "Strong";
  return "Very Strong";
}

function columnValues(frame: pl.DataFrame, name: string, rows: number[]): Float64Array {
  if (!frame.columns.includes(name)) {
    throw new RangeError(
      `Cannot correlate "${name}": the frame has no such column: it has ${
        frame.columns.map((c) => `"${c}"`).join(", ")
      }`,
    );
  }
  const all = frame.getColumn(name).toArray() as (number | null)[];
  return Float64Array.from(rows, (i) => {
    const v = all[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(
        `Cannot correlate "${name}": row ${i} holds ${v}, expected a finite number`,
      );
    }
    return v;
  });
}

/**
 * Each feature's correlation with the label on the given (training) rows,
 * sorted by |pearson| descending (constant features last).
 *
 * @param frame The quarterly frame, or its table (`QuarterlyFrame.frame`).
 * @param features The feature columns to report.
 * @param label The label column.
 * @param rows Row indices to correlate on: the training rows only.
 * @returns One line per feature.
 * @throws {RangeError} When a feature is the label or derived from it (`label_date`,
 *   `PQ`/`PM`), when a feature is an (almost) exact copy of the label
 *   (|r| >= {@linkcode LEAK_THRESHOLD}), when fewer than 3 rows are given, or on non-finite values.
 * @example
 * ```ts
 * featureCorrelations(q.frame, q.features, q.label, folds[0].train);
 * ```
 */
export function featureCorrelations(
  frame: pl.DataFrame | QuarterlyFrame,
  features: string[],
  label: string,
  rows: number[],
): FeatureCorrelation[] {
  const table = "features" in frame && "label" in frame ? frame.frame : frame as pl.DataFrame;
  for (const f of features) {
    if (f === label || LABEL_DERIVED_COLUMNS.includes(f) || f.endsWith(`_${label}`)) {
      throw new RangeError(
        `Cannot list "${f}" in the correlation report: it is the label "${label}" or derived from it`,
      );
    }
  }
  if (rows.length < 3) {
    throw new RangeError(`Cannot compute correlations on ${rows.length} rows: need at least 3`);
  }
  const y = columnValues(table, label, rows);
  const out: FeatureCorrelation[] = features.map((f) => {
    const x = columnValues(table, f, rows);
    const p = pearson(x, y);
    const s = spearman(x, y);
    if (p !== null && Math.abs(p) >= LEAK_THRESHOLD) {
      throw new RangeError(
        `Feature "${f}" correlates ${p} with the label "${label}": it is a copy of the label (a leak), not a feature`,
      );
    }
    return {
      feature: f,
      pearson: p,
      spearman: s,
      strength: p === null ? "Constant" : strengthWord(p),
    };
  });
  return out.sort((a, b) => {
    const aa = a.pearson === null ? -1 : Math.abs(a.pearson);
    const bb = b.pearson === null ? -1 : Math.abs(b.pearson);
    return bb - aa || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0);
  });
}
