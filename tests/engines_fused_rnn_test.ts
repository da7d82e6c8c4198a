/**
 * The fused CPU recurrent engine (`trainFusedRnn`) on the runner's own `lstm` and `gru` models
 * (`buildModel` with a window shape) against the tfjs trainer on the cpu backend, with its wasm
 * sgemm (needs nothing) and with OpenBLAS (`tests/requirements.ts`); its checkpoints and resume;
 * `train.engine: fused` through the whole pipeline on a tiny GRU experiment; the refusals of the
 * families it does not train. Its gradients against central differences of a float64 forward
 * are `packages/engines/src/fused_rnn_test.ts`.
 *
 * Tolerances. One full-batch SGD step (lr 0.1) from the same weights: epoch 1's training loss is
 * one forward pass at the initial weights, its validation loss one after the step. Both engines
 * compute in float32 and differ only in summation order and in where they round (the fused engine
 * sums a gate's three terms in float64 and rounds once): over 7 steps of products of length at most
 * 6 + 6 and the loss's mean over 40 rows, each side is within a few hundred u (u = 2⁻²⁴ ≈ 6·10⁻⁸)
 * of the exact loss, so 1e-5 relative is a wide margin that a wrong gate, order or bias still
 * misses by orders of magnitude. The step moves each weight by lr·g; the gradients agree within
 * ~1e-6 of their scale, so the weights within 1e-5. Adam over mini-batches is compared per epoch
 * as the MLP conformance suite compares it (2e-5 relative): the hard sigmoid's kinks and Adam's
 * sign-like first steps could turn rounding into visible drift over many epochs; three epochs
 * stay within it.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { memoryCheckpointer } from "./train_helpers.ts";
import { LabelConfig, LossConfig, ModelConfig, TrainConfig } from "../src/config/schema.ts";
import { buildModel, describeModel } from "../src/models/registry.ts";
import { makeLoss } from "../src/models/losses.ts";
import type { SequenceShape } from "../src/features/sequence.ts";
import { type FusedRnnArgs, trainFusedRnn, trainModel, type TrainResult } from "@alfred/engines";
import { checkEngine, fusedRefusal, trainWithEngine } from "../src/train/engine.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import { quietRun, tinySynthYaml } from "./pipeline_helpers.ts";
import { type Requirement, withNeeds } from "./requirements.ts";

const SHAPE: SequenceShape = { length: 7, fields: ["a", "b", "c"] };
const COLS = 21;
const LOSS_RTOL = 1e-5;
const ADAM_RTOL = 2e-5;
const WEIGHT_TOL = 1e-5;
const SGEMMS: { sgemm: "wasm" | "blas"; needs: Requirement[] }[] = [
  { sgemm: "wasm", needs: [] },
  { sgemm: "blas", needs: ["openblas"] },
];

function data(rows: number, salt: number) {
  const x = new Float32Array(rows * COLS).map((_, i) => Math.sin(i * 0.71 + salt) * 1.3);
  const y = new Float32Array(rows).map((_, i) => (Math.sin(i * 2.3 + salt) > 0 ? 1 : 0));
  return { x: { data: x, rows, cols: COLS }, y };
}

const close = (a: number, b: number, rtol: number) =>
  Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b)) + 1e-7;

async function trainBoth(
  family: "lstm" | "gru",
  sgemm: "wasm" | "blas",
  train: TrainConfig,
  layers: number,
) {
  await tf.setBackend("cpu");
  const label = LabelConfig.parse({ mode: "direction" });
  const cfg = ModelConfig.parse({ family, size: 6, layers });
  const description = describeModel(cfg, COLS, { label, sequence: SHAPE });
  const lossConfig = LossConfig.parse({ name: "bce" });
  const t = data(40, 1), v = data(17, 2);
  const run = async (fused: boolean) => {
    const model = buildModel(cfg, COLS, label, 9, SHAPE);
    const args = {
      model,
      loss: makeLoss(lossConfig),
      train,
      seed: 3,
      ...t,
      xVal: v.x,
      yVal: v.y,
    };
    const r: TrainResult = fused
      ? await trainFusedRnn({ ...args, description, lossConfig, sgemm })
      : await trainModel(args);
    const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    return { r, weights };
  };
  return { tfjs: await run(false), fused: await run(true) };
}

for (const family of ["lstm", "gru"] as const) {
  for (const { sgemm, needs } of SGEMMS) {
    Deno.test(withNeeds(needs, {
      name:
        `fused ${family} (${sgemm} sgemm): one SGD step's losses and weights within float32 rounding of tfjs's`,
      fn: async () => {
        const train = TrainConfig.parse({
          epochs: 1,
          batch_size: 64,
          learning_rate: 0.1,
          optimizer: "sgd",
        });
        const { tfjs, fused } = await trainBoth(family, sgemm, train, 2);
        const [a] = tfjs.r.history, [b] = fused.r.history;
        assert(close(b.loss, a.loss, LOSS_RTOL), `loss ${b.loss} vs ${a.loss}`);
        assert(close(b.valLoss, a.valLoss, LOSS_RTOL), `valLoss ${b.valLoss} vs ${a.valLoss}`);
        assert(
          fused.r.engine?.includes(`fused CPU ${family.toUpperCase()} engine`),
          fused.r.engine,
        );
        const moved = tfjs.weights.flat().some((w, i) =>
          Math.abs(w - buildWeights(family)[i]) > 100 * WEIGHT_TOL
        );
        assert(moved, "the step moved no weight past the tolerance");
        const off = fused.weights.flatMap((w, k) =>
          w.flatMap((v, i) => Math.abs(v - tfjs.weights[k][i]) <= WEIGHT_TOL ? [] : [`${k}[${i}]`])
        );
        assertEquals(off, [], "weights off after one step");
      },
    }));
  }

  Deno.test(`fused ${family}: three epochs of mini-batch Adam follow tfjs's losses`, async () => {
    const train = TrainConfig.parse({
      epochs: 3,
      batch_size: 16,
      learning_rate: 0.01,
      patience: 10,
    });
    const { tfjs, fused } = await trainBoth(family, "wasm", train, 1);
    assertEquals(fused.r.history.length, 3);
    tfjs.r.history.forEach((a, i) => {
      const b = fused.r.history[i];
      assert(close(b.loss, a.loss, ADAM_RTOL), `epoch ${i + 1} loss ${b.loss} vs ${a.loss}`);
      assert(
        close(b.valLoss, a.valLoss, ADAM_RTOL),
        `epoch ${i + 1} valLoss ${b.valLoss} vs ${a.valLoss}`,
      );
    });
  });
}

/** The runner's initial weights of the SGD comparison's model, flattened. */
function buildWeights(family: "lstm" | "gru"): number[] {
  const label = LabelConfig.parse({ mode: "direction" });
  const cfg = ModelConfig.parse({ family, size: 6, layers: 2 });
  const model = buildModel(cfg, COLS, label, 9, SHAPE);
  const w = model.getWeights().flatMap((t) => Array.from(t.dataSync()));
  model.dispose();
  return w;
}

