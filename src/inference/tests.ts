/**
 * Paired tests of a model against its best baseline, and the verdict they support:
 *
 * - McNemar's test for accuracy on the same evaluation rows (exact binomial with fewer than
 *   25 discordant pairs, else chi-square with Edwards' continuity correction);
 * - the Diebold–Mariano test for a difference in expected loss over evaluation rows, with a
 *   HAC variance and the Harvey–Leybourne–Newbold small-sample correction;
 * - tests of a difference of Sharpe ratios of two return series on the same dates:
 *   Jobson–Korkie with Memmel's correction, and Ledoit & Wolf's HAC test.
 *
 * Each returns a two-sided p-value and a one-sided p-value for "the model is better", which is
 * what {@linkcode verdict} reads.
 *
 * @module
 */
import {
  binomialCdf,
  chiSquareSf,
  normalCdf,
  normalSf,
  studentTCdf,
  studentTSf,
} from "./distributions.ts";

// ---------------------------------------------------------------------------------------------
// McNemar

/** McNemar's test of paired accuracy. */
export interface McNemarResult {
  /** Rows the model got right and the baseline wrong. */
  b: number;
  /** Rows the model got wrong and the baseline right. */
  c: number;
  /** b + c. */
  discordant: number;
  /**
   * Exact variant: min(b, c) (the binomial count, as statsmodels reports it); chi-square
   * variant: (max(0, |b − c| − 1))² / (b + c).
   */
  statistic: number;
  /** Two-sided p-value of H0: P(model right, baseline wrong) = P(model wrong, baseline right). */
  pValue: number;
  /** One-sided p-value of H1: the model is right more often (b > c). */
  pValueModelBetter: number;
  variant: "exact-binomial" | "chi-square-continuity";
}

/** Below this many discordant pairs McNemar's test is exact (binomial). */
export const MCNEMAR_EXACT_BELOW = 25;

/**
 * McNemar's test from the discordant counts.
 *
 * With n = b + c < 25 it is exact: under H0, b ~ Binomial(n, ½); two-sided
 * p = min(1, 2·P(X ≤ min(b, c))), one-sided (model better) p = P(X ≥ b) = P(X ≤ c).
 * Otherwise χ² = (max(0, |b − c| − 1))²/n on 1 degree of freedom (McNemar 1947 with
 * Edwards' 1948 continuity correction), one-sided from z = (b − c − 1)/√n against N(0, 1).
 * No discordant pairs: p = 1.
 *
 * @param b rows right by the model and wrong by the baseline
 * @param c rows wrong by the model and right by the baseline
 * @returns statistic, p-values and the variant used
 * @throws {RangeError} when b or c is not a non-negative integer
 * @example
 * ```ts
 * mcnemarFromCounts(10, 2).pValue; // 0.0386 (exact: 2·P(Bin(12, ½) ≤ 2))
 * ```
 */
export function mcnemarFromCounts(b: number, c: number): McNemarResult {
  for (const [name, v] of [["b", b], ["c", c]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`Invalid McNemar count ${name} "${v}": expected a non-negative integer`);
    }
  }
  const n = b + c;
  if (n < MCNEMAR_EXACT_BELOW) {
    return {
      b,
      c,
      discordant: n,
      statistic: Math.min(b, c),
      pValue: n === 0 ? 1 : Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5)),
      pValueModelBetter: n === 0 ? 1 : binomialCdf(c, n, 0.5),
      variant: "exact-binomial",
    };
  }
  const corrected = Math.max(0, Math.abs(b - c) - 1);
  const statistic = (corrected * corrected) / n;
  return {
    b,
    c,
    discordant: n,
    statistic,
    pValue: chiSquareSf(statistic, 1),
    pValueModelBetter: normalSf((b - c - 1) / Math.sqrt(n)),
    variant: "chi-square-continuity",
  };
}

/**
 * McNemar's test from per-row correctness of the model and the baseline on the same rows.
 *
 * @param modelCorrect for each row, whether the model's prediction was right (truthy)
 * @param baselineCorrect for each row, whether the baseline's was right
 * @returns as {@linkcode mcnemarFromCounts}
 * @throws {RangeError} when the two differ in length
 */
