/**
 * The notes' `analyze-loss.py`: what loss would be good for this label?
 *
 * A model that always predicts the label's mean has an MSE equal to the
 * label's variance. Explaining a share R² of that variance means an MSE of
 * `(1 − R²) × variance`. The notes' alternative target is an RMSE of 10% of
 * the label's range; the suggestion is the larger (the easier) of the two.
 *
 * @module
 */

/** Loss targets for one label column. */
export interface LossTarget {
  n: number;
  mean: number;
  /** Population variance: the MSE of always predicting the mean (the baseline MSE). */
  variance: number;
  std: number;
  min: number;
  max: number;
  range: number;
  /** The R² the target is for. */
  desiredR2: number;
  /** `(1 − R²) × variance`. */
  targetMseR2: number;
  /** `(0.1 × range)²`: an RMSE of 10% of the range. */
  targetMseRange: number;
  /** The larger of the two targets, as the notes' script suggests. */
  suggestedMse: number;
  suggestedRmse: number;
  /** Suggested RMSE as a percentage of the range. */
  suggestedRmsePercentOfRange: number;
}

/**
 * Loss targets for a label column.
 *
 * @param labels the label values (train or eval)
 * @param desiredR2 share of the variance to explain, in (0, 1) (default 0.8)
 * @returns the label's statistics and the target MSEs
 * @throws {RangeError} for no labels, a non-finite label, or R² outside (0, 1)
 * @example
 * ```ts
 * lossTarget([0, 1, 2, 3], 0.8).targetMseR2; // 0.25 (variance 1.25 × 0.2)
 * ```
 */
export function lossTarget(labels: ArrayLike<number>, desiredR2 = 0.8): LossTarget {
  if (!(desiredR2 > 0 && desiredR2 < 1)) {
    throw new RangeError(`Invalid desired R² "${desiredR2}": expected a number in (0, 1)`);
  }
  const n = labels.length;
  if (n === 0) throw new RangeError("Cannot compute a loss target: no labels");
  let sum = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (!Number.isFinite(v)) {
      throw new RangeError(`Cannot compute a loss target: label at row ${i} is "${v}"`);
    }
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (labels[i] - mean) ** 2;
  const variance = ss / n;
  const range = max - min;
  const targetMseR2 = (1 - desiredR2) * variance;
  const targetMseRange = (0.1 * range) ** 2;
  const suggestedMse = Math.max(targetMseR2, targetMseRange);
  const suggestedRmse = Math.sqrt(suggestedMse);
  return {
    n,
    mean,
    variance,
    std: Math.sqrt(variance),
    min,
    max,
    range,
    desiredR2,
    targetMseR2,
    targetMseRange,
    suggestedMse,
    suggestedRmse,
    suggestedRmsePercentOfRange: range === 0 ? 0 : (100 * suggestedRmse) / range,
  };
}
