import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { type Matrix, Prng } from "@alfred/core";
import { type LossFn, trainModel, type TrainOptions } from "@alfred/engines";
import { Experiment, LabelConfig, ModelConfig } from "../src/config/schema.ts";
import { semanticIssues } from "../src/config/semantic.ts";
import type { SequenceShape } from "../src/features/sequence.ts";
import { buildModel, describeModel } from "../src/models/registry.ts";
import { CausalConv1D, LayerNorm, SEQUENCE_FAMILIES } from "../src/models/sequence.ts";
import { checkEngine, fusedRefusal, planTraining } from "../src/train/engine.ts";
import type { Prepared } from "../src/dataset/prepare.ts";
import { formatSequenceBench, QUICK_SEQUENCE_BENCH, sequenceBench } from "../src/cli/bench.ts";
import { fileCheckpointer } from "../src/train/checkpoint.ts";
import { familyConformance, familyTrainingConformance } from "./models_conformance.ts";
import { memoryCheckpointer } from "./train_helpers.ts";
import { makeArtifact, testHash } from "./store_contract.ts";
import { FileModelStore, fromStoredModel, toStoredModel } from "../src/store/model_store.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";

await tf.setBackend("cpu");

const WINDOW: SequenceShape = { length: 5, fields: ["close", "return"] };
const direction = LabelConfig.parse({ mode: "direction" });
const magnitude = LabelConfig.parse({ mode: "magnitude" });

// The shared suites, for every sequence family and a few of their options.
familyConformance("lstm", { size: 4, layers: 2 }, WINDOW);
familyConformance("lstm", { size: 3, dropout: 0.2 }, WINDOW);
familyConformance("gru", { size: 4, layers: 2, dropout: 0.1 }, WINDOW);
familyConformance("conv-lstm", { size: 4, conv: { filters: 3, kernel: 3, layers: 2 } }, WINDOW);
familyConformance("transformer", { size: 8, layers: 2, heads: 2, ff_size: 6 }, WINDOW);
familyConformance(
  "transformer",
  { size: 4, layers: 1, heads: 1, positions: "learned", pooling: "last", dropout: 0.1 },
  WINDOW,
);
familyTrainingConformance("family: lstm\nsize: 4", WINDOW);
familyTrainingConformance("family: gru\nsize: 4\nlayers: 2", WINDOW);
familyTrainingConformance("family: conv-lstm\nsize: 4\nconv: { filters: 3, kernel: 2 }", WINDOW);
familyTrainingConformance("family: transformer\nsize: 4\nlayers: 1\nheads: 2", WINDOW);

Deno.test("describeModel's parameters equal countParams() for every sequence family at several sizes", () => {
  const windows: SequenceShape[] = [
    WINDOW,
    { length: 60, fields: ["close", "open", "high", "low", "return"] },
    { length: 8, fields: ["a"] },
  ];
  const configs: Record<string, unknown>[] = [
    { family: "lstm" },
    { family: "lstm", size: 7, layers: 3 },
    { family: "gru" },
    { family: "gru", size: 5, layers: 2 },
    { family: "conv-lstm" },
    { family: "conv-lstm", size: 6, layers: 2, conv: { filters: 4, kernel: 1, layers: 3 } },
    { family: "transformer" },
    { family: "transformer", size: 12, layers: 3, heads: 3, ff_size: 5, positions: "learned" },
    { family: "transformer", size: 6, layers: 1, heads: 6, pooling: "last" },
  ];
  for (const sequence of windows) {
    const inputs = sequence.length * sequence.fields.length;
    for (const raw of configs) {
      const m = ModelConfig.parse(raw);
      const d = describeModel(m, inputs, { label: magnitude, sequence });
      const net = buildModel(m, inputs, magnitude, 1, sequence);
      assertEquals(net.countParams(), d.parameters, `${JSON.stringify(raw)} ${inputs} inputs`);
      assertEquals(d.trainableParameters, d.parameters);
      net.dispose();
    }
  }
});

