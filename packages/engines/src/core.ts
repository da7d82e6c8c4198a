/**
 * The shared primitives the engines use: the dense {@linkcode Matrix}, its
 * check, and the shuffle generator. They are `@alfred/core`'s to own; until
 * the engines depend on that package, this module holds them, and every file
 * of the package imports them from here only (so the switch is this file).
 *
 * @module
 */

/** A dense row-major matrix: `data[r * cols + c]`. */
export interface Matrix {
  /** The values, row by row: `rows * cols` of them. */
  data: Float32Array;
  /** Number of rows (samples). */
  rows: number;
  /** Number of columns (features). */
  cols: number;
}

/**
 * The trainer's PRNG (mulberry32): small, fast, and its whole state is one
 * 32-bit integer, so it can be saved in a checkpoint. Every engine draws its
 * epochs' shuffles from it, so they all see the rows in the same order.
 *
 * @example
 * ```ts
 * import { ShuffleRng } from "@alfred/engines";
 * const rng = new ShuffleRng(42);
 * const order = rng.permutation(10); // a seeded permutation of 0..9
 * const saved = rng.state; // a checkpoint keeps this
 * ```
 */
export class ShuffleRng {
  /** Current 32-bit state. */
  state: number;

  /**
   * A generator for a seed.
   *
   * @param seed any integer; mixed so that nearby seeds give unrelated streams
   */
  constructor(seed: number) {
    this.state = (Math.imul((seed | 0) ^ 0x5bd1e995, 0x9e3779b1) ^ 0x2545f491) >>> 0;
  }

  /**
   * The next number of the stream.
   *
   * @returns a float in [0, 1)
   */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * A Fisher–Yates permutation of `0..n-1`.
   * @param n length
   * @returns the permutation
   */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/**
 * Checks that a design matrix is consistent and has one label per row.
 *
 * @param name the matrix's name in messages (`x`, `xVal`)
 * @param m the matrix
 * @param labels its labels
 * @param labelName the labels' name in messages
 * @throws {RangeError} naming the matrix and what is wrong
 */
export function checkMatrix(
  name: string,
  m: Matrix,
  labels: Float32Array,
  labelName: string,
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
  if (labels.length !== m.rows) {
    throw new RangeError(
      `Label count mismatch: "${labelName}" has ${labels.length} values but "${name}" has ${m.rows} rows`,
    );
  }
}
