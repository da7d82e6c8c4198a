/**
 * The selection-bias statistics of `src/inference/deflated.ts`: the probabilistic and deflated
 * Sharpe ratios against Bailey & López de Prado's (2014) worked example and the fixture
 * script's SciPy implementation, and PBO by CSCV against the fixture script's itertools
 * implementation and two cases whose answer is known.
 *
 * @module
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { assertClose, FIXTURES } from "./inference_helpers.ts";
import {
  deflatedSharpeOfBest,
  deflatedSharpeRatio,
  expectedMaxSharpe,
  probabilisticSharpeRatio,
  probabilityOfBacktestOverfitting,
  sampleMoments,
} from "../src/inference/deflated.ts";
import { Prng } from "@alfred/core";
import { normalQuantile } from "../src/inference/distributions.ts";

Deno.test("deflated Sharpe ratio: Bailey & López de Prado (2014), the numerical example", () => {
  // Annualized SR 2.5 from 5 years of daily returns (T = 1250, 250 days a year), skewness −3,
  // kurtosis 10, N = 100 independent trials whose annualized Sharpe ratios have variance 1/2.
  // The paper gives SR0 ≈ 0.1132 (per day), DSR ≈ 0.9004, and DSR ≈ 0.9505 had only N = 46
  // trials been run.
  const example = { sharpe: 2.5 / Math.sqrt(250), observations: 1250, skewness: -3, kurtosis: 10 };
  const n100 = deflatedSharpeRatio({ ...example, trials: 100, trialVariance: 0.5 / 250 });
  assertEquals(Math.round(n100.benchmark * 1e4) / 1e4, 0.1132);
  assertEquals(Math.round(n100.dsr * 1e4) / 1e4, 0.9004);
  const n46 = deflatedSharpeRatio({ ...example, trials: 46, trialVariance: 0.5 / 250 });
  assertEquals(Math.round(n46.dsr * 1e4) / 1e4, 0.9505);
});

Deno.test("PSR, expected maximum Sharpe and DSR match the fixture formulas (SciPy's norm)", () => {
  const F = FIXTURES.deflated;
  for (const f of F.psr) {
    assertClose(probabilisticSharpeRatio(f), f.psr, 1e-13, 0, `PSR ${JSON.stringify(f)}`);
  }
  for (const f of F.expectedMax) {
    assertClose(expectedMaxSharpe(f.trials, f.variance), f.value, 1e-14, 0, `E[max] N=${f.trials}`);
  }
  for (const f of F.dsr) {
    const r = deflatedSharpeRatio(f);
    assertClose(r.benchmark, f.benchmark, 1e-14, 0, `SR0 N=${f.trials}`);
    assertClose(r.z, f.z, 1e-12, 0, `z N=${f.trials}`);
    assertClose(r.dsr, f.dsr, 1e-13, 0, `DSR N=${f.trials}`);
  }
});

Deno.test("PSR and E[max]: hand-computed values and edge cases", () => {
  // Normal returns, SR 0.1 over 250 days: z = 0.1·√249/√(1 + 0.01/2).
  const z = (0.1 * Math.sqrt(249)) / Math.sqrt(1.005);
  assertClose(
    probabilisticSharpeRatio({ sharpe: 0.1, observations: 250 }),
    0.5 * (1 + erf(z / Math.SQRT2)),
    1e-7, // erf below is Abramowitz & Stegun 7.1.26 (error < 1.5e-7)
  );
  // Two trials: E[max] = √V·((1 − γ)Φ⁻¹(1/2) + γΦ⁻¹(1 − 1/(2e))) = √V·γ·Φ⁻¹(1 − 1/(2e)).
  assertClose(
    expectedMaxSharpe(2, 4),
    2 * 0.5772156649015329 * normalQuantile(1 - 1 / (2 * Math.E)),
    1e-15,
  );
  assertEquals(expectedMaxSharpe(1, 3, 0.2), 0.2);
  assertThrows(() => expectedMaxSharpe(0, 1), RangeError, '"0"');
  assertThrows(
    () => probabilisticSharpeRatio({ sharpe: 1, observations: 100, skewness: 5, kurtosis: 3 }),
    RangeError,
    "Invalid moments",
  );
});

/** Abramowitz & Stegun 7.1.26, an independent erf for the hand check above. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 -
    (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t +
        0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

Deno.test("sample moments match SciPy's skew and kurtosis; DSR of a sweep's best point", () => {
  const f = FIXTURES.moments[0];
  const m = sampleMoments(f.x);
  assertClose(m.mean, f.mean, 1e-13);
  assertClose(m.std, f.std, 1e-13);
  assertClose(m.skewness, f.skewness, 1e-11);
  assertClose(m.kurtosis, f.kurtosis, 1e-12);
  const trialSharpes = [0.01, 0.03, -0.02, m.sharpe, 0.0];
  const r = deflatedSharpeOfBest(f.x, trialSharpes);
  const mu = trialSharpes.reduce((a, b) => a + b) / 5;
  const V = trialSharpes.reduce((a, b) => a + (b - mu) ** 2, 0) / 4;
  assertClose(r.trialVariance, V, 1e-14);
  const direct = deflatedSharpeRatio({
    sharpe: m.sharpe,
    observations: f.x.length,
    skewness: m.skewness,
    kurtosis: m.kurtosis,
    trials: 5,
    trialVariance: V,
  });
  assertClose(r.dsr, direct.dsr, 1e-15);
  assertThrows(() => deflatedSharpeOfBest(f.x, [0.1]), RangeError, "1 trial");
});

Deno.test("PBO by CSCV matches the fixture implementation split by split", () => {
  for (const f of FIXTURES.pbo) {
    const r = probabilityOfBacktestOverfitting(f.columns, { blocks: f.blocks });
    const C = [1, 2, 6, 20, 70, 252, 924, 3432, 12870][f.blocks / 2]; // C(S, S/2)
    assertEquals(r.splits, C, `${f.name} splits`);
    assertEquals(r.rowsDropped, f.rowsDropped);
    assertEquals(r.pbo, f.pbo, `${f.name} PBO`);
    assertClose(r.probabilityOfLoss, f.probabilityOfLoss, 1e-15);
    // Same enumeration order (itertools.combinations is lexicographic, as here).
    r.logits.forEach((l, i) => assertClose(l, f.logits[i], 1e-12, 1e-15, `${f.name} logit ${i}`));
  }
  // The custom-statistic path gives the same answer as the block-sum Sharpe ratio.
  const f = FIXTURES.pbo[1];
  const sharpe = (v: Float64Array) => {
    const m = v.reduce((a, b) => a + b) / v.length;
    return m / Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
  };
  assertEquals(
    probabilityOfBacktestOverfitting(f.columns, { blocks: f.blocks, statistic: sharpe }).pbo,
    f.pbo,
  );
});

function noise(rng: Prng, rows: number, cols: number, drift = 0) {
  // Sum of 12 uniforms minus 6: a near-normal draw with unit variance (Irwin-Hall).
  const normal = () => {
    let s = -6;
    for (let i = 0; i < 12; i++) s += rng.next();
    return s;
  };
  return Array.from(
    { length: cols },
    (_, j) => Float64Array.from({ length: rows }, () => 0.01 * normal() + (j === 0 ? drift : 0)),
  );
}

Deno.test("PBO: one dominant strategy is never overfit", () => {
  // Trial 0 earns 2 sd a day more than the others: it is best in and out of every split,
  // so its out-of-sample rank is N and every logit is ln N > 0.
  const cols = noise(Prng.fromState(1), 160, 10, 0.02);
  const r = probabilityOfBacktestOverfitting(cols, { blocks: 8 });
  assertEquals(r.pbo, 0);
  assertClose(r.summary.min, Math.log(10), 1e-12);
  assertEquals(r.probabilityOfLoss, 0);
});

Deno.test("PBO: pure-noise strategies are overfit half the time", () => {
  // With iid noise the in- and out-of-sample halves are independent and the trials are
  // exchangeable, so the selected trial's out-of-sample rank is uniform on 1..N and, for even
  // N, P(λ ≤ 0) = 1/2 exactly on every split. Over D independent data sets the mean PBO is
  // within 4 standard errors (sample sd across data sets / √D) of 1/2.
  const rng = Prng.fromState(2024);
  const D = 40;
  const pbos: number[] = [];
  for (let d = 0; d < D; d++) {
    pbos.push(probabilityOfBacktestOverfitting(noise(rng, 160, 10), { blocks: 8 }).pbo);
  }
  const m = pbos.reduce((a, b) => a + b) / D;
  const sd = Math.sqrt(pbos.reduce((a, b) => a + (b - m) ** 2, 0) / (D - 1));
  assert(Math.abs(m - 0.5) < (4 * sd) / Math.sqrt(D), `mean PBO ${m}, sd ${sd}`);
});

Deno.test("PBO refuses inputs it cannot split", () => {
  const cols = noise(Prng.fromState(3), 40, 3);
  assertThrows(() => probabilityOfBacktestOverfitting(cols, { blocks: 7 }), RangeError, '"7"');
  assertThrows(() => probabilityOfBacktestOverfitting(cols, { blocks: 32 }), RangeError, "40 rows");
  assertThrows(() => probabilityOfBacktestOverfitting([cols[0]]), RangeError, "1 trial");
  assertThrows(
    () => probabilityOfBacktestOverfitting([cols[0], cols[1].subarray(1)], { blocks: 4 }),
    RangeError,
    "39 rows but trial 0 has 40",
  );
});
