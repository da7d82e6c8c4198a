/**
 * The conformance suite every model family passes (one function, run for each
 * family by `models_registry_test.ts`, and for the sequence families with a
 * window shape by `models_sequence_test.ts`): it builds, has the right output
 * shape and range, its parameter count equals `describeModel`, the same seed
 * gives the same weights, and one training step gives a finite loss and moves
 * the weights. {@linkcode familyTrainingConformance} trains a family from a
 * YAML model block through the shared epoch loop (`trainModel`) with each
 * label and loss, and checks the loop's policy holds for it: deterministic
 * history and weights, the best epoch's weights restored, patience stopping and
 * the learning-rate plateau.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parse as parseYaml } from "yaml";
import { type Matrix, Prng } from "@alfred/core";
import { type EpochLog, trainModel, type TrainResult } from "@alfred/engines";
import {
  LabelConfig,
  LossConfig,
  ModelConfig,
  type ModelFamily,
  TrainConfig,
} from "../src/config/schema.ts";
import type { SequenceShape } from "../src/features/sequence.ts";
import { buildModel, describeModel } from "../src/models/registry.ts";
import { makeLoss } from "../src/models/losses.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";

const MLP_INPUTS = 7;
const ROWS = 16;

function weightsOf(net: tf.LayersModel): Float32Array[] {
  return net.getWeights().map((w) => w.dataSync() as Float32Array);
}

/**
 * Registers the conformance tests for one family.
 *
 * @param family the family under test
 * @param overrides small size/layers (and optionally dropout/normalization) so the suite stays quick
 * @param sequence the window's shape, for a sequence family (its input is `length × fields`)
 */
export function familyConformance(
  family: ModelFamily,
  overrides: Partial<ModelConfig> = { size: 8, layers: 3 },
  sequence?: SequenceShape,
): void {
  const model = ModelConfig.parse({ family, ...overrides });
  const tag = `${family} ${JSON.stringify(overrides)}${
    sequence ? ` window ${sequence.length}x${sequence.fields.length}` : ""
  }`;
  const INPUTS = sequence ? sequence.length * sequence.fields.length : MLP_INPUTS;
  const labels: LabelConfig[] = [
    LabelConfig.parse({ mode: "direction" }),
    LabelConfig.parse({ mode: "magnitude" }),
  ];

  Deno.test(`conformance ${tag}: builds with the described shape, count and output range`, () => {
    for (const label of labels) {
      const d = describeModel(model, INPUTS, { label, sequence });
      const net = buildModel(model, INPUTS, label, 3, sequence);
      assertEquals(net.countParams(), d.parameters, `${tag} ${label.mode}: countParams`);
      assertEquals(
        net.trainableWeights.reduce((s, w) => s + w.shape.reduce((a, b) => a! * b!, 1)!, 0),
        d.trainableParameters,
      );
      assertEquals(net.inputs[0].shape, [null, INPUTS]);
      const x = tf.randomNormal([ROWS, INPUTS], 0, 1, "float32", 11);
      const y = net.predict(x) as tf.Tensor;
      assertEquals(y.shape, [ROWS, 1]);
      const out = y.dataSync();
      assert(out.every(Number.isFinite), `${tag}: non-finite output`);
      if (d.output === "sigmoid") {
        assert(out.every((v) => v > 0 && v < 1), `${tag}: sigmoid output outside (0, 1)`);
      } else if (d.output === "tanh") {
        assert(out.every((v) => v > -1 && v < 1), `${tag}: tanh output outside (-1, 1)`);
      }
      const expected = label.mode === "direction"
        ? "sigmoid"
        : family.endsWith(".tanh")
        ? "tanh"
        : "linear";
      assertEquals(d.output, expected);
      const lastLayer = net.layers[net.layers.length - 1];
      assertEquals(
        (lastLayer.getConfig() as { activation: string }).activation,
        expected,
      );
      tf.dispose([x, y]);
      net.dispose();
    }
  });

  Deno.test(`conformance ${tag}: the same seed gives identical weights, another seed does not`, () => {
    const label = labels[0];
    const a = buildModel(model, INPUTS, label, 5, sequence);
    const b = buildModel(model, INPUTS, label, 5, sequence);
    const c = buildModel(model, INPUTS, label, 6, sequence);
    const wa = weightsOf(a);
    const wb = weightsOf(b);
    const wc = weightsOf(c);
    assertEquals(wa.length, wb.length);
    wa.forEach((w, i) => assertEquals(Array.from(w), Array.from(wb[i]), `weight ${i}`));
    // Every kernel (recurrent and attention kernels included) differs under another seed.
    let kernels = 0;
    let kernelsDiffer = 0;
    a.weights.forEach((w, i) => {
      if (!w.originalName.endsWith("kernel")) return;
      kernels++;
      if (Array.from(wa[i]).some((v, j) => v !== wc[i][j])) kernelsDiffer++;
    });
    assertEquals(kernelsDiffer, kernels);
    if (!sequence) assertEquals(kernels, describeModel(model, INPUTS).widths.length + 1);
    [a, b, c].forEach((n) => n.dispose());
  });

  Deno.test(`conformance ${tag}: one training step is finite, deterministic and moves the weights`, () => {
    for (const label of labels) {
      const run = () => {
        const net = buildModel(model, INPUTS, label, 9, sequence);
        const before = weightsOf(net);
        const loss = makeLoss(
          LossConfig.parse({ name: label.mode === "direction" ? "bce" : "mse-sign" }),
        );
        const x = tf.randomNormal([ROWS, INPUTS], 0, 1, "float32", 1);
        const yRaw = tf.randomNormal([ROWS, 1], 0, 0.2, "float32", 2);
        const y = label.mode === "direction" ? tf.cast(tf.greater(yRaw, 0), "float32") : yRaw;
        const opt = tf.train.adam(0.01);
        const value = opt.minimize(
          () => loss(y, net.apply(x, { training: true }) as tf.Tensor),
          true,
        )!;
        const lossValue = value.dataSync()[0];
        const after = weightsOf(net);
        tf.dispose([x, yRaw, y, value]);
        opt.dispose();
        net.dispose();
        return { lossValue, before, after };
      };
      const r1 = run();
      const r2 = run();
      assert(Number.isFinite(r1.lossValue), `${tag} ${label.mode}: loss ${r1.lossValue}`);
      assert(r1.after.every((w) => w.every(Number.isFinite)), `${tag}: NaN weight after a step`);
      assert(
        r1.after.some((w, i) => w.some((v, j) => v !== r1.before[i][j])),
        `${tag}: a step changed nothing`,
      );
      assertEquals(r1.lossValue, r2.lossValue, `${tag} ${label.mode}: loss is not deterministic`);
      r1.after.forEach((w, i) => assertEquals(Array.from(w), Array.from(r2.after[i])));
    }
  });
}