Deno.test("the family defaults: size 64, 1 recurrent layer; transformer 2 blocks, 4 heads, ff 128", () => {
  const sequence = { length: 60, fields: ["close", "open", "high", "low", "return"] };
  const d = (raw: Record<string, unknown>) =>
    describeModel(ModelConfig.parse(raw), 300, { sequence });
  for (const family of ["lstm", "gru", "conv-lstm"]) {
    assertEquals([d({ family }).size, d({ family }).layers], [64, 1]);
  }
  assertEquals(d({ family: "conv-lstm" }).sequence?.conv, { filters: 32, kernel: 5, layers: 1 });
  const t = d({ family: "transformer" }).sequence!;
  assertEquals(
    [t.size, t.layers, t.heads, t.ffSize, t.positions, t.pooling],
    [64, 2, 4, 128, "sinusoidal", "mean"],
  );
  // The notes' formula at the bench's shapes: LSTM 4(5·64 + 64² + 64) + 65, GRU with 3 gates.
  assertEquals(d({ family: "lstm" }).parameters, 4 * (5 * 64 + 64 * 64 + 64) + 65);
  assertEquals(d({ family: "gru" }).parameters, 3 * (5 * 64 + 64 * 64 + 64) + 65);
  assertEquals(d({ family: "lstm" }).output, "sigmoid");
  assertEquals(
    describeModel(ModelConfig.parse({ family: "gru" }), 300, { sequence, label: magnitude })
      .output,
    "linear",
  );
});

Deno.test("layer names and weight layouts are the ones the fused recurrent engine mirrors", () => {
  const names = (raw: Record<string, unknown>) => {
    const net = buildModel(ModelConfig.parse(raw), 10, direction, 1, WINDOW);
    const out = {
      layers: net.layers.map((l) => l.name),
      weights: net.weights.map((w) => `${w.originalName} [${w.shape}]`),
    };
    net.dispose();
    return out;
  };
  assertEquals(names({ family: "lstm", size: 3, layers: 2, dropout: 0.1 }), {
    layers: ["window", "lstm_0", "drop_0", "lstm_1", "drop_1", "output"],
    weights: [
      "lstm_0/kernel [2,12]",
      "lstm_0/recurrent_kernel [3,12]",
      "lstm_0/bias [12]",
      "lstm_1/kernel [3,12]",
      "lstm_1/recurrent_kernel [3,12]",
      "lstm_1/bias [12]",
      "output/kernel [3,1]",
      "output/bias [1]",
    ],
  });
  assertEquals(names({ family: "gru", size: 3 }), {
    layers: ["window", "gru_0", "output"],
    weights: [
      "gru_0/kernel [2,9]",
      "gru_0/recurrent_kernel [3,9]",
      "gru_0/bias [9]",
      "output/kernel [3,1]",
      "output/bias [1]",
    ],
  });
  assertEquals(
    names({ family: "conv-lstm", size: 3, conv: { filters: 4, kernel: 3 } }).layers,
    ["window", "conv_0", "lstm_0", "output"],
  );
  const t = names({ family: "transformer", size: 4, layers: 1, heads: 2, dropout: 0.1 }).layers;
  assertEquals(t, [
    "row",
    "window",
    "project",
    "positions",
    "attention_0",
    "drop_0_attention",
    "add_0_attention",
    "norm_0_attention",
    "ff_0_1",
    "ff_0_2",
    "drop_0_ff",
    "add_0_ff",
    "norm_0_ff",
    "pool",
    "output",
  ]);
  // The LSTM's forget-gate bias starts at one (unitForgetBias), the others at zero.
  const net = buildModel(ModelConfig.parse({ family: "lstm", size: 2 }), 10, direction, 1, WINDOW);
  assertEquals(Array.from(net.getWeights()[2].dataSync()), [0, 0, 1, 1, 0, 0, 0, 0]);
  net.dispose();
});

