/**
 * Labels: what the model predicts for a quarter row, computed only from the
 * row's own close and the close `horizon` quarters later.
 *
 * @module
 */
import type { LabelConfig } from "../config/schema.ts";

/** Label column names: `PQ` (direction) and `PM` (magnitude), the research notes' names. */
export const LABEL_COLUMN = { direction: "PQ", magnitude: "PM" } as const;

/** Columns that hold the label or are derived from it; never features, never in a correlation report. */
export const LABEL_DERIVED_COLUMNS: readonly string[] = ["PQ", "PM", "label_date"];

/**
 * The label column name for a label config.
 *
 * @param label The label config.
 * @returns `"PQ"` or `"PM"`.
 */
export function labelColumn(label: Pick<LabelConfig, "mode">): "PQ" | "PM" {
  return LABEL_COLUMN[label.mode];
}

/**
 * The label of one row from its close and the close `horizon` quarters later:
 * direction → 1 when the later close is higher, else 0; magnitude → the
 * fractional change.
 *
 * @param mode The label mode.
 * @param close The row's close (its quarter's last close).
 * @param future The close of the quarter `horizon` quarters later.
 * @returns The label value.
 * @example
 * ```ts
 * labelValue("direction", 10, 11); // 1
 * labelValue("magnitude", 10, 11); // 0.1 (up to rounding)
 * ```
 */
export function labelValue(mode: LabelConfig["mode"], close: number, future: number): number {
  return mode === "direction" ? (future > close ? 1 : 0) : future / close - 1;
}