/** Rows whose label follows the window (the mean of field 0 over the last steps), or noise. */
function windowData(
  rows: number,
  sequence: SequenceShape,
  seed: number,
  mode: "direction" | "magnitude" | "noise",
): { x: Matrix; y: Float32Array } {
  const rng = new Prng(seed);
  const fields = sequence.fields.length;
  const cols = sequence.length * fields;
  const data = new Float32Array(rows * cols);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[r * cols + c] = 2 * rng.next() - 1;
    let signal = 0;
    for (let t = sequence.length - 3; t < sequence.length; t++) {
      signal += data[r * cols + t * fields];
    }
    signal /= 3;
    y[r] = mode === "direction"
      ? (signal > 0 ? 1 : 0)
      : mode === "magnitude"
      ? 0.1 * signal
      : 0.1 * (rng.next() - 0.5);
  }
  return { x: { data, rows, cols }, y };
}

const withoutSeconds = (h: EpochLog[]) => h.map(({ seconds: _s, ...rest }) => rest);

/**
 * Registers the training conformance tests of a family described by a YAML `model:` block:
 * trained through the shared epoch loop (`trainModel`) with a direction label (bce) and a
 * magnitude label (mse, huber), it gives finite, deterministic histories and weights, its
 * restored weights are the best epoch's (their validation loss is `bestValLoss`), and on labels
 * it cannot learn it lowers the learning rate on a plateau and stops by patience.
 *
 * @param yamlModel the `model:` block as YAML, e.g. `family: lstm\nsize: 4`
 * @param sequence the window's shape (for a sequence family)
 */
