/**
 * The bootstraps of `src/inference/bootstrap.ts`, the backtest-statistic callbacks of
 * `sharpe.ts` and the seed summary of `seeds.ts`.
 *
 * Resampling is checked against what is known in closed form: the bootstrap distribution's
 * variance of a mean (Politis & Romano's formula for the stationary bootstrap, p̂(1 − p̂)/n for
 * a proportion under the row bootstrap, σ̂²/G for a mean over clusters). With B resamples the
 * sample variance of the B bootstrap means is within 4·√(2/(B − 1)) of that variance, relative,
 * with probability above 0.9999 (the means are close to normal, so the variance estimate has
 * relative standard deviation √(2/(B − 1))); the seeds are fixed, so each check is
 * deterministic and was seen to pass well inside its bound.
 *
 * @module
 */
import { assert, assertEquals, assertNotEquals, assertThrows } from "./assert.ts";
import { assertClose, FIXTURES } from "./inference_helpers.ts";
import {
  bootstrapClusters,
  bootstrapPeriods,
  bootstrapReturns,
  bootstrapRows,
  bootstrapSeries,
  optimalBlockLength,
  quantileSorted,
  stationaryIndices,
} from "../src/inference/bootstrap.ts";
import { Prng } from "@alfred/core";
import { backtestStatistic, dailySharpe, statsOfReturns } from "../src/inference/sharpe.ts";
import { summarizeSeeds } from "../src/inference/seeds.ts";
import { dailyReturns, performanceStats } from "../src/backtest/stats.ts";

const mean = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
};
const sampleVariance = (x: ArrayLike<number>) => {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) ** 2;
  return s / (x.length - 1);
};
const varianceBound = (B: number) => 4 * Math.sqrt(2 / (B - 1));

Deno.test("Politis-White block length (PPW correction) matches arch", () => {
  for (const f of FIXTURES.blockLength) {
    const r = optimalBlockLength(f.x);
    assertClose(r.stationary, f.stationary, 1e-10, 0, `${f.name} stationary`);
    assertClose(r.circular, f.circular, 1e-10, 0, `${f.name} circular`);
    assertEquals(r.bandwidth, f.bandwidth, `${f.name} bandwidth`);
  }
  // A constant series has no dependence to preserve.
  assertEquals(optimalBlockLength(new Array(20).fill(0.01)).stationary, 1);
  assertThrows(() => optimalBlockLength([1, 2, 3]), RangeError, "3 values");
});

Deno.test("stationary resampling: blocks continue with probability 1 - 1/b and wrap around", () => {
  const rng = Prng.fromState(11);
  const n = 50;
  const b = 5;
  let steps = 0;
  let breaks = 0;
  for (let r = 0; r < 4000; r++) {
    const idx = stationaryIndices(n, b, rng);
    for (let t = 1; t < n; t++) {
      steps++;
      if (idx[t] !== (idx[t - 1] + 1) % n) breaks++;
    }
  }
  // A break happens when a new block starts (p = 1/b) at an index other than the next one.
  const p = (1 / b) * (1 - 1 / n);
  const sd = Math.sqrt(p * (1 - p) / steps);
  assert(Math.abs(breaks / steps - p) < 5 * sd, `break rate ${breaks / steps} vs ${p}`);
  // Block length 1 is the iid bootstrap; a block of the whole length wraps around.
  const long = stationaryIndices(10, 1e12, Prng.fromState(3));
  for (let t = 1; t < 10; t++) assertEquals(long[t], (long[t - 1] + 1) % 10);
  assertThrows(() => stationaryIndices(10, 0.5, rng), RangeError, '"0.5"');
});

Deno.test("stationary bootstrap: the variance of the mean is Politis & Romano's closed form", () => {
  const f = FIXTURES.stationaryVariance;
  const B = 4000;
  for (const c of f.cases) {
    const means: number[] = [];
    const r = bootstrapReturns(f.x, (x) => {
      const m = mean(x);
      means.push(m);
      return m;
    }, { seed: 7, resamples: B, blockLength: c.blockLength });
    means.shift(); // the first call is the estimate on the original series
    assertEquals(r.blockLength, c.blockLength);
    assertEquals(r.blockLengthSource, "given");
    const v = sampleVariance(means);
    assert(
      Math.abs(v / c.varianceOfMean - 1) < varianceBound(B),
      `block ${c.blockLength}: bootstrap variance ${v} vs ${c.varianceOfMean}`,
    );
    // The stationary bootstrap mean is unbiased for the sample mean.
    assert(Math.abs(mean(means) - r.estimate) < 4 * Math.sqrt(c.varianceOfMean / B));
    assert(r.lower < r.estimate && r.estimate < r.upper);
  }
});

