import { assert, assertEquals, assertMatch, assertNotEquals, assertRejects } from "./assert.ts";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { adamStepWarning, stalledTraining } from "../src/train/warnings.ts";
import {
  type EpochLog,
  type LossFn,
  predict,
  trainModel,
  type TrainOptions,
  type TrainResult,
} from "@alfred/engines";
import { type Matrix, Prng } from "@alfred/core";
import { fileCheckpointer } from "../src/train/checkpoint.ts";
import { memoryCheckpointer } from "./train_helpers.ts";

await tf.setBackend("wasm");

/** Deterministic data: y = 0.8 x0 - 0.5 x1 + noise (or pure noise). */
function makeData(n: number, seed: number, noiseOnly = false): { x: Matrix; y: Float32Array } {
  const rng = new Prng(seed);
  const cols = 4;
  const data = new Float32Array(n * cols);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = rng.next() * 2 - 1;
    const noise = rng.next() - 0.5;
    y[i] = noiseOnly ? noise : 0.8 * data[i * cols] - 0.5 * data[i * cols + 1] + 0.1 * noise;
  }
  return { x: { data, rows: n, cols }, y };
}

function makeModel(units = 16): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units,
        inputShape: [4],
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }),
      }),
      tf.layers.dense({
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }),
      }),
    ],
  });
}

const mse: LossFn = (a, b) => tf.losses.meanSquaredError(a, b) as tf.Scalar;

const baseTrain: TrainOptions = {
  epochs: 12,
  batch_size: 32,
  learning_rate: 0.01,
  optimizer: "adam",
  patience: 50,
  lr_patience: 3,
  lr_factor: 0.5,
  min_lr: 1e-4,
};

const train = makeData(160, 1);
const val = makeData(48, 2);

function withoutSeconds(h: EpochLog[]): Omit<EpochLog, "seconds">[] {
  return h.map(({ seconds: _s, ...rest }) => rest);
}

