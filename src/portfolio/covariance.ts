/**
 * Covariance estimation for the mean-variance manager: the Ledoit–Wolf (2004) shrinkage of the
 * sample covariance towards a scaled identity, and a Cholesky solve.
 *
 * @module
 */

/** A shrunk covariance and how much it was shrunk. */
export interface ShrunkCovariance {
  /** n × n row-major. */
  matrix: Float64Array;
  n: number;
  /** Weight of the target `m·I` in [0, 1]. */
  shrinkage: number;
}

/**
 * The Ledoit–Wolf shrunk covariance of observations (rows) of n variables:
 * `δ·m·I + (1 − δ)·S`, S the sample covariance (divided by T), m its mean variance, and δ the
 * estimated optimal intensity `min(b̄², d²) / d²` with `d² = ‖S − m·I‖²/n` and
 * `b̄² = Σₜ ‖xₜxₜᵀ − S‖² / (n·T²)`.
 *
 * @param rows T observations of n variables (each a row; T ≥ 2)
 * @returns the shrunk matrix and δ
 * @throws {RangeError} with fewer than two observations or rows of different lengths
 * @example
 * ```ts
 * const { shrinkage } = ledoitWolf([[0.01, 0.02], [-0.01, 0.0], [0.02, 0.01]]);
 * ```
 */
export function ledoitWolf(rows: readonly ArrayLike<number>[]): ShrunkCovariance {
  const t = rows.length;
  if (t < 2) throw new RangeError(`Ledoit-Wolf needs at least 2 observations, got ${t}`);
  const n = rows[0].length;
  const mean = new Float64Array(n);
  for (const r of rows) {
    if (r.length !== n) throw new RangeError(`Observations differ in length: ${r.length} and ${n}`);
    for (let i = 0; i < n; i++) mean[i] += r[i] / t;
  }
  const x = rows.map((r) => Float64Array.from({ length: n }, (_, i) => r[i] - mean[i]));
  const s = new Float64Array(n * n);
  for (const r of x) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] += r[i] * r[j] / t;
  }
  let m = 0;
  for (let i = 0; i < n; i++) m += s[i * n + i] / n;
  let d2 = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) d2 += (s[i * n + j] - (i === j ? m : 0)) ** 2;
  }
  d2 /= n;
  let b2 = 0;
  for (const r of x) {
    let e = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) e += (r[i] * r[j] - s[i * n + j]) ** 2;
    b2 += e / n;
  }
  b2 /= t * t;
  const shrinkage = d2 > 0 ? Math.min(b2, d2) / d2 : 1;
  const matrix = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      matrix[i * n + j] = (1 - shrinkage) * s[i * n + j] + (i === j ? shrinkage * m : 0);
    }
  }
  return { matrix, n, shrinkage };
}

/**
 * Solves `A x = b` for a symmetric positive definite A by Cholesky factorization.
 *
 * @param a n × n row-major
 * @param b n values
 * @returns x
 * @throws {RangeError} when A is not positive definite
 */
export function choleskySolve(a: Float64Array, b: ArrayLike<number>): Float64Array {
  const n = b.length;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(sum > 0)) throw new RangeError("Matrix is not positive definite");
        l[i * n + i] = Math.sqrt(sum);
      } else l[i * n + j] = sum / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * n + k] * y[k];
    y[i] = sum / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * x[k];
    x[i] = sum / l[i * n + i];
  }
  return x;
}
