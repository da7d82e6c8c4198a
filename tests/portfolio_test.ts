/**
 * The portfolio manager: the environment's accounting (the backtest's book: conservation, costs
 * exactly on turnover), its timing (nothing from after a decision's close), the constraints, the
 * Ledoit–Wolf covariance, the out-of-sample check of signal tables, determinism, and the three
 * honesty tests of record on a planted-signal universe.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { Prng } from "@alfred/core";
import { plantedUniverse, TEST_ENV } from "./portfolio_helpers.ts";
import {
  buildDecisions,
  buildPanel,
  constrain,
  costRate,
  drift,
  knownBefore,
  periodLogReturn,
  simulatePortfolio,
} from "../src/portfolio/environment.ts";
import { choleskySolve, ledoitWolf } from "../src/portfolio/covariance.ts";
import { checkOutOfSample } from "../src/portfolio/signals.ts";
import { digamma, dirichlet, lgamma } from "../src/portfolio/ppo.ts";
import { quarterOf } from "@alfred/core";
import type { EnvironmentConfig } from "../src/portfolio/environment.ts";
import {
  type ManagerContext,
  type ManagerName,
  MANAGERS,
  runManager,
} from "../src/portfolio/managers.ts";

await tf.setBackend("cpu");

function setup(seed: number, shuffleInformative = false, env: EnvironmentConfig = TEST_ENV) {
  const u = plantedUniverse({ seed, shuffleInformative });
  const panel = buildPanel(u.prices, u.tickers, null, null);
  const { decisions } = buildDecisions(panel, [u.informative, u.noise], env);
  const ctx: ManagerContext = {
    panel,
    env,
    analysts: 2,
    k: 2,
    covarianceDays: 126,
    seed,
    policy: { hidden: 8, epochs: 120, learning_rate: 0.02, l2: 1e-4 },
    ppo: {
      hidden: 8,
      iterations: 12,
      rollouts: 3,
      update_epochs: 3,
      learning_rate: 0.02,
      clip: 0.2,
      entropy: 0.001,
      gamma: 0.5,
      lambda: 0.9,
    },
  };
  return { u, panel, decisions, ctx };
}

const SCHEDULE = { warmup: 16, refitEvery: 15 };

Deno.test("the book conserves money: equity = cash + positions, costs exactly on turnover", () => {
  const { panel, decisions } = setup(5);
  const prng = new Prng(9);
  const env = { ...TEST_ENV, long_only: false, gross_leverage: 1.5, commission_bps: 7 };
  const weights = decisions.map((d) =>
    constrain(Float64Array.from(d.eligible, () => prng.next() - 0.4), d.eligible, env)
  );
  const out = simulatePortfolio(panel, decisions, weights, env);
  const { book } = out;
  let cash = env.initial_capital;
  const shares = new Map<string, number>();
  for (const f of book.fills) {
    cash -= f.quantity * f.price + f.commission + f.slippage;
    shares.set(f.ticker, (shares.get(f.ticker) ?? 0) + f.quantity);
  }
  const end = decisions[decisions.length - 1].endDay;
  let positions = 0;
  for (const [t, q] of shares) positions += q * panel.filled[panel.tickers.indexOf(t)][end];
  const equity = book.equity[book.equity.length - 1];
  assertAlmostEquals(cash + positions, equity, 1e-7 * env.initial_capital);
  const notional = book.fills.reduce((s, f) => s + f.notional, 0);
  assertAlmostEquals(notional, book.tradedNotional, 1e-9 * notional);
  assertAlmostEquals(book.costs.total, costRate(env) * book.tradedNotional, 1e-9 * notional);
  assertAlmostEquals(book.costs.commission, 7e-4 * book.tradedNotional, 1e-9 * notional);
  assertEquals(out.stats.costs.total, book.costs.total);
  // One order per decision, filled the trading day after its signal close.
  const fillDates = new Set(book.fills.map((f) => f.date));
  for (const d of decisions) {
    assert(d.fillDay === d.signalDay + 1);
    assert(fillDates.has(panel.calendar[d.fillDay]) || weights[0].every((w) => w === 0));
  }
});

Deno.test("the training environment's growth is the book's without costs, and close with them", () => {
  const { panel, decisions } = setup(6);
  for (const bps of [0, 20]) {
    const env = { ...TEST_ENV, commission_bps: bps, spread_bps: 0 };
    const weights = decisions.map((d, k) =>
      constrain(Float64Array.from(d.eligible, (_, i) => ((i + k) % 3) / 6), d.eligible, env)
    );
    const out = simulatePortfolio(panel, decisions, weights, env);
    let logGrowth = 0;
    let previous: Float64Array = new Float64Array(panel.tickers.length);
    decisions.forEach((d, k) => {
      logGrowth += periodLogReturn(weights[k], previous, d.returns, costRate(env));
      previous = drift(weights[k], d.returns);
    });
    const book = Math.log(out.equity[out.equity.length - 1] / env.initial_capital);
    // Without costs the two are the same arithmetic; with costs the book sizes on equity after
    // costs, a second-order difference (cost × rate per rebalance).
    assertAlmostEquals(logGrowth, book, bps === 0 ? 1e-9 : 2e-3);
  }
});

Deno.test("decisions see nothing after their close and train only on ended periods", () => {
  const { u, panel, decisions } = setup(7);
  const byDate = new Map(u.informative.rows.map((r) => [`${r.ticker} ${r.date}`, r.score]));
  for (const [k, d] of decisions.entries()) {
    assert(d.signalDay < d.fillDay && d.fillDay < d.endDay);
    // Every signal used was formed at this close or earlier.
    for (const [i, t] of panel.tickers.entries()) {
      const score = d.rawSignals[i * 2];
      const formed = [...byDate].find(([key, s]) => key.startsWith(`${t} `) && s === score)!;
      assert(formed[0].slice(t.length + 1) <= d.date);
    }
    for (const p of knownBefore(decisions, d.signalDay)) assert(p.endDay <= d.signalDay);
    if (k > 0) assertEquals(decisions[k - 1].endDay, d.fillDay);
  }
});

Deno.test("constraints: long-only caps and cash, long-short gross leverage", () => {
  const on = Uint8Array.of(1, 1, 1, 0);
  const lo = constrain([0.8, 0.8, -0.2, 0.5], on, {
    long_only: true,
    max_weight: 0.6,
    gross_leverage: 1,
  });
  assertEquals([...lo], [0.5, 0.5, 0, 0]);
  const ls = constrain([0.9, -0.9, 0.6, 1], on, {
    long_only: false,
    max_weight: 0.8,
    gross_leverage: 1.1,
  });
  assertAlmostEquals(ls.reduce((s, x) => s + Math.abs(x), 0), 1.1, 1e-12);
  assertEquals(ls[3], 0);
  assert(ls[0] > 0 && ls[1] < 0 && Math.abs(ls[0]) === Math.abs(ls[1]));
});

Deno.test("Ledoit-Wolf: shrinkage in [0, 1], positive definite, near the sample covariance with many observations", () => {
  const prng = new Prng(3);
  const draw = (t: number, n: number) =>
    Array.from({ length: t }, () => Array.from({ length: n }, () => prng.next() - 0.5));
  // Equal variances: the identity target is the truth, so small samples shrink to it.
  const few = ledoitWolf(draw(5, 10));
  assert(few.shrinkage > 0 && few.shrinkage <= 1);
  const b = Array.from({ length: 10 }, (_, i) => i - 4);
  const x = choleskySolve(few.matrix, b);
  for (let i = 0; i < 10; i++) {
    let s = 0;
    for (let j = 0; j < 10; j++) s += few.matrix[i * 10 + j] * x[j];
    assertAlmostEquals(s, b[i], 1e-9);
  }
  // Unequal variances and many observations: the sample covariance wins.
  const many = ledoitWolf(draw(5000, 3).map((r) => r.map((x, i) => x * [1, 4, 16][i])));
  assert(many.shrinkage < 0.05, `shrinkage ${many.shrinkage}`);
  assertThrows(() => ledoitWolf([[1, 2]]), RangeError, "at least 2 observations");
});

Deno.test("a signal table whose model learned from a label known after a signal is refused", () => {
  const { u } = setup(8);
  checkOutOfSample(u.informative);
  const leaky = {
    ...u.informative,
    folds: [{ ...u.informative.folds[0], lastTrainLabelDate: u.informative.rows[5].date }],
  };
  assertThrows(() => checkOutOfSample(leaky), RangeError, "is not out of sample");
});

Deno.test("learned managers are deterministic for a seed on a backend", () => {
  const { decisions, ctx } = setup(4);
  const short = { warmup: 30, refitEvery: 20 };
  for (const name of ["eiie", "ppo"] as const) {
    const a = runManager(MANAGERS[name], decisions, ctx, short);
    const b = runManager(MANAGERS[name], decisions, ctx, short);
    assertEquals(a.weights.map((w) => [...w!]), b.weights.map((w) => [...w!]));
    assertEquals(a.fits.map((f) => f.seed), b.fits.map((f) => f.seed));
  }
});

Deno.test("monthly rebalancing: every month's last close reads the latest quarterly signal, and the book earns what the training environment does", () => {
  const env = { ...TEST_ENV, period: "month" as const, commission_bps: 0, spread_bps: 0 };
  const { u, panel, decisions, ctx } = setup(11, false, env);
  const quarterly = buildDecisions(panel, [u.informative, u.noise], TEST_ENV).decisions;
  // One decision per month over the same span: every quarterly rebalance is a monthly one, with
  // the two month-ends between them (the prices end inside the last quarter).
  assertEquals(decisions[0].date, quarterly[0].date);
  const monthly = new Set(decisions.map((d) => d.date));
  for (const q of quarterly) assert(monthly.has(q.date), `quarterly ${q.date} is not monthly`);
  assert(
    decisions.length >= 3 * (quarterly.length - 1) && decisions.length <= 3 * quarterly.length,
  );
  const score = new Map(u.informative.rows.map((r) => [`${r.quarter} ${r.ticker}`, r.score]));
  const signalDates = [...new Set(u.informative.rows.map((r) => r.date))].sort();
  for (const [k, d] of decisions.entries()) {
    // The last trading day of its month, the month after the previous decision's.
    const next = panel.calendar[d.signalDay + 1];
    assert(
      next === undefined || next.slice(0, 7) !== d.date.slice(0, 7),
      `${d.date} ends no month`,
    );
    if (k > 0) {
      const [y0, m0] = decisions[k - 1].date.split("-").map(Number);
      const [y1, m1] = d.date.split("-").map(Number);
      assertEquals(12 * y1 + m1 - (12 * y0 + m0), 1, `${decisions[k - 1].date} then ${d.date}`);
      assertEquals(decisions[k - 1].endDay, d.fillDay);
    }
    assertEquals(d.fillDay, d.signalDay + 1);
    // The informative analyst's signal is the latest formed at or before this close.
    const formed = signalDates.filter((s) => s <= d.date).at(-1)!;
    const quarter = quarterOf(formed);
    for (const [i, t] of panel.tickers.entries()) {
      assertEquals(d.rawSignals[i * 2], score.get(`${quarter} ${t}`));
    }
  }
  // A learned manager walked forward monthly; without costs the book's growth is the training
  // environment's arithmetic to rounding.
  const run = runManager(MANAGERS.eiie, decisions, {
    ...ctx,
    policy: { ...ctx.policy, epochs: 20 },
  }, { warmup: 48, refitEvery: 36 });
  assertEquals(run.fits.length, Math.ceil((decisions.length - 48) / 36));
  let logGrowth = 0;
  let previous: Float64Array = new Float64Array(panel.tickers.length);
  run.decisions.forEach((d, k) => {
    const w = run.weights[k]!;
    logGrowth += periodLogReturn(w, previous, d.returns, 0);
    previous = drift(w, d.returns);
  });
  const eq = run.outcome.equity;
  assertAlmostEquals(logGrowth, Math.log(eq[eq.length - 1] / env.initial_capital), 1e-9);
  const fills = new Set(run.outcome.book.fills.map((f) => f.date));
  for (const d of run.decisions) {
    assert(fills.has(panel.calendar[d.fillDay]), `no fill after ${d.date}`);
  }
});

Deno.test("long-short: weights scaled to the gross leverage, each name capped, and the book holds them", () => {
  const env = { ...TEST_ENV, long_only: false, gross_leverage: 1.5, max_weight: 0.3 };
  const { panel, decisions, ctx } = setup(12, false, env);
  const fast = {
    ...ctx,
    policy: { ...ctx.policy, epochs: 30 },
    ppo: { ...ctx.ppo, iterations: 3 },
  };
  // The constraint alone: a cap, then everything scaled down together to the gross limit.
  const on = Uint8Array.of(1, 1, 1, 1, 0);
  const w = constrain([1, -0.5, 0.1, -0.2, 0.9], on, env);
  assertEquals([...w].map((x) => Math.round(x * 1e12) / 1e12), [0.3, -0.3, 0.1, -0.2, 0]);
  const big = constrain([0.5, -0.5, 0.5, -0.5, 0.5], on, env);
  assertAlmostEquals(big.reduce((s, x) => s + Math.abs(x), 0), 1.2, 1e-12);
  const wide = constrain([0.3, -0.3, 0.3, -0.3, 0.3], Uint8Array.of(1, 1, 1, 1, 1), {
    ...env,
    gross_leverage: 1.2,
  });
  assertEquals([...wide].map((x) => Math.round(x * 1e12) / 1e12), [0.24, -0.24, 0.24, -0.24, 0.24]);
  let capped = 0;
  for (const name of ["mean_variance", "eiie", "ppo"] as const) {
    const run = runManager(MANAGERS[name], decisions, fast, { warmup: 30, refitEvery: 25 });
    let shorts = 0;
    for (const [k, d] of run.decisions.entries()) {
      const weights = run.weights[k]!;
      const gross = weights.reduce((s, x) => s + Math.abs(x), 0);
      assert(gross <= env.gross_leverage + 1e-9, `${name} ${d.date}: gross ${gross}`);
      for (const [i, x] of weights.entries()) {
        assert(Math.abs(x) <= env.max_weight + 1e-12, `${name} ${d.date}: |w| ${x} over the cap`);
        if (!d.eligible[i]) assertEquals(x, 0);
      }
      shorts += weights.some((x) => x < 0) ? 1 : 0;
      if (weights.some((x) => Math.abs(x) >= env.max_weight - 1e-12)) capped++;
      // Where no name hit the cap, the policy's weights were normalised to the gross leverage
      // (the tanh policies up to their 1e-6 guard, and float32).
      else assertAlmostEquals(gross, env.gross_leverage, 1e-4, `${name} ${d.date}`);
    }
    assertEquals(shorts, run.decisions.length, `${name}: a decision without a short`);
    // The book holds the weights: after each fill, position value = weight × equity.
    const { book } = run.outcome;
    const start = run.decisions[0].fillDay;
    const shares = new Float64Array(panel.tickers.length);
    let f = 0;
    for (const [k, d] of run.decisions.entries()) {
      const date = panel.calendar[d.fillDay];
      while (f < book.fills.length && book.fills[f].date <= date) {
        shares[panel.tickers.indexOf(book.fills[f].ticker)] += book.fills[f].quantity;
        f++;
      }
      const equity = book.equity[d.fillDay - start];
      for (let i = 0; i < shares.length; i++) {
        const held = (shares[i] * panel.filled[i][d.fillDay]) / equity;
        assertAlmostEquals(held, run.weights[k]![i], 1e-9, `${name} ${date} ${panel.tickers[i]}`);
      }
    }
  }
  assert(capped > 0, "no weight reached the cap: the cap was not exercised");
});

/**
 * Float32 bound for a sum of `ops` roundings of values at most `magnitude`: `ops · u · magnitude`
 * with u = 2⁻²⁴ (each operation's result is off by at most u of itself).
 */
