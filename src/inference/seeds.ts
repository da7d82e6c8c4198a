/**
 * Spread over seeds: a metric measured once per training seed, summarized as mean ± standard
 * deviation (what issue 22 asks the report to show), with the standard error of the mean and
 * a Student-t interval for it.
 *
 * @module
 */
import { studentTQuantile } from "./distributions.ts";

/** Mean ± standard deviation of one metric over seeds. */
export interface SeedSummary {
  /** Number of seeds. */
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one seed. */
  std: number;
  /** std / √n; null for one seed. */
  standardError: number | null;
  min: number;
  max: number;
  /** mean ± t_{n−1, 1−α/2}·std/√n; null for one seed. */
  interval: { lower: number; upper: number; level: number } | null;
}

/**
 * Mean, sample standard deviation (n − 1) and the t interval of the mean of one metric over
 * seeds: mean ± t_{n−1}(1 − α/2)·s/√n.
 *
 * @param values the metric of each seed
 * @param level confidence level of the interval of the mean (default 0.95)
 * @returns the summary
 * @throws {RangeError} when there are no values, any is not finite, or level is outside (0, 1)
 * @example
 * ```ts
 * summarizeSeeds([0.52, 0.55, 0.51]); // { n: 3, mean: 0.5266…, std: 0.0208…, … }
 * ```
 */
export function summarizeSeeds(values: ArrayLike<number>, level = 0.95): SeedSummary {
  const n = values.length;
  if (n === 0) throw new RangeError("Cannot summarize no seeds");
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`Invalid confidence level "${level}": expected a number in (0, 1)`);
  }
  let mean = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      throw new RangeError(`Invalid value "${v}" of seed ${i}: expected finite`);
    }
    mean += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  mean /= n;
  if (n === 1) return { n, mean, std: 0, standardError: null, min, max, interval: null };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  const se = std / Math.sqrt(n);
  const t = studentTQuantile(1 - (1 - level) / 2, n - 1);
  return {
    n,
    mean,
    std,
    standardError: se,
    min,
    max,
    interval: { lower: mean - t * se, upper: mean + t * se, level },
  };
}