export function mcnemar(
  modelCorrect: ArrayLike<boolean | number>,
  baselineCorrect: ArrayLike<boolean | number>,
): McNemarResult {
  if (modelCorrect.length !== baselineCorrect.length) {
    throw new RangeError(
      `Invalid McNemar input: ${modelCorrect.length} model rows but ${baselineCorrect.length} baseline rows`,
    );
  }
  let b = 0;
  let c = 0;
  for (let i = 0; i < modelCorrect.length; i++) {
    const m = Boolean(modelCorrect[i]);
    const r = Boolean(baselineCorrect[i]);
    if (m && !r) b++;
    else if (!m && r) c++;
  }
  return mcnemarFromCounts(b, c);
}

// ---------------------------------------------------------------------------------------------
// Diebold–Mariano

/** Options of the Diebold–Mariano test. */
export interface DieboldMarianoOptions {
  /** Forecast horizon h in rows (default 1): the loss differential is MA(h − 1) under H0. */
  horizon?: number;
  /**
   * Long-run variance of the loss differential:
   * - `"rectangular"` (default): γ̂₀ + 2Σ_{k=1}^{h−1} γ̂ₖ, Diebold & Mariano's (1995) truncated
   *   uniform window at lag h − 1 (falls back to Bartlett weights at the same lag, and says so,
   *   in the rare case this estimate is not positive);
   * - `"newey-west"`: Bartlett weights 1 − k/(L + 1) up to lag L = `lag`, by default
   *   ⌊4(T/100)^{2/9}⌋ (Newey & West 1994), and never below h − 1.
   */
  variance?: "rectangular" | "newey-west";
  /** Newey–West truncation lag (only with `variance: "newey-west"`). */
  lag?: number;
}

/** The Diebold–Mariano test with the HLN correction. */
export interface DieboldMarianoResult {
  n: number;
  horizon: number;
  /** Mean of d_t = loss of the model − loss of the baseline (negative: the model is better). */
  meanDifference: number;
  /** The long-run variance estimate S of d_t (so Var(d̄) ≈ S/T). */
  longRunVariance: number;
  /** The kernel actually used. */
  kernel: "rectangular" | "bartlett";
  lag: number;
  /** d̄ / √(S/T), before the small-sample correction. */
  statisticDm: number;
  /** The HLN-corrected statistic, referred to Student's t with T − 1 df. */
  statistic: number;
  df: number;
  /** Two-sided p-value of H0: equal expected loss. */
  pValue: number;
  /** One-sided p-value of H1: the model's expected loss is lower (d̄ < 0). */
  pValueModelBetter: number;
  /** One-sided p-value of H1: the model's expected loss is higher. */
  pValueModelWorse: number;
  notes: string[];
}

/**
 * The Diebold–Mariano (1995) test of equal predictive accuracy with the small-sample
 * correction of Harvey, Leybourne & Newbold (1997).
 *
 * d_t = L_model,t − L_baseline,t; γ̂ₖ = T⁻¹ Σ_{t>k} (d_t − d̄)(d_{t−k} − d̄);
 * DM = d̄ / √(S/T) with S the long-run variance of the chosen kernel;
 * DM* = DM·√((T + 1 − 2h + h(h − 1)/T)/T), compared with Student's t on T − 1 df.
 *
 * @param lossModel the model's loss on each evaluation row (e.g. squared or absolute error)
 * @param lossBaseline the baseline's loss on the same rows, in the same order
 * @param options horizon, variance estimator, lag
 * @returns the statistic, its p-values and what was used
 * @throws {RangeError} on different lengths, fewer than 3 rows, non-finite losses, an invalid
 *   horizon or lag, or a loss differential with zero variance
 */