const f32 = (ops: number, magnitude: number) => ops * 2 ** -24 * magnitude;

Deno.test("PPO's ln Γ and ψ match known values to float32 rounding", () => {
  const euler = 0.57721566490153286;
  // ln Γ(n) = ln (n − 1)!, Γ(1/2) = √π, Γ(1/4) and Γ(1/3) to 20 digits; ψ(n) = H(n−1) − γ,
  // ψ(1/2) = −γ − 2 ln 2, ψ(1/4) = −γ − π/2 − 3 ln 2, ψ(1/3) = −γ − π/(2√3) − (3/2) ln 3.
  const logFactorial = (n: number) => {
    let s = 0;
    for (let k = 2; k <= n; k++) s += Math.log(k);
    return s;
  };
  const harmonic = (n: number) => {
    let s = 0;
    for (let k = 1; k <= n; k++) s += 1 / k;
    return s;
  };
  const cases: [number, number, number][] = [
    [0.25, Math.log(3.6256099082219083119), -euler - Math.PI / 2 - 3 * Math.LN2],
    [
      1 / 3,
      Math.log(2.6789385347077476337),
      -euler - Math.PI / (2 * Math.sqrt(3)) - 1.5 * Math.log(3),
    ],
    [0.5, 0.5 * Math.log(Math.PI), -euler - 2 * Math.LN2],
    [1, 0, -euler],
    [2, 0, 1 - euler],
    [3, Math.LN2, 1.5 - euler],
    [7, logFactorial(6), harmonic(6) - euler],
    [10, logFactorial(9), harmonic(9) - euler],
    [100, logFactorial(99), harmonic(99) - euler],
  ];
  const x = tf.tensor1d(cases.map((c) => c[0]));
  const lg = lgamma(x).dataSync(), psi = digamma(x).dataSync();
  cases.forEach(([v, lnGamma, dig], i) => {
    // Bounds: the inputs (1/4, 1/3, ...) are exact or off by u in float32 (moving ln Γ by
    // |x ψ(x)| u and ψ by |x ψ'(x)| u ≤ u/x · x); Stirling's terms at z = x + 6 and the six
    // shifts are summed in float32 (about 16 operations on values at most the largest term).
    // The series' truncation (1/(1680 z⁷), 1/(240 z⁸) at z ≥ 6.25) is below 1e-8.
    const z = v + 6;
    let shiftLog = 0, shiftInv = 0;
    for (let k = 0; k < 6; k++) (shiftLog += Math.abs(Math.log(v + k))), (shiftInv += 1 / (v + k));
    const lgBound = f32(16, z * Math.log(z) + z + shiftLog + Math.abs(v * dig)) + 1e-8;
    const psiBound = f32(16, Math.log(z) + shiftInv + 1) + 1e-8;
    assertAlmostEquals(lg[i], lnGamma, lgBound, `ln Γ(${v})`);
    assertAlmostEquals(psi[i], dig, psiBound, `ψ(${v})`);
  });
  x.dispose();
});

