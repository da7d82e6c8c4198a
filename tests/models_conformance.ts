/**
 * The conformance suite every model family passes (one function, run for each
 * family by `models_registry_test.ts`): it builds, has the right output shape
 * and range, its parameter count equals `describeModel`, the same seed gives
 * the same weights, and one training step gives a finite loss and moves the
 * weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { LabelConfig, LossConfig, ModelConfig, type ModelFamily } from "../src/config/schema.ts";
import { buildModel, describeModel } from "../src/models/registry.ts";
import { makeLoss } from "../src/models/losses.ts";
import { assert, assertEquals } from "./assert.ts";

const INPUTS = 7;
const ROWS = 16;

function weightsOf(net: tf.LayersModel): Float32Array[] {
  return net.getWeights().map((w) => w.dataSync() as Float32Array);
}

/**
 * Registers the conformance tests for one family.
 *
 * @param family the family under test
 * @param overrides small size/layers (and optionally dropout/normalization) so the suite stays quick
 */
export function familyConformance(
  family: ModelFamily,
  overrides: Partial<ModelConfig> = { size: 8, layers: 3 },
): void {
  const model = ModelConfig.parse({ family, ...overrides });
  const tag = `${family} ${JSON.stringify(overrides)}`;
  const labels: LabelConfig[] = [
    LabelConfig.parse({ mode: "direction" }),
    LabelConfig.parse({ mode: "magnitude" }),
  ];

  Deno.test(`conformance ${tag}: builds with the described shape, count and output range`, () => {
    for (const label of labels) {
      const d = describeModel(model, INPUTS, { label });
      const net = buildModel(model, INPUTS, label, 3);
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
    const a = buildModel(model, INPUTS, label, 5);
    const b = buildModel(model, INPUTS, label, 5);
    const c = buildModel(model, INPUTS, label, 6);
    const wa = weightsOf(a);
    const wb = weightsOf(b);
    const wc = weightsOf(c);
    assertEquals(wa.length, wb.length);
    wa.forEach((w, i) => assertEquals(Array.from(w), Array.from(wb[i]), `weight ${i}`));
    // Every kernel differs under another seed.
    let kernelsDiffer = 0;
    a.weights.forEach((w, i) => {
      if (w.originalName.endsWith("kernel") && Array.from(wa[i]).some((v, j) => v !== wc[i][j])) {
        kernelsDiffer++;
      }
    });
    assertEquals(kernelsDiffer, describeModel(model, INPUTS).widths.length + 1);
    [a, b, c].forEach((n) => n.dispose());
  });

  Deno.test(`conformance ${tag}: one training step is finite, deterministic and moves the weights`, () => {
    for (const label of labels) {
      const run = () => {
        const net = buildModel(model, INPUTS, label, 9);
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