Deno.test("bootstraps are deterministic given the seed and record what they used", () => {
  const x = FIXTURES.blockLength[3].x as number[];
  const a = bootstrapReturns(x, mean, { seed: 5, resamples: 300 });
  const b = bootstrapReturns(x, mean, { seed: 5, resamples: 300 });
  assertEquals(a, b);
  assertNotEquals(a.lower, bootstrapReturns(x, mean, { seed: 6, resamples: 300 }).lower);
  assertEquals(a.blockLengthSource, "politis-white");
  assertClose(a.blockLength!, FIXTURES.blockLength[3].stationary, 1e-10);
  assertEquals([a.method, a.scheme, a.level, a.resamples, a.used, a.seed], [
    "percentile",
    "stationary",
    0.95,
    300,
    300,
    5,
  ]);
});

Deno.test("percentile quantiles interpolate like NumPy", () => {
  assertEquals(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assertEquals(quantileSorted([1, 2, 3, 4], 0.25), 1.75);
  assertEquals(quantileSorted([7], 0.975), 7);
  assertThrows(() => quantileSorted([], 0.5), RangeError, "no values");
});

Deno.test("row bootstrap of accuracy: variance p(1 - p)/n", () => {
  const n = 200;
  const correct = Array.from({ length: n }, (_, i) => (i % 5 < 3 ? 1 : 0)); // accuracy 0.6
  const B = 3000;
  const r = bootstrapRows(n, (rows) => {
    let s = 0;
    for (const i of rows) s += correct[i];
    return s / rows.length;
  }, { seed: 3, resamples: B });
  assertClose(r.estimate, 0.6, 1e-15);
  const expected = (0.6 * 0.4) / n;
  assert(Math.abs(r.standardError ** 2 / expected - 1) < varianceBound(B), `${r.standardError}`);
  assert(r.lower < 0.6 && 0.6 < r.upper);
  assertEquals(r.scheme, "rows");
});

Deno.test("cluster bootstrap: whole quarters are drawn, repeats are distinct draws", () => {
  const groups = ["2001Q1", "2001Q1", "2001Q2", "2001Q2", "2001Q2", "2001Q3"];
  const value = [1, 3, 10, 10, 13, 5];
  const seen: number[] = [];
  const B = 3000;
  const r = bootstrapClusters(groups, (rows, draws) => {
    // Every draw is one whole quarter, in draw order.
    const byDraw = new Map<number, number[]>();
    rows.forEach((row, i) => {
      const list = byDraw.get(draws[i]) ?? [];
      list.push(row);
      byDraw.set(draws[i], list);
    });
    assertEquals(byDraw.size, 3);
    for (const list of byDraw.values()) {
      assert(list.every((row) => groups[row] === groups[list[0]]));
      assertEquals(list.length, groups.filter((g) => g === groups[list[0]]).length);
    }
    // The mean over drawn quarters of each quarter's mean value.
    const m = mean([...byDraw.values()].map((list) => mean(list.map((row) => value[row]))));
    seen.push(m);
    return m;
  }, { seed: 9, resamples: B });
  assertEquals(r.clusters, 3);
  // Quarter means 2, 11, 5: estimate 6, bootstrap variance of the mean = pop. variance / 3.
  assertClose(r.estimate, 6, 1e-15);
  const popVar = ((2 - 6) ** 2 + (11 - 6) ** 2 + (5 - 6) ** 2) / 3;
  assert(Math.abs(sampleVariance(seen.slice(1)) / (popVar / 3) - 1) < varianceBound(B));
  assertThrows(() => bootstrapClusters(["a", "a"], () => 0, { seed: 1 }), RangeError, "1 cluster");
});

Deno.test("period bootstrap of per-quarter IC: variance of the mean is the population variance / G", () => {
  const ic = [0.05, -0.02, 0.11, 0.03, 0.07, -0.04, 0.02, 0.09];
  const B = 3000;
  const r = bootstrapPeriods(ic, { seed: 4, resamples: B });
  const m = mean(ic);
  assertClose(r.estimate, m, 1e-15);
  const popVar = ic.reduce((s, v) => s + (v - m) ** 2, 0) / ic.length;
  assert(Math.abs(r.standardError ** 2 / (popVar / ic.length) - 1) < varianceBound(B));
  assertEquals([r.scheme, r.clusters], ["clusters", 8]);
  assertThrows(() => bootstrapPeriods([0.1, NaN], { seed: 1 }), RangeError, '"NaN"');
});

Deno.test("a statistic undefined on a resample drops it; undefined on the sample is an error", () => {
  const x = [0.5, 0.5, 0.5, 1.5, 0.5, 0.5, 0.5, 0.5, 2.5, 0.5];
  // The sd of a resample that drew only 0.5s is exactly 0 (binary fractions), so mean/sd is
  // not finite there; that happens with probability 0.8^10 = 0.107 per resample.
  const r = bootstrapReturns(x, (s) => mean(s) / Math.sqrt(sampleVariance(s)), {
    seed: 2,
    resamples: 400,
    blockLength: 1,
  });
  assert(r.used < r.resamples && r.used > 2, `${r.used}`);
  assertThrows(
    () => bootstrapReturns([1, 1, 1, 1, 1, 1, 1, 1], () => NaN, { seed: 1 }),
    RangeError,
    "not finite on the original sample",
  );
  assertThrows(() => bootstrapRows(10, mean, { seed: 1, level: 95 }), RangeError, '"95"');
});

Deno.test("backtest statistics as callbacks equal the statistics table of the same curve", () => {
  const rng = Prng.fromState(21);
  const n = 300;
  const dates: string[] = [];
  const day = new Date("2010-01-04T00:00:00Z");
  while (dates.length < n) {
    if (day.getUTCDay() % 6 !== 0) dates.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  const equity: number[] = [];
  let e = 1000;
  for (let i = 0; i < n; i++) {
    e *= 1 + 0.0004 + 0.01 * (rng.next() - 0.5);
    equity.push(e);
  }
  const rf = Array.from({ length: n }, (_, i) => 0.00008 + 1e-6 * (i % 7));
  const table = performanceStats({
    dates,
    equity,
    capital: 1000,
    exposed: new Uint8Array(n),
    trades: [],
    costs: { commission: 0, slippage: 0, borrow: 0, total: 0 },
    tradedNotional: 0,
    riskFreeDaily: rf,
    riskFreeLabel: "t",
    indexReturns: null,
  });
  const returns = dailyReturns(1000, equity);
  const ctx = { dates };
  // Rebuilding the curve from returns rounds each close by an ulp or so; 1e-10 relative.
  for (const name of ["sharpe", "sortino", "cagr", "maxDrawdown", "volatility"] as const) {
    assertClose(backtestStatistic(name, ctx)(returns, rf), table[name]!, 1e-10, 0, name);
  }
  assertClose(statsOfReturns(returns, ctx, rf).totalReturn, table.totalReturn, 1e-10);
  assertClose(dailySharpe(table.sharpe!), table.sharpe! / Math.sqrt(252), 1e-15);
  // Bootstrapping the returns and the risk-free rate together keeps them paired.
  const sharpe = backtestStatistic("sharpe", ctx);
  const ci = bootstrapSeries([returns, rf], ([r, f]) => sharpe(r, f), { seed: 1, resamples: 200 });
  assertClose(ci.estimate, table.sharpe!, 1e-10);
  assert(ci.lower < ci.estimate && ci.estimate < ci.upper);
  assertThrows(() => sharpe(returns.subarray(1)), RangeError, "299 returns but 300 dates");
});

Deno.test("seeds: mean ± std and the t interval match NumPy and SciPy", () => {
  for (const f of FIXTURES.seeds) {
    const s = summarizeSeeds(f.values);
    assertClose(s.mean, f.mean, 1e-15);
    assertClose(s.std, f.std, 1e-14);
    assertClose(s.interval!.lower, f.lower, 1e-12);
    assertClose(s.interval!.upper, f.upper, 1e-12);
  }
  const one = summarizeSeeds([0.5]);
  assertEquals([one.std, one.standardError, one.interval], [0, null, null]);
  assertThrows(() => summarizeSeeds([]), RangeError, "no seeds");
});
