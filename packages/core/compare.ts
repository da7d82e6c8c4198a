/**
 * The one string order every stage sorts by: UTF-16 code units, the same on every machine
 * (unlike `localeCompare`), so tables, lists and files come out in one order everywhere.
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