async function weightsOf(model: tf.LayersModel): Promise<number[][]> {
  return await Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

async function run(
  opts: Partial<TrainOptions> = {},
  extra: Partial<Parameters<typeof trainModel>[0]> = {},
  model = makeModel(),
): Promise<{ result: TrainResult; model: tf.Sequential; weights: number[][] }> {
  const result = await trainModel({
    model,
    loss: mse,
    train: { ...baseTrain, ...opts },
    seed: 7,
    x: train.x,
    y: train.y,
    xVal: val.x,
    yVal: val.y,
    ...extra,
  });
  const weights = await weightsOf(model);
  return { result, model: model as tf.Sequential, weights };
}

/**
 * A loss that aborts the controller on its k-th call. Each epoch calls the loss once per batch
 * (5 batches of 32 rows here) and once for the validation loss: batch j of epoch e is call
 * (e - 1) * 6 + j.
 */
function abortingLoss(ctrl: AbortController, k: number): LossFn {
  let calls = 0;
  return (a, b) => {
    if (++calls === k) ctrl.abort();
    return mse(a, b);
  };
}

Deno.test("trainer learns, and is deterministic: same seed and data give identical history and weights", async () => {
  const a = await run();
  const b = await run();
  assertEquals(withoutSeconds(a.result.history), withoutSeconds(b.result.history));
  assertEquals(a.weights, b.weights);
  assert(a.result.history.length === 12);
  assert(a.result.stoppedBy === "epochs");
  const h = a.result.history;
  assert(h[h.length - 1].loss < h[0].loss / 4, `did not learn: ${h[0].loss} -> ${h.at(-1)!.loss}`);
  const c = await trainModel({
    model: makeModel(),
    loss: mse,
    train: baseTrain,
    seed: 8,
    x: train.x,
    y: train.y,
    xVal: val.x,
    yVal: val.y,
  });
  assertNotEquals(
    withoutSeconds(c.history),
    withoutSeconds(a.result.history),
    "a different seed gave the same shuffle",
  );
  a.model.dispose();
  b.model.dispose();
});

Deno.test("trainer leaks no tensors: numTensors is stable across epochs and restored after", async () => {
  const model = makeModel();
  const before = tf.memory().numTensors;
  const perEpoch: number[] = [];
  await run({ epochs: 6, lr_patience: 1 }, {
    onEpoch: () => perEpoch.push(tf.memory().numTensors),
  }, model);
  assertEquals(new Set(perEpoch.slice(1)).size, 1, `numTensors per epoch: ${perEpoch}`);
  assertEquals(tf.memory().numTensors, before, "tensors leaked by trainModel");
  model.dispose();
});

Deno.test("trainer restores the best weights and reports the best epoch", async () => {
  const { result, model } = await run({ epochs: 15, learning_rate: 0.05, lr_patience: 100 });
  const best = result.history.reduce((p, e) => (e.valLoss < p.valLoss ? e : p));
  assertEquals(result.bestEpoch, best.epoch);
  assertEquals(result.bestValLoss, best.valLoss);
  const valLoss = tf.tidy(() =>
    mse(
      tf.tensor2d(val.y, [val.y.length, 1]),
      model.predict(tf.tensor2d(val.x.data, [48, 4])) as tf.Tensor,
    )
      .dataSync()[0]
  );
  assert(Math.abs(valLoss - result.bestValLoss) < 1e-6, `${valLoss} vs ${result.bestValLoss}`);
  model.dispose();
});

Deno.test("lastEpochTrain: the last epoch's predictions on the training rows, before the best weights are restored", async () => {
  const ckpt = memoryCheckpointer(); // saves every epoch: the last save holds the last weights
  // Early stopping after 2 epochs without improvement: the best is 2 before the last.
  const { result, model } = await run(
    { epochs: 60, patience: 2, learning_rate: 0.05, lr_patience: 100 },
    { checkpoint: ckpt, lastEpochFit: true },
  );
  assert(result.bestEpoch < result.history.length, "the test needs an earlier best epoch");
  const last = makeModel();
  last.setWeights(ckpt.saved!.weights.map((h) => tf.tensor(h.data, h.shape)));
  const expected = await predict(last, train.x);
  assertEquals(Array.from(result.lastEpochTrain!), Array.from(expected));
  // And not the restored model's predictions.
  const restored = await predict(model, train.x);
  assert(Array.from(restored).some((v, i) => v !== expected[i]), "restored = last epoch");
  // When the last epoch is the best, there is nothing to add; unasked, nothing is computed.
  const { result: r2, model: m2 } = await run({ epochs: 1 }, { lastEpochFit: true });
  assertEquals(r2.lastEpochTrain, undefined);
  const { result: r3, model: m3 } = await run({ epochs: 60, patience: 2, learning_rate: 0.05 });
  assert(r3.bestEpoch < r3.history.length && r3.lastEpochTrain === undefined, "computed unasked");
  m3.dispose();
  model.dispose();
  last.dispose();
  m2.dispose();
});

Deno.test("early stopping: stops after `patience` epochs without validation improvement", async () => {
  const noisyTrain = makeData(64, 5, true);
  const noisyVal = makeData(64, 6, true);
  const model = makeModel(64);
  const result = await trainModel({
    model,
    loss: mse,
    train: { ...baseTrain, epochs: 200, patience: 3, lr_patience: 100, learning_rate: 0.03 },
    seed: 1,
    x: noisyTrain.x,
    y: noisyTrain.y,
    xVal: noisyVal.x,
    yVal: noisyVal.y,
  });
  assertEquals(result.stoppedBy, "patience");
  assertEquals(result.history.length, result.bestEpoch + 3);
  for (const e of result.history.slice(result.bestEpoch)) assert(e.valLoss >= result.bestValLoss);
  model.dispose();
});

Deno.test("reduce-LR-on-plateau: lr drops by lr_factor after lr_patience bad epochs, floored at min_lr", async () => {
  const noisyTrain = makeData(64, 5, true);
  const noisyVal = makeData(64, 6, true);
  const model = makeModel(64);
  const t: TrainOptions = {
    ...baseTrain,
    epochs: 14,
    patience: 100,
    lr_patience: 2,
    lr_factor: 0.5,
    min_lr: 0.004,
    learning_rate: 0.03,
  };
  const { history } = await trainModel({
    model,
    loss: mse,
    train: t,
    seed: 1,
    x: noisyTrain.x,
    y: noisyTrain.y,
    xVal: noisyVal.x,
    yVal: noisyVal.y,
  });
  // Replay the rule on the recorded validation losses.
  let best = Infinity;
  let lrWait = 0;
  let lr = t.learning_rate;
  let reductions = 0;
  for (const e of history) {
    assertEquals(e.lr, lr, `epoch ${e.epoch}`);
    if (e.valLoss < best) {
      best = e.valLoss;
      lrWait = 0;
    } else if (++lrWait >= t.lr_patience) {
      const next = Math.max(lr * t.lr_factor, t.min_lr);
      if (next < lr) reductions++;
      lr = next;
      lrWait = 0;
    }
  }
  assert(reductions >= 2, `expected the plateau rule to fire at least twice, got ${reductions}`);
  assert(history.some((e) => e.lr === 0.004) || lr === 0.004, "min_lr floor never reached");
  model.dispose();
});

Deno.test("interrupt between epochs: stops cleanly with the best weights, stoppedBy interrupted", async () => {
  const ctrl = new AbortController();
  const before = tf.memory().numTensors;
  const model = makeModel();
  const { result } = await run({}, {
    signal: ctrl.signal,
    onEpoch: (e) => {
      if (e.epoch === 3) ctrl.abort();
    },
  }, model);
  assertEquals(result.stoppedBy, "interrupted");
  assertEquals(result.history.length, 3);
  assert(result.bestEpoch >= 1 && result.bestEpoch <= 3);
  model.dispose();
  assertEquals(tf.memory().numTensors, before, "leak after interrupt");
});

Deno.test("interrupt mid-epoch: the partial epoch is discarded", async () => {
  const ctrl = new AbortController();
  // Abort during batch 2 of epoch 2 (call 8).
  const { result, model } = await run({}, { signal: ctrl.signal, loss: abortingLoss(ctrl, 8) });
  assertEquals(result.stoppedBy, "interrupted");
  assertEquals(result.history.length, 1);
  assertEquals(result.bestEpoch, 1);
  model.dispose();
});

Deno.test("resume from a checkpoint gives the same result as an uninterrupted run (Adam, LR plateau)", async () => {
  const opts = { epochs: 10, lr_patience: 1, lr_factor: 0.5 };
  const full = await run(opts);
  // Interrupted in batch 3 of epoch 5 (call 27), then resumed on a fresh model.
  const ckpt = memoryCheckpointer();
  const ctrl = new AbortController();
  const first = await run(opts, {
    checkpoint: ckpt,
    signal: ctrl.signal,
    loss: abortingLoss(ctrl, 27),
  });
  assertEquals(first.result.stoppedBy, "interrupted");
  assertEquals(ckpt.saved!.epoch, 4);
  assert(ckpt.saved!.adamPowers !== null && ckpt.saved!.optimizer.length > 1, "no Adam state");
  const resumed = await run(opts, { checkpoint: ckpt });
  assertEquals(withoutSeconds(resumed.result.history), withoutSeconds(full.result.history));
  assertEquals(resumed.result.bestEpoch, full.result.bestEpoch);
  assertEquals(resumed.result.stoppedBy, full.result.stoppedBy);
  assertEquals(resumed.weights, full.weights, "resumed weights differ");
  assert(full.result.history.some((e) => e.lr < 0.01), "lr never reduced");
  // A finished checkpoint is not trained again: it restores the best weights and returns.
  const again = await run(opts, { checkpoint: ckpt });
  assertEquals(again.weights, full.weights);
  assertEquals(again.result.history.length, full.result.history.length);
  for (const r of [full, first, resumed, again]) r.model.dispose();
});

Deno.test("resume works with SGD and a file checkpoint, and a mismatching run is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const opts: Partial<TrainOptions> = { epochs: 6, optimizer: "sgd", learning_rate: 0.05 };
    const full = await run(opts);
    const ckpt = fileCheckpointer(`${dir}/sub/run.ckpt`, 2);
    const ctrl = new AbortController();
    // Saved at epochs 2 and 4; aborted in batch 2 of epoch 5 (call 26).
    const first = await run(opts, {
      checkpoint: ckpt,
      signal: ctrl.signal,
      loss: abortingLoss(ctrl, 26),
    });
    assertEquals(first.result.history.length, 4);
    assertEquals((await ckpt.load())!.epoch, 4);
    const resumed = await run(opts, { checkpoint: ckpt });
    assertEquals(withoutSeconds(resumed.result.history), withoutSeconds(full.result.history));
    assertEquals(resumed.weights, full.weights);
    const entries = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
    assertEquals(entries, ["run.ckpt"], "temporary files left behind");
    assertMatch(
      (await assertRejects(() => run({ ...opts, batch_size: 16 }, { checkpoint: ckpt }))).message,
      /Checkpoint does not match this run: batchSize/,
    );
    assertMatch(
      (await assertRejects(() => run(opts, { checkpoint: ckpt }, makeModel(8)))).message,
      /Checkpoint does not match the model/,
    );
    // A truncated or foreign file is an error, not a silent fresh start.
    const bytes = await Deno.readFile(`${dir}/sub/run.ckpt`);
    await Deno.writeFile(`${dir}/sub/run.ckpt`, bytes.subarray(0, bytes.length - 100));
    assertMatch((await assertRejects(() => ckpt.load())).message, /lies past the end of the file/);
    await Deno.writeTextFile(`${dir}/sub/run.ckpt`, "hello");
    assertMatch((await assertRejects(() => ckpt.load())).message, /not an Alfred checkpoint file/);
    await ckpt.clear();
    assertEquals(await ckpt.load(), null);
    await ckpt.clear();
    full.model.dispose();
    first.model.dispose();
    resumed.model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainer rejects inconsistent inputs with clear errors", async () => {
  const model = makeModel();
  assertMatch(
    (await assertRejects(() => run({}, { y: new Float32Array(3) }, model))).message,
    /"y" has 3 values but "x" has 160 rows/,
  );
  assertMatch(
    (await assertRejects(() =>
      run(
        {},
        { xVal: { data: new Float32Array(0), rows: 0, cols: 4 }, yVal: new Float32Array(0) },
        model,
      )
    )).message,
    /validation set is empty/,
  );
  assertMatch(
    (await assertRejects(() => run({ patience: 0 }, {}, model))).message,
    /train\.patience "0"/,
  );
  assertMatch(
    (await assertRejects(() =>
      run({}, { x: { data: new Float32Array(10), rows: 5, cols: 4 } }, model)
    )).message,
    /data has 10 values, expected 5 x 4/,
  );
  model.dispose();
});