Deno.test("PPO's Dirichlet log-density and entropy match closed forms, masked components left out", () => {
  const euler = 0.57721566490153286;
  // Beta(2, 3) = Dirichlet(2, 3): density 12 x (1 − x)², entropy ln B(2,3) − ψ(2) − 2ψ(3) + 3ψ(5).
  const betaEntropy = Math.log(1 / 12) - (1 - euler) - 2 * (1.5 - euler) + 3 * (25 / 12 - euler);
  // Dirichlet(2, 3, 4) at (0.2, 0.3, 0.5): Γ(9) / (Γ(2) Γ(3) Γ(4)) = 40320 / 12 = 3360.
  const d234 = Math.log(3360) + Math.log(0.2) + 2 * Math.log(0.3) + 3 * Math.log(0.5);
  const alpha = tf.tensor2d([[1, 1, 1], [2, 3, 4], [2, 3, 7]]);
  const action = tf.tensor2d([[0.1, 0.2, 0.7], [0.2, 0.3, 0.5], [0.4, 0.6, 0.123]]);
  const mask = tf.tensor2d([[1, 1, 1], [1, 1, 1], [1, 1, 0]]);
  const { logp, entropy } = dirichlet(alpha, action, mask);
  const lp = logp.dataSync(), h = entropy.dataSync();
  // Magnitudes at most ln Γ(9 + 6) ≈ 25 summed in about 40 float32 operations.
  const bound = f32(40, 30);
  // Dirichlet(1, 1, 1) is uniform on the simplex: density Γ(3) = 2, entropy −ln 2.
  assertAlmostEquals(lp[0], Math.LN2, bound);
  assertAlmostEquals(h[0], -Math.LN2, bound);
  assertAlmostEquals(lp[1], d234, bound);
  assertAlmostEquals(lp[2], Math.log(12 * 0.4 * 0.6 ** 2), bound);
  assertAlmostEquals(h[2], betaEntropy, bound);
  tf.dispose([alpha, action, mask, logp, entropy]);
});

