/**
 * The paired tests of `src/inference/tests.ts`: McNemar against statsmodels and SciPy,
 * Diebold–Mariano against an implementation written from the papers in the fixture script
 * (whose long-run variances statsmodels' HAC confirms), and the Sharpe-difference tests against
 * hand-computed and fixture values. All of these are closed forms of the same float64 sums,
 * so agreement is to 1e-10 relative unless a comment says otherwise.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import { assertClose, FIXTURES } from "./inference_helpers.ts";
import {
  dieboldMariano,
  mcnemar,
  mcnemarFromCounts,
  sharpeDifferenceFromMoments,
  sharpeDifferenceLedoitWolf,
  sharpeDifferenceMemmel,
  verdict,
} from "../src/inference/tests.ts";

Deno.test("McNemar: hand-computed exact and chi-square cases", () => {
  // b = 10, c = 2, n = 12: P(X <= 2) = (1 + 12 + 66) / 4096 = 79/4096; two-sided 158/4096.
  const exact = mcnemarFromCounts(10, 2);
  assertEquals(exact.variant, "exact-binomial");
  assertClose(exact.pValue, 158 / 4096, 1e-15);
  assertClose(exact.pValueModelBetter, 79 / 4096, 1e-15);
  assertEquals(exact.statistic, 2);
  // b = 20, c = 5, n = 25 (chi-square): (|20 - 5| - 1)^2 / 25 = 7.84.
  const chi = mcnemarFromCounts(20, 5);
  assertEquals(chi.variant, "chi-square-continuity");
  assertClose(chi.statistic, 7.84, 1e-15);
  // No discordant pairs: nothing to test.
  assertEquals(mcnemarFromCounts(0, 0).pValue, 1);
  // Equal counts in the chi-square range: the correction is clamped at 0, p = 1.
  assertEquals(mcnemarFromCounts(15, 15).pValue, 1);
  assertThrows(() => mcnemarFromCounts(-1, 3), RangeError, '"-1"');
});

Deno.test("McNemar matches statsmodels (two-sided) and SciPy's binomtest (one-sided)", () => {
  for (const f of FIXTURES.mcnemar) {
    const r = mcnemarFromCounts(f.b, f.c);
    const what = `b=${f.b} c=${f.c}`;
    assertEquals(r.variant, f.variant, what);
    assertClose(r.statistic, f.statistic, 1e-12, 0, `${what} statistic`);
    assertClose(r.pValue, f.pValue, 1e-12, 0, `${what} p`);
    assertClose(r.pValueModelBetter, f.pValueModelBetter, 1e-12, 0, `${what} one-sided p`);
  }
});

Deno.test("McNemar from per-row correctness counts the discordant pairs", () => {
  const model = [1, 1, 1, 0, 0, 1, 1, 0];
  const base = [1, 0, 0, 0, 1, 0, 1, 0];
  const r = mcnemar(model, base);
  assertEquals([r.b, r.c, r.discordant], [3, 1, 4]);
  assertThrows(() => mcnemar([true], [true, false]), RangeError, "1 model rows but 2");
});

Deno.test("Diebold-Mariano: a hand-computed case with h = 1", () => {
  // d = [1, -1, 2, 0]: mean 0.5; deviations .5 -1.5 1.5 -.5; gamma0 = (0.25+2.25+2.25+0.25)/4
  // = 1.25; DM = 0.5 / sqrt(1.25/4) = 0.894427...; HLN factor sqrt((4+1-2+0)/4) = sqrt(3/4).
  const r = dieboldMariano([1, 0, 3, 1], [0, 1, 1, 1]);
  assertClose(r.meanDifference, 0.5, 1e-15);
  assertClose(r.longRunVariance, 1.25, 1e-15);
  assertClose(r.statisticDm, 0.5 / Math.sqrt(1.25 / 4), 1e-15);
  assertClose(r.statistic, (0.5 / Math.sqrt(1.25 / 4)) * Math.sqrt(0.75), 1e-15);
  assertEquals([r.df, r.lag, r.kernel], [3, 0, "rectangular"]);
  assertClose(r.pValueModelBetter + r.pValueModelWorse, 1, 1e-15);
});

Deno.test("Diebold-Mariano with the HLN correction matches the fixture implementation", () => {
  for (const f of FIXTURES.dieboldMariano) {
    const r = dieboldMariano(f.lossModel, f.lossBaseline, {
      horizon: f.horizon,
      variance: f.variance,
      ...(f.variance === "newey-west" ? { lag: f.lag } : {}),
    });
    const what = f.name;
    assertEquals(r.lag, f.lag, `${what} lag`);
    assertClose(r.longRunVariance, f.longRunVariance, 1e-12, 0, `${what} S`);
    assertClose(r.statisticDm, f.statisticDm, 1e-12, 0, `${what} DM`);
    assertClose(r.statistic, f.statistic, 1e-12, 0, `${what} DM*`);
    assertEquals(r.df, f.df);
    assertClose(r.pValue, f.pValue, 1e-10, 0, `${what} p`);
    assertClose(r.pValueModelBetter, f.pValueModelBetter, 1e-10, 0, `${what} p<`);
    assertClose(r.pValueModelWorse, f.pValueModelWorse, 1e-10, 0, `${what} p>`);
  }
  // The automatic Newey-West lag is floor(4 (T/100)^(2/9)) = 4 for T = 240.
  const auto = FIXTURES.dieboldMariano.find((f: { name: string }) =>
    f.name === "h1-newey-west-auto"
  );
  assertEquals(
    dieboldMariano(auto.lossModel, auto.lossBaseline, { variance: "newey-west" }).lag,
    4,
  );
});

Deno.test("Diebold-Mariano refuses what it cannot test", () => {
  assertThrows(() => dieboldMariano([1, 2, 3], [1, 2, 3]), RangeError, "zero variance");
  assertThrows(() => dieboldMariano([1, 2], [1, 2, 3]), RangeError, "2 model losses but 3");
  assertThrows(() => dieboldMariano([1, 2, 3, 4], [0, 0, 0, 0], { horizon: 4 }), RangeError, '"4"');
  assertThrows(() => dieboldMariano([1, 2, 3, 4], [0, 1, 0, 0], { lag: 2 }), RangeError, '"2"');
});

Deno.test("Jobson-Korkie-Memmel: the hand-computed closed form", () => {
  // SR_a = 0.1, SR_b = 0.05, rho = 0.5, T = 100:
  // Var = [2(1 - .5) + .5(.01 + .0025 - 2(.1)(.05)(.25))] / 100 = 1.005 / 100.
  const r = sharpeDifferenceFromMoments({
    sharpeA: 0.1,
    sharpeB: 0.05,
    correlation: 0.5,
    observations: 100,
  });
  assertClose(r.standardError, Math.sqrt(0.01005), 1e-15);
  assertClose(r.statistic, 0.05 / Math.sqrt(0.01005), 1e-14);
  assertClose(r.pValue, 2 * r.pValueAGreater, 1e-14);
  assertThrows(
    () =>
      sharpeDifferenceFromMoments({ sharpeA: 0.1, sharpeB: 0.1, correlation: 1, observations: 9 }),
    RangeError,
    "zero variance",
  );
});

Deno.test("Sharpe difference tests match the fixtures (Memmel's formula, Ledoit-Wolf's HAC)", () => {
  for (const f of FIXTURES.sharpeDifference) {
    const m = sharpeDifferenceMemmel(f.a, f.b);
    assertClose(m.sharpeA, f.sharpeA, 1e-12, 0, `${f.name} SR_a`);
    assertClose(m.sharpeB, f.sharpeB, 1e-12, 0, `${f.name} SR_b`);
    assertClose(m.correlation, f.correlation, 1e-12, 0, `${f.name} rho`);
    assertClose(m.standardError, f.memmel.standardError, 1e-12, 0, `${f.name} Memmel se`);
    assertClose(m.pValue, f.memmel.pValue, 1e-10, 0, `${f.name} Memmel p`);
    assertClose(m.pValueAGreater, f.memmel.pValueAGreater, 1e-10, 0, `${f.name} Memmel p>`);
    const lw = sharpeDifferenceLedoitWolf(f.a, f.b);
    // Bandwidth and standard error: sums of squares over up to 1500 rows and an AR fit, so
    // agreement to ~1e-10 relative (the fixture's AR(1) comes from statsmodels' OLS).
    assertClose(lw.bandwidth!, f.ledoitWolf.bandwidth, 1e-9, 0, `${f.name} LW S*`);
    assertClose(lw.standardError, f.ledoitWolf.standardError, 1e-9, 0, `${f.name} LW se`);
    assertClose(lw.pValue, f.ledoitWolf.pValue, 1e-8, 0, `${f.name} LW p`);
    assertClose(lw.pValueAGreater, f.ledoitWolf.pValueAGreater, 1e-8, 0, `${f.name} LW p>`);
  }
});

Deno.test("verdict reads the one-sided p-value at the level", () => {
  const yes = verdict({ name: "McNemar (exact-binomial)", pValue: 79 / 4096 });
  assert(yes.beats);
  assertStringIncludes(yes.statement, "beats its best baseline at 95% (McNemar (exact-binomial)");
  const no = verdict({ name: "Diebold-Mariano (HLN)", pValue: 0.2 }, 0.99);
  assertEquals(no.beats, false);
  assertStringIncludes(no.statement, "does not beat its best baseline at 99%");
  assertThrows(() => verdict({ name: "x", pValue: 1.2 }), RangeError, '"1.2"');
});
