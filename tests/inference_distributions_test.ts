/**
 * The distribution functions of `src/inference/distributions.ts` against SciPy (fixtures) and
 * exact small cases. Tolerances: the algorithms are accurate to a few ulps in their
 * arguments' natural scale (Cody's erfc and AS 241 about 1e-16 relative; the incomplete beta
 * and gamma continued fractions stop at 1e-16 per step, and the log-gamma front factor
 * carries an absolute error of about 1e-15·|ln Γ|, which for shapes in the hundreds is about
 * 1e-12 relative); bounds are set a decade above those.
 *
 * @module
 */
import { assertEquals, assertThrows } from "./assert.ts";
import { assertClose, FIXTURES } from "./inference_helpers.ts";
import {
  binomialCdf,
  chiSquareCdf,
  chiSquareSf,
  erfc,
  logGamma,
  normalCdf,
  normalQuantile,
  normalSf,
  regularizedBeta,
  studentTCdf,
  studentTQuantile,
} from "../src/inference/distributions.ts";

const D = FIXTURES.distributions;

Deno.test("normal CDF and survival match SciPy, deep tails included", () => {
  // Rounding x/√2 perturbs the argument by ~1e-16·|x|, and d ln Φ(x)/dx ≈ |x| in the tail,
  // so the relative error grows as x²·1e-16: bound 1e-14 + 5e-16·x².
  const bound = (x: number) => 1e-14 + 5e-16 * x * x;
  for (const [x, p] of D.normal_cdf) assertClose(normalCdf(x), p, bound(x), 0, `Phi(${x})`);
  for (const [x, p] of D.normal_sf) assertClose(normalSf(x), p, bound(x), 0, `1 - Phi(${x})`);
});

Deno.test("normal quantile (AS 241) matches SciPy to 1e-15 relative", () => {
  for (const [p, x] of D.normal_ppf) {
    assertClose(normalQuantile(p), x, 1e-15, 1e-16, `PhiInv(${p})`);
  }
  assertEquals(normalQuantile(0), -Infinity);
  assertEquals(normalQuantile(1), Infinity);
  assertEquals(normalQuantile(0.5), 0);
  assertThrows(() => normalQuantile(1.5), RangeError, '"1.5"');
  assertThrows(() => normalQuantile(NaN), RangeError, '"NaN"');
});

Deno.test("hand-checked values: erfc, log-gamma, symmetric and closed-form cases", () => {
  assertEquals(erfc(0), 1);
  assertClose(erfc(1), 0.15729920705028513, 1e-15); // erfc(1), A&S table 7.1
  assertClose(logGamma(5), Math.log(24), 1e-15);
  assertClose(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-15);
  // Student t with 1 df is Cauchy: F(t) = 1/2 + atan(t)/pi.
  for (const t of [-3, -0.5, 0.25, 7]) {
    assertClose(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-14);
  }
  // 2 df: F(t) = 1/2 + t / (2 sqrt(2 + t^2)).
  for (const t of [-4, 0.3, 2]) {
    assertClose(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-14);
  }
  // Chi-square with 2 df is exponential with mean 2.
  for (const x of [0.1, 1, 9]) assertClose(chiSquareSf(x, 2), Math.exp(-x / 2), 1e-14);
  // I_x(1, 1) = x; I_x(a, 1) = x^a.
  assertClose(regularizedBeta(1, 1, 0.3), 0.3, 1e-14);
  assertClose(regularizedBeta(3, 1, 0.4), 0.064, 1e-14);
  // Binomial(3, 1/2): P(X <= 1) = 4/8; P(X <= 0) = 1/8.
  assertEquals(binomialCdf(1, 3, 0.5), 0.5);
  assertClose(binomialCdf(0, 3, 0.5), 0.125, 1e-15);
});

Deno.test("Student t CDF and quantile match SciPy", () => {
  for (const [t, df, p] of D.t_cdf) {
    assertClose(studentTCdf(t, df), p, 5e-12, 1e-300, `T_${df}(${t})`);
  }
  for (const [p, df, t] of D.t_ppf) {
    assertClose(studentTQuantile(p, df), t, 1e-11, 0, `T_${df}^-1(${p})`);
  }
  assertThrows(() => studentTCdf(1, 0), RangeError, '"0"');
});

Deno.test("chi-square CDF and survival match SciPy", () => {
  for (const [x, df, p] of D.chi2_cdf) {
    assertClose(chiSquareCdf(x, df), p, 1e-12, 1e-300, `chi2_${df} cdf(${x})`);
  }
  for (const [x, df, p] of D.chi2_sf) {
    assertClose(chiSquareSf(x, df), p, 1e-12, 1e-300, `chi2_${df} sf(${x})`);
  }
  assertThrows(() => chiSquareSf(-1, 1), RangeError, '"-1"');
});

Deno.test("binomial CDF matches SciPy", () => {
  for (const [k, n, p, value] of D.binom_cdf) {
    assertClose(binomialCdf(k, n, p), value, 1e-12, 1e-300, `Bin(${n}, ${p}) cdf(${k})`);
  }
  assertThrows(() => binomialCdf(1, 2.5, 0.5), RangeError, '"2.5"');
});