Deno.test("batch normalization: moving statistics are checkpointed, no leak, resume is exact", async () => {
  const bnModel = () =>
    tf.sequential({
      layers: [
        tf.layers.dense({
          units: 8,
          inputShape: [4],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 21 }),
        }),
        tf.layers.batchNormalization(),
        tf.layers.activation({ activation: "relu" }),
        tf.layers.dense({
          units: 1,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 22 }),
        }),
      ],
    });
  const before = tf.memory().numTensors;
  const perEpoch: number[] = [];
  const full = await run(
    { epochs: 6 },
    { onEpoch: () => perEpoch.push(tf.memory().numTensors) },
    bnModel(),
  );
  assertEquals(new Set(perEpoch.slice(1)).size, 1, `numTensors per epoch: ${perEpoch}`);
  const movingMean = full.model.layers[1].getWeights()[2].dataSync();
  assert(movingMean.some((v) => v !== 0), "moving mean never updated");
  const ckpt = memoryCheckpointer();
  const ctrl = new AbortController();
  const first = await run(
    { epochs: 6 },
    { checkpoint: ckpt, signal: ctrl.signal, loss: abortingLoss(ctrl, 15) },
    bnModel(),
  );
  first.model.dispose();
  const resumed = await run({ epochs: 6 }, { checkpoint: ckpt }, bnModel());
  assertEquals(withoutSeconds(resumed.result.history), withoutSeconds(full.result.history));
  assertEquals(resumed.weights, full.weights);
  full.model.dispose();
  resumed.model.dispose();
  assertEquals(tf.memory().numTensors, before, "tensors leaked");
});

