/**
 * The tfjs engine's piece below the public API: changing a tfjs optimizer's
 * learning rate in place. The engine itself is tested through `trainModel` in
 * the runner's `tests/train_trainer_test.ts` (and the fused engines against it
 * in `tests/engines_fused_test.ts`).
 */
import * as tf from "@tensorflow/tfjs";
import { assert } from "../../../tests/assert.ts";
import { setLearningRate } from "./tfjs.ts";

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
