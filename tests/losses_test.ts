import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import {
  bceLoss,
  huberLoss,
  LOSS_NAMES,
  makeLoss,
  mseLoss,
  signError,
  signRatioLoss,
} from "../src/models/losses.ts";
import { LossConfig } from "../src/config/schema.ts";

await tf.setBackend("cpu");

const y = [0.3, -0.2, 0.05, -0.4, 1.5];
const p = [0.1, 0.25, -0.3, -0.1, -1.2];
const n = y.length;

function value(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Scalar, yt: number[], yp: number[]): number {
  return tf.tidy(() => fn(tf.tensor1d(yt), tf.tensor2d(yp, [yp.length, 1])).dataSync()[0]);
}
function grad(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Scalar, yt: number[], yp: number[]): number[] {
  return tf.tidy(() =>
    Array.from(tf.grad((x: tf.Tensor) => fn(tf.tensor1d(yt), x))(tf.tensor1d(yp)).dataSync())
  );
}
function assertEachClose(actual: number[], expected: number[], tol = 1e-5): void {
  assertEquals(actual.length, expected.length);
  actual.forEach((a, i) =>
    assertAlmostEquals(a, expected[i], tol, `index ${i}: ${a} vs ${expected[i]}`)
  );
}

// Hand-derived references in float64.
const mseRef = y.reduce((s, t, i) => s + (p[i] - t) ** 2, 0) / n;
const mseGrad = y.map((t, i) => 2 * (p[i] - t) / n);
const signRef = y.reduce((s, t, i) => s + Math.max(0, -t * p[i]), 0) / n;
const signGrad = y.map((t, i) => (-t * p[i] > 0 ? -t / n : 0));
function huberRef(delta: number): number {
  return y.reduce((s, t, i) => {
    const e = Math.abs(p[i] - t);
    return s + (e <= delta ? 0.5 * e * e : delta * (e - 0.5 * delta));
  }, 0) / n;
}
function huberGrad(delta: number): number[] {
  return y.map((t, i) => {
    const e = p[i] - t;
    return (Math.abs(e) <= delta ? e : delta * Math.sign(e)) / n;
  });
}

Deno.test("mse matches the hand-computed value and gradient", () => {
  assertAlmostEquals(value(mseLoss, y, p), mseRef, 1e-6);
  assertEachClose(grad(mseLoss, y, p), mseGrad);
});

Deno.test("bce matches hand-computed values and gradient, and stays finite at 0 and 1", () => {
  const yb = [1, 0, 1, 0];
  const pb = [0.9, 0.2, 0.6, 0.7];
  const ref = -yb.reduce((s, t, i) => s + t * Math.log(pb[i]) + (1 - t) * Math.log(1 - pb[i]), 0) /
    4;
  assertAlmostEquals(value(bceLoss, yb, pb), ref, 1e-6);
  assertAlmostEquals(
    value(bceLoss, [1, 0], [0.9, 0.2]),
    -(Math.log(0.9) + Math.log(0.8)) / 2,
    1e-6,
  );
  const g = yb.map((t, i) => (-(t / pb[i]) + (1 - t) / (1 - pb[i])) / 4);
  assertEachClose(grad(bceLoss, yb, pb), g, 1e-5);
  // Saturated predictions: clipped at 1e-7, so the loss is large but finite.
  const worst = value(bceLoss, [1, 0], [0, 1]);
  assert(Number.isFinite(worst), `bce at the extremes is ${worst}`);
  // float32 rounds 1 − 1e-7 to 1 − 2^-23, so the clipped p for the second row is that value.
  const clipped = (-Math.log(Math.fround(1e-7)) - Math.log(1 - Math.fround(1 - 1e-7))) / 2;
  assertAlmostEquals(worst, clipped, 1e-3);
  assertAlmostEquals(value(bceLoss, [1, 0], [1, 0]), 0, 1e-5);
});

Deno.test("huber matches the piecewise formula and its gradient on both sides of delta", () => {
  for (const delta of [0.25, 1]) {
    assertAlmostEquals(value(huberLoss(delta), y, p), huberRef(delta), 1e-6);
    assertEachClose(grad(huberLoss(delta), y, p), huberGrad(delta));
  }
  // Hand-computed: errors 0.5 (quadratic) and 3 (linear) with delta 1.
  assertAlmostEquals(value(huberLoss(1), [0, 0], [0.5, 3]), (0.125 + 2.5) / 2, 1e-6);
  assertThrows(() => huberLoss(0), RangeError, "delta");
});

