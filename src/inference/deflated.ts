/**
 * Selection bias in sweeps: the probabilistic Sharpe ratio, the expected maximum Sharpe ratio
 * of N trials, the deflated Sharpe ratio of the best point, and the probability of backtest
 * overfitting by combinatorially symmetric cross-validation.
 *
 * Sharpe ratios here are per period (daily: mean / sample sd of daily excess returns, not
 * annualized); divide an annualized Sharpe by √252 first. Kurtosis is the plain (not excess)
 * fourth standardized moment, 3 for normal returns.
 *
 * References:
 * - D. H. Bailey and M. López de Prado, "The Sharpe ratio efficient frontier", Journal of
 *   Risk 15 (2012) (the probabilistic Sharpe ratio);
 * - D. H. Bailey and M. López de Prado, "The deflated Sharpe ratio: correcting for selection
 *   bias, backtest overfitting and non-normality", Journal of Portfolio Management 40 (2014)
 *   94–107;
 * - D. H. Bailey, J. M. Borwein, M. López de Prado and Q. J. Zhu, "The probability of
 *   backtest overfitting", Journal of Computational Finance 20 (2017) 39–69.
 *
 * @module
 */
import { normalCdf, normalQuantile } from "./distributions.ts";

/** The Euler–Mascheroni constant γ. */
export const EULER_GAMMA = 0.5772156649015329;

/** The fewest sweep points for which the report computes PBO (issue 22). */
export const PBO_MIN_POINTS = 8;

/** Sample moments of a return series. */
export interface SampleMoments {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1). */
  std: number;
  /** mean / std, per period (the backtest's Sharpe before annualization). */
  sharpe: number;
  /** Skewness m₃/m₂^{3/2} (population moments, as in Bailey & López de Prado). */
  skewness: number;
  /** Kurtosis m₄/m₂² (not excess: 3 for normal returns). */
  kurtosis: number;
}

/**
 * Mean, sample sd, per-period Sharpe, skewness and (non-excess) kurtosis of a series; the
 * higher moments use population (1/n) central moments, as `scipy.stats.skew` and
 * `scipy.stats.kurtosis(fisher=False)` do by default.
 *
 * @param x the series (daily excess returns), at least 3 values
 * @returns the moments
 * @throws {RangeError} with fewer than 3 values, a non-finite value or a constant series
 */
export function sampleMoments(x: ArrayLike<number>): SampleMoments {
  const n = x.length;
  if (n < 3) throw new RangeError(`Cannot compute moments of ${n} values: need >= 3`);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(`Invalid value "${x[i]}" at ${i}: expected finite`);
    }
    mean += x[i];
  }
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const e = x[i] - mean;
    const e2 = e * e;
    m2 += e2;
    m3 += e2 * e;
    m4 += e2 * e2;
  }
  if (!(m2 > 0)) throw new RangeError("Cannot compute moments of a constant series");
  const std = Math.sqrt(m2 / (n - 1));
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return {
    n,
    mean,
    std,
    sharpe: mean / std,
    skewness: m3 / Math.pow(m2, 1.5),
    kurtosis: m4 / (m2 * m2),
  };
}

/** Inputs of the probabilistic Sharpe ratio. */
export interface PsrInput {
  /** Observed per-period Sharpe ratio SR̂. */
  sharpe: number;
  /** Benchmark per-period Sharpe ratio SR* (default 0). */
  benchmark?: number;
  /** Number of return observations T. */
  observations: number;
  /** Skewness γ₃ of the returns (default 0). */
  skewness?: number;
  /** Kurtosis γ₄ of the returns, not excess (default 3). */
  kurtosis?: number;
}

/**
 * The probabilistic Sharpe ratio (Bailey & López de Prado 2012):
 * PSR(SR*) = Φ((SR̂ − SR*)·√(T − 1) / √(1 − γ₃·SR̂ + (γ₄ − 1)/4·SR̂²)).
 *
 * @param input SR̂, SR*, T, γ₃, γ₄
 * @returns the probability that the true Sharpe ratio exceeds SR*
 * @throws {RangeError} when T < 2, a value is not finite, or the variance term is not positive
 * @example
 * ```ts
 * probabilisticSharpeRatio({ sharpe: 0.1, observations: 250 }); // 0.9423 = Φ(0.1·√249/√1.005)
 * ```
 */
export function probabilisticSharpeRatio(input: PsrInput): number {
  return psrZ(input).probability;
}

