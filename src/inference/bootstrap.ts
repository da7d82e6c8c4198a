/**
 * Bootstrap confidence intervals: the stationary bootstrap for daily-return statistics, the
 * row bootstrap for classification and regression metrics, and the period (cluster)
 * bootstrap for per-quarter statistics such as IC and Rank IC.
 *
 * Every function takes the statistic as a callback, so the bootstrap recomputes exactly
 * the statistic the rest of the project reports (`sharpe.ts` adapts the backtest's own
 * Sharpe, Sortino, CAGR and maximum drawdown) rather than a second definition of it.
 *
 * Intervals are percentile intervals (Efron's percentile method): the α/2 and 1 − α/2
 * quantiles (linear interpolation between order statistics, NumPy's default) of the
 * statistic over the resamples; 95% by default. BCa is not implemented. Every call is
 * deterministic given its `seed` (core's `Prng`, its state set to the seed).
 *
 * References:
 * - D. N. Politis and J. P. Romano, "The stationary bootstrap", JASA 89 (1994) 1303–1313;
 * - D. N. Politis and H. White, "Automatic block-length selection for the dependent
 *   bootstrap", Econometric Reviews 23 (2004) 53–70, with A. Patton, D. N. Politis and
 *   H. White, "Correction to …", Econometric Reviews 28 (2009) 372–375.
 *
 * @module
 */
import { Prng } from "@alfred/core";

/** What every bootstrap takes. */
export interface BootstrapOptions {
  /** Seed of the resampling; the same seed gives the same interval. */
  seed: number;
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Two-sided confidence level in (0, 1) (default 0.95). */
  level?: number;
}

/** Options of the stationary bootstrap. */
export interface StationaryOptions extends BootstrapOptions {
  /**
   * Expected block length (at least 1). Omitted: chosen from the data by Politis & White
   * (2004) with the Patton–Politis–White (2009) correction ({@linkcode optimalBlockLength}).
   */
  blockLength?: number;
}

/** Defaults shared by every bootstrap. */
export const BOOTSTRAP_DEFAULTS = { resamples: 2000, level: 0.95 } as const;

/** A percentile bootstrap interval and how it was made. */
export interface BootstrapInterval {
  /** The statistic on the original sample. */
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  method: "percentile";
  scheme: "stationary" | "rows" | "clusters";
  /** Resamples drawn. */
  resamples: number;
  /** Resamples whose statistic was finite and entered the interval. */
  used: number;
  seed: number;
  /** Standard deviation (n − 1) of the finite bootstrap statistics. */
  standardError: number;
  /** Expected block length of the stationary bootstrap; null for the other schemes. */
  blockLength: number | null;
  /** Where the block length came from; null for the other schemes. */
  blockLengthSource: "politis-white" | "given" | null;
  /** Clusters resampled (the cluster bootstrap); null otherwise. */
  clusters: number | null;
}

/** The Politis–White block lengths of one series. */
export interface BlockLength {
  /** Expected block length for the stationary bootstrap (at least 1). */
  stationary: number;
  /** Block length for the circular block bootstrap (at least 1). */
  circular: number;
  /** The bandwidth M of the flat-top lag window (2·m̂, capped at m_max). */
  bandwidth: number;
}

function checkOptions(options: BootstrapOptions): { resamples: number; level: number } {
  const resamples = options.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const level = options.level ?? BOOTSTRAP_DEFAULTS.level;
  if (!Number.isInteger(resamples) || resamples < 2) {
    throw new RangeError(`Invalid resamples "${resamples}": expected an integer >= 2`);
  }
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`Invalid confidence level "${level}": expected a number in (0, 1)`);
  }
  if (!Number.isInteger(options.seed)) {
    throw new RangeError(`Invalid seed "${options.seed}": expected an integer`);
  }
  return { resamples, level };
}

