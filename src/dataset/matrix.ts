/**
 * Design matrices: scaled features, labels and row keys for given rows of
 * the quarterly frame, in the shapes the trainer takes.
 *
 * @module
 */
import type { QuarterlyFrame } from "../features/quarterly.ts";
import type { Scaler } from "./scaler.ts";
import type { Fold } from "./split.ts";
import type { Matrix } from "@alfred/core";

/** Which quarter row each matrix row is. */
export interface RowKey {
  ticker: string;
  quarter: string;
  /** The quarter's last trading day (ISO): the signal is formed at this close. */
  date: string;
}

/** What {@linkcode designMatrix} returns. */
export interface DesignMatrix {
  x: Matrix;
  y: Float32Array;
  keys: RowKey[];
}

/**
 * The label column as a vector for the given rows.
 *
 * @param q The quarterly frame.
 * @param rows Row indices.
 * @returns One label per row.
 * @throws {RangeError} When a label is not a finite number.
 */
export function labelVector(q: QuarterlyFrame, rows: number[]): Float32Array {
  const all = q.frame.getColumn(q.label).toArray() as (number | null)[];
  return Float32Array.from(rows, (i) => {
    const v = all[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(`Label "${q.label}" holds ${v} at row ${i}: expected a finite number`);
    }
    return v;
  });
}

/**
 * Scaled features, labels and keys for the given rows.
 *
 * @param q The quarterly frame.
 * @param rows Row indices (e.g. `fold.train`).
 * @param scaler A scaler fitted on the fold's training rows; its columns must be `q.features`, in order.
 * @returns The design matrix.
 * @throws {RangeError} For column mismatches or non-finite values (from the scaler) and non-finite labels.
 * @example
 * ```ts
 * const train = designMatrix(q, fold.train, scaler);
 * train.x.rows === fold.train.length; // true
 * ```
 */
export function designMatrix(q: QuarterlyFrame, rows: number[], scaler: Scaler): DesignMatrix {
  const data = scaler.transform(q.frame, rows, q.features);
  const tickers = q.frame.getColumn("ticker").toArray() as string[];
  const quarters = q.frame.getColumn("quarter").toArray() as string[];
  const dates = q.frame.getColumn("date").toArray() as string[];
  return {
    x: { data, rows: rows.length, cols: q.features.length },
    y: labelVector(q, rows),
    keys: rows.map((i) => ({ ticker: tickers[i], quarter: quarters[i], date: dates[i] })),
  };
}

/**
 * One column of the quarterly frame, one value per row (row indices as in {@linkcode Fold}).
 *
 * @param q The quarterly frame.
 * @param name The column, e.g. `quarter` or `label_date`.
 * @returns Its values, in row order.
 * @example
 * ```ts
 * const quarters = frameColumn<string>(q, "quarter");
 * ```
 */
export function frameColumn<T>(q: QuarterlyFrame, name: string): T[] {
  return q.frame.getColumn(name).toArray() as T[];
}

/** A fold's training, validation and eval rows, scaled by the fold's scaler. */
export interface FoldMatrices {
  train: DesignMatrix;
  val: DesignMatrix;
  ev: DesignMatrix;
}

/**
 * A fold's design matrices, built once and shared by training, evaluation and analysis.
 *
 * @param q The quarterly frame.
 * @param fold The fold.
 * @param scaler A scaler fitted on the fold's training rows.
 * @returns The fold's training, validation and eval matrices.
 * @throws {RangeError} As {@linkcode designMatrix}.
 * @example
 * ```ts
 * const { train, val, ev } = foldMatrices(q, fold, Scaler.fit(q.frame, fold.train, q.features, kinds));
 * ```
 */
export function foldMatrices(q: QuarterlyFrame, fold: Fold, scaler: Scaler): FoldMatrices {
  return {
    train: designMatrix(q, fold.train, scaler),
    val: designMatrix(q, fold.validation, scaler),
    ev: designMatrix(q, fold.eval, scaler),
  };
}
