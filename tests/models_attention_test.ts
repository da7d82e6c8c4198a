/**
 * The multi-head self-attention layer against a float64 computation written out by hand:
 * Q = X·Wq + bq, K = X·Wk + bk, V = X·Wv + bv, per head softmax(QⱼKⱼᵀ/√dₖ)·Vⱼ, the heads
 * concatenated and projected by Wo + bo. The forward output, and the gradients of a scalar loss
 * with respect to the inputs and to Wq (float64 central differences of the same hand-written
 * forward), are compared with the layer's under tf.grad and tf.variableGrads.
 *
 * Tolerances. The float32 layer is compared with float64 values, so its error is rounding:
 * - forward: the longest chain from an input to an output has 4 dot products of length ≤ d + 1
 *   (projection with its bias, scores, weighted values, output projection), a scale, exp, a sum
 *   of ≤ T terms and a division: under 30 roundings, each at most u = 2⁻²⁴ relative to the
 *   magnitudes it combines (Higham's γₖ for the dot products). The weights here are at most 0.5
 *   and the inputs at most 0.8, so no magnitude exceeds 4× the output's scale (max |y|, checked
 *   below through `scaleOf`): 30 · 4 · u ≈ 7.2e-6 of the scale; we allow 2e-5.
 * - gradients: the backward pass repeats each product once more with the upstream gradient,
 *   doubling the chain (≈ 1.4e-5 of the gradient's scale), and the central-difference reference
 *   with step h = 1e-5 has truncation error h²/6·|L‴| (≈ 1e-10 here) and rounding error
 *   ε₆₄·|L|/h (≈ 1e-10): we allow 5e-5 of the scale.
 * A wrong head split, a missing 1/√dₖ or a softmax over the wrong axis moves values by 1e-2 or
 * more, hundreds of times these bounds.
 */
import * as tf from "@tensorflow/tfjs";
import { MultiHeadSelfAttention } from "../src/models/attention.ts";
import { assert, assertEquals, assertNotEquals, assertThrows } from "./assert.ts";

await tf.setBackend("cpu");

type Mat = number[][];

const zerosMat = (r: number, c: number): Mat => Array.from({ length: r }, () => Array(c).fill(0));

function matmul(a: Mat, b: Mat): Mat {
  const out = zerosMat(a.length, b[0].length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b[0].length; j++) {
      let s = 0;
      for (let k = 0; k < b.length; k++) s += a[i][k] * b[k][j];
      out[i][j] = s;
    }
  }
  return out;
}

const addBias = (a: Mat, b: number[]): Mat => a.map((row) => row.map((v, j) => v + b[j]));

interface Weights {
  wq: Mat;
  bq: number[];
  wk: Mat;
  bk: number[];
  wv: Mat;
  bv: number[];
  wo: Mat;
  bo: number[];
}

/** The attention output for one example X ([T, d]), in float64, by the formulas above. */
function attentionByHand(x: Mat, w: Weights, heads: number): Mat {
  const d = x[0].length;
  const dk = d / heads;
  const q = addBias(matmul(x, w.wq), w.bq);
  const k = addBias(matmul(x, w.wk), w.bk);
  const v = addBias(matmul(x, w.wv), w.bv);
  const steps = x.length;
  const concat = zerosMat(steps, d);
  for (let h = 0; h < heads; h++) {
    const cols = Array.from({ length: dk }, (_, i) => h * dk + i);
    for (let t = 0; t < steps; t++) {
      const scores = Array.from(
        { length: steps },
        (_, s) => cols.reduce((acc, c) => acc + q[t][c] * k[s][c], 0) / Math.sqrt(dk),
      );
      const max = Math.max(...scores);
      const e = scores.map((z) => Math.exp(z - max));
      const sum = e.reduce((a, b) => a + b, 0);
      const p = e.map((z) => z / sum);
      for (const c of cols) concat[t][c] = p.reduce((acc, ps, s) => acc + ps * v[s][c], 0);
    }
  }
  return addBias(matmul(concat, w.wo), w.bo);
}