Deno.test("fused gru: an interrupted run resumes from its checkpoint exactly (Adam, plateau)", async () => {
  const label = LabelConfig.parse({ mode: "direction" });
  const cfg = ModelConfig.parse({ family: "gru", size: 5, layers: 2 });
  const description = describeModel(cfg, COLS, { label, sequence: SHAPE });
  const lossConfig = LossConfig.parse({ name: "bce" });
  const t = data(45, 4), v = data(21, 5);
  const train = TrainConfig.parse({
    epochs: 8,
    batch_size: 16,
    learning_rate: 0.05,
    patience: 20,
    lr_patience: 1,
  });
  const go = async (extra: Partial<FusedRnnArgs>) => {
    const model = buildModel(cfg, COLS, label, 5, SHAPE);
    const r = await trainFusedRnn({
      model,
      loss: makeLoss(lossConfig),
      lossConfig,
      description,
      train,
      seed: 3,
      ...t,
      xVal: v.x,
      yVal: v.y,
      sgemm: "wasm",
      ...extra,
    });
    const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    return { r, weights };
  };
  const strip = (h: TrainResult["history"]) => h.map(({ seconds: _s, ...rest }) => rest);
  const full = await go({});
  assert(full.r.history.some((h) => h.lr < 0.05), "the plateau lowered the learning rate");
  const ckpt = memoryCheckpointer();
  const ctrl = new AbortController();
  const first = await go({
    checkpoint: ckpt,
    signal: ctrl.signal,
    onEpoch: (h) => h.epoch === 4 && ctrl.abort(),
  });
  assertEquals(first.r.stoppedBy, "interrupted");
  assertEquals(ckpt.saved!.epoch, 4);
  assertEquals(ckpt.saved!.run.engine, "fused");
  const resumed = await go({ checkpoint: ckpt });
  assertEquals(strip(resumed.r.history), strip(full.r.history));
  assertEquals(resumed.r.bestEpoch, full.r.bestEpoch);
  assertEquals(resumed.weights, full.weights, "resumed weights differ");
});