export function dieboldMariano(
  lossModel: ArrayLike<number>,
  lossBaseline: ArrayLike<number>,
  options: DieboldMarianoOptions = {},
): DieboldMarianoResult {
  const n = lossModel.length;
  if (n !== lossBaseline.length) {
    throw new RangeError(
      `Invalid Diebold-Mariano input: ${n} model losses but ${lossBaseline.length} baseline losses`,
    );
  }
  if (n < 3) throw new RangeError(`Invalid Diebold-Mariano input: ${n} rows, need >= 3`);
  const h = options.horizon ?? 1;
  if (!Number.isInteger(h) || h < 1 || h >= n) {
    throw new RangeError(`Invalid horizon "${h}": expected an integer in [1, ${n - 1}]`);
  }
  const d = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    d[i] = lossModel[i] - lossBaseline[i];
    if (!Number.isFinite(d[i])) {
      throw new RangeError(
        `Invalid loss at row ${i}: "${lossModel[i]}" and "${lossBaseline[i]}" must be finite`,
      );
    }
    mean += d[i];
  }
  mean /= n;
  const gamma = (k: number) => {
    let s = 0;
    for (let t = k; t < n; t++) s += (d[t] - mean) * (d[t - k] - mean);
    return s / n;
  };
  const notes: string[] = [];
  const bartlett = (lag: number) => {
    let s = gamma(0);
    for (let k = 1; k <= lag; k++) s += 2 * (1 - k / (lag + 1)) * gamma(k);
    return s;
  };
  let kernel: "rectangular" | "bartlett";
  let lag: number;
  let S: number;
  if ((options.variance ?? "rectangular") === "rectangular") {
    if (options.lag !== undefined) {
      throw new RangeError(`Invalid lag "${options.lag}": a lag is set only with "newey-west"`);
    }
    lag = h - 1;
    kernel = "rectangular";
    S = gamma(0);
    for (let k = 1; k <= lag; k++) S += 2 * gamma(k);
    if (!(S > 0) && lag > 0) {
      kernel = "bartlett";
      S = bartlett(lag);
      notes.push(
        `The rectangular long-run variance at lag ${lag} was not positive; Bartlett weights were used`,
      );
    }
  } else {
    lag = options.lag ?? Math.max(h - 1, Math.floor(4 * Math.pow(n / 100, 2 / 9)));
    if (!Number.isInteger(lag) || lag < 0 || lag >= n) {
      throw new RangeError(`Invalid lag "${lag}": expected an integer in [0, ${n - 1}]`);
    }
    kernel = "bartlett";
    S = bartlett(lag);
  }
  if (!(S > 0)) {
    throw new RangeError(
      "Invalid Diebold-Mariano input: the loss differential has zero variance (identical losses?)",
    );
  }
  const dm = mean / Math.sqrt(S / n);
  const statistic = dm * Math.sqrt((n + 1 - 2 * h + (h * (h - 1)) / n) / n);
  const df = n - 1;
  return {
    n,
    horizon: h,
    meanDifference: mean,
    longRunVariance: S,
    kernel,
    lag,
    statisticDm: dm,
    statistic,
    df,
    pValue: Math.min(1, 2 * studentTSf(Math.abs(statistic), df)),
    pValueModelBetter: studentTCdf(statistic, df),
    pValueModelWorse: studentTSf(statistic, df),
    notes,
  };
}

// ---------------------------------------------------------------------------------------------
// Sharpe difference

/** A test of the difference of two Sharpe ratios. */
export interface SharpeDifferenceResult {
  method: "jobson-korkie-memmel" | "ledoit-wolf-hac";
  n: number;
  /** Per-period Sharpe ratio of series a (mean / sample sd, n − 1; not annualized). */
  sharpeA: number;
  sharpeB: number;
  /** sharpeA − sharpeB. */
  difference: number;
  standardError: number;
  /** difference / standardError, referred to N(0, 1). */
  statistic: number;
  /** Two-sided p-value of H0: equal Sharpe ratios. */
  pValue: number;
  /** One-sided p-value of H1: a's Sharpe ratio is higher. */
  pValueAGreater: number;
  /** Pearson correlation of the two series. */
  correlation: number;
  /** Ledoit–Wolf: the Parzen kernel bandwidth S*; null for Memmel. */
  bandwidth: number | null;
}