/**
 * The q-quantile of sorted values with linear interpolation between order statistics
 * (Hyndman & Fan type 7, NumPy's and R's default): h = (n − 1)q, x⌊h⌋ + (h − ⌊h⌋)(x⌊h⌋₊₁ − x⌊h⌋).
 *
 * @param sorted ascending values, at least one
 * @param q a probability in [0, 1]
 * @returns the quantile
 * @throws {RangeError} when there are no values or q is outside [0, 1]
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError("Cannot take a quantile of no values");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`Invalid quantile "${q}": expected [0, 1]`);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function interval(
  estimate: number,
  draws: Float64Array,
  level: number,
  seed: number,
  scheme: BootstrapInterval["scheme"],
  extra: Pick<BootstrapInterval, "blockLength" | "blockLengthSource" | "clusters">,
): BootstrapInterval {
  if (!Number.isFinite(estimate)) {
    throw new RangeError(
      `Cannot bootstrap a statistic that is not finite on the original sample: "${estimate}"`,
    );
  }
  const finite = Float64Array.from(draws.filter((v) => Number.isFinite(v))).sort();
  if (finite.length < 2) {
    throw new RangeError(
      `Bootstrap failed: only ${finite.length} of ${draws.length} resamples gave a finite statistic`,
    );
  }
  let mean = 0;
  for (const v of finite) mean += v;
  mean /= finite.length;
  let ss = 0;
  for (const v of finite) ss += (v - mean) ** 2;
  const alpha = 1 - level;
  return {
    estimate,
    lower: quantileSorted(finite, alpha / 2),
    upper: quantileSorted(finite, 1 - alpha / 2),
    level,
    method: "percentile",
    scheme,
    resamples: draws.length,
    used: finite.length,
    seed,
    standardError: Math.sqrt(ss / (finite.length - 1)),
    ...extra,
  };
}

/**
 * The optimal expected block length of the stationary bootstrap (and the circular block
 * bootstrap) for one series: Politis & White (2004) with the correction of Patton, Politis
 * & White (2009).
 *
 * With γ̂(k) = n⁻¹ Σ (x_t − x̄)(x_{t−k} − x̄) and ρ̂(k) = γ̂(k)/γ̂(0): m̂ is the smallest
 * m ≥ 1 such that |ρ̂(m)|, …, |ρ̂(m + K_N − 1)| are all below 2√(log₁₀ n / n), with
 * K_N = max(5, ⌈√log₁₀ n⌉); M = min(2m̂, m_max) (m_max = ⌈√n⌉ + K_N, also used when no such
 * m exists); with the flat-top window λ(s) = 1 for |s| ≤ ½ and 2(1 − |s|) above,
 * Ĝ = Σ_{|k|≤M} λ(k/M)|k|γ̂(k), σ̂² = Σ_{|k|≤M} λ(k/M)γ̂(k), D_SB = 2σ̂⁴, D_CB = (4/3)σ̂⁴ and
 * b = (2Ĝ²/D)^{1/3} n^{1/3}, capped at ⌈min(3√n, n/3)⌉ and floored at 1. These tuning
 * choices follow Patton's reference MATLAB code and the `arch` Python package (whose values
 * the tests reproduce).
 *
 * @param x the series (daily returns), at least 8 values
 * @returns the block lengths and the bandwidth M
 * @throws {RangeError} when fewer than 8 values or any is not finite
 * @example
 * ```ts
 * optimalBlockLength(returns).stationary; // e.g. 3.2 for mildly autocorrelated returns
 * ```
 */