function psrZ(input: PsrInput): { z: number; probability: number } {
  const sr = input.sharpe;
  const bench = input.benchmark ?? 0;
  const T = input.observations;
  const g3 = input.skewness ?? 0;
  const g4 = input.kurtosis ?? 3;
  if (!(T >= 2)) throw new RangeError(`Invalid observations "${T}": expected >= 2`);
  for (
    const [name, v] of [["Sharpe", sr], ["benchmark", bench], ["skewness", g3], [
      "kurtosis",
      g4,
    ]] as const
  ) {
    if (!Number.isFinite(v)) {
      throw new RangeError(`Invalid ${name} "${v}": expected a finite number`);
    }
  }
  const v = 1 - g3 * sr + ((g4 - 1) / 4) * sr * sr;
  if (!(v > 0)) {
    throw new RangeError(
      `Invalid moments: 1 − γ3·SR + (γ4 − 1)/4·SR² is "${v}" for SR "${sr}", skewness "${g3}", kurtosis "${g4}"`,
    );
  }
  const z = ((sr - bench) * Math.sqrt(T - 1)) / Math.sqrt(v);
  return { z, probability: normalCdf(z) };
}

/**
 * The expected maximum Sharpe ratio of N independent trials whose Sharpe ratios have mean μ
 * and variance V (Bailey & López de Prado 2014, from the extreme-value approximation of the
 * maximum of N normals): E[max SR] ≈ μ + √V·((1 − γ)Φ⁻¹(1 − 1/N) + γΦ⁻¹(1 − 1/(N·e))).
 * With one trial there is no selection and the result is μ.
 *
 * @param trials N, an integer >= 1
 * @param variance V, the variance of the trials' per-period Sharpe ratios (>= 0)
 * @param mean μ (default 0, the null of no skill)
 * @returns the expected maximum, SR₀ of the deflated Sharpe ratio
 * @throws {RangeError} when N is not a positive integer or V is negative
 */
export function expectedMaxSharpe(trials: number, variance: number, mean = 0): number {
  if (!Number.isInteger(trials) || trials < 1) {
    throw new RangeError(`Invalid trial count "${trials}": expected an integer >= 1`);
  }
  if (!(variance >= 0) || !Number.isFinite(variance)) {
    throw new RangeError(`Invalid Sharpe variance "${variance}": expected a finite number >= 0`);
  }
  if (trials === 1) return mean;
  return mean +
    Math.sqrt(variance) *
      ((1 - EULER_GAMMA) * normalQuantile(1 - 1 / trials) +
        EULER_GAMMA * normalQuantile(1 - 1 / (trials * Math.E)));
}

/** Inputs of the deflated Sharpe ratio. */
export interface DsrInput {
  /** The selected (best) trial's per-period Sharpe ratio. */
  sharpe: number;
  /** Its number of return observations T. */
  observations: number;
  /** Its skewness (default 0). */
  skewness?: number;
  /** Its kurtosis, not excess (default 3). */
  kurtosis?: number;
  /** N, the number of independent trials (sweep points). */
  trials: number;
  /** V, the variance of the trials' per-period Sharpe ratios. */
  trialVariance: number;
}

/** The deflated Sharpe ratio and its parts. */
export interface DsrResult {
  /** The DSR: the probability that the true Sharpe ratio exceeds SR₀. */
  dsr: number;
  /** SR₀ = E[max SR] of N skill-less trials (per period). */
  benchmark: number;
  /** The standardized distance from SR₀ (the argument of Φ). */
  z: number;
  trials: number;
}

/**
 * The deflated Sharpe ratio (Bailey & López de Prado 2014): the probabilistic Sharpe ratio of
 * the selected trial against SR₀ = {@linkcode expectedMaxSharpe}(N, V):
 * DSR = Φ((SR̂ − SR₀)·√(T − 1) / √(1 − γ₃·SR̂ + (γ₄ − 1)/4·SR̂²)).
 *
 * @param input the best trial's SR̂, T, γ₃, γ₄ and the sweep's N and V
 * @returns DSR, SR₀ and z
 * @throws {RangeError} as {@linkcode probabilisticSharpeRatio} and {@linkcode expectedMaxSharpe}
 * @example
 * ```ts
 * // The paper's example: annualized SR 2.5 over 5 years of daily data (250 a year), N = 100,
 * // V = 0.5 (annualized), skewness −3, kurtosis 10.
 * deflatedSharpeRatio({ sharpe: 2.5 / Math.sqrt(250), observations: 1250, skewness: -3,
 *   kurtosis: 10, trials: 100, trialVariance: 0.5 / 250 }).dsr; // 0.9004
 * ```
 */
