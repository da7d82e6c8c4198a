/**
 * The fused recurrent engine on tiny LSTMs and GRUs: its forward pass against
 * an independent float64 forward, its gradients against central differences
 * of that forward, its determinism (same seed, same numbers, whatever the
 * thread count) and its refusals. Its agreement with the tfjs trainer on the
 * runner's own models is `tests/engines_fused_rnn_test.ts`.
 *
 * Tolerances: the engine computes in float32. Every quantity here is a short
 * chain (at most 2·T = 8 steps back in time) of products of length at most
 * `T·B + G·u = 32`, each off by at most γ₃₂·Σ|a||b| ≈ 2·10⁻⁶ of its terms'
 * magnitudes (tests/float32_bounds.ts), and of elementwise steps of a few
 * ulps; with the weights and inputs below (|values| ≤ 1, gates not saturated)
 * the magnitudes are of the order of the largest gradient, so 2·10⁻⁵ of the
 * largest gradient (and of the largest prediction, forward) bounds the
 * rounding with room to spare. The central differences (step 10⁻⁶ in float64)
 * are exact to about 10⁻⁹. A wrong index, gate order or missing term is off by
 * a sizeable fraction of a gradient.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "../../../tests/assert.ts";
import type { LossSpec, TrainOptions } from "./spec.ts";
import {
  type FusedRnnArgs,
  fusedRnnLayout,
  fusedRnnUnsupported,
  type RecurrentDescription,
  startFusedRnn,
  trainFusedRnn,
} from "./fused_rnn.ts";

const BCE: LossSpec = { name: "bce", delta: 1, sign_weight: 0, value_ratio: 1, sign_ratio: 1 };
const T = 4, F = 3, H = 3, ROWS = 5;

function description(family: "lstm" | "gru", layers: number): RecurrentDescription {
  return {
    family,
    inputDim: T * F,
    dropout: 0,
    output: "sigmoid",
    sequence: { family, length: T, fields: F, size: H, layers },
  };
}

/** The runner's sequence model (`src/models/sequence.ts`) without its seeded initializers. */
function model(family: "lstm" | "gru", layers: number): tf.LayersModel {
  const net = tf.sequential();
  net.add(tf.layers.reshape({ targetShape: [T, F], inputShape: [T * F] }));
  for (let i = 0; i < layers; i++) {
    const args = {
      units: H,
      returnSequences: i < layers - 1,
      recurrentInitializer: "glorotUniform" as const,
    };
    net.add(
      family === "gru" ? tf.layers.gru(args) : tf.layers.lstm({ ...args, unitForgetBias: true }),
    );
  }
  net.add(tf.layers.dense({ units: 1, activation: "sigmoid" }));
  return net;
}

const TRAIN: TrainOptions = {
  epochs: 1,
  batch_size: ROWS,
  learning_rate: 0.01,
  optimizer: "adam",
  patience: 5,
  lr_patience: 5,
  lr_factor: 0.5,
  min_lr: 0,
};

function rows(n: number, salt: number) {
  const x = new Float32Array(n * T * F).map((_, i) => Math.sin(i * 0.73 + salt));
  const y = new Float32Array(n).map((_, i) => (i + salt) % 2);
  return { x: { data: x, rows: n, cols: T * F }, y };
}

/** Weights in (−0.6, 0.6), deterministic. */
function weights(n: number, salt: number): Float64Array {
  return new Float64Array(n).map((_, i) => 0.6 * Math.sin(i * 1.37 + salt * 2.1));
}

const hardSigmoid = (x: number) => Math.min(1, Math.max(0, 0.2 * x + 0.5));