const evaluated = new Map<string, ReturnType<typeof evaluateOnce>>();

/** {@linkcode evaluateOnce}, remembered: the honesty tests share runs. */
function evaluate(name: ManagerName, seed: number, shuffle: boolean, env = TEST_ENV) {
  const key = JSON.stringify([name, seed, shuffle, env]);
  if (!evaluated.has(key)) evaluated.set(key, evaluateOnce(name, seed, shuffle, env));
  return evaluated.get(key)!;
}

/** Log growth of a manager's book, the correlation of its weights with the informative signal, turnover. */
function evaluateOnce(name: ManagerName, seed: number, shuffle: boolean, env = TEST_ENV) {
  const { decisions, ctx, u } = setup(seed, shuffle, env);
  const run = runManager(MANAGERS[name], decisions, ctx, SCHEDULE);
  const eq = run.outcome.equity;
  // Weight leaning: mean over decisions of corr(weights, the informative analyst's signal).
  let lean = 0;
  run.decisions.forEach((d, k) => {
    const w = run.weights[k]!;
    const s = Float64Array.from({ length: w.length }, (_, i) => d.rawSignals[i * 2]);
    lean += corr(w, s) / run.decisions.length;
  });
  void u;
  return {
    growth: Math.log(eq[eq.length - 1] / env.initial_capital),
    lean,
    turnover: run.outcome.stats.turnover!,
  };
}