export function optimalBlockLength(x: ArrayLike<number>): BlockLength {
  const n = x.length;
  if (n < 8) throw new RangeError(`Cannot choose a block length from ${n} values: need >= 8`);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(`Invalid series value "${x[i]}" at ${i}: expected a finite number`);
    }
    mean += x[i];
  }
  mean /= n;
  let constant = true;
  for (let i = 1; i < n && constant; i++) constant = x[i] === x[0];
  if (constant) return { stationary: 1, circular: 1, bandwidth: 0 };
  const eps = new Float64Array(n);
  for (let i = 0; i < n; i++) eps[i] = x[i] - mean;
  const kn = Math.max(5, Math.ceil(Math.sqrt(Math.log10(n))));
  const mMax = Math.min(Math.ceil(Math.sqrt(n)) + kn, n - 1);
  const bMax = Math.ceil(Math.min(3 * Math.sqrt(n), n / 3));
  const acv = new Float64Array(mMax + 1);
  for (let k = 0; k <= mMax; k++) {
    let s = 0;
    for (let t = k; t < n; t++) s += eps[t] * eps[t - k];
    acv[k] = s / n;
  }
  if (!(acv[0] > 0)) return { stationary: 1, circular: 1, bandwidth: 0 };
  const cv = 2 * Math.sqrt(Math.log10(n) / n);
  let mHat = -1;
  for (let m = 1; m + kn - 1 <= mMax && mHat < 0; m++) {
    let quiet = true;
    for (let k = m; k < m + kn; k++) {
      if (Math.abs(acv[k] / acv[0]) >= cv) {
        quiet = false;
        break;
      }
    }
    if (quiet) mHat = m;
  }
  const bandwidth = mHat < 0 ? mMax : Math.min(2 * mHat, mMax);
  let g = 0;
  let lrv = acv[0];
  for (let k = 1; k <= bandwidth; k++) {
    const s = k / bandwidth;
    const lambda = s <= 0.5 ? 1 : 2 * (1 - s);
    g += 2 * lambda * k * acv[k];
    lrv += 2 * lambda * acv[k];
  }
  const d2 = lrv * lrv;
  const clamp = (b: number) => (Number.isFinite(b) ? Math.max(1, Math.min(b, bMax)) : 1);
  const cube = Math.cbrt(n);
  return {
    stationary: clamp(Math.cbrt((2 * g * g) / (2 * d2)) * cube),
    circular: clamp(Math.cbrt((2 * g * g) / ((4 / 3) * d2)) * cube),
    bandwidth,
  };
}

/**
 * One stationary-bootstrap resample of indices 0..n−1 (Politis & Romano 1994): the first
 * index is uniform; each next one starts a new block at a uniform index with probability
 * p = 1/blockLength and otherwise continues the block, wrapping from n − 1 to 0. Block
 * lengths are geometric with mean `blockLength`.
 *
 * @param n series length, at least 1
 * @param blockLength expected block length, at least 1 (1 is the iid bootstrap)
 * @param rng the generator to draw from
 * @returns n indices
 * @throws {RangeError} when n < 1 or blockLength < 1
 */