export function deflatedSharpeRatio(input: DsrInput): DsrResult {
  const benchmark = expectedMaxSharpe(input.trials, input.trialVariance);
  const { z, probability } = psrZ({
    sharpe: input.sharpe,
    benchmark,
    observations: input.observations,
    skewness: input.skewness,
    kurtosis: input.kurtosis,
  });
  return { dsr: probability, benchmark, z, trials: input.trials };
}

/**
 * The deflated Sharpe ratio of a sweep's best point from its daily excess returns and every
 * point's per-period Sharpe ratio: N is the number of points, V the sample variance (n − 1)
 * of their Sharpe ratios, and SR̂, T, γ₃, γ₄ come from the best point's returns.
 *
 * @param bestReturns the best point's daily excess returns
 * @param trialSharpes the per-period Sharpe ratio of every point (the best included)
 * @returns as {@linkcode deflatedSharpeRatio}, with the moments used
 * @throws {RangeError} with fewer than 2 points or as {@linkcode sampleMoments}
 */
export function deflatedSharpeOfBest(
  bestReturns: ArrayLike<number>,
  trialSharpes: ArrayLike<number>,
): DsrResult & { moments: SampleMoments; trialVariance: number } {
  const N = trialSharpes.length;
  if (N < 2) throw new RangeError(`Cannot deflate over ${N} trial: need >= 2 sweep points`);
  let m = 0;
  for (let i = 0; i < N; i++) {
    if (!Number.isFinite(trialSharpes[i])) {
      throw new RangeError(`Invalid Sharpe ratio "${trialSharpes[i]}" of point ${i}`);
    }
    m += trialSharpes[i];
  }
  m /= N;
  let ss = 0;
  for (let i = 0; i < N; i++) ss += (trialSharpes[i] - m) ** 2;
  const trialVariance = ss / (N - 1);
  const moments = sampleMoments(bestReturns);
  const result = deflatedSharpeRatio({
    sharpe: moments.sharpe,
    observations: moments.n,
    skewness: moments.skewness,
    kurtosis: moments.kurtosis,
    trials: N,
    trialVariance,
  });
  return { ...result, moments, trialVariance };
}

// ---------------------------------------------------------------------------------------------
// PBO by CSCV

/** Options of {@linkcode probabilityOfBacktestOverfitting}. */
export interface PboOptions {
  /** S, the number of row blocks: even, >= 2 (default 16, C(16, 8) = 12,870 splits). */
  blocks?: number;
  /**
   * The performance statistic of one trial over a set of rows (in time order). Default: the
   * Sharpe ratio mean / sample sd (n − 1), computed from block sums.
   */
  statistic?: (values: Float64Array) => number;
}

/** The probability of backtest overfitting and the distribution behind it. */
export interface PboResult {
  /** Share of splits whose logit λ ≤ 0 (the in-sample best ranks in the lower half out of sample). */
  pbo: number;
  /** λ_c = ln(ω̄_c/(1 − ω̄_c)) of every split c, in enumeration order. */
  logits: Float64Array;
  splits: number;
  blocks: number;
  trials: number;
  /** Rows used (a multiple of S) and rows dropped from the start to get there. */
  rowsUsed: number;
  rowsDropped: number;
  /** Summary of the logits. */
  summary: { mean: number; median: number; std: number; min: number; max: number };
  /** Share of splits whose in-sample best has out-of-sample performance below 0. */
  probabilityOfLoss: number;
}

function* combinations(n: number, k: number): Generator<Int32Array> {
  const c = new Int32Array(k);
  for (let i = 0; i < k; i++) c[i] = i;
  while (true) {
    yield c;
    let i = k - 1;
    while (i >= 0 && c[i] === n - k + i) i--;
    if (i < 0) return;
    c[i]++;
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1] + 1;
  }
}

/**
 * The probability of backtest overfitting by combinatorially symmetric cross-validation
 * (Bailey, Borwein, López de Prado & Zhu 2017).
 *
 * The T × N performance matrix (one column per trial) is cut into S contiguous blocks of
 * ⌊T/S⌋ rows (the first T mod S rows dropped). For every one of the C(S, S/2) ways of taking
 * half the blocks as in-sample (the rest out-of-sample), n* is the trial with the best
 * in-sample statistic (the first on ties), ω̄ = r/(N + 1) with r its rank (1 = worst, ties
 * averaged) among the N out-of-sample statistics, and λ = ln(ω̄/(1 − ω̄)).
 * PBO = #{λ ≤ 0} / C(S, S/2).
 *
 * @param columns one array per trial (sweep point): its per-period returns, all of length T
 * @param options S and the performance statistic
 * @returns PBO, the logits and their summary
 * @throws {RangeError} with fewer than 2 trials, columns of different lengths, an odd or
 *   too small S, fewer than S·2 rows, or a non-finite statistic
 */