/** The float64 forward of the model and its mean BCE, straight from the formulas. */
function reference(
  family: "lstm" | "gru",
  layers: number,
  p: Float64Array,
  x: Float32Array,
  y: Float32Array,
): { pred: number[]; loss: number } {
  const G = family === "lstm" ? 4 : 3;
  const pred: number[] = [];
  let loss = 0;
  for (let r = 0; r < y.length; r++) {
    let seq: number[][] = Array.from(
      { length: T },
      (_, t) => Array.from({ length: F }, (_, f) => x[r * T * F + t * F + f]),
    );
    let off = 0;
    for (let l = 0; l < layers; l++) {
      const n = seq[0].length;
      const at = off;
      const K = (i: number, c: number) => p[at + i * G * H + c];
      const U = (i: number, c: number) => p[at + n * G * H + i * G * H + c];
      const b = (c: number) => p[at + n * G * H + H * G * H + c];
      off += n * G * H + H * G * H + G * H;
      let h = new Array(H).fill(0);
      let cell = new Array(H).fill(0);
      const out: number[][] = [];
      for (const xt of seq) {
        const xw = (c: number) => xt.reduce((s, v, i) => s + v * K(i, c), 0) + b(c);
        const hu = (c: number, hv: number[]) => hv.reduce((s, v, i) => s + v * U(i, c), 0);
        const next = new Array(H);
        if (family === "lstm") {
          for (let j = 0; j < H; j++) {
            const ig = hardSigmoid(xw(j) + hu(j, h));
            const fg = hardSigmoid(xw(H + j) + hu(H + j, h));
            const gg = Math.tanh(xw(2 * H + j) + hu(2 * H + j, h));
            const og = hardSigmoid(xw(3 * H + j) + hu(3 * H + j, h));
            cell[j] = fg * cell[j] + ig * gg;
            next[j] = og * Math.tanh(cell[j]);
          }
          cell = [...cell];
        } else {
          const z = h.map((_, j) => hardSigmoid(xw(j) + hu(j, h)));
          const rg = h.map((_, j) => hardSigmoid(xw(H + j) + hu(H + j, h)));
          const rh = h.map((v, j) => rg[j] * v);
          for (let j = 0; j < H; j++) {
            const hh = Math.tanh(xw(2 * H + j) + hu(2 * H + j, rh));
            next[j] = z[j] * h[j] + (1 - z[j]) * hh;
          }
        }
        h = next;
        out.push(h);
      }
      seq = out;
    }
    const last = seq[T - 1];
    const o = 1 / (1 + Math.exp(-(last.reduce((s, v, j) => s + v * p[off + j], 0) + p[off + H])));
    pred.push(o);
    loss += -(y[r] * Math.log(o) + (1 - y[r]) * Math.log(1 - o));
  }
  return { pred, loss: loss / y.length };
}

for (const family of ["lstm", "gru"] as const) {
  for (const layers of [1, 2]) {
    Deno.test(`fused ${family} x${layers}: forward and gradients match a float64 reference`, async () => {
      const m = model(family, layers);
      const { x, y } = rows(ROWS, 1);
      const d = description(family, layers);
      const layout = fusedRnnLayout(d);
      assertEquals(layout.params, m.countParams());
      const p64 = weights(layout.params, layers);
      const args: FusedRnnArgs = {
        model: m,
        loss: () => tf.scalar(0),
        lossConfig: BCE,
        description: d,
        train: TRAIN,
        seed: 1,
        x,
        y,
        xVal: x,
        yVal: y,
        sgemm: "wasm",
        threads: 1,
      };
      const run = await startFusedRnn(args);
      try {
        run.upload(new Float32Array(p64));
        const p32 = Float64Array.from(new Float32Array(p64));
        run.gather(x.data, y, null, 0, ROWS);
        const pred = run.forward(ROWS);
        const loss = run.lossSum(ROWS, true) / ROWS;
        run.backward(ROWS);
        const ref = reference(family, layers, p32, x.data, y);
        const maxPred = Math.max(...ref.pred);
        ref.pred.forEach((v, i) => {
          assert(Math.abs(pred[i] - v) <= 2e-5 * maxPred, `prediction ${i}: ${pred[i]} vs ${v}`);
        });
        assert(Math.abs(loss - ref.loss) <= 2e-5 * ref.loss, `loss ${loss} vs ${ref.loss}`);
        const step = 1e-6;
        const numeric = Array.from(p32, (_, i) => {
          const up = Float64Array.from(p32), down = Float64Array.from(p32);
          up[i] += step;
          down[i] -= step;
          return (reference(family, layers, up, x.data, y).loss -
            reference(family, layers, down, x.data, y).loss) / (2 * step);
        });
        const scale = Math.max(...numeric.map(Math.abs));
        assert(scale > 1e-3, `gradients vanish: ${scale}`);
        const bad = numeric.flatMap((v, i) =>
          Math.abs(run.g[i] - v) <= 2e-5 * scale ? [] : [`${i}: ${run.g[i]} vs ${v}`]
        );
        assertEquals(bad, [], `gradient entries off (largest ${scale})`);
      } finally {
        run.destroy();
        m.dispose();
      }
    });
  }
}

