/**
 * Warnings about a training, before and after it: a learning rate too large
 * for Adam at the model's width ({@linkcode adamStepWarning}), and a training
 * loss that stopped moving ({@linkcode stalledTraining}).
 *
 * @module
 */
import type { EpochLog } from "@alfred/engines";
import type { TrainConfig } from "../config/schema.ts";

/** `learning_rate × fan-in` above which Adam's first steps are warned about (see {@linkcode adamStepWarning}). */
export const ADAM_STEP_LIMIT = 2;

/**
 * A warning, before training, when Adam's learning rate is large for the
 * model's width. Adam's first steps move every weight by about the learning
 * rate whatever its gradient's size, so a unit with `fan-in` inputs sees its
 * input move by up to `lr × fan-in × mean |input|` in one step. In a float64
 * reference of the notes' 10 × 4096 tanh model on the Dow 30 rows (14
 * features), lr 1e-3 (lr × fan-in 4.1) took the output's pre-activation from
 * 0.004 to 137 in one step: the tanh saturated for every row and training
 * never moved again. lr 1e-4 (0.41) moved it to 0.15 and trained; 1e-3 at
 * width 2048 (2.05) blew up and recovered.
 *
 * @param widths hidden layer widths (the fan-in of each next layer)
 * @param train the optimizer and learning rate
 * @returns the warning, or null
 */
export function adamStepWarning(
  widths: number[],
  train: Pick<TrainConfig, "optimizer" | "learning_rate">,
): string | null {
  if (train.optimizer !== "adam" || widths.length === 0) return null;
  const fanIn = Math.max(...widths);
  const product = train.learning_rate * fanIn;
  if (product <= ADAM_STEP_LIMIT) return null;
  return `Adam at train.learning_rate ${train.learning_rate} into layers of ${fanIn} inputs ` +
    `(lr x fan-in = ${product.toPrecision(2)}): its first steps can move every unit's input ` +
    `by about that much and saturate the output (a float64 reference of the 10 x 4096 tanh ` +
    `model saturated in one step at 4.1 and trained at 0.41); try a learning rate of at most ` +
    `${(1 / fanIn).toPrecision(2)}`;
}

/**
 * A warning when training stopped learning: the training loss stayed the same
 * (within 1e-5 relative) for the last `minEpochs` epochs or more. With a
 * shuffled mini-batch loop only zero gradients do that: saturated tanh or
 * sigmoid units, or dead ReLUs, usually after a learning rate too large for
 * the width (Adam moves every weight by about the learning rate per step, so
 * a unit's input moves by about `lr × fan-in` at once).
 *
 * @param history the epochs trained
 * @param minEpochs how many unchanged epochs count as stalled (default 10)
 * @returns the warning, or null
 */
export function stalledTraining(history: EpochLog[], minEpochs = 10): string | null {
  if (history.length < minEpochs) return null;
  const last = history[history.length - 1].loss;
  const same = (l: number) => Math.abs(l - last) <= 1e-5 * Math.max(Math.abs(last), 1e-12);
  let from = history.length - 1;
  while (from > 0 && same(history[from - 1].loss)) from--;
  const span = history.length - from;
  if (span < minEpochs) return null;
  return `Training stopped learning: the training loss stayed at ${
    last.toPrecision(5)
  } from epoch ${history[from].epoch} to ${
    history[history.length - 1].epoch
  } (zero gradients: saturated or dead units); try a lower train.learning_rate`;
}
