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
import {
  type ManagerContext,
  type ManagerName,
  MANAGERS,
  runManager,
} from "../src/portfolio/managers.ts";

await tf.setBackend("cpu");

function setup(seed: number, shuffleInformative = false, env = TEST_ENV) {
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
