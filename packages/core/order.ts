/**
 * Order every stage shares: the one string order (UTF-16 code units, the same on every machine,
 * unlike `localeCompare`), so tables, lists and files come out in one order everywhere, and the
 * binary search of an ascending list (trading days, ISO dates).
 *
 * @module
 */

/**
 * Compare strings by UTF-16 code units (locale-independent, unlike `localeCompare`).
 *
 * @param a a string
 * @param b another string
 * @returns negative, zero or positive
 * @example
 * ```ts
 * ["b", "B", "a"].sort(compareStrings); // ["B", "a", "b"]
 * ```
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * How many values of an ascending list are at or below a value: the index of the first value
 * above it (binary search; numbers, or strings such as ISO dates, compared with `<=`).
 *
 * @param sorted values in ascending order
 * @param value the value to place
 * @returns 0 when every value is above it, `sorted.length` when none is
 * @example
 * ```ts
 * countAtOrBelow([1, 3, 3, 7], 3); // 3
 * countAtOrBelow(["2020-01-02", "2020-01-03"], "2020-01-01"); // 0
 * ```
 */
export function countAtOrBelow<T extends number | string>(sorted: ArrayLike<T>, value: T): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
