/**
 * The epoch loop's policy with a scripted engine (no tfjs training): when an
 * epoch may be abandoned part-way, what an interrupt saves, the engine named
 * in a checkpoint, the order the model gets its weights in; and the
 * checkpoint schedule.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects, assertThrows } from "../../../tests/assert.ts";
import { memoryCheckpointer } from "../../../tests/train_helpers.ts";
import {
  checkpointSchedule,
  type EngineSnapshot,
  type EpochLosses,
  runEpochs,
  type TrainArgs,
  type TrainingEngine,
  type TrainState,
} from "./loop.ts";

/**
 * An engine whose one "weight" counts the epochs it trained; its validation
 * loss is `valLosses[epoch - 1]`. `during(epoch, signal)` runs inside each
 * epoch; the engine abandons the epoch when the signal it was given is aborted.
 */
class ScriptedEngine implements TrainingEngine {
  trained = 0;
  best = -1;
  /** Whether each epoch was given the signal. */
  given: boolean[] = [];
  toModelCalls: string[] = [];
  disposed = false;
  constructor(
    readonly name: "tfjs" | "fused",
    readonly valLosses: number[],
    readonly during: (epoch: number) => void = () => {},
  ) {}
  epoch(_order: Int32Array, _lr: number, signal?: AbortSignal): Promise<EpochLosses | null> {
    this.given.push(signal !== undefined);
    this.during(this.trained + 1);
    if (signal?.aborted) return Promise.resolve(null);
    this.trained += 1;
    return Promise.resolve({ loss: 1 / this.trained, valLoss: this.valLosses[this.trained - 1] });
  }
  keepBest(): void {
    this.best = this.trained;
  }
  #host(v: number) {
    return [{ name: "w", shape: [1], dtype: "float32" as const, data: new Float32Array([v]) }];
  }
  snapshot(best: boolean): Promise<EngineSnapshot> {
    return Promise.resolve({
      weights: this.#host(this.trained),
      optimizer: [],
      adamPowers: null,
      best: best ? this.#host(this.best) : null,
    });
  }
  restore(s: EngineSnapshot): Promise<void> {
    this.trained = s.weights[0].data[0];
    if (s.best) this.best = s.best[0].data[0];
    return Promise.resolve();
  }
  toModel(which: "last" | "best"): Promise<void> {
    this.toModelCalls.push(which);
    return Promise.resolve();
  }
  describe(): string | null {
    return `scripted ${this.name}`;
  }
  dispose(): void {
    this.disposed = true;
  }
}

const x = { data: new Float32Array(8), rows: 4, cols: 2 };
const y = new Float32Array(4);
const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });

function args(extra: Partial<TrainArgs> = {}): TrainArgs {
  return {
    model,
    loss: (a, b) => tf.losses.meanSquaredError(a, b) as tf.Scalar,
    train: {
      epochs: 6,
      batch_size: 2,
      learning_rate: 0.1,
      optimizer: "adam",
      patience: 10,
      lr_patience: 10,
      lr_factor: 0.5,
      min_lr: 0,
    },
    seed: 1,
    x,
    y,
    xVal: x,
    yVal: y,
    ...extra,
  };
}

const FALLING = [6, 5, 4, 3, 2, 1];

Deno.test("loop: an epoch may be abandoned part-way only where the checkpoint holds its start", async () => {
  // Saved every 2 epochs: epochs 1 and 2 must complete, epoch 3 (after the save of 2) may stop.
  const ctrl = new AbortController();
  const ckpt = memoryCheckpointer(2);
  const engine = new ScriptedEngine("fused", FALLING, (e) => e === 3 && ctrl.abort());
  const r = await runEpochs(args({ checkpoint: ckpt, signal: ctrl.signal }), engine);
  assertEquals(engine.given, [false, false, true]);
  assertEquals([r.stoppedBy, r.history.length, ckpt.saved?.epoch, ckpt.saves], [
    "interrupted",
    2,
    2,
    1,
  ]);
  assert(engine.disposed);

  // Interrupted in epoch 2 with nothing saved: the epoch completes, then it is saved.
  const ctrl2 = new AbortController();
  const ckpt2 = memoryCheckpointer(3);
  const engine2 = new ScriptedEngine("fused", FALLING, (e) => e === 2 && ctrl2.abort());
  const r2 = await runEpochs(args({ checkpoint: ckpt2, signal: ctrl2.signal }), engine2);
  assertEquals(engine2.given, [false, false]);
  assertEquals([r2.stoppedBy, r2.history.length, ckpt2.saved?.epoch], ["interrupted", 2, 2]);

  // Without a checkpointer every epoch may stop part-way.
  const ctrl3 = new AbortController();
  const engine3 = new ScriptedEngine("tfjs", FALLING, (e) => e === 2 && ctrl3.abort());
  const r3 = await runEpochs(args({ signal: ctrl3.signal }), engine3);
  assertEquals(engine3.given, [true, true]);
  assertEquals([r3.stoppedBy, r3.history.length, r3.bestEpoch], ["interrupted", 1, 1]);
});

