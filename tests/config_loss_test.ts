/**
 * `LOSS_PARAMETERS` says which parameters each loss uses: the run diff relies on it to tell
 * whether two runs' losses measure the same thing. Checked against what `makeLoss` computes.
 */
import * as tf from "@tensorflow/tfjs";
import { assert } from "./assert.ts";
import { LOSS_PARAMETERS, LossConfig } from "../src/config/schema.ts";
import { makeLoss } from "../src/models/losses.ts";

await tf.setBackend("cpu");

/** Targets and predictions with sign misses and errors beyond the default Huber delta. */
const MOVES = { y: [0.8, -1, 0.5, 0, -0.3], pred: [-0.2, 3, 2.5, -1.5, 0.1] };
const PROBABILITIES = { y: [1, 0, 1, 0, 1], pred: [0.9, 0.2, 0.4, 0.7, 0.6] };

function lossValue(config: LossConfig): number {
  const { y, pred } = config.name === "bce" ? PROBABILITIES : MOVES;
  return tf.tidy(() => makeLoss(config)(tf.tensor1d(y), tf.tensor1d(pred)).dataSync()[0]);
}

Deno.test("each loss depends on exactly the parameters LOSS_PARAMETERS lists", () => {
  const parameters = ["delta", "sign_weight", "value_ratio", "sign_ratio"] as const;
  for (const [name, used] of Object.entries(LOSS_PARAMETERS)) {
    const base = LossConfig.parse({ name });
    const reference = lossValue(base);
    for (const p of parameters) {
      const changed = lossValue({ ...base, [p]: base[p] * 2 + 0.25 });
      const uses = (used as readonly string[]).includes(p);
      assert(
        uses === (Math.abs(changed - reference) > 1e-6),
        `${name} ${uses ? "should" : "should not"} depend on ${p}: ${reference} vs ${changed}`,
      );
    }
  }
});