Deno.test("sign error is zero when signs agree and its gradient pushes toward the target's side", () => {
  assertAlmostEquals(value(signError, [0.1, -0.2], [0.3, -0.5]), 0, 1e-9);
  assertAlmostEquals(value(signError, [0.1, -0.2], [0.3, 0.5]), 0.05, 1e-7);
  assertAlmostEquals(value(signError, y, p), signRef, 1e-7);
  const g = grad(signError, y, p);
  assertEachClose(g, signGrad);
  // Wrong-signed rows get a gradient whose descent step moves the prediction toward sign(yTrue).
  y.forEach((t, i) => {
    if (t * p[i] < 0) assert(-g[i] * t > 0, `row ${i} is pushed the wrong way`);
  });
});

Deno.test("mse-sign, huber-sign and sign-ratio combine value and sign error with their weights", () => {
  const base = { delta: 0.5, sign_weight: 3, value_ratio: 0.5, sign_ratio: 2 };
  const cases: [LossConfig["name"], number, number[]][] = [
    ["mse-sign", mseRef + 3 * signRef, mseGrad.map((g, i) => g + 3 * signGrad[i])],
    [
      "huber-sign",
      huberRef(0.5) + 3 * signRef,
      huberGrad(0.5).map((g, i) => g + 3 * signGrad[i]),
    ],
    [
      "sign-ratio",
      0.5 * mseRef + 2 * signRef,
      mseGrad.map((g, i) => 0.5 * g + 2 * signGrad[i]),
    ],
  ];
  for (const [name, ref, gref] of cases) {
    const fn = makeLoss({ name, ...base });
    assertAlmostEquals(value(fn, y, p), ref, 1e-6, name);
    assertEachClose(grad(fn, y, p), gref);
  }
  // The schema's defaults for sign-ratio are the notes' 0.5 and 2.
  const defaults = LossConfig.parse({ name: "sign-ratio" });
  assertEquals([defaults.value_ratio, defaults.sign_ratio], [0.5, 2]);
  assertAlmostEquals(value(signRatioLoss(0, 1), y, p), signRef, 1e-7);
});

Deno.test("every loss's gradient agrees with central finite differences", () => {
  const yt = [0.6, -0.3, 0.2, 0.9];
  const yp = [0.55, 0.4, -0.35, 0.1];
  for (const name of LOSS_NAMES) {
    const fn = makeLoss(LossConfig.parse({ name, delta: 0.3 }));
    const yy = name === "bce" ? [1, 0, 1, 0] : yt;
    const g = grad(fn, yy, yp);
    const h = 1e-3;
    yp.forEach((_, i) => {
      const up = yp.slice();
      const down = yp.slice();
      up[i] += h;
      down[i] -= h;
      const fd = (value(fn, yy, up) - value(fn, yy, down)) / (2 * h);
      assertAlmostEquals(g[i], fd, 2e-3 + 1e-2 * Math.abs(fd), `${name} index ${i}`);
    });
  }
});

Deno.test("losses reject mismatched sizes and never broadcast [n] against [n, 1]", () => {
  assertThrows(
    () => mseLoss(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 2])),
    RangeError,
    "yTrue has 3 values",
  );
  // [n] vs [n, 1] is the same data, not an n×n matrix.
  assertAlmostEquals(value(mseLoss, [1, 2], [1, 4]), 2, 1e-7);
  assertThrows(
    () => makeLoss({ name: "nope" } as unknown as LossConfig),
    RangeError,
    'Unknown loss "nope"',
  );
});

Deno.test("losses do not leak tensors", () => {
  const before = tf.memory().numTensors;
  for (const name of LOSS_NAMES) {
    const fn = makeLoss(LossConfig.parse({ name }));
    const a = tf.tensor1d([0.2, 0.7]);
    const b = tf.tensor1d([0.4, 0.1]);
    fn(a, b).dispose();
    tf.dispose([a, b]);
  }
  assertEquals(tf.memory().numTensors, before);
});
