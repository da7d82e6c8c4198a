import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { baselines, chooseRegularization, fitLogistic, fitRidge } from "../src/train/baselines.ts";
import { classificationMetrics } from "../src/train/metrics.ts";
import { type Matrix, Prng } from "@alfred/core";
import pl from "nodejs-polars";
import type { QuarterlyFrame } from "../src/features/quarterly.ts";
import { previousQuarterMoves } from "../src/train/evaluate.ts";

function matrix(rows: number[][]): Matrix {
  return { data: Float32Array.from(rows.flat()), rows: rows.length, cols: rows[0].length };
}

/** Uniform features in [-1, 1] and a label function of them (with optional label noise). */
function synth(n: number, seed: number, label: (x: number[], u: number) => number) {
  const rng = new Prng(seed);
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = [rng.next() * 2 - 1, rng.next() * 2 - 1, rng.next() * 2 - 1];
    rows.push(x);
    y.push(label(x, rng.next()));
  }
  return { x: matrix(rows), y: Float32Array.from(y) };
}

Deno.test("fitRidge: hand-computed one-feature solutions", () => {
  const x = matrix([[1], [2], [3], [4]]);
  const y = [2, 4, 5, 8];
  // centred: Sxx = 5, Sxy = 9.5, means 2.5 and 4.75
  const a1 = fitRidge(x, y, 1);
  assertAlmostEquals(a1.weights[0], 9.5 / 6, 1e-12);
  assertAlmostEquals(a1.intercept, 4.75 - 2.5 * (9.5 / 6), 1e-12);
  const a0 = fitRidge(x, y, 1e-12);
  assertAlmostEquals(a0.weights[0], 1.9, 1e-9);
  assertAlmostEquals(a0.intercept, 0, 1e-9);
});

Deno.test("fitRidge recovers a noiseless linear rule; CV picks the weakest penalty", () => {
  const { x, y } = synth(300, 1, ([a, b]) => 2 * a - 3 * b + 0.5);
  const fit = fitRidge(x, y, 1e-9);
  assertAlmostEquals(fit.weights[0], 2, 1e-4);
  assertAlmostEquals(fit.weights[1], -3, 1e-4);
  assertAlmostEquals(fit.weights[2], 0, 1e-4);
  assertAlmostEquals(fit.intercept, 0.5, 1e-4);
  assertEquals(chooseRegularization("ridge", x, y, 7).value, 0.01);
  // Pure noise: the strongest shrinkage predicts best out of fold.
  const noise = synth(300, 2, (_x, u) => u - 0.5);
  assertEquals(chooseRegularization("ridge", noise.x, noise.y, 7).value, 1000);
});

Deno.test("fitLogistic: intercept-only case equals the log-odds; gradient vanishes at the optimum", () => {
  const zero = matrix([[0], [0], [0], [0]]);
  const fit = fitLogistic(zero, [1, 1, 1, 0], 1);
  assertAlmostEquals(fit.intercept, Math.log(3), 1e-9);
  assertAlmostEquals(fit.weights[0], 0, 1e-12);
  const lambda = 2;
  const { x, y } = synth(400, 3, ([a, b], u) => (u < 1 / (1 + Math.exp(-(1.5 * a - b)))) ? 1 : 0);
  const f = fitLogistic(x, y, lambda);
  // First-order conditions of Σ BCE + (λ/2)||w||²: Σ (μ - y) x_j + λ w_j = 0, Σ (μ - y) = 0.
  const grad = [0, 0, 0, 0];
  for (let r = 0; r < x.rows; r++) {
    let z = f.intercept;
    for (let j = 0; j < 3; j++) z += f.weights[j] * x.data[r * 3 + j];
    const resid = 1 / (1 + Math.exp(-z)) - y[r];
    for (let j = 0; j < 3; j++) grad[j] += resid * x.data[r * 3 + j];
    grad[3] += resid;
  }
  for (let j = 0; j < 3; j++) grad[j] += lambda * f.weights[j];
  for (const g of grad) assertAlmostEquals(g, 0, 1e-7, "gradient");
  assert(f.weights[0] > 0.8 && f.weights[1] < -0.4, `weights ${Array.from(f.weights)}`);
  assert(f.iterations < 20, `iterations ${f.iterations}`);
});

Deno.test("direction baselines: majority rate, momentum and logistic on known data", () => {
  const rule = ([a, b]: number[]) => (a - b > 0 ? 1 : 0);
  const train = synth(200, 4, rule);
  const ev = synth(100, 5, rule);
  // Momentum: up exactly on the rows whose label is 1, except the first row (unknown).
  const momentumEval = Float32Array.from(ev.y, (v) => (v === 1 ? 0.05 : -0.02));
  momentumEval[0] = NaN;
  const res = baselines({
    mode: "direction",
    xTrain: train.x,
    yTrain: train.y,
    xEval: ev.x,
    yEval: ev.y,
    momentumEval,
    seed: 1,
  });
  assertEquals(res.map((r) => r.name), ["majority", "momentum", "logistic"]);
  const rate = train.y.reduce((s, v) => s + v, 0) / 200;
  assertAlmostEquals(res[0].details.positiveRate, rate, 1e-12);
  assert(res[0].predictions.every((p) => p === Math.fround(rate)));
  assertEquals(res[0].metrics, classificationMetrics(ev.y, res[0].predictions));
  const evalRate = ev.y.reduce((s, v) => s + v, 0) / 100;
  assertAlmostEquals(res[0].metrics.accuracy, rate > 0.5 ? evalRate : 1 - evalRate, 1e-12);
  // Momentum is right on every row with a previous quarter.
  assertEquals(res[1].details.missing, 1);
  assertEquals(res[1].predictions[0], Math.fround(rate));
  assert(res[1].predictions.slice(1).every((p, i) => p === ev.y[i + 1]));
  assert(res[1].metrics.accuracy >= 0.99);
  assert(res[2].metrics.accuracy >= 0.95, `logistic accuracy ${res[2].metrics.accuracy}`);
  assert(res[2].details.lambda <= 0.1, `lambda ${res[2].details.lambda}`);
  // Deterministic given the seed.
  const again = baselines({
    mode: "direction",
    xTrain: train.x,
    yTrain: train.y,
    xEval: ev.x,
    yEval: ev.y,
    momentumEval,
    seed: 1,
  });
  assertEquals(Array.from(again[2].predictions), Array.from(res[2].predictions));
});

