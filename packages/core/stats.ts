/**
 * Correlation statistics every stage shares: Pearson and Spearman
 * correlation and average ranks (the correlation report, IC and Rank IC,
 * ticker selection).
 *
 * One rule for undefined values: a coefficient is `null` when it is
 * undefined: fewer than two pairs, a value that is NaN or infinite, or a
 * side that is constant. Never NaN, never a number computed from rounding
 * noise (a constant side is found by comparing values, not by a variance
 * that rounding may leave just above zero).
 *
 * @module
 */

function isConstant(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

function allFinite(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new RangeError(`Length mismatch: ${a.length} vs ${b.length} values`);
  }
}

/**
 * Pearson correlation, in float64.
 *
 * @param a first series
 * @param b second series, same length
 * @returns the coefficient in [-1, 1], or `null` when undefined (fewer than 2 pairs, a
 *   non-finite value, or a constant side)
 * @throws {RangeError} when the lengths differ
 * @example
 * ```ts
 * import { pearson } from "@alfred/core";
 * pearson([1, 2, 3], [1, 3, 2]); // 0.5
 * pearson([1, 1, 1], [1, 2, 3]); // null
 * ```
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  checkLengths(a, b);
  const n = a.length;
  if (n < 2 || isConstant(a) || isConstant(b) || !allFinite(a) || !allFinite(b)) return null;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(saa > 0) || !(sbb > 0)) return null;
  const r = sab / Math.sqrt(saa * sbb);
  return Number.isFinite(r) ? Math.max(-1, Math.min(1, r)) : null;
}

/**
 * Ranks from 1, ties getting the average of the ranks they span.
 *
 * @param v values, none NaN
 * @returns the ranks, in the order of `v`
 * @throws {RangeError} when a value is NaN (it has no rank)
 * @example
 * ```ts
 * import { averageRanks } from "@alfred/core";
 * averageRanks([10, 20, 20, 5]); // Float64Array [2, 3.5, 3.5, 1]
 * ```
 */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(v[i])) throw new RangeError(`Cannot rank value ${i}: it is NaN`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => v[i] - v[j] || i - j);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman rank correlation: Pearson of the average ranks.
 *
 * @param a first series
 * @param b second series, same length
 * @returns the coefficient in [-1, 1], or `null` when undefined (as {@linkcode pearson})
 * @throws {RangeError} when the lengths differ
 * @example
 * ```ts
 * import { spearman } from "@alfred/core";
 * spearman([1, 2, 3, 4], [1, 4, 9, 16]); // 1
 * ```
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  checkLengths(a, b);
  if (!allFinite(a) || !allFinite(b)) return null;
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * The smallest and largest of some values, in one pass: what `Math.min(...values)` and
 * `Math.max(...values)` give, without spreading the values into arguments (which overflows the
 * call stack at about 100,000 values).
 *
 * @param values the values (NaN propagates, as it does through `Math.min` and `Math.max`)
 * @returns `{ min, max }`, or `null` when there are no values
 * @example
 * ```ts
 * import { extent } from "@alfred/core";
 * extent([3, 1, 2]); // { min: 1, max: 3 }
 * extent([]); // null
 * ```
 */
export function extent(values: ArrayLike<number>): { min: number; max: number } | null {
  if (values.length === 0) return null;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) return { min: NaN, max: NaN };
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}