/** Summary statistics that the Jobson–Korkie–Memmel test needs. */
export interface SharpeMoments {
  /** Per-period Sharpe ratio of a. */
  sharpeA: number;
  /** Per-period Sharpe ratio of b. */
  sharpeB: number;
  /** Correlation of the two return series. */
  correlation: number;
  /** Number of periods T. */
  observations: number;
}

/**
 * The Jobson–Korkie test with Memmel's (2003) correction from summary statistics:
 * Var(SR̂_a − SR̂_b) ≈ T⁻¹[2(1 − ρ) + ½(SR_a² + SR_b² − 2·SR_a·SR_b·ρ²)],
 * z = (SR̂_a − SR̂_b)/√Var ~ N(0, 1) for iid jointly normal returns.
 *
 * @param m per-period Sharpe ratios, their correlation and T
 * @returns the test (method `"jobson-korkie-memmel"`)
 * @throws {RangeError} when T < 2, |ρ| > 1, a Sharpe ratio is not finite, or the variance is not positive
 * @example
 * ```ts
 * sharpeDifferenceFromMoments({ sharpeA: 0.1, sharpeB: 0.05, correlation: 0.5, observations: 100 })
 *   .standardError; // √(1.005/100) = 0.100250
 * ```
 */
export function sharpeDifferenceFromMoments(m: SharpeMoments): SharpeDifferenceResult {
  const { sharpeA: a, sharpeB: b, correlation: rho, observations: T } = m;
  if (!(T >= 2)) throw new RangeError(`Invalid observations "${T}": expected >= 2`);
  if (!(Math.abs(rho) <= 1)) throw new RangeError(`Invalid correlation "${rho}": expected [-1, 1]`);
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new RangeError(`Invalid Sharpe ratios "${a}" and "${b}": expected finite numbers`);
  }
  const variance = (2 * (1 - rho) + 0.5 * (a * a + b * b - 2 * a * b * rho * rho)) / T;
  if (!(variance > 0)) {
    throw new RangeError(
      `Invalid Sharpe difference: zero variance (the two series are perfectly correlated with equal Sharpe ratios)`,
    );
  }
  const se = Math.sqrt(variance);
  const z = (a - b) / se;
  return {
    method: "jobson-korkie-memmel",
    n: T,
    sharpeA: a,
    sharpeB: b,
    difference: a - b,
    standardError: se,
    statistic: z,
    pValue: 2 * normalCdf(-Math.abs(z)),
    pValueAGreater: normalSf(z),
    correlation: rho,
    bandwidth: null,
  };
}

function moments(a: ArrayLike<number>, b: ArrayLike<number>) {
  const n = a.length;
  if (n !== b.length) {
    throw new RangeError(`Invalid Sharpe difference input: ${n} returns but ${b.length} returns`);
  }
  if (n < 5) throw new RangeError(`Invalid Sharpe difference input: ${n} returns, need >= 5`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) {
      throw new RangeError(`Invalid return at ${i}: "${a[i]}" and "${b[i]}" must be finite`);
    }
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let i = 0; i < n; i++) {
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
    sab += (a[i] - ma) * (b[i] - mb);
  }
  if (!(saa > 0) || !(sbb > 0)) {
    throw new RangeError("Invalid Sharpe difference input: a series is constant (zero volatility)");
  }
  const sdA = Math.sqrt(saa / (n - 1));
  const sdB = Math.sqrt(sbb / (n - 1));
  return {
    n,
    ma,
    mb,
    sharpeA: ma / sdA,
    sharpeB: mb / sdB,
    correlation: sab / Math.sqrt(saa * sbb),
  };
}

/** The Parzen kernel: 1 − 6x² + 6|x|³ for |x| ≤ ½, 2(1 − |x|)³ for ½ < |x| ≤ 1, else 0. */
function parzen(x: number): number {
  const ax = Math.abs(x);
  if (ax <= 0.5) return 1 - 6 * x * x + 6 * ax * ax * ax;
  if (ax <= 1) return 2 * (1 - ax) ** 3;
  return 0;
}

