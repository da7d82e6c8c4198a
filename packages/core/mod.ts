/**
 * Alfred's shared primitives, below every stage: the dense {@linkcode Matrix},
 * the calendar (ISO date ↔ day number ↔ quarter, strict), the one seeded
 * generator ({@linkcode Prng}, mulberry32), the correlation statistics
 * (Pearson, Spearman, average ranks, one rule for undefined values), the one
 * string order ({@linkcode compareStrings}) and the binary search of a sorted
 * list ({@linkcode countAtOrBelow}).
 *
 * A leaf: it imports nothing.
 *
 * @example
 * ```ts
 * import { isoToDay, pearson, Prng, quarterOf } from "@alfred/core";
 * quarterOf("1995-09-29"); // "1995Q3"
 * isoToDay("1970-01-02"); // 1
 * new Prng(42).permutation(5); // a seeded permutation of 0..4
 * pearson([1, 2, 3], [2, 4, 7]); // close to 1
 * ```
 *
 * @module
 */

export { checkMatrix } from "./matrix.ts";
export type { Matrix } from "./matrix.ts";
export {
  dateToIso,
  dayOfWeek,
  dayQuarter,
  daysBetween,
  dayToIso,
  isIsoDate,
  isoToDay,
  monthEnd,
  nextQuarter,
  quarterEnd,
  quarterEndDay,
  quarterLabel,
  quarterNumber,
  quarterOf,
  quarterStart,
  quarterStartDay,
} from "./calendar.ts";
export { deriveSeed, Prng } from "./prng.ts";
export type { MutableArrayLike } from "./prng.ts";
export { averageRanks, extent, pearson, spearman } from "./stats.ts";
export { compareStrings, countAtOrBelow } from "./order.ts";