/** L = Σ c·y + ½ Σ y² over the batch: a scalar whose gradient depends on y itself. */
function lossByHand(xs: Mat[], w: Weights, heads: number, c: number[][][]): number {
  let l = 0;
  xs.forEach((x, b) => {
    attentionByHand(x, w, heads).forEach((row, t) =>
      row.forEach((y, j) => {
        l += c[b][t][j] * y + 0.5 * y * y;
      })
    );
  });
  return l;
}

const fill = (r: number, cols: number, f: (i: number, j: number) => number): Mat =>
  Array.from({ length: r }, (_, i) => Array.from({ length: cols }, (_, j) => f(i, j)));

function fixture(batch: number, steps: number, d: number) {
  const w: Weights = {
    wq: fill(d, d, (i, j) => 0.5 * Math.sin(1.3 * i + 0.7 * j + 0.1)),
    bq: Array.from({ length: d }, (_, j) => 0.05 * (j - 1)),
    wk: fill(d, d, (i, j) => 0.5 * Math.cos(0.9 * i - 1.1 * j + 0.3)),
    bk: Array.from({ length: d }, (_, j) => -0.03 * j),
    wv: fill(d, d, (i, j) => 0.4 * Math.sin(0.5 * i * j + 0.2 * i - 0.4)),
    bv: Array.from({ length: d }, (_, j) => 0.02 * j),
    wo: fill(d, d, (i, j) => 0.45 * Math.cos(1.7 * i + 0.3 * j - 0.2)),
    bo: Array.from({ length: d }, (_, j) => 0.01 * (2 - j)),
  };
  const xs = Array.from(
    { length: batch },
    (_, b) => fill(steps, d, (t, i) => 0.8 * Math.sin(2.1 * b + 1.7 * t - 0.9 * i + 0.5)),
  );
  const c = Array.from(
    { length: batch },
    (_, b) => fill(steps, d, (t, j) => Math.cos(0.3 * b + 0.8 * t + 1.9 * j)),
  );
  return { w, xs, c };
}

/** Float32 values of a fixture's weights (what the layer holds) back in float64. */
function roundWeights(w: Weights): Weights {
  const r = (m: Mat) => m.map((row) => Array.from(Float32Array.from(row)));
  const rv = (v: number[]) => Array.from(Float32Array.from(v));
  return {
    wq: r(w.wq),
    bq: rv(w.bq),
    wk: r(w.wk),
    bk: rv(w.bk),
    wv: r(w.wv),
    bv: rv(w.bv),
    wo: r(w.wo),
    bo: rv(w.bo),
  };
}

function layerWith(w: Weights, heads: number, steps: number, d: number): MultiHeadSelfAttention {
  const layer = new MultiHeadSelfAttention({ heads, seed: 1, name: "attention" });
  tf.tidy(() => {
    layer.apply(tf.zeros([1, steps, d]));
  });
  layer.setWeights([w.wq, w.bq, w.wk, w.bk, w.wv, w.bv, w.wo, w.bo].map((m) => tf.tensor(m)));
  return layer;
}

const scaleOf = (values: number[]) => Math.max(1e-3, ...values.map(Math.abs));

function assertClose(got: ArrayLike<number>, want: number[], relative: number, what: string) {
  assertEquals(got.length, want.length, `${what}: length`);
  const scale = scaleOf(want);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    assert(
      err <= relative * scale,
      `${what}[${i}]: got ${got[i]}, float64 ${want[i]}, error ${err} above ${relative} x ${scale}`,
    );
  }
}