/**
 * Ledoit & Wolf's (2008) HAC test of a difference of Sharpe ratios, as in their reference code
 * (`hac.inference`, without prewhitening):
 *
 * Δ̂ = μ̂_a/σ̂_a − μ̂_b/σ̂_b (sample sd, n − 1); with the uncentred moments v = (μ_a, μ_b, γ_a, γ_b),
 * ∇f = (γ_a/(γ_a − μ_a²)^{3/2}, −γ_b/(γ_b − μ_b²)^{3/2}, −½μ_a/(γ_a − μ_a²)^{3/2}, ½μ_b/(γ_b − μ_b²)^{3/2});
 * V̂_t = (r_a − μ̂_a, r_b − μ̂_b, r_a² − γ̂_a, r_b² − γ̂_b); Ψ̂ = T/(T − 4)·[Γ̂₀ + Σ_{j<S*} k(j/S*)(Γ̂ⱼ + Γ̂ⱼ')]
 * with the Parzen kernel k and Andrews' (1991) AR(1) plug-in bandwidth
 * S* = min(2.6614(α̂T)^{0.2}, T − 1), α̂ = Σ 4ρ̂ᵢ²σ̂ᵢ⁴/(1 − ρ̂ᵢ)⁸ / Σ σ̂ᵢ⁴/(1 − ρ̂ᵢ)⁴ over the four columns
 * (AR(1) fitted by OLS with an intercept); s(Δ̂) = √(∇f'Ψ̂∇f/T), p = 2Φ(−|Δ̂|/s).
 *
 * @param a per-period (excess) returns of the first series (the model's backtest)
 * @param b per-period (excess) returns of the second series on the same dates (buy-and-hold)
 * @returns the test (method `"ledoit-wolf-hac"`, with the bandwidth S*)
 * @throws {RangeError} on different lengths, fewer than 5 returns, non-finite or constant series
 */
export function sharpeDifferenceLedoitWolf(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): SharpeDifferenceResult {
  const m = moments(a, b);
  const T = m.n;
  let ga = 0;
  let gb = 0;
  for (let i = 0; i < T; i++) {
    ga += a[i] * a[i];
    gb += b[i] * b[i];
  }
  ga /= T;
  gb /= T;
  const va = Math.pow(ga - m.ma * m.ma, 1.5);
  const vb = Math.pow(gb - m.mb * m.mb, 1.5);
  const grad = [ga / va, -gb / vb, (-0.5 * m.ma) / va, (0.5 * m.mb) / vb];
  const V: Float64Array[] = [0, 1, 2, 3].map(() => new Float64Array(T));
  for (let t = 0; t < T; t++) {
    V[0][t] = a[t] - m.ma;
    V[1][t] = b[t] - m.mb;
    V[2][t] = a[t] * a[t] - ga;
    V[3][t] = b[t] * b[t] - gb;
  }
  // Andrews' AR(1) plug-in for the Parzen kernel.
  let num = 0;
  let den = 0;
  for (const col of V) {
    let mx = 0;
    let my = 0;
    for (let t = 1; t < T; t++) {
      mx += col[t - 1];
      my += col[t];
    }
    mx /= T - 1;
    my /= T - 1;
    let sxy = 0;
    let sxx = 0;
    for (let t = 1; t < T; t++) {
      sxy += (col[t - 1] - mx) * (col[t] - my);
      sxx += (col[t - 1] - mx) ** 2;
    }
    const rho = sxy / sxx;
    let ssr = 0;
    for (let t = 1; t < T; t++) {
      const e = col[t] - my - rho * (col[t - 1] - mx);
      ssr += e * e;
    }
    // Any common scale of σ̂² cancels in α̂; SSR/(T − 1) is used.
    const sig4 = (ssr / (T - 1)) ** 2;
    num += (4 * rho * rho * sig4) / (1 - rho) ** 8;
    den += sig4 / (1 - rho) ** 4;
  }
  const alpha = num / den;
  const bandwidth = Math.min(2.6614 * Math.pow(alpha * T, 0.2), T - 1);
  const gammaHat = (j: number): number[][] => {
    const g = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
    for (let t = j; t < T; t++) {
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 4; c++) g[r][c] += V[r][t] * V[c][t - j];
      }
    }
    return g.map((row) => row.map((v) => v / T));
  };
  const psi = gammaHat(0);
  for (let j = 1; j < bandwidth; j++) {
    const g = gammaHat(j);
    const w = parzen(j / bandwidth);
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) psi[r][c] += w * (g[r][c] + g[c][r]);
    }
  }
  let q = 0;
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) q += grad[r] * psi[r][c] * grad[c];
  }
  q *= T / (T - 4);
  const se = Math.sqrt(q / T);
  const difference = m.sharpeA - m.sharpeB;
  const z = difference / se;
  return {
    method: "ledoit-wolf-hac",
    n: T,
    sharpeA: m.sharpeA,
    sharpeB: m.sharpeB,
    difference,
    standardError: se,
    statistic: z,
    pValue: 2 * normalCdf(-Math.abs(z)),
    pValueAGreater: normalSf(z),
    correlation: m.correlation,
    bandwidth,
  };
}