Deno.test("train.engine fused refuses conv-lstm and transformer, and lstm on webgpu", async () => {
  for (const family of ["conv-lstm", "transformer"]) {
    const why = fusedRefusal(family)!;
    assert(why.includes(`"${family}"`) && why.includes("train.engine: tfjs"), why);
  }
  assertEquals(fusedRefusal("lstm"), null);
  assertEquals(fusedRefusal("gru"), null);
  assertEquals(fusedRefusal("vanilla.small"), null);
  const yaml = tinySynthYaml("fused-lstm-gpu", {
    model: "{ family: lstm, size: 4 }",
    rest: "train: { epochs: 1, backend: webgpu, engine: fused }\n",
  }).replace("label:", "  sequence: { source: daily, length: 5, fields: [close] }\nlabel:");
  const [e] = await parseExperimentText(yaml, "fused-lstm-gpu.yaml");
  await assertRejects(() => checkEngine(e, "webgpu"), Error, `backend "cpu-blas"`);
  await checkEngine(e, "wasm");
  const t = data(4, 0);
  await assertRejects(
    () =>
      trainWithEngine({ ...e, model: { ...e.model, family: "transformer" } }, "wasm", {
        model: tf.sequential(),
        loss: makeLoss(e.loss),
        train: e.train,
        seed: 1,
        ...t,
        xVal: t.x,
        yVal: t.y,
      }),
    Error,
    "attention is not fused",
  );
});

Deno.test(
  "train.engine fused trains a GRU experiment end to end on wasm, each epoch within float32 rounding of the tfjs engine's",
  async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-fused-rnn-" });
    try {
      // Full-batch SGD, three epochs: each epoch's losses are forward passes at weights one SGD
      // step apart on both engines (see the module doc for the tolerance).
      const yaml = tinySynthYaml("fused-gru", {
        model: "{ family: gru, size: 6 }",
        rest:
          "train: { epochs: 3, backend: wasm, optimizer: sgd, learning_rate: 0.1, batch_size: 4096 }\n",
      }).replace(
        "label:",
        "  sequence: { source: daily, length: 8, fields: [close, return] }\nlabel:",
      );
      const [e] = await parseExperimentText(yaml, "fused-gru.yaml");
      const tfjs = await runExperiment(e, quietRun(root));
      const fused = await runExperiment(
        { ...e, train: { ...e.train, engine: "fused" } },
        quietRun(root),
      );
      const device = fused.record.environment.device;
      assert(device.includes("fused CPU GRU engine"), device);
      assert(device.includes("wasm SIMD sgemm"), device);
      const a = tfjs.record.training!.history, b = fused.record.training!.history;
      assertEquals([a.length, b.length], [3, 3]);
      a.forEach((h, i) => {
        assert(
          close(b[i].loss, h.loss, LOSS_RTOL),
          `epoch ${i + 1} loss ${b[i].loss} vs ${h.loss}`,
        );
        assert(
          close(b[i].valLoss, h.valLoss, LOSS_RTOL),
          `epoch ${i + 1} valLoss ${b[i].valLoss} vs ${h.valLoss}`,
        );
      });
      assert(
        Math.abs(a[2].loss - a[0].loss) > 100 * LOSS_RTOL * a[0].loss,
        "training barely moved",
      );
      // The trained weights went back into the model: its evaluation and store entry are the run's.
      assert(tfjs.record.metrics && fused.record.metrics, "both runs evaluated their models");
      assert(fused.record.model?.modelHash, "the fused run stored its model");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
