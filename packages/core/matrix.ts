/**
 * The dense matrix every stage passes around: design matrices, the
 * trainer's and the engines' inputs, the baselines' and the analyses'.
 *
 * @module
 */

/** A dense row-major float32 matrix: row `r`, column `c` is `data[r * cols + c]`. */
export interface Matrix {
  /** The values, row by row: `rows * cols` of them. */
  data: Float32Array;
  /** Number of rows (samples). */
  rows: number;
  /** Number of columns (features). */
  cols: number;
}

/**
 * Checks that a matrix is consistent and, when labels are given, has one label per row.
 *
 * @param name the matrix's name in messages (`x`, `xVal`)
 * @param m the matrix
 * @param labels its labels, one per row (optional)
 * @param labelName the labels' name in messages
 * @throws {RangeError} naming the matrix and what is wrong: rows or cols not integers (cols
 *   at least 1), a data length other than `rows * cols`, or a label count other than `rows`
 * @example
 * ```ts
 * import { checkMatrix } from "@alfred/core";
 * const x = { data: new Float32Array(6), rows: 3, cols: 2 };
 * checkMatrix("x", x, new Float32Array(3), "y"); // passes
 * ```
 */
export function checkMatrix(
  name: string,
  m: Matrix,
  labels?: ArrayLike<number>,
  labelName = "labels",
): void {
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 1) {
    throw new RangeError(
      `Invalid matrix "${name}": rows and cols must be non-negative integers (cols >= 1), got ${m.rows} x ${m.cols}`,
    );
  }
  if (m.data.length !== m.rows * m.cols) {
    throw new RangeError(
      `Invalid matrix "${name}": data has ${m.data.length} values, expected ${m.rows} x ${m.cols} = ${
        m.rows * m.cols
      }`,
    );
  }
  if (labels !== undefined && labels.length !== m.rows) {
    throw new RangeError(
      `Label count mismatch: "${labelName}" has ${labels.length} values but "${name}" has ${m.rows} rows`,
    );
  }
}