Deno.test("the window reshape is time-major: column t * fields + f is field f at step t", () => {
  const net = buildModel(ModelConfig.parse({ family: "lstm", size: 2 }), 10, direction, 1, WINDOW);
  const window = net.getLayer("window");
  const x = tf.tensor2d([Array.from({ length: 10 }, (_, i) => i)]);
  const y = window.apply(x) as tf.Tensor;
  assertEquals(y.arraySync(), [[[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]]);
  tf.dispose([x, y]);
  net.dispose();
});

Deno.test("the conv stack is causal: a step's output never depends on a later step", () => {
  const m = ModelConfig.parse({
    family: "conv-lstm",
    size: 2,
    conv: { filters: 3, kernel: 3, layers: 2 },
  });
  const net = buildModel(m, 10, direction, 1, WINDOW);
  const convOut = tf.model({ inputs: net.inputs, outputs: net.getLayer("conv_1").output });
  const base = Array.from({ length: 10 }, (_, i) => Math.sin(i));
  const changed = [...base];
  changed[8] += 5; // field 0 of the last step (t = 4)
  const a = (convOut.predict(tf.tensor2d([base])) as tf.Tensor).arraySync() as number[][][];
  const b = (convOut.predict(tf.tensor2d([changed])) as tf.Tensor).arraySync() as number[][][];
  assertEquals(a[0].length, 5);
  assertEquals(a[0].slice(0, 4), b[0].slice(0, 4));
  assertNotEquals(a[0][4], b[0][4], "the last step ignores its input");
  net.dispose();
});

Deno.test("a sequence family without a window shape, or with the wrong width, is a RangeError", () => {
  for (const family of SEQUENCE_FAMILIES) {
    const m = ModelConfig.parse({ family });
    assertThrows(() => buildModel(m, 10, direction, 1), RangeError, "set features.sequence");
    assertThrows(() => describeModel(m, 10), RangeError, `"${family}" reads a window`);
    assertThrows(
      () => describeModel(m, 11, { sequence: WINDOW }),
      RangeError,
      'expects 5 steps x 2 fields = 10 inputs, got "11"',
    );
  }
  assertThrows(
    () =>
      describeModel(ModelConfig.parse({ family: "transformer", size: 6 }), 10, {
        sequence: WINDOW,
      }),
    RangeError,
    "4 heads do not divide model.size 6",
  );
  // An MLP reads the flat window as it is.
  assertEquals(
    describeModel(ModelConfig.parse({ family: "vanilla.small", size: 4, layers: 1 }), 10, {
      sequence: WINDOW,
    }).parameters,
    10 * 4 + 4 + 5,
  );
});

Deno.test("the memory estimate counts the time dimension and the attention scores", () => {
  const at = (raw: Record<string, unknown>, length: number, batchSize = 64) =>
    describeModel(ModelConfig.parse(raw), length * 5, {
      batchSize,
      sequence: { length, fields: ["a", "b", "c", "d", "e"] },
    });
  for (const family of ["lstm", "gru", "conv-lstm", "transformer"]) {
    const d = at({ family }, 60);
    const m = d.memory;
    assertEquals(
      d.bytes,
      Math.ceil(m.weights + m.optimizer + m.gradients + m.activations + m.workspace),
    );
    assertEquals([m.weights, m.optimizer, m.gradients], [
      4 * d.parameters,
      8 * d.parameters,
      4 * d.parameters,
    ]);
    // Activations are per batch: linear in the batch size.
    assertEquals(at({ family }, 60, 128).memory.activations, 2 * m.activations);
  }
  // LSTM: B × T × units × (4 gates + cell + hidden) dominates; linear in T.
  const lstm = (t: number) => at({ family: "lstm" }, t).memory.activations;
  assert(lstm(60) >= 4 * 64 * 60 * 64 * 6 * 2, `LSTM activations ${lstm(60)}`);
  assertEquals(lstm(90) - lstm(60), lstm(60) - lstm(30));
  // Transformer: the B × heads × T × T scores make it grow faster than linearly in T.
  const tr = (t: number) => at({ family: "transformer" }, t).memory.activations;
  assert(tr(120) - tr(60) > 2 * (tr(60) - tr(30)), "no quadratic term in T");
  assert(
    tr(60) >= 4 * 64 * 2 * (2 * 4 * 60 * 60) * 2,
    "the scores and their softmax of 2 blocks are counted",
  );
});

Deno.test("every sequence model survives a JSON save and load with its custom layers", async () => {
  for (
    const raw of [
      { family: "lstm", size: 3, dropout: 0.1 },
      { family: "gru", size: 3 },
      { family: "conv-lstm", size: 3, conv: { filters: 2, kernel: 3 } },
      {
        family: "transformer",
        size: 4,
        heads: 2,
        layers: 1,
        positions: "learned",
        pooling: "last",
      },
      { family: "transformer", size: 4, heads: 2, layers: 1 },
    ]
  ) {
    const net = buildModel(ModelConfig.parse(raw), 10, magnitude, 2, WINDOW);
    let saved: tf.io.ModelArtifacts | undefined;
    await net.save(tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
      });
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    assertEquals(loaded.countParams(), net.countParams(), JSON.stringify(raw));
    const x = tf.randomNormal([3, 10], 0, 1, "float32", 4);
    assertEquals(
      Array.from((loaded.predict(x) as tf.Tensor).dataSync()),
      Array.from((net.predict(x) as tf.Tensor).dataSync()),
      JSON.stringify(raw),
    );
    tf.dispose(x);
    net.dispose();
    loaded.dispose();
  }
});