for (
  const { batch, steps, d, heads } of [
    { batch: 2, steps: 3, d: 4, heads: 2 },
    { batch: 1, steps: 2, d: 2, heads: 1 },
    { batch: 1, steps: 3, d: 4, heads: 1 },
  ]
) {
  const tag = `T=${steps}, d=${d}, ${heads} head(s), batch ${batch}`;

  Deno.test(`attention (${tag}): forward output equals the hand-computed float64 one`, () => {
    const f = fixture(batch, steps, d);
    const w = roundWeights(f.w);
    const xs = f.xs.map((x) => x.map((row) => Array.from(Float32Array.from(row))));
    const layer = layerWith(w, heads, steps, d);
    const y = layer.apply(tf.tensor3d(xs)) as tf.Tensor;
    assertEquals(y.shape, [batch, steps, d]);
    const want = xs.flatMap((x) => attentionByHand(x, w, heads).flat());
    assertClose(y.dataSync(), want, 2e-5, `${tag} output`);
    y.dispose();
    layer.dispose();
  });

  Deno.test(`attention (${tag}): gradients wrt the inputs and Wq equal float64 central differences`, () => {
    const f = fixture(batch, steps, d);
    const w = roundWeights(f.w);
    const xs = f.xs.map((x) => x.map((row) => Array.from(Float32Array.from(row))));
    const layer = layerWith(w, heads, steps, d);
    const cT = tf.tensor3d(f.c);
    const loss = (y: tf.Tensor) =>
      tf.add(tf.sum(tf.mul(cT, y)), tf.mul(0.5, tf.sum(tf.square(y)))) as tf.Scalar;
    const xT = tf.tensor3d(xs);
    const value = tf.tidy(() => loss(layer.apply(xT) as tf.Tensor).dataSync()[0]);
    const ref = lossByHand(xs, w, heads, f.c);
    assert(
      Math.abs(value - ref) <= 2e-5 * Math.max(1, Math.abs(ref)),
      `${tag}: loss ${value}, float64 ${ref}`,
    );

    const h = 1e-5;
    // d L / d X by central differences of the hand-written forward.
    const wantX: number[] = [];
    xs.forEach((x, b) =>
      x.forEach((row, t) =>
        row.forEach((_, i) => {
          const plus = xs.map((m) => m.map((r) => [...r]));
          const minus = xs.map((m) => m.map((r) => [...r]));
          plus[b][t][i] += h;
          minus[b][t][i] -= h;
          wantX.push(
            (lossByHand(plus, w, heads, f.c) - lossByHand(minus, w, heads, f.c)) / (2 * h),
          );
        })
      )
    );
    const gx = tf.grad((x: tf.Tensor) => loss(layer.apply(x) as tf.Tensor))(xT);
    assertClose(gx.dataSync(), wantX, 5e-5, `${tag} dL/dX`);

    // d L / d Wq likewise.
    const wantWq: number[] = [];
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const plus = { ...w, wq: w.wq.map((r) => [...r]) };
        const minus = { ...w, wq: w.wq.map((r) => [...r]) };
        plus.wq[i][j] += h;
        minus.wq[i][j] -= h;
        wantWq.push(
          (lossByHand(xs, plus, heads, f.c) - lossByHand(xs, minus, heads, f.c)) / (2 * h),
        );
      }
    }
    const wq = layer.weights[0];
    assertEquals(wq.originalName, "attention/query_kernel");
    const { value: v2, grads } = tf.variableGrads(
      () => loss(layer.apply(xT) as tf.Tensor),
      [wq.read() as tf.Variable],
    );
    const gq = Object.values(grads)[0];
    assertClose(gq.dataSync(), wantWq, 5e-5, `${tag} dL/dWq`);
    tf.dispose([cT, xT, gx, v2, gq]);
    layer.dispose();
  });
}

Deno.test("attention refuses heads that do not divide the width, and a rank other than 3", () => {
  assertThrows(
    () => new MultiHeadSelfAttention({ heads: 3, seed: 1, name: "a" }).apply(tf.zeros([1, 2, 4])),
    RangeError,
    "3 heads do not divide the width 4",
  );
  assertThrows(
    () => new MultiHeadSelfAttention({ heads: 1, seed: 1, name: "a" }).apply(tf.zeros([2, 4])),
    RangeError,
    "needs an input of shape [batch, steps, d]",
  );
  assertThrows(() => new MultiHeadSelfAttention({ heads: 0, seed: 1 }), RangeError, "heads");
});

Deno.test("attention kernels are seeded: the same seed gives the same weights", () => {
  const make = (seed: number) => {
    const l = new MultiHeadSelfAttention({ heads: 2, seed });
    tf.tidy(() => {
      l.apply(tf.zeros([1, 3, 4]));
    });
    return l.getWeights().map((t) => Array.from(t.dataSync()));
  };
  assertEquals(make(5), make(5));
  assertNotEquals(make(5), make(6), "another seed, same weights");
});
