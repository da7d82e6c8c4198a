/**
 * The trainer's pieces below the public API: the checkpoint schedule, and
 * changing a tfjs optimizer's learning rate in place. The trainer itself is
 * tested through `trainModel` in the runner's `tests/train_trainer_test.ts`.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { checkpointSchedule, setLearningRate, type TrainState } from "./trainer.ts";

Deno.test("setLearningRate changes the step size of Adam and SGD in place", () => {
  for (const kind of ["adam", "sgd"] as const) {
    const v = tf.variable(tf.scalar(1));
    const opt = kind === "adam" ? tf.train.adam(0.1) : tf.train.sgd(0.1);
    const f = () => tf.mul(v, 2) as tf.Scalar; // gradient 2
    opt.minimize(f, false, [v]);
    const afterFirst = v.dataSync()[0];
    setLearningRate(opt, 0.01);
    opt.minimize(f, false, [v]);
    const secondStep = afterFirst - v.dataSync()[0];
    // Adam's early steps are ~lr (gradient sign); SGD's are lr * gradient.
    const expected = kind === "adam" ? 0.01 : 0.02;
    assert(
      Math.abs(secondStep - expected) < 1e-4,
      `${kind}: step after lowering lr is ${secondStep}, expected ${expected}`,
    );
    opt.dispose();
    v.dispose();
  }
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