Deno.test("loop: resume continues from the checkpoint; another engine's checkpoint is refused", async () => {
  const full = await runEpochs(args(), new ScriptedEngine("fused", FALLING));
  const ctrl = new AbortController();
  const ckpt = memoryCheckpointer();
  await runEpochs(
    args({ checkpoint: ckpt, signal: ctrl.signal, onEpoch: (e) => e.epoch === 3 && ctrl.abort() }),
    new ScriptedEngine("fused", FALLING),
  );
  assertEquals(ckpt.saved?.run.engine, "fused");
  const resumedWith: number[] = [];
  const engine = new ScriptedEngine("fused", FALLING);
  const resumed = await runEpochs(
    args({ checkpoint: ckpt, onResume: (h) => resumedWith.push(h.length) }),
    engine,
  );
  assertEquals(resumedWith, [3]);
  assertEquals(engine.given.length, 3, "only the epochs after the checkpoint are trained");
  const strip = (r: typeof full) => r.history.map(({ seconds: _, ...h }) => h);
  assertEquals(strip(resumed), strip(full));
  // A tfjs checkpoint leaves the engine out, and each engine refuses the other's.
  const tfjs = new ScriptedEngine("tfjs", FALLING);
  const refused = await assertRejects(
    () => runEpochs(args({ checkpoint: ckpt }), tfjs),
    RangeError,
    'engine is "tfjs" but the checkpoint has "fused"',
  );
  assert(refused && tfjs.disposed, "the engine is disposed after an error");
  const tfjsCkpt = memoryCheckpointer();
  await runEpochs(args({ checkpoint: tfjsCkpt }), new ScriptedEngine("tfjs", FALLING));
  assertEquals("engine" in tfjsCkpt.saved!.run, false);
});

Deno.test("loop: the model gets the last epoch's weights for lastEpochFit, then the best", async () => {
  const rising = [1, 2, 3, 4, 5, 6];
  const engine = new ScriptedEngine("tfjs", rising);
  const r = await runEpochs(args({ lastEpochFit: true }), engine);
  assertEquals([r.bestEpoch, r.history.length, engine.best], [1, 6, 1]);
  assertEquals(engine.toModelCalls, ["last", "best"]);
  assertEquals(r.lastEpochTrain?.length, 4);
  assertEquals(r.engine, "scripted tfjs");
  // Best epoch last: no second fit.
  const falling = new ScriptedEngine("tfjs", FALLING);
  const r2 = await runEpochs(args({ lastEpochFit: true }), falling);
  assertEquals([falling.toModelCalls, r2.lastEpochTrain], [["best"], undefined]);
});

Deno.test("checkpointSchedule: every N epochs, at least minSeconds apart, always at the end", async () => {
  const none = checkpointSchedule(undefined);
  assertEquals([none.due(1, false), none.due(2, true)], [false, false]);
  let saves = 0;
  const save = (_: TrainState) => {
    saves++;
    return Promise.resolve();
  };
  const load = () => Promise.resolve(null);
  const every2 = checkpointSchedule({ save, load, every: 2 });
  assertEquals([1, 2, 3, 4].map((e) => every2.due(e, false)), [false, true, false, true]);
  const hourly = checkpointSchedule({ save, load, minSeconds: 3600 });
  assertEquals([1, 2, 3].map((e) => hourly.due(e, false)), [false, false, false]);
  assertEquals(hourly.due(4, true), true, "the final state is always saved");
  const now = checkpointSchedule({ save, load, minSeconds: 0 });
  assertEquals([1, 2].map((e) => now.due(e, false)), [true, true]);
  const state = {} as TrainState;
  await now.save(state);
  assertEquals(saves, 1);
  // A save that takes 20 s with a 60 s floor: the next one waits 9 x 20 s = 180 s.
  let ms = 0;
  const slow = checkpointSchedule({
    save: () => {
      ms += 20_000;
      return Promise.resolve();
    },
    load,
    minSeconds: 60,
  }, () => ms);
  ms = 61_000;
  assertEquals(slow.due(1, false), true);
  await slow.save(state);
  ms += 61_000;
  assertEquals(slow.due(2, false), false, "the gap grew with the save's duration");
  ms += 120_000;
  assertEquals(slow.due(3, false), true);
  assertThrows(() => checkpointSchedule({ save, load, every: 0 }), RangeError, "checkpoint.every");
  assertThrows(
    () => checkpointSchedule({ save, load, minSeconds: -1 }),
    RangeError,
    "checkpoint.minSeconds",
  );
});