/** Windows whose label follows their last steps. */
function windows(n: number, seed: number): { x: Matrix; y: Float32Array } {
  const rng = new Prng(seed);
  const cols = 10;
  const data = new Float32Array(n * cols);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = rng.next() * 2 - 1;
    y[i] = 0.5 * data[i * cols + 8] - 0.3 * data[i * cols + 6] + 0.05 * (rng.next() - 0.5);
  }
  return { x: { data, rows: n, cols }, y };
}

const mse: LossFn = (a, b) => tf.losses.meanSquaredError(a, b) as tf.Scalar;

for (
  const raw of [{ family: "lstm", size: 4 }, {
    family: "transformer",
    size: 4,
    layers: 1,
    heads: 2,
  }]
) {
  Deno.test(`${raw.family}: trains, checkpoints to a file, resumes and gives the same numbers`, async () => {
    const train: TrainOptions = {
      epochs: 6,
      batch_size: 16,
      learning_rate: 0.01,
      optimizer: "adam",
      patience: 50,
      lr_patience: 1,
      lr_factor: 0.5,
      min_lr: 1e-4,
    };
    const tr = windows(64, 1);
    const val = windows(32, 2);
    const model = () => buildModel(ModelConfig.parse(raw), 10, magnitude, 5, WINDOW);
    const run = async (extra: Partial<Parameters<typeof trainModel>[0]>) => {
      const net = model();
      const result = await trainModel({
        model: net,
        loss: mse,
        train,
        seed: 7,
        x: tr.x,
        y: tr.y,
        xVal: val.x,
        yVal: val.y,
        ...extra,
      });
      const weights = net.getWeights().map((w) => Array.from(w.dataSync()));
      net.dispose();
      return { result, weights };
    };
    const full = await run({});
    const dir = await Deno.makeTempDir();
    try {
      const ckpt = fileCheckpointer(`${dir}/seq.ckpt`, 1);
      const ctrl = new AbortController();
      let calls = 0;
      // Interrupted in the second batch of epoch 4 (4 batches per epoch: call 14).
      const first = await run({
        checkpoint: ckpt,
        signal: ctrl.signal,
        loss: (a, b) => {
          if (++calls === 14) ctrl.abort();
          return mse(a, b);
        },
      });
      assertEquals(first.result.stoppedBy, "interrupted");
      assertEquals(first.result.history.length, 3);
      const resumed = await run({ checkpoint: ckpt });
      const strip = (h: typeof full.result.history) => h.map(({ seconds: _s, ...r }) => r);
      assertEquals(strip(resumed.result.history), strip(full.result.history));
      assertEquals(resumed.result.bestEpoch, full.result.bestEpoch);
      assertEquals(resumed.weights, full.weights, "resumed weights differ");
      assert(full.result.history[5].loss < full.result.history[0].loss, "did not learn");
      // The same through the in-memory checkpointer the trainer tests use.
      const mem = memoryCheckpointer();
      await run({ checkpoint: mem });
      assert(mem.saved !== null && mem.saved.weights.some((w) => w.name.includes("kernel")));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("trained sequence models go through the file model store and predict the same", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FileModelStore(dir);
    const tr = windows(32, 3);
    for (
      const [i, raw] of [
        { family: "gru", size: 3, layers: 2 },
        { family: "conv-lstm", size: 3, conv: { filters: 2, kernel: 3 } },
        { family: "transformer", size: 4, layers: 1, heads: 2, positions: "learned" },
      ].entries()
    ) {
      const net = buildModel(ModelConfig.parse(raw), 10, magnitude, 6, WINDOW);
      await trainModel({
        model: net,
        loss: mse,
        train: {
          epochs: 2,
          batch_size: 16,
          learning_rate: 0.01,
          optimizer: "adam",
          patience: 5,
          lr_patience: 5,
          lr_factor: 0.5,
          min_lr: 0,
        },
        seed: 1,
        x: tr.x,
        y: tr.y,
        xVal: tr.x,
        yVal: tr.y,
      });
      const hash = testHash(60 + i);
      const meta = { ...makeArtifact(60 + i).meta, hash };
      await store.save(hash, await toStoredModel(net, { scaler: { kind: "none" }, meta }));
      const restored = await fromStoredModel((await store.load(hash))!);
      const x = tf.tensor2d(tr.x.data, [tr.x.rows, tr.x.cols]);
      assertEquals(
        Array.from((restored.predict(x) as tf.Tensor).dataSync()),
        Array.from((net.predict(x) as tf.Tensor).dataSync()),
        raw.family,
      );
      tf.dispose(x);
      net.dispose();
      restored.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An experiment from a few keys over a minimal valid one. */
function experiment(model: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return Experiment.parse({
    name: "seq",
    data: { train_tickers: ["AAA"], eval_tickers: ["BBB"] },
    label: { mode: "direction" },
    loss: { name: "bce" },
    features: { sequence: { source: "daily", length: 20 } },
    model,
    ...extra,
  });
}

const issues = (e: Experiment) => semanticIssues(e).map((i) => `${i.path.join(".")}: ${i.message}`);

Deno.test("semantics: a sequence family needs features.sequence, and takes only its own keys", () => {
  assertEquals(issues(experiment({ family: "lstm" })), []);
  assertEquals(
    issues(experiment({ family: "transformer", size: 8, heads: 2, pooling: "last" })),
    [],
  );
  const noWindow = issues(experiment({ family: "gru" }, { features: {} }));
  assertEquals(noWindow.length, 1);
  assertMatch(
    noWindow[0],
    /^model\.family: model family "gru" reads a window.*needs features\.sequence/,
  );
  const lstm = issues(
    experiment({
      family: "lstm",
      heads: 2,
      ff_size: 4,
      positions: "learned",
      pooling: "mean",
      conv: {},
    }),
  );
  for (const key of ["heads", "ff_size", "positions", "pooling"]) {
    assert(
      lstm.some((l) =>
        l.startsWith(`model.${key}: model.${key} is taken by model family "transformer" only`)
      ),
      `${key}: ${lstm.join("\n")}`,
    );
  }
  assert(
    lstm.some((l) =>
      l.startsWith('model.conv: model.conv is taken by model family "conv-lstm" only')
    ),
  );
  assertEquals(issues(experiment({ family: "conv-lstm", conv: { filters: 4 } })), []);
  const mlp = issues(experiment({ family: "vanilla.small", heads: 2, conv: {} }));
  assertEquals(mlp.length, 2);
  const norm = issues(experiment({ family: "gru", normalization: "batch", activation: "tanh" }));
  assertEquals(norm.length, 2);
  assertMatch(norm[0], /^model\.normalization: .*MLP families \(vanilla\.\*\) only/);
  assertMatch(norm[1], /^model\.activation: model\.activation "tanh" is taken by the MLP families/);
  assertEquals(issues(experiment({ family: "lstm", normalization: "none" })), []);
  const heads = issues(experiment({ family: "transformer", size: 10, heads: 4 }));
  assertEquals(heads, [
    "model.heads: model.heads (4) must divide model.size (10): each head attends over size / heads of the width",
  ]);
  assertMatch(
    issues(experiment({ family: "transformer", size: 6 }))[0],
    /^model\.size: model\.heads \(4\) must divide/,
  );
});

Deno.test("train.engine fused refuses conv-lstm and transformer, naming them and the alternatives", async () => {
  for (const family of SEQUENCE_FAMILIES.filter((f) => f !== "lstm" && f !== "gru")) {
    const refusal = fusedRefusal(family)!;
    assertStringIncludes(refusal, `cannot train model family "${family}"`);
    assertStringIncludes(refusal, "train.engine: tfjs");
    const e = experiment({ family }, { train: { engine: "fused", backend: "wasm" } });
    const error = await assertRejects(() => checkEngine(e, "wasm"));
    assertEquals(error.message, refusal);
  }
  assertEquals(fusedRefusal("vanilla.small"), null);
  // The fused recurrent engine takes lstm and gru (tests/engines_fused_rnn_test.ts), the tfjs
  // engine every family.
  assertEquals(fusedRefusal("lstm"), null);
  assertEquals(fusedRefusal("gru"), null);
  await checkEngine(experiment({ family: "lstm" }), "wasm");
});

Deno.test("bench: the sequence section times each family on each backend and prints a row each", async () => {
  const lines: string[] = [];
  const r = await sequenceBench(
    { ...QUICK_SEQUENCE_BENCH, windows: 40, batchSize: 16, backends: ["cpu", "wasm"] },
    (line) => lines.push(line),
  );
  const tfjsRows = r.rows.filter((x) => x.engine === "tfjs");
  assertEquals(tfjsRows.map((x) => `${x.family} ${x.engine} ${x.backend}`), [
    "lstm tfjs cpu",
    "lstm tfjs wasm",
    "gru tfjs cpu",
    "gru tfjs wasm",
    "transformer tfjs cpu",
    "transformer tfjs wasm",
  ]);
  for (const row of r.rows) {
    assert(row.secondsPerEpoch > 0 && Number.isFinite(row.finalLoss), JSON.stringify(row));
    assertEquals(row.batchesPerEpoch, 3);
    const inputs = QUICK_SEQUENCE_BENCH.length * QUICK_SEQUENCE_BENCH.fields;
    const sequence = {
      length: QUICK_SEQUENCE_BENCH.length,
      fields: Array.from({ length: QUICK_SEQUENCE_BENCH.fields }, (_, i) => `f${i}`),
    };
    assertEquals(
      row.parameters,
      describeModel(
        ModelConfig.parse({ family: row.family, size: QUICK_SEQUENCE_BENCH.size }),
        inputs,
        {
          sequence,
        },
      ).parameters,
    );
  }
  // The fused recurrent engine's rows: lstm and gru with the wasm sgemm (and BLAS where it loads).
  const fused = r.rows.filter((x) => x.engine === "fused-rnn");
  assertEquals(
    fused.filter((x) => x.backend === "wasm").map((x) => x.family),
    ["lstm", "gru"],
  );
  for (const row of fused) assert(row.device.includes("fused CPU"), row.device);
  assert(lines.some((l) => l.startsWith("training lstm on cpu")), lines.join("\n"));
  const table = formatSequenceBench(r);
  assertMatch(table[0], /^Sequence models: 40 windows x 8 steps x 2 fields, size 8, batch 16/);
  assertEquals(table.filter((l) => /^(lstm|gru|transformer) +tfjs/.test(l)).length, 6);
  // Another engine's row (the hook for the PyTorch baseline and a fused recurrent engine) is
  // printed beside them, marked when its shapes are not the section's.
  const torch = { ...r.rows[0], engine: "torch", sequence: { ...r.rows[0].sequence, length: 60 } };
  const mixed = formatSequenceBench({ ...r, rows: [...r.rows, torch] });
  assert(mixed.some((l) => /^lstm\* +torch/.test(l)), mixed.join("\n"));
  // A PyTorch row at the section's shapes gives every row of its family a ratio.
  const same = { ...r.rows[0], engine: "torch", secondsPerEpoch: r.rows[0].secondsPerEpoch / 2 };
  const ratios = formatSequenceBench({ ...r, rows: [...r.rows, same] });
  assert(ratios.some((l) => /^lstm +tfjs +cpu .* 2\.00x/.test(l)), ratios.join("\n"));
  assert(mixed.some((l) => l.startsWith("*: timed at other shapes (40 x 60 x 2")));
  assertEquals(tf.getBackend(), "wasm");
  await tf.setBackend("cpu");
});

Deno.test("LayerNorm computes what tf.layers.layerNormalization does, gradients included", () => {
  const x = tf.randomNormal([3, 4, 6], 0, 2, "float32", 8);
  const ours = new LayerNorm({ name: "ours" });
  const theirs = tf.layers.layerNormalization({ name: "theirs" });
  ours.apply(x);
  theirs.apply(x);
  const gamma = tf.randomNormal([6], 1, 0.3, "float32", 9);
  const beta = tf.randomNormal([6], 0, 0.3, "float32", 10);
  ours.setWeights([gamma, beta]);
  theirs.setWeights([gamma, beta]);
  assertEquals(ours.weights.map((w) => w.originalName), ["ours/gamma", "ours/beta"]);
  const c = tf.randomNormal([3, 4, 6], 0, 1, "float32", 11);
  const loss = (l: tf.layers.Layer) => (v: tf.Tensor) =>
    tf.sum(tf.mul(c, l.apply(v) as tf.Tensor)) as tf.Scalar;
  const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
    const [p, q] = [a.dataSync(), b.dataSync()];
    // Both are the same float32 formula in different op orders: a few ulps of values near 1.
    p.forEach((v, i) =>
      assert(
        Math.abs(v - q[i]) <= 1e-5 * Math.max(1, Math.abs(q[i])),
        `${what}[${i}]: ${v} vs ${q[i]}`,
      )
    );
  };
  close(ours.apply(x) as tf.Tensor, theirs.apply(x) as tf.Tensor, "output");
  close(tf.grad(loss(ours))(x), tf.grad(loss(theirs))(x), "dL/dx");
  const weightGrads = (l: tf.layers.Layer) =>
    tf.variableGrads(
      () => loss(l)(x),
      l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
    ).grads;
  const [g1, g2] = [weightGrads(ours), weightGrads(theirs)];
  close(g1["ours/gamma"], g2["theirs/gamma"], "dL/dgamma");
  close(g1["ours/beta"], g2["theirs/beta"], "dL/dbeta");
});

Deno.test("planTraining describes a sequence model from the prepared data's window shape", () => {
  const sequence = { length: 20, fields: ["close", "return", "high"] };
  const prepared = (shape?: SequenceShape) =>
    ({
      q: { features: Array.from({ length: 60 }, (_, i) => `c${i}`), sequence: shape },
      folds: [{ train: [1, 2, 3], validation: [4], eval: [5] }],
    }) as unknown as Prepared;
  const lines: string[] = [];
  const e = experiment({ family: "gru", size: 8 });
  const { description, engine } = planTraining(
    e,
    prepared(sequence),
    { backend: "cpu", device: "cpu" },
    (l) => lines.push(l),
  );
  assertEquals(engine.fused, null);
  assertEquals(description.sequence?.length, 20);
  assertEquals(description.sequence?.fields, 3);
  assertEquals(description.parameters, 3 * (3 * 8 + 8 * 8 + 8) + 9);
  assert(
    lines.some((l) => l.startsWith("model gru: 1 layers of 8, 297 parameters")),
    lines.join("\n"),
  );
  assertThrows(
    () => planTraining(e, prepared(), { backend: "cpu", device: "cpu" }, () => {}),
    RangeError,
    "set features.sequence",
  );
  // train.engine fused plans a GRU on the fused CPU recurrent engine.
  const fused = experiment({ family: "gru" }, { train: { engine: "fused", backend: "wasm" } });
  const fusedLines: string[] = [];
  const planned = planTraining(
    fused,
    prepared(sequence),
    { backend: "wasm", device: "wasm" },
    (l) => fusedLines.push(l),
  );
  assertEquals(planned.engine.fused, "wasm");
  assert(planned.engine.trainDevice.includes("fused CPU recurrent engine"));
  assert(fusedLines.includes("engine: fused CPU recurrent engine (gru)"), fusedLines.join("\n"));
});

Deno.test("CausalConv1D is tf.conv1d after kernel - 1 zero steps, gradients included", () => {
  const x = tf.randomNormal([2, 6, 3], 0, 1, "float32", 21);
  const ours = new CausalConv1D({ filters: 4, kernel: 3, seed: 5, name: "ours" });
  ours.apply(x);
  const [kernel, bias] = [
    tf.randomNormal([3, 3, 4], 0, 0.5, "float32", 22),
    tf.randomNormal([4], 0, 0.5, "float32", 23),
  ];
  ours.setWeights([kernel, bias]);
  assertEquals(ours.weights.map((w) => w.originalName), ["ours/kernel", "ours/bias"]);
  const stock = (v: tf.Tensor, k: tf.Tensor, b: tf.Tensor) =>
    tf.relu(
      tf.add(
        tf.conv1d(tf.pad(v, [[0, 0], [2, 0], [0, 0]]) as tf.Tensor3D, k as tf.Tensor3D, 1, "valid"),
        b,
      ),
    );
  const c = tf.randomNormal([2, 6, 4], 0, 1, "float32", 24);
  const viaOurs = (v: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => {
    ours.setWeights([k, b]);
    return ours.apply(v) as tf.Tensor;
  };
  const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
    const [p, q] = [a.dataSync(), b.dataSync()];
    assertEquals(a.shape, b.shape, what);
    // The same nine products per output summed in another order: float32 rounding of values ~3.
    p.forEach((v, i) =>
      assert(
        Math.abs(v - q[i]) <= 1e-5 * Math.max(1, Math.abs(q[i])),
        `${what}[${i}]: ${v} vs ${q[i]}`,
      )
    );
  };
  close(viaOurs(x, kernel, bias), stock(x, kernel, bias), "output");
  const g = (f: typeof stock) =>
    tf.grads((v: tf.Tensor) => tf.sum(tf.mul(c, f(v, kernel, bias))))([x])[0];
  close(g(viaOurs), g(stock), "input gradient");
  const gk = (f: typeof stock) =>
    tf.grads((k: tf.Tensor) => tf.sum(tf.mul(c, f(x, k, bias))))([kernel])[0];
  ours.setWeights([kernel, bias]);
  // The kernel's gradient through the layer: the layer reads its variable, so differentiate that.
  const variable = ours.trainableWeights[0].read() as tf.Variable;
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.mul(c, ours.apply(x) as tf.Tensor)) as tf.Scalar,
    [variable],
  );
  close(grads[variable.name], gk(stock), "kernel gradient");
});

Deno.test("every sequence family takes a training step on the wasm backend", async () => {
  // tf.layers.conv1d has no filter gradient on wasm (Conv2DBackpropFilter): a conv-lstm built on
  // it failed its first step there; every family must train on every backend it is offered on.
  await tf.setBackend("wasm");
  try {
    for (const family of SEQUENCE_FAMILIES) {
      const m = ModelConfig.parse({
        family,
        size: 4,
        layers: 1,
        ...(family === "conv-lstm" ? { conv: { filters: 3, kernel: 2 } } : {}),
        ...(family === "transformer" ? { heads: 2 } : {}),
      });
      const net = buildModel(m, 10, direction, 1, WINDOW);
      net.compile({ optimizer: tf.train.adam(0.01), loss: "binaryCrossentropy" });
      const x = tf.randomNormal([8, 10], 0, 1, "float32", 3);
      const y = tf.tensor2d([[0], [1], [0], [1], [1], [0], [1], [0]]);
      const before = net.getWeights().map((w) => Array.from(w.dataSync()));
      const loss = await net.trainOnBatch(x, y) as number;
      assert(Number.isFinite(loss), `${family}: loss ${loss}`);
      const after = net.getWeights().map((w) => Array.from(w.dataSync()));
      assertNotEquals(after, before, `${family}: the step changed no weight`);
      tf.dispose([x, y]);
      net.dispose();
    }
  } finally {
    await tf.setBackend("cpu");
  }
});
