/**
 * Sequence windows: what a row's window of history is, and how it is laid
 * out in the model's input.
 *
 * A window of `length` steps over `fields` is flattened time-major into
 * `length × fields.length` feature columns, oldest step first: column
 * `t * fields.length + f` holds field `f` at step `t`, and step
 * `length − 1` ends exactly at the row's cut-off (the quarter's last close).
 * Every model sees the same flat row: sequence families reshape it to
 * `[length, fields]`, an MLP reads it as it is; ablation and Shapley values
 * group its columns by field.
 *
 * @module
 */

/** The shape of a row's window: steps and the fields at each step. */
export interface SequenceShape {
  /** Time steps, oldest first; the last ends at the row's cut-off. */
  length: number;
  /** The fields at each step, in column order. */
  fields: string[];
}

/**
 * The column name of one field at one step: `<field>@t-<lag>`, the lag
 * counted back from the window's last step (`@t-0`).
 *
 * @param field the field
 * @param lag steps before the last (0 for the last)
 * @returns the column name
 * @example
 * ```ts
 * sequenceColumn("return", 0); // "return@t-0"
 * ```
 */
export function sequenceColumn(field: string, lag: number): string {
  return `${field}@t-${lag}`;
}

/**
 * Every column of a window, time-major and oldest step first (the model's input order).
 *
 * @param shape the window's shape
 * @returns `length × fields.length` column names
 * @throws {RangeError} for a length below 1 or no fields
 * @example
 * ```ts
 * sequenceColumns({ length: 2, fields: ["close", "return"] });
 * // ["close@t-1", "return@t-1", "close@t-0", "return@t-0"]
 * ```
 */
export function sequenceColumns(shape: SequenceShape): string[] {
  if (!Number.isInteger(shape.length) || shape.length < 1 || shape.fields.length === 0) {
    throw new RangeError(
      `Invalid sequence shape: length ${shape.length}, ${shape.fields.length} fields (expected length >= 1 and at least one field)`,
    );
  }
  const out: string[] = [];
  for (let t = 0; t < shape.length; t++) {
    for (const f of shape.fields) out.push(sequenceColumn(f, shape.length - 1 - t));
  }
  return out;
}

/**
 * The columns of one field across the window (for per-field ablation and Shapley groups).
 *
 * @param shape the window's shape
 * @param field one of `shape.fields`
 * @returns the field's column indices in the flat row, oldest first
 * @throws {RangeError} when the field is not in the window
 */
export function fieldColumnIndices(shape: SequenceShape, field: string): number[] {
  const f = shape.fields.indexOf(field);
  if (f < 0) {
    throw new RangeError(
      `Field "${field}" is not in the window: it has ${
        shape.fields.map((x) => `"${x}"`).join(", ")
      }`,
    );
  }
  return Array.from({ length: shape.length }, (_, t) => t * shape.fields.length + f);
}
