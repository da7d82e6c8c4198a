/**
 * The field types the record's schemas share (`schema.ts`, `tables.ts`, `news.ts`): how a number
 * that may be undefined or not finite is kept, counts, quarters and fold names.
 *
 * @module
 */
import { z } from "zod";

/** A number the stage leaves undefined (`null`) where it has no meaning. */
export const Num = z.number().nullable();
/**
 * A number a stage computed as a plain number: one that is not finite (a diverged loss, the
 * correlation of a constant column) is NaN in memory and null in JSON and Parquet.
 */
export const Float = z.number().nullable().transform((v) => v ?? NaN);
/** A count. */
export const Count = z.int().min(0);
/** A quarter `YYYYQn`. */
export const Quarter = z.string().regex(/^\d{4}Q[1-4]$/, {
  message: "expected a quarter as YYYYQn",
});
/** A walk-forward fold's name. */
export const FoldName = z.string().regex(/^fold-\d+$/, {
  message: "expected a fold name like fold-1",
});