function corr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i] / n), (mb += b[i] / n);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

const SEEDS = [1, 2, 3];
const LEARNED: ManagerName[] = ["eiie", "ppo"];

Deno.test("honesty 1: with one informative and one noise analyst, learned managers lean on the informative one and beat 1/N net of costs", () => {
  for (const seed of SEEDS) {
    const base = evaluate("equal_weight", seed, false).growth;
    for (const name of LEARNED) {
      const r = evaluate(name, seed, false);
      assert(
        r.lean > 0.2,
        `${name} seed ${seed}: weights barely follow the informative analyst (corr ${
          r.lean.toFixed(3)
        })`,
      );
      assert(
        r.growth > base,
        `${name} seed ${seed}: log growth ${r.growth.toFixed(3)} not above 1/N's ${
          base.toFixed(3)
        }`,
      );
    }
  }
});

Deno.test("honesty 2: with the informative analyst shuffled, no manager beats 1/N by more than the spread across seeds", () => {
  const names: ManagerName[] = ["inverse_volatility", "top_k", "mean_variance", ...LEARNED];
  const base = SEEDS.map((s) => evaluate("equal_weight", s, true).growth);
  for (const name of names) {
    const excess = SEEDS.map((s, k) => evaluate(name, s, true).growth - base[k]);
    const mean = excess.reduce((a, b) => a + b, 0) / excess.length;
    const spread = Math.max(...excess) - Math.min(...excess);
    assert(
      mean <= spread,
      `${name}: beats 1/N by ${mean.toFixed(3)} log growth on average, more than the spread ${
        spread.toFixed(3)
      }`,
    );
  }
});