/** Trains a fresh copy of `init`'s weights; returns the history's losses and the final weights. */
async function trained(
  family: "lstm" | "gru",
  init: tf.Tensor[],
  options: Partial<FusedRnnArgs>,
): Promise<{ losses: number[]; weights: number[][] }> {
  const m = model(family, 2);
  m.setWeights(init);
  const { x, y } = rows(23, 2);
  const val = rows(7, 3);
  const result = await trainFusedRnn({
    model: m,
    loss: () => tf.scalar(0),
    lossConfig: BCE,
    description: description(family, 2),
    train: { ...TRAIN, epochs: 3, batch_size: 8 },
    seed: 7,
    x,
    y,
    xVal: val.x,
    yVal: val.y,
    sgemm: "wasm",
    ...options,
  });
  const weights = m.getWeights().map((w) => Array.from(w.dataSync()));
  m.dispose();
  return { losses: result.history.flatMap((h) => [h.loss, h.valLoss]), weights };
}

for (const family of ["lstm", "gru"] as const) {
  Deno.test(`fused ${family}: the same seed gives the same numbers, on 1 thread or 2`, async () => {
    const m = model(family, 2);
    const init = m.getWeights().map((w) => w.clone());
    m.dispose();
    const a = await trained(family, init, { threads: 1 });
    const b = await trained(family, init, { threads: 1 });
    const c = await trained(family, init, { threads: 2 });
    tf.dispose(init);
    assertEquals(a.losses.length, 6);
    assertEquals(b, a);
    assertEquals(c, a);
  });
}

Deno.test("the fused recurrent engine refuses conv-lstm, transformer and dropout clearly", async () => {
  const d = description("lstm", 1);
  for (const family of ["conv-lstm", "transformer"]) {
    const why = fusedRnnUnsupported({ ...d, sequence: { ...d.sequence!, family } });
    assert(why?.includes(`"${family}"`) && why.includes("train.engine: tfjs"), why ?? "");
  }
  const dropout = fusedRnnUnsupported({ ...d, dropout: 0.2 });
  assert(dropout?.includes("dropout 0.2") && dropout.includes("model.dropout: 0"), dropout ?? "");
  assert(fusedRnnUnsupported({ ...d, sequence: undefined })?.includes("not a sequence model"));
  const m = model("lstm", 1);
  const { x, y } = rows(4, 0);
  await assertRejects(
    () =>
      trainFusedRnn({
        model: m,
        loss: () => tf.scalar(0),
        lossConfig: BCE,
        description: { ...d, dropout: 0.2 },
        train: TRAIN,
        seed: 1,
        x,
        y,
        xVal: x,
        yVal: y,
      }),
    Error,
    "dropout 0.2",
  );
  // A model whose weights are not the description's (a GRU described as an LSTM).
  const gru = model("gru", 1);
  await assertRejects(
    () =>
      trainFusedRnn({
        model: gru,
        loss: () => tf.scalar(0),
        lossConfig: BCE,
        description: d,
        train: TRAIN,
        seed: 1,
        x,
        y,
        xVal: x,
        yVal: y,
      }),
    RangeError,
    "does not match its description",
  );
  m.dispose();
  gru.dispose();
});