Deno.test("Ctrl-C (SIGINT) stops a training process cleanly with the best weights", async () => {
  const interrupt = new URL("../src/train/interrupt.ts", import.meta.url).href;
  const code = `
    import * as tf from "@tensorflow/tfjs";
    import "@tensorflow/tfjs-backend-wasm";
    import { trainModel } from "@alfred/engines";
    import { interruptOnSignals } from "${interrupt}";
    await tf.setBackend("wasm");
    const n = 64, x = new Float32Array(n * 2).map((_, i) => Math.sin(i)), y = new Float32Array(n).map((_, i) => Math.cos(i));
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    const ctrlC = interruptOnSignals({ onInterrupt: () => console.error("stopping") });
    const r = await trainModel({ model, loss: (a, b) => tf.losses.meanSquaredError(a, b), seed: 1,
      train: { epochs: 100000, batch_size: 8, learning_rate: 0.01, optimizer: "adam", patience: 100000,
        lr_patience: 100000, lr_factor: 0.5, min_lr: 0 },
      x: { data: x, rows: n, cols: 2 }, y, xVal: { data: x, rows: n, cols: 2 }, yVal: y,
      signal: ctrlC.signal, onEpoch: (e) => { if (e.epoch === 3) Deno.kill(Deno.pid, "SIGINT"); } });
    ctrlC.dispose();
    console.log(JSON.stringify({ stoppedBy: r.stoppedBy, epochs: r.history.length, best: r.bestEpoch }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, stderr);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim());
  assertEquals(r.stoppedBy, "interrupted");
  assert(r.epochs >= 3 && r.epochs < 100, `epochs ${r.epochs}`);
  assert(r.best >= 1 && r.best <= r.epochs);
  assert(stderr.includes("stopping"), stderr);
});

Deno.test("stalledTraining: warns when the training loss stops moving, not while it converges", () => {
  const log = (losses: number[]): EpochLog[] =>
    losses.map((loss, i) => ({ epoch: i + 1, loss, valLoss: 0.5, lr: 1e-3, seconds: 1 }));
  // The 10x4096 tanh MLP at lr 1e-3: saturated after the first epoch.
  const stuck = log([0.48189, ...Array.from({ length: 11 }, (_, i) => 0.61551 + i * 1e-7)]);
  const w = stalledTraining(stuck);
  assert(w !== null && w.includes("from epoch 2 to 12"), String(w));
  assert(w.includes("train.learning_rate"), w);
  // Slow but real progress, and a short plateau, are not stalls.
  assertEquals(stalledTraining(log(Array.from({ length: 30 }, (_, i) => 1 / (i + 1)))), null);
  assertEquals(stalledTraining(log([0.9, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4])), null);
  assertEquals(stalledTraining(log(Array(9).fill(0.3))), null);
  assert(stalledTraining(log(Array(10).fill(0.3)))?.includes("from epoch 1 to 10"));
});

Deno.test("adamStepWarning: Adam's learning rate against the widest fan-in, not for SGD", () => {
  const adam = (lr: number) => ({ optimizer: "adam" as const, learning_rate: lr });
  const w = adamStepWarning(Array(10).fill(4096), adam(1e-3))!;
  assert(w.includes("lr x fan-in = 4.1") && w.includes("at most 0.00024"), w);
  assertEquals(adamStepWarning(Array(10).fill(4096), adam(1e-4)), null);
  assertEquals(adamStepWarning([64, 64, 64], adam(1e-3)), null);
  // It warns above 2: 2048 x 1e-3 = 2.048 warns, 2000 x 1e-3 = 2 does not.
  assert(adamStepWarning([2048], adam(1e-3)) !== null);
  assertEquals(adamStepWarning([2000], adam(1e-3)), null);
  assertEquals(adamStepWarning([4096], { optimizer: "sgd", learning_rate: 1e-3 }), null);
});