Deno.test("honesty 3: with costs ten times higher, the learned managers trade less", () => {
  const cheap = TEST_ENV;
  const dear = {
    ...cheap,
    commission_bps: cheap.commission_bps * 10,
    spread_bps: cheap.spread_bps * 10,
  };
  for (const name of LEARNED) {
    for (const seed of SEEDS) {
      const low = evaluate(name, seed, false, cheap).turnover;
      const high = evaluate(name, seed, false, dear).turnover;
      assert(
        high < low,
        `${name} seed ${seed}: turnover ${high.toFixed(2)} at 10x costs, ${low.toFixed(2)} at 1x`,
      );
    }
  }
});

Deno.test("an analyst's stored signals are reused by its config hash: no analyst is run", async () => {
  const { FileSignalStore, analystSignals } = await import("../src/portfolio/signals.ts");
  const { loadExperiment } = await import("../src/config/load.ts");
  const { configHash } = await import("../src/config/hash.ts");
  const dir = await Deno.makeTempDir();
  try {
    const store = new FileSignalStore(dir);
    const spec = {
      file: new URL("../experiments/synth-planted-signal.yaml", import.meta.url).pathname,
      set: ["split.method=walk_forward", "split.folds=6"],
    };
    const hash = configHash(await loadExperiment(spec.file, { set: spec.set }));
    const { u } = setup(2);
    await store.save({ ...u.informative, configHash: hash });
    assertEquals((await store.load(hash))?.rows.length, u.informative.rows.length);
    assertEquals(await store.load("f".repeat(64)), null);
    const fail = () => {
      throw new Error("the analyst must not run when its signals are stored");
    };
    const got = await analystSignals(spec, store, {
      resultsDir: `${dir}/results`,
      store: { has: fail, save: fail, load: fail, list: fail, delete: fail },
      log: () => {},
      write: () => {},
      tty: false,
    });
    assert(got.reused);
    assertEquals(got.runDir, null);
    await assertRejects(
      () => analystSignals({ ...spec, set: [] }, store, {} as never),
      RangeError,
      'must split "walk_forward"',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the bench's portfolio section trains EIIE and PPO on its synthetic shape and prints one row each", async () => {
  const { formatPortfolioBench, portfolioBench, QUICK_PORTFOLIO_BENCH, syntheticDecisions } =
    await import("../src/portfolio/bench.ts");
  const shape = QUICK_PORTFOLIO_BENCH.shapes[0];
  const decisions = syntheticDecisions(shape, 42);
  assertEquals(decisions.length, shape.decisions);
  assertEquals(syntheticDecisions(shape, 42), decisions);
  for (const [k, d] of decisions.entries()) {
    assertEquals(d.signals.length, shape.assets * shape.analysts);
    if (k > 0) assertEquals(decisions[k - 1].endDay, d.fillDay);
  }
  const result = await portfolioBench(QUICK_PORTFOLIO_BENCH);
  try {
    assertEquals(result.rows.map((r) => r.manager), ["eiie", "ppo"]);
    assertEquals(result.rows.map((r) => r.epochs), [
      QUICK_PORTFOLIO_BENCH.eiieEpochs,
      QUICK_PORTFOLIO_BENCH.ppoIterations,
    ]);
    for (const r of result.rows) {
      assert(Number.isFinite(r.finalObjective) && r.secondsPerEpoch > 0, JSON.stringify(r));
    }
    const text = formatPortfolioBench(result).join("\n");
    assert(
      text.includes("s/epoch") && /\ntiny .* cpu +eiie .*\ntiny .* cpu +ppo /.test(text),
      text,
    );
    assertEquals(tf.getBackend(), "wasm");
  } finally {
    await tf.setBackend("cpu");
  }
});
