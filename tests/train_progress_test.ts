import { assert, assertEquals } from "./assert.ts";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { formatDuration, progressReporter } from "../src/train/progress.ts";
import { predict } from "@alfred/engines";

await tf.setBackend("wasm");

Deno.test("formatDuration", () => {
  assertEquals(
    [0, 42.4, 185, 3725, Infinity].map(formatDuration),
    ["0s", "42s", "3m05s", "1h02m", "?"],
  );
});

Deno.test("progressReporter prints one plain line per epoch when not a terminal", () => {
  const out: string[] = [];
  let clock = 0;
  const p = progressReporter({
    epochs: 10,
    tty: false,
    write: (s) => out.push(s),
    now: () => clock,
  });
  clock = 2000;
  p({ epoch: 1, loss: 0.5, valLoss: 0.4, lr: 0.001, seconds: 2 });
  clock = 7000; // 5 s of wall clock for epoch 2 (its own figure says 4: a checkpoint took 1)
  p({ epoch: 2, loss: 0.3, valLoss: 0.45, lr: 0.0005, seconds: 4 });
  p.finish({
    history: [],
    bestEpoch: 1,
    bestValLoss: 0.4,
    stoppedBy: "patience",
  });
  assertEquals(out.length, 3);
  assert(!out.join("").includes("\r"), "carriage return in plain output");
  // ETA after epoch 1: its own 2 s x 9 epochs left.
  assertEquals(
    out[0],
    "train epoch  1/10  loss 0.50000  val 0.40000 (best 0.40000 @1)  lr 0.00100  2.00s/epoch  eta 18s\n",
  );
  // After epoch 2: the wall clock between epochs (5 s) x 8 left; small lr in exponent form.
  assertEquals(
    out[1],
    "train epoch  2/10  loss 0.30000  val 0.45000 (best 0.40000 @1)  lr 5.000e-4  4.00s/epoch  eta 40s\n",
  );
  assert(out[2].includes("early stopping") && out[2].includes("at epoch 1"), out[2]);
  assert(out[2].includes("in 7s"), out[2]);
});

Deno.test("progressReporter's ETA counts to best + patience, the trainings that follow and the evaluation after", () => {
  const out: string[] = [];
  let clock = 0;
  const p = progressReporter({
    epochs: 100,
    tty: false,
    write: (s) => out.push(s),
    patience: 5,
    following: 1, // one more training (a control), as many epochs and as long to start
    afterSeconds: 30,
    now: () => clock,
  });
  const losses = [0.5, 0.4, 0.45, 0.46];
  losses.forEach((valLoss, i) => {
    clock = 4000 + (i + 1) * 1000; // 4 s to start, then 1 s an epoch
    p({ epoch: i + 1, loss: 0.1, valLoss, lr: 0.001, seconds: 1 });
  });
  // Best at epoch 2: training stops at 2 + 5 = 7 unless it improves. After epoch 4: 3 epochs of
  // this training (3 s), the control's 7 epochs and 4 s start (11 s), 30 s of evaluation.
  assert(
    out[3].includes("eta 44s (this training 3s, then 1 more training and evaluation)"),
    out[3],
  );
  // After epoch 1 the horizon is epoch 1 + 5: 5 s + (6 + 4) s + 30 s.
  assert(out[0].includes("eta 45s (this training 5s,"), out[0]);
});

Deno.test("progressReporter redraws one line with a bar on a terminal", () => {
  const out: string[] = [];
  const p = progressReporter({ epochs: 4, tty: true, width: 8, write: (s) => out.push(s) });
  p({ epoch: 1, loss: 1, valLoss: 1, lr: 0.01, seconds: 1 });
  p({ epoch: 4, loss: 0.1, valLoss: 0.2, lr: 0.01, seconds: 1 });
  p.finish();
  assert(out[0].startsWith("\rtrain [##------] epoch 1/4"), out[0]);
  assert(out[1].startsWith("\rtrain [########] epoch 4/4"), out[1]);
  assert(out[1].trimEnd().endsWith("eta 0s"), out[1]);
  // The shorter second line is padded so no characters of the first remain on screen.
  assert(out[1].length >= out[0].length, "redraw leaves stale characters");
  assert(!out[0].includes("\n") && !out[1].includes("\n"));
  assertEquals(out[2], "\n");
});

Deno.test("predict runs batches in inference mode and returns one value per row", async () => {
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 1, inputShape: [2], useBias: true })],
  });
  model.setWeights([tf.tensor2d([[2], [-1]]), tf.tensor1d([0.5])]);
  const x = { data: Float32Array.from([1, 0, 0, 1, 3, 3, 1, 1, 2, 0]), rows: 5, cols: 2 };
  const before = tf.memory().numTensors;
  const y = await predict(model, x, 2);
  assertEquals(Array.from(y), [2.5, -0.5, 3.5, 1.5, 4.5]);
  assertEquals(tf.memory().numTensors, before);
  let threw = false;
  try {
    await predict(model, { data: new Float32Array(3), rows: 2, cols: 2 });
  } catch (e) {
    threw = /data has 3 values, expected 2 x 2/.test((e as Error).message);
  }
  assert(threw, "inconsistent matrix accepted");
  model.dispose();
});