/**
 * The Jobson–Korkie–Memmel test from two return series on the same dates
 * (see {@linkcode sharpeDifferenceFromMoments}); Sharpe ratios are mean / sample sd (n − 1)
 * of the given returns, which should be excess returns when a risk-free rate applies.
 *
 * @param a per-period returns of the first series (the model's backtest)
 * @param b per-period returns of the second series (buy-and-hold)
 * @returns the test (method `"jobson-korkie-memmel"`)
 * @throws {RangeError} on different lengths, fewer than 5 returns, non-finite or constant series
 */
export function sharpeDifferenceMemmel(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): SharpeDifferenceResult {
  const m = moments(a, b);
  return sharpeDifferenceFromMoments({
    sharpeA: m.sharpeA,
    sharpeB: m.sharpeB,
    correlation: m.correlation,
    observations: m.n,
  });
}

// ---------------------------------------------------------------------------------------------
// Verdict

/** Whether the model beats its best baseline, and by which test. */
export interface Verdict {
  beats: boolean;
  /** Confidence level, e.g. 0.95. */
  level: number;
  /** The test the verdict rests on, e.g. "McNemar (exact-binomial)". */
  test: string;
  /** The one-sided p-value of "the model is better". */
  pValue: number;
  /** One sentence for the report. */
  statement: string;
}

/**
 * The verdict of one paired test: the model beats its best baseline at `level` when the
 * one-sided p-value of "the model is better" is below 1 − level.
 *
 * @param test the test's name and its one-sided p-value for the model being better
 *   (`pValueModelBetter` of McNemar or Diebold–Mariano, `pValueAGreater` of a Sharpe test)
 * @param level confidence level (default 0.95)
 * @returns the verdict and a sentence such as
 *   "beats its best baseline at 95% (McNemar (exact-binomial), one-sided p = 0.0193)"
 * @throws {RangeError} when level is outside (0, 1) or the p-value outside [0, 1]
 */
export function verdict(test: { name: string; pValue: number }, level = 0.95): Verdict {
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`Invalid confidence level "${level}": expected a number in (0, 1)`);
  }
  if (!(test.pValue >= 0 && test.pValue <= 1)) {
    throw new RangeError(`Invalid p-value "${test.pValue}" of ${test.name}: expected [0, 1]`);
  }
  const beats = test.pValue < 1 - level;
  const pct = `${Math.round(level * 1000) / 10}%`;
  const p = test.pValue < 1e-4 ? test.pValue.toExponential(2) : test.pValue.toFixed(4);
  return {
    beats,
    level,
    test: test.name,
    pValue: test.pValue,
    statement: `${
      beats ? "beats" : "does not beat"
    } its best baseline at ${pct} (${test.name}, one-sided p = ${p})`,
  };
}
