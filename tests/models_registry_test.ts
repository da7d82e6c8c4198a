import * as tf from "@tensorflow/tfjs";
import { LabelConfig, ModelConfig, ModelFamily } from "../src/config/schema.ts";
import {
  availableMemory,
  buildModel,
  checkFits,
  describeModel,
  FAMILIES,
  familySpec,
} from "../src/models/registry.ts";
import { SeededDropout } from "../src/models/dropout.ts";
import { isSequenceFamily } from "../src/models/sequence.ts";
import { familyConformance } from "./models_conformance.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

await tf.setBackend("cpu");

// The conformance suite, for every MLP family the schema allows (the sequence families need a
// window: models_sequence_test.ts runs them through the same suite).
for (const family of ModelFamily.options.filter((f) => !isSequenceFamily(f))) {
  familyConformance(family, family.includes("compression") ? { size: 16 } : { size: 8, layers: 3 });
}
// Overrides of normalization and dropout go through the same suite.
familyConformance("vanilla.small", { size: 8, layers: 2, normalization: "layer", dropout: 0.3 });
familyConformance("vanilla.deep.norm.tanh", { size: 6, layers: 4, activation: "tanh" });
familyConformance("vanilla.medium", {
  size: 8,
  layers: 2,
  normalization: "batch",
  activation: "elu",
});

const direction = LabelConfig.parse({ mode: "direction" });

Deno.test("every schema family is in the registry and nothing else is", () => {
  assertEquals(Object.keys(FAMILIES).sort(), [...ModelFamily.options].sort());
  assertThrows(() => familySpec("vanilla.huge"), RangeError, 'Unknown model family "vanilla.huge"');
});

Deno.test("family defaults match the notes", () => {
  const d = (family: ModelFamily) => describeModel(ModelConfig.parse({ family }), 60);
  assertEquals([d("vanilla.small").size, d("vanilla.small").layers], [256, 10]);
  assertEquals([d("vanilla.medium").size, d("vanilla.medium").layers], [1024, 10]);
  assertEquals([d("vanilla.large").size, d("vanilla.large").layers], [1024, 100]);
  assertEquals(d("vanilla.compression").widths, [2048, 1024, 512]);
  assertEquals(d("vanilla.deep.norm").normalization, "batch");
  assertEquals(d("vanilla.deep.norm").layers, 20);
  assertEquals(d("vanilla.small.tanh").output, "tanh");
  assertEquals(d("vanilla.small").output, "sigmoid");
  // Overrides win over the family.
  const o = describeModel(
    ModelConfig.parse({ family: "vanilla.deep.norm", size: 32, layers: 4, normalization: "none" }),
    60,
  );
  assertEquals([o.size, o.layers, o.normalization], [32, 4, "none"]);
  assertEquals(
    describeModel(ModelConfig.parse({ family: "vanilla.compression", size: 64, layers: 5 }), 3)
      .widths,
    [64, 32, 16, 8, 4],
  );
});

Deno.test("the parameter count reproduces the notes' formula and numbers", () => {
  // Notes: (256**2 * 9) + 256 * 10 = 592,384 and (1024**2 * 99) + 1024 * 100 = 103,911,424.
  const small = describeModel(ModelConfig.parse({ family: "vanilla.small" }), 60);
  assertEquals(small.parameters, 592_384 + 60 * 256 + 257);
  const large = describeModel(ModelConfig.parse({ family: "vanilla.large" }), 60);
  assertEquals(large.parameters, 103_911_424 + 60 * 1024 + 1025);
  // Batch norm adds gamma, beta and the two moving statistics per unit.
  const deep = describeModel(
    ModelConfig.parse({ family: "vanilla.deep.norm", size: 8, layers: 2 }),
    5,
  );
  assertEquals(deep.parameters, 8 * 8 + 2 * 8 + 5 * 8 + 9 + 4 * 16);
  assertEquals(deep.trainableParameters, deep.parameters - 2 * 16);
});

Deno.test("describeModel matches countParams() on the notes' full-size small and medium models", () => {
  for (const family of ["vanilla.small", "vanilla.medium", "vanilla.compression"] as const) {
    const m = ModelConfig.parse({ family });
    const net = buildModel(m, 60, direction, 1);
    assertEquals(net.countParams(), describeModel(m, 60).parameters, family);
    net.dispose();
  }
});

Deno.test("the memory estimate adds up and checkFits refuses with the numbers", () => {
  const d = describeModel(ModelConfig.parse({ family: "vanilla.large" }), 60, { batchSize: 64 });
  const m = d.memory;
  assertEquals(
    d.bytes,
    Math.ceil(m.weights + m.optimizer + m.gradients + m.activations + m.workspace),
  );
  assertEquals(m.weights, 4 * d.parameters);
  assertEquals(m.optimizer, 8 * d.trainableParameters);
  assert(d.bytes > 1.6e9 && d.bytes < 1.8e9, `vanilla.large estimate ${d.bytes}`);
  checkFits(d, 8 * 1024 ** 3);
  const e = assertThrows(
    () => checkFits(d, 1024 ** 3),
    RangeError,
    'Model "vanilla.large" does not fit',
  );
  assert(e.message.includes("103,973,889 parameters"), e.message);
  assert(e.message.includes("1.00 GiB is available"), e.message);
  const huge = describeModel(ModelConfig.parse({ family: "vanilla.medium", size: 20000 }), 60);
  assertThrows(() => checkFits(huge, 64 * 1024 ** 3, { backend: "wasm" }), RangeError, "wasm");
  const avail = availableMemory();
  assert(avail.bytes > 0 && avail.source.length > 0);
});

Deno.test("SeededDropout draws a fresh, reproducible mask each training step", () => {
  const layer = () => new SeededDropout({ rate: 0.5, seed: 3 });
  const x = tf.ones([4, 32]);
  const a = layer();
  const b = layer();
  const a1 = (a.apply(x, { training: true }) as tf.Tensor).dataSync();
  const a2 = (a.apply(x, { training: true }) as tf.Tensor).dataSync();
  const b1 = (b.apply(x, { training: true }) as tf.Tensor).dataSync();
  assertEquals(Array.from(a1), Array.from(b1));
  assert(Array.from(a1).some((v, i) => v !== a2[i]), "the same mask twice");
  assert(a1.every((v) => v === 0 || v === 2));
  const inference = (a.apply(x) as tf.Tensor).dataSync();
  assert(inference.every((v) => v === 1));
  assertThrows(() => new SeededDropout({ rate: 1, seed: 1 }), RangeError, "dropout rate");
});

Deno.test("a built model survives a JSON round trip with its custom dropout layer", async () => {
  const m = ModelConfig.parse({ family: "vanilla.small", size: 4, layers: 2, dropout: 0.1 });
  const net = buildModel(m, 3, direction, 2);
  let saved: tf.io.ModelArtifacts | undefined;
  await net.save(tf.io.withSaveHandler((artifacts) => {
    saved = artifacts;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  assertEquals(loaded.countParams(), net.countParams());
  const x = tf.ones([2, 3]);
  assertEquals(
    Array.from((loaded.predict(x) as tf.Tensor).dataSync()),
    Array.from((net.predict(x) as tf.Tensor).dataSync()),
  );
});