Deno.test("magnitude baselines: training mean, momentum as prediction, ridge", () => {
  const rule = ([a, b]: number[], u: number) => 0.2 * a - 0.1 * b + 0.01 * (u - 0.5);
  const train = synth(200, 6, rule);
  const ev = synth(60, 7, rule);
  const momentumEval = Float32Array.from({ length: 60 }, (_, i) => (i % 2 ? 0.03 : -0.01));
  momentumEval[5] = NaN;
  const quartersEval = Array.from({ length: 60 }, (_, i) => `20${10 + (i % 6)}Q1`);
  const res = baselines({
    mode: "magnitude",
    xTrain: train.x,
    yTrain: train.y,
    xEval: ev.x,
    yEval: ev.y,
    momentumEval,
    quartersEval,
    seed: 3,
  });
  assertEquals(res.map((r) => r.name), ["mean", "momentum", "ridge"]);
  const mean = train.y.reduce((s, v) => s + v, 0) / 200;
  assertAlmostEquals(res[0].details.mean, mean, 1e-12);
  assertEquals(res[0].metrics.pearson, null);
  assertEquals(res[1].predictions[1], Math.fround(0.03));
  assertEquals(res[1].predictions[5], Math.fround(mean));
  assertEquals(res[1].details.missing, 1);
  assert(res[2].metrics.r2! > 0.95, `ridge r2 ${res[2].metrics.r2}`);
  assert(res[2].metrics.ic!.mean! > 0.9);
  assertEquals(res[2].metrics.ic!.perQuarter.length, 6);
  const fixed = baselines({
    mode: "magnitude",
    xTrain: train.x,
    yTrain: train.y,
    xEval: ev.x,
    yEval: ev.y,
    momentumEval,
    seed: 3,
    regularization: 5,
  });
  assertEquals(fixed[2].details.alpha, 5);
  const direct = fitRidge(train.x, train.y, 5);
  let z = direct.intercept;
  for (let j = 0; j < 3; j++) z += direct.weights[j] * ev.x.data[j];
  assertEquals(fixed[2].predictions[0], Math.fround(z));
});

Deno.test("baselines reject inconsistent inputs", () => {
  const x = matrix([[1], [2]]);
  const cases: [() => unknown, RegExp][] = [
    [
      () =>
        baselines({
          mode: "direction",
          xTrain: x,
          yTrain: [1, 0],
          xEval: x,
          yEval: [1, 0],
          momentumEval: [0.1],
          seed: 1,
        }),
      /1 momentum values but 2 eval rows/,
    ],
    [
      () =>
        baselines({
          mode: "direction",
          xTrain: x,
          yTrain: [1, 2],
          xEval: x,
          yEval: [1, 0],
          momentumEval: [0.1, 0.2],
          seed: 1,
        }),
      /training row 1: "2"/,
    ],
    [
      () =>
        baselines({
          mode: "magnitude",
          xTrain: x,
          yTrain: [1],
          xEval: x,
          yEval: [1, 0],
          momentumEval: [0.1, 0.2],
          seed: 1,
        }),
      /"yTrain" has 1 values but "xTrain" has 2 rows/,
    ],
  ];
  for (const [fn, re] of cases) {
    let msg = "";
    try {
      fn();
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(re.test(msg), `expected ${re}, got "${msg}"`);
  }
});

Deno.test("previous-quarter moves are unknown for a ticker's first row and after a missing quarter", () => {
  const q: QuarterlyFrame = {
    frame: pl.DataFrame({
      ticker: ["AAA", "AAA", "AAA", "AAA", "BBB", "BBB"],
      quarter: ["2001Q3", "2001Q4", "2002Q1", "2002Q3", "2001Q4", "2002Q1"],
      close: [10, 11, 9.9, 12, 50, 40],
    }),
    features: [],
    families: {},
    label: "PQ",
    missing: [],
  };
  const moves = Array.from(previousQuarterMoves(q));
  // AAA's first row and its 2002Q3 (2002Q2 is missing) are unknown, as is BBB's first row:
  // not a flat quarter (0), and never the other ticker's close.
  assertEquals(moves.map((m) => Number.isNaN(m)), [true, false, false, true, true, false]);
  assertAlmostEquals(moves[1], 11 / 10 - 1, 1e-12);
  assertAlmostEquals(moves[2], 9.9 / 11 - 1, 1e-12);
  assertAlmostEquals(moves[5], 40 / 50 - 1, 1e-12);
  // The momentum baseline falls back to the training rate for unknown moves, counting them.
  const r = baselines({
    mode: "direction",
    xTrain: { rows: 4, cols: 1, data: Float32Array.from([0, 1, 2, 3]) },
    yTrain: Float32Array.from([1, 1, 1, 0]),
    xEval: { rows: 6, cols: 1, data: new Float32Array(6) },
    yEval: Float32Array.from([1, 1, 0, 1, 0, 0]),
    momentumEval: moves,
    seed: 1,
  }).find((b) => b.name === "momentum")!;
  assertEquals(Array.from(r.predictions), [0.75, 1, 0, 0.75, 0.75, 0]);
});