export function familyTrainingConformance(yamlModel: string, sequence: SequenceShape): void {
  const model = ModelConfig.parse(parseYaml(yamlModel));
  const tag = `${model.family} ${JSON.stringify(parseYaml(yamlModel))}`;
  const inputs = sequence.length * sequence.fields.length;
  const cases = [
    { label: "direction", loss: "bce" },
    { label: "magnitude", loss: "mse" },
    { label: "magnitude", loss: "huber" },
  ] as const;

  const fit = async (
    labelMode: "direction" | "magnitude",
    lossName: "bce" | "mse" | "huber",
    data: "signal" | "noise",
    trainYaml: string,
  ): Promise<{ result: TrainResult; weights: number[][]; valLoss: number }> => {
    const label = LabelConfig.parse({ mode: labelMode });
    const train = TrainConfig.parse(parseYaml(trainYaml));
    const net = buildModel(model, inputs, label, 13, sequence);
    const mode = data === "noise" ? "noise" : labelMode;
    const tr = windowData(48, sequence, 1, mode);
    const val = windowData(24, sequence, 2, mode);
    if (data === "noise" && labelMode === "direction") {
      tr.y.forEach((v, i) => (tr.y[i] = v > 0 ? 1 : 0));
      val.y.forEach((v, i) => (val.y[i] = v > 0 ? 1 : 0));
    }
    const loss = makeLoss(LossConfig.parse({ name: lossName, delta: 0.05 }));
    const result = await trainModel({
      model: net,
      loss,
      train,
      seed: 3,
      x: tr.x,
      y: tr.y,
      xVal: val.x,
      yVal: val.y,
    });
    const valLoss = tf.tidy(() =>
      loss(
        tf.tensor2d(val.y, [val.y.length, 1]),
        net.predict(tf.tensor2d(val.x.data, [val.x.rows, val.x.cols])) as tf.Tensor,
      ).dataSync()[0]
    );
    const weights = net.getWeights().map((w) => Array.from(w.dataSync()));
    net.dispose();
    return { result, weights, valLoss };
  };

  for (const c of cases) {
    Deno.test(`training conformance ${tag}: ${c.label}/${c.loss} trains, deterministic, restores the best epoch`, async () => {
      const trainYaml = "epochs: 4\nbatch_size: 16\nlearning_rate: 0.01\npatience: 10";
      const a = await fit(c.label, c.loss, "signal", trainYaml);
      const b = await fit(c.label, c.loss, "signal", trainYaml);
      assertEquals(a.result.history.length, 4);
      assertEquals(a.result.stoppedBy, "epochs");
      assert(
        a.result.history.every((e) => Number.isFinite(e.loss) && Number.isFinite(e.valLoss)),
        `${tag}: non-finite loss`,
      );
      assertEquals(withoutSeconds(a.result.history), withoutSeconds(b.result.history));
      assertEquals(a.weights, b.weights, `${tag}: weights differ between identical runs`);
      const best = a.result.history[a.result.bestEpoch - 1];
      assertEquals(
        best.valLoss,
        Math.min(...a.result.history.map((e) => e.valLoss)),
        "best epoch is not the lowest validation loss",
      );
      // The model holds the best epoch's weights: its validation loss is that epoch's.
      assertAlmostEquals(a.valLoss, a.result.bestValLoss, 1e-5 * Math.max(1, a.valLoss));
    });
  }

  Deno.test(`training conformance ${tag}: on unlearnable labels the LR plateau lowers the rate and patience stops`, async () => {
    const r = await fit(
      "magnitude",
      "mse",
      "noise",
      "epochs: 40\nbatch_size: 16\nlearning_rate: 0.02\npatience: 3\nlr_patience: 1\nlr_factor: 0.5",
    );
    const h = r.result.history;
    assertEquals(r.result.stoppedBy, "patience", `${tag}: trained all ${h.length} epochs`);
    // Stopped exactly 3 epochs after the best one, none of which improved on it.
    assertEquals(h.length, r.result.bestEpoch + 3);
    assert(h.slice(r.result.bestEpoch).every((e) => e.valLoss >= r.result.bestValLoss));
    // The rate halves after each epoch without improvement (lr_patience 1).
    assert(h.some((e) => e.lr < 0.02), `${tag}: the learning rate never dropped`);
    h.forEach((e, i) => {
      if (i === 0) return assertEquals(e.lr, 0.02);
      assert(e.lr === h[i - 1].lr || e.lr === h[i - 1].lr * 0.5, `${tag}: lr ${e.lr}`);
    });
    assertAlmostEquals(r.valLoss, r.result.bestValLoss, 1e-5 * Math.max(1, r.valLoss));
  });
}