export function probabilityOfBacktestOverfitting(
  columns: readonly ArrayLike<number>[],
  options: PboOptions = {},
): PboResult {
  const N = columns.length;
  if (N < 2) throw new RangeError(`Cannot compute PBO of ${N} trial: need >= 2`);
  const T = columns[0].length;
  for (const [i, col] of columns.entries()) {
    if (col.length !== T) {
      throw new RangeError(`Invalid trial ${i}: ${col.length} rows but trial 0 has ${T}`);
    }
  }
  const S = options.blocks ?? 16;
  if (!Number.isInteger(S) || S < 2 || S % 2 !== 0) {
    throw new RangeError(`Invalid block count "${S}": expected an even integer >= 2`);
  }
  const size = Math.floor(T / S);
  if (size < 2) {
    throw new RangeError(`Invalid PBO input: ${T} rows cannot make ${S} blocks of >= 2 rows`);
  }
  const dropped = T - size * S;
  const half = S / 2;
  const stat = options.statistic;
  // Block sums for the default Sharpe ratio.
  const sums = columns.map(() => new Float64Array(S));
  const squares = columns.map(() => new Float64Array(S));
  for (let j = 0; j < N; j++) {
    const col = columns[j];
    for (let s = 0; s < S; s++) {
      let a = 0;
      let q = 0;
      for (let t = dropped + s * size; t < dropped + (s + 1) * size; t++) {
        const v = col[t];
        if (!Number.isFinite(v)) {
          throw new RangeError(`Invalid value "${v}" of trial ${j} at row ${t}: expected finite`);
        }
        a += v;
        q += v * v;
      }
      sums[j][s] = a;
      squares[j][s] = q;
    }
  }
  const performance = (j: number, blocks: ArrayLike<number>): number => {
    if (stat) {
      const values = new Float64Array(blocks.length * size);
      let at = 0;
      for (let b = 0; b < blocks.length; b++) {
        const start = dropped + blocks[b] * size;
        for (let t = start; t < start + size; t++) values[at++] = columns[j][t];
      }
      return stat(values);
    }
    let a = 0;
    let q = 0;
    for (let b = 0; b < blocks.length; b++) {
      a += sums[j][blocks[b]];
      q += squares[j][blocks[b]];
    }
    const n = blocks.length * size;
    const mean = a / n;
    const variance = (q - n * mean * mean) / (n - 1);
    return variance > 0 ? mean / Math.sqrt(variance) : NaN;
  };
  const logits: number[] = [];
  let losses = 0;
  const inSample = new Float64Array(N);
  const outSample = new Float64Array(N);
  const oos = new Int32Array(half);
  for (const inBlocks of combinations(S, half)) {
    let k = 0;
    let p = 0;
    for (let s = 0; s < S; s++) {
      if (p < half && inBlocks[p] === s) p++;
      else oos[k++] = s;
    }
    for (let j = 0; j < N; j++) {
      inSample[j] = performance(j, inBlocks);
      outSample[j] = performance(j, oos);
      if (!Number.isFinite(inSample[j]) || !Number.isFinite(outSample[j])) {
        throw new RangeError(
          `Invalid PBO input: trial ${j} has no finite performance on a split (a constant stretch?)`,
        );
      }
    }
    let best = 0;
    for (let j = 1; j < N; j++) if (inSample[j] > inSample[best]) best = j;
    const x = outSample[best];
    let below = 0;
    let equal = 0;
    for (let j = 0; j < N; j++) {
      if (outSample[j] < x) below++;
      else if (outSample[j] === x) equal++;
    }
    const rank = below + (equal + 1) / 2;
    const omega = rank / (N + 1);
    logits.push(Math.log(omega / (1 - omega)));
    if (x < 0) losses++;
  }
  const arr = Float64Array.from(logits);
  const sorted = Float64Array.from(arr).sort();
  let mean = 0;
  let nonPositive = 0;
  for (const v of arr) {
    mean += v;
    if (v <= 0) nonPositive++;
  }
  mean /= arr.length;
  let ss = 0;
  for (const v of arr) ss += (v - mean) ** 2;
  const mid = sorted.length >> 1;
  return {
    pbo: nonPositive / arr.length,
    logits: arr,
    splits: arr.length,
    blocks: S,
    trials: N,
    rowsUsed: size * S,
    rowsDropped: dropped,
    summary: {
      mean,
      median: sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]),
      std: arr.length > 1 ? Math.sqrt(ss / (arr.length - 1)) : 0,
      min: sorted[0],
      max: sorted[sorted.length - 1],
    },
    probabilityOfLoss: losses / arr.length,
  };
}
