/**
 * Shapley values by sampled permutations against a background sample.
 *
 * For an explained row x, a permutation π of the features and a background
 * row b, start from b and switch the features to x's values one at a time in
 * π's order; each switch's change in the model output is that feature's
 * marginal contribution. Averaged over permutations and background rows these
 * are the (sampled) Shapley values. Along every chain the contributions sum to
 * f(x) − f(b) exactly (they telescope), so the average sums to
 * f(x) − mean f(b) = f(x) − base value: additivity holds by construction, for
 * any model, and is checked all the same.
 *
 * With `groups`, the players are groups of columns (a window field's columns over every time
 * step): a chain switches a whole group at once, so each group gets one value (the group Shapley
 * value), and the groups' values still sum to f(x) − base value because the groups partition the
 * columns.
 *
 * @module
 */
import { type Matrix, Prng } from "@alfred/core";

/** The model as a function of a batch of rows. */
export type PredictFn = (x: Matrix) => Promise<Float32Array>;

/** Options of {@linkcode shapValues}. */
export interface ShapOptions {
  /** Permutations per (explained row, background row) pair. */
  permutations: number;
  /** Largest allowed |base value + Σ attributions − f(x)|. */
  tolerance: number;
  /** Seeds the permutations. */
  seed: number;
  /** Called after each explained row. */
  onRow?: (done: number, total: number) => void;
  /**
   * Players as groups of column indices that partition the columns (each column in exactly one
   * group); `values[i][g]` is then group g's attribution. Absent: each column is a player.
   */
  groups?: number[][];
}

/** Shapley values of the explained rows. */
export interface ShapResult {
  /** Mean model output over the background rows. */
  baseValue: number;
  /** `values[i][j]`: attribution of feature j (of group j with `groups`) for explained row i. */
  values: number[][];
  /** Model output of each explained row. */
  outputs: number[];
  /** Largest |base value + Σ attributions − output| over the explained rows. */
  maxAdditivityError: number;
}

/** The additivity check failed: attributions do not sum to the model output. */
export class AdditivityError extends Error {
  constructor(readonly row: number, readonly deviation: number, readonly tolerance: number) {
    super(
      `Shapley values do not add up for explained row ${row}: base value + sum of attributions ` +
        `is off the model output by ${deviation.toExponential(3)}, over the tolerance ${
          tolerance.toExponential(1)
        }`,
    );
    this.name = "AdditivityError";
  }
}

/**
 * Check that base value + Σ attributions equals the output for every row.
 *
 * @param baseValue the base value
 * @param values attributions per row
 * @param outputs model output per row
 * @param tolerance the largest allowed deviation
 * @returns the largest deviation
 * @throws {AdditivityError} naming the first row whose deviation is over the tolerance
 */
export function checkAdditivity(
  baseValue: number,
  values: number[][],
  outputs: number[],
  tolerance: number,
): number {
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    const total = values[i].reduce((s, v) => s + v, baseValue);
    const deviation = Math.abs(total - outputs[i]);
    if (!(deviation <= tolerance)) throw new AdditivityError(i, deviation, tolerance);
    worst = Math.max(worst, deviation);
  }
  return worst;
}

/**
 * Sampled permutation Shapley values.
 *
 * Cost: rows × background × permutations × (players + 1) model evaluations,
 * batched one (row, permutation) at a time; players are the columns, or the `groups`.
 *
 * @param predict the model
 * @param explain rows to explain (scaled features)
 * @param background background rows (from training rows)
 * @param options permutations, tolerance, seed
 * @returns base value, attributions, outputs and the largest additivity error
 * @throws {AdditivityError} when attributions do not add up within the tolerance
 * @throws {RangeError} when the matrices' widths differ or one is empty, or the groups do not
 *   partition the columns
 */
export async function shapValues(
  predict: PredictFn,
  explain: Matrix,
  background: Matrix,
  options: ShapOptions,
): Promise<ShapResult> {
  const f = explain.cols;
  if (background.cols !== f) {
    throw new RangeError(
      `Background has ${background.cols} columns but the explained rows have ${f}`,
    );
  }
  if (explain.rows === 0 || background.rows === 0) {
    throw new RangeError("Cannot compute Shapley values: no explained or no background rows");
  }
  const groups = options.groups ?? Array.from({ length: f }, (_, j) => [j]);
  checkPartition(groups, f);
  const players = groups.length;
  const bgOut = await predict(background);
  const baseValue = bgOut.reduce((s, v) => s + v, 0) / bgOut.length;
  const outputs = Array.from(await predict(explain));
  // The seed itself is the generator's state (the stream recorded runs were sampled with).
  const rng = Prng.fromState(options.seed);
  const B = background.rows;
  const chain = players + 1;
  const values: number[][] = [];
  for (let i = 0; i < explain.rows; i++) {
    const x = explain.data.subarray(i * f, (i + 1) * f);
    const phi = new Float64Array(players);
    for (let p = 0; p < options.permutations; p++) {
      const order = rng.permutation(players);
      // One batch: for each background row, the chain b → x in this order.
      const batch = new Float32Array(B * chain * f);
      for (let b = 0; b < B; b++) {
        const z = background.data.slice(b * f, (b + 1) * f);
        const base = b * chain * f;
        batch.set(z, base);
        for (let k = 0; k < players; k++) {
          for (const c of groups[order[k]]) z[c] = x[c];
          batch.set(z, base + (k + 1) * f);
        }
      }
      const out = await predict({ data: batch, rows: B * chain, cols: f });
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < players; k++) {
          phi[order[k]] += out[b * chain + k + 1] - out[b * chain + k];
        }
      }
    }
    const scale = 1 / (options.permutations * B);
    values.push(Array.from(phi, (v) => v * scale));
    options.onRow?.(i + 1, explain.rows);
  }
  const maxAdditivityError = checkAdditivity(baseValue, values, outputs, options.tolerance);
  return { baseValue, values, outputs, maxAdditivityError };
}

/** Throws unless every column of `0..cols-1` is in exactly one group. */
function checkPartition(groups: number[][], cols: number): void {
  const seen = new Uint8Array(cols);
  for (const [g, group] of groups.entries()) {
    for (const c of group) {
      if (!Number.isInteger(c) || c < 0 || c >= cols || seen[c]) {
        throw new RangeError(
          `Shapley groups must partition the ${cols} columns: group ${g} has column ${c}, ${
            seen[c] ? "already in another group" : "which is not a column"
          }`,
        );
      }
      seen[c] = 1;
    }
  }
  const left = seen.indexOf(0);
  if (left >= 0) {
    throw new RangeError(
      `Shapley groups must partition the ${cols} columns: column ${left} is in no group`,
    );
  }
}

/**
 * Mean |attribution| per feature, sorted from the largest.
 *
 * @param features feature names in column order
 * @param values attributions per row
 * @returns `[feature, mean |value|]` pairs, largest first
 */
export function meanAbsShap(features: string[], values: number[][]): [string, number][] {
  const sums = new Float64Array(features.length);
  for (const row of values) row.forEach((v, j) => (sums[j] += Math.abs(v)));
  return features
    .map((name, j) => [name, values.length ? sums[j] / values.length : 0] as [string, number])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