export function stationaryIndices(n: number, blockLength: number, rng: Prng): Int32Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Invalid length "${n}": expected >= 1`);
  if (!(blockLength >= 1)) {
    throw new RangeError(`Invalid block length "${blockLength}": expected a number >= 1`);
  }
  const p = 1 / blockLength;
  const out = new Int32Array(n);
  out[0] = rng.int(n);
  for (let t = 1; t < n; t++) {
    out[t] = rng.next() < p ? rng.int(n) : (out[t - 1] + 1) % n;
  }
  return out;
}

function columnsOf(series: readonly ArrayLike<number>[]): number {
  if (series.length === 0) throw new RangeError("Cannot bootstrap no series");
  const n = series[0].length;
  for (const [i, s] of series.entries()) {
    if (s.length !== n) {
      throw new RangeError(`Invalid series ${i}: ${s.length} values but series 0 has ${n}`);
    }
  }
  return n;
}

/**
 * The stationary bootstrap of aligned series resampled together (the same indices for every
 * column: a strategy's returns and the risk-free rate, or a model's and a benchmark's).
 *
 * The block length, unless given, is the largest Politis–White stationary block length of the
 * columns (so the most dependent column keeps its dependence).
 *
 * @param series aligned columns of equal length (at least 8 rows when the block length is chosen)
 * @param statistic the statistic of the resampled columns (same order); a non-finite value
 *   drops that resample (counted in `used`)
 * @param options seed, resamples, level, optional block length
 * @returns the percentile interval with the block length used
 * @throws {RangeError} on columns of different lengths, invalid options, a non-finite statistic
 *   on the original sample, or fewer than 2 finite resamples
 */
export function bootstrapSeries(
  series: readonly ArrayLike<number>[],
  statistic: (resampled: Float64Array[]) => number,
  options: StationaryOptions,
): BootstrapInterval {
  const { resamples, level } = checkOptions(options);
  const n = columnsOf(series);
  let blockLength: number;
  let source: "politis-white" | "given";
  if (options.blockLength === undefined) {
    blockLength = Math.max(...series.map((s) => optimalBlockLength(s).stationary));
    source = "politis-white";
  } else {
    blockLength = options.blockLength;
    source = "given";
    if (!(blockLength >= 1)) {
      throw new RangeError(`Invalid block length "${blockLength}": expected a number >= 1`);
    }
  }
  const original = series.map((s) => Float64Array.from(s));
  const estimate = statistic(original);
  const rng = seeded(options.seed);
  const draws = new Float64Array(resamples);
  const buffers = series.map(() => new Float64Array(n));
  for (let b = 0; b < resamples; b++) {
    const idx = stationaryIndices(n, blockLength, rng);
    for (let c = 0; c < series.length; c++) {
      const src = original[c];
      const dst = buffers[c];
      for (let t = 0; t < n; t++) dst[t] = src[idx[t]];
    }
    draws[b] = statistic(buffers);
  }
  return interval(estimate, draws, level, options.seed, "stationary", {
    blockLength,
    blockLengthSource: source,
    clusters: null,
  });
}

/**
 * The stationary bootstrap of one return series (a convenience over
 * {@linkcode bootstrapSeries}): percentile interval of `statistic(returns)`.
 *
 * @param returns daily returns in time order
 * @param statistic the statistic of a resampled series, e.g. `backtestStatistic("sharpe", …)`
 * @param options seed, resamples, level, optional block length
 * @returns the percentile interval with the block length used
 * @throws {RangeError} as {@linkcode bootstrapSeries}
 * @example
 * ```ts
 * const mean = (r: Float64Array) => r.reduce((a, b) => a + b, 0) / r.length;
 * bootstrapReturns(returns, mean, { seed: 1 }); // { estimate, lower, upper, blockLength, … }
 * ```
 */
export function bootstrapReturns(
  returns: ArrayLike<number>,
  statistic: (resampled: Float64Array) => number,
  options: StationaryOptions,
): BootstrapInterval {
  return bootstrapSeries([returns], (cols) => statistic(cols[0]), options);
}

/**
 * The row (iid) bootstrap of a metric over n evaluation rows: each resample draws n row
 * indices uniformly with replacement and passes them to the metric.
 *
 * @param n number of rows, at least 2
 * @param metric the metric over the given rows (indices may repeat), e.g. accuracy or MSE
 * @param options seed, resamples, level
 * @returns the percentile interval (the estimate is the metric over rows 0..n−1)
 * @throws {RangeError} when n < 2, on invalid options, or as the interval requires
 */
export function bootstrapRows(
  n: number,
  metric: (rows: Int32Array) => number,
  options: BootstrapOptions,
): BootstrapInterval {
  const { resamples, level } = checkOptions(options);
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`Invalid row count "${n}": need >= 2`);
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const estimate = metric(all);
  const rng = seeded(options.seed);
  const draws = new Float64Array(resamples);
  const rows = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) rows[i] = rng.int(n);
    draws[b] = metric(rows);
  }
  return interval(estimate, draws, level, options.seed, "rows", {
    blockLength: null,
    blockLengthSource: null,
    clusters: null,
  });
}

/**
 * The cluster (period) bootstrap: the G distinct groups (quarters) are resampled G times with
 * replacement and the rows of each drawn group are passed together. A group drawn twice
 * appears twice, as two distinct draws: `draws[i]` is the draw (0..G−1) row `rows[i]` came
 * from, so a per-quarter statistic (IC, Rank IC) can treat each draw as its own quarter
 * (e.g. pass `Array.from(draws, String)` as the groups of `regressionMetrics`).
 *
 * @param groups the group (quarter) of each row
 * @param metric the metric of the drawn rows and their draw numbers
 * @param options seed, resamples, level
 * @returns the percentile interval; the estimate is the metric over every row, each group drawn once
 * @throws {RangeError} with fewer than 2 groups, on invalid options, or as the interval requires
 */
export function bootstrapClusters(
  groups: readonly string[],
  metric: (rows: Int32Array, draws: Int32Array) => number,
  options: BootstrapOptions,
): BootstrapInterval {
  const { resamples, level } = checkOptions(options);
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const clusters = [...members.keys()].sort();
  const G = clusters.length;
  if (G < 2) throw new RangeError(`Cannot bootstrap ${G} cluster: need >= 2 groups`);
  const rowsOf = clusters.map((c) => members.get(c)!);
  const assemble = (picks: ArrayLike<number>) => {
    let total = 0;
    for (let j = 0; j < picks.length; j++) total += rowsOf[picks[j]].length;
    const rows = new Int32Array(total);
    const draws = new Int32Array(total);
    let at = 0;
    for (let j = 0; j < picks.length; j++) {
      for (const r of rowsOf[picks[j]]) {
        rows[at] = r;
        draws[at++] = j;
      }
    }
    return [rows, draws] as const;
  };
  const identity = Array.from({ length: G }, (_, j) => j);
  const estimate = metric(...assemble(identity));
  const rng = seeded(options.seed);
  const draws = new Float64Array(resamples);
  const picks = new Int32Array(G);
  for (let b = 0; b < resamples; b++) {
    for (let j = 0; j < G; j++) picks[j] = rng.int(G);
    draws[b] = metric(...assemble(picks));
  }
  return interval(estimate, draws, level, options.seed, "clusters", {
    blockLength: null,
    blockLengthSource: null,
    clusters: G,
  });
}

/**
 * The period bootstrap of per-period values (one IC per quarter): the periods are resampled
 * iid with replacement and `statistic` (default the mean) is taken over each resample.
 *
 * @param values one value per period (e.g. `QuarterIc.ic` of each quarter with a defined IC)
 * @param options seed, resamples, level
 * @param statistic the statistic of the resampled values (default: the mean)
 * @returns the percentile interval (`clusters` is the number of periods)
 * @throws {RangeError} with fewer than 2 values, any not finite, or on invalid options
 */
export function bootstrapPeriods(
  values: ArrayLike<number>,
  options: BootstrapOptions,
  statistic: (resampled: Float64Array) => number = meanOf,
): BootstrapInterval {
  const { resamples, level } = checkOptions(options);
  const n = values.length;
  if (n < 2) throw new RangeError(`Cannot bootstrap ${n} period: need >= 2 periods`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`Invalid period value "${values[i]}" at ${i}: expected finite`);
    }
  }
  const original = Float64Array.from(values);
  const estimate = statistic(original);
  const rng = seeded(options.seed);
  const draws = new Float64Array(resamples);
  const buf = new Float64Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) buf[i] = original[rng.int(n)];
    draws[b] = statistic(buf);
  }
  return interval(estimate, draws, level, options.seed, "clusters", {
    blockLength: null,
    blockLengthSource: null,
    clusters: n,
  });
}

function meanOf(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

/**
 * The resampling stream of a seed: core's {@linkcode Prng} with the seed as its state, so the
 * same seed gives the same resamples on every platform.
 *
 * @param seed a finite integer
 * @returns the generator
 * @throws {RangeError} when the seed is not a finite integer
 */
function seeded(seed: number): Prng {
  if (!Number.isInteger(seed)) {
    throw new RangeError(`Invalid seed "${seed}": expected a finite integer`);
  }
  return Prng.fromState(seed);
}
