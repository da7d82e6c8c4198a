/**
 * Training losses, from the research notes: `bce` for the direction label and
 * `mse`, `huber` and the notes' sign-penalized losses (`MSEWithSignPenalty`,
 * `HuberWithSignPenalty`, `SignErrorRatioLoss`) for the magnitude label.
 *
 * Every loss is the mean over the rows of a batch. `yTrue` and `yPred` may be
 * `[n]` or `[n, 1]`: both are flattened first, so a shape mismatch can never
 * broadcast into an `[n, n]` matrix by accident.
 *
 * The sign error. The notes' intent is "punish the model harder for missing
 * sign": predicting +1 % when the stock moves −1 % is worse than predicting +3 %
 * when it moves +1 %. A count of sign mismatches has a zero gradient almost
 * everywhere, so it cannot train anything. Alfred uses the hinge
 *
 *     signError = mean(relu(−yTrue · yPred))
 *
 * which is zero when prediction and target agree in sign and otherwise grows
 * with how far the prediction sits on the wrong side, weighted by the size of
 * the move that was missed (missing a large move costs more than missing a
 * flat quarter). Its gradient with respect to a wrong-signed prediction is
 * `−yTrue / n`: it pushes the prediction toward the target's side. At
 * `yTrue · yPred = 0` the subgradient 0 is used.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BCE_EPSILON, type LossFn } from "@alfred/engines";
import type { LossConfig } from "../config/schema.ts";

// The fused engines compute these losses themselves from the `LossConfig`
// (`LossSpec` in `@alfred/engines`), with the same clipping constant.

function flatPair(yTrue: tf.Tensor, yPred: tf.Tensor): [tf.Tensor1D, tf.Tensor1D] {
  if (yTrue.size !== yPred.size) {
    throw new RangeError(
      `Cannot compute a loss: yTrue has ${yTrue.size} values (shape [${yTrue.shape}]) but yPred has ${yPred.size} (shape [${yPred.shape}])`,
    );
  }
  return [tf.reshape(yTrue, [-1]) as tf.Tensor1D, tf.reshape(yPred, [-1]) as tf.Tensor1D];
}

/**
 * Binary cross-entropy on probabilities, clipped so `log(0)` never happens:
 * `−mean(y·log(p) + (1 − y)·log(1 − p))` with `p` clipped to `[1e-7, 1 − 1e-7]`.
 *
 * @param yTrue labels in {0, 1}
 * @param yPred probabilities (a sigmoid output)
 * @returns the mean loss
 * @example
 * ```ts
 * bceLoss(tf.tensor1d([1, 0]), tf.tensor1d([0.9, 0.2])); // ≈ 0.1643
 * ```
 */
export function bceLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [y, p0] = flatPair(yTrue, yPred);
    const p = tf.clipByValue(p0, BCE_EPSILON, 1 - BCE_EPSILON);
    const ll = tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p))));
    return tf.neg(tf.mean(ll)) as tf.Scalar;
  });
}

/**
 * Mean squared error `mean((yPred − yTrue)²)`.
 *
 * @param yTrue targets
 * @param yPred predictions
 * @returns the mean loss
 * @example
 * ```ts
 * mseLoss(tf.tensor1d([1, 0]), tf.tensor1d([0, 2])); // 2.5
 * ```
 */
export function mseLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [y, p] = flatPair(yTrue, yPred);
    return tf.mean(tf.square(tf.sub(p, y))) as tf.Scalar;
  });
}

/**
 * Huber loss (PyTorch's `HuberLoss`): per row `½e²` when `|e| ≤ delta`, else
 * `delta·(|e| − ½·delta)`, with `e = yPred − yTrue`; the mean over rows.
 *
 * @param delta the transition point (> 0)
 * @returns the loss function
 * @throws {RangeError} when delta is not a positive finite number
 * @example
 * ```ts
 * huberLoss(1)(tf.tensor1d([0, 0]), tf.tensor1d([0.5, 3])); // (0.125 + 2.5) / 2
 * ```
 */
export function huberLoss(delta: number): LossFn {
  if (!(delta > 0) || !Number.isFinite(delta)) {
    throw new RangeError(`Invalid huber delta "${delta}": expected a positive number`);
  }
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const [y, p] = flatPair(yTrue, yPred);
      const abs = tf.abs(tf.sub(p, y));
      // quadratic = min(|e|, delta); linear = |e| − quadratic
      // loss = ½·quadratic² + delta·linear, equal to the piecewise form and smooth at |e| = delta.
      const quadratic = tf.minimum(abs, delta);
      const linear = tf.sub(abs, quadratic);
      return tf.mean(tf.add(tf.mul(0.5, tf.square(quadratic)), tf.mul(delta, linear))) as tf.Scalar;
    });
}

/**
 * The differentiable sign error `mean(relu(−yTrue·yPred))` (see the module
 * documentation for why this form).
 *
 * @param yTrue targets
 * @param yPred predictions
 * @returns the mean sign error; 0 when every prediction has its target's sign
 * @example
 * ```ts
 * signError(tf.tensor1d([0.1, -0.2]), tf.tensor1d([0.3, 0.5])); // (0 + 0.1) / 2
 * ```
 */
export function signError(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [y, p] = flatPair(yTrue, yPred);
    return tf.mean(tf.relu(tf.neg(tf.mul(y, p)))) as tf.Scalar;
  });
}

/**
 * `MSEWithSignPenalty`: `mse + signWeight · signError`.
 *
 * @param signWeight weight of the sign error (≥ 0)
 * @returns the loss function
 */
export function mseSignLoss(signWeight: number): LossFn {
  checkNonNegative("sign_weight", signWeight);
  return (yTrue, yPred) =>
    tf.tidy(() =>
      tf.add(mseLoss(yTrue, yPred), tf.mul(signWeight, signError(yTrue, yPred))) as tf.Scalar
    );
}

/**
 * `HuberWithSignPenalty`: `huber(delta) + signWeight · signError`.
 *
 * @param delta huber transition point
 * @param signWeight weight of the sign error (≥ 0)
 * @returns the loss function
 */
export function huberSignLoss(delta: number, signWeight: number): LossFn {
  checkNonNegative("sign_weight", signWeight);
  const huber = huberLoss(delta);
  return (yTrue, yPred) =>
    tf.tidy(() =>
      tf.add(huber(yTrue, yPred), tf.mul(signWeight, signError(yTrue, yPred))) as tf.Scalar
    );
}

/**
 * `SignErrorRatioLoss`: `valueRatio · mse + signRatio · signError`. The notes'
 * defaults 0.5 and 2 damp the value error and amplify the sign error.
 *
 * @param valueRatio scale of the value (MSE) error (≥ 0)
 * @param signRatio scale of the sign error (≥ 0)
 * @returns the loss function
 */
export function signRatioLoss(valueRatio: number, signRatio: number): LossFn {
  checkNonNegative("value_ratio", valueRatio);
  checkNonNegative("sign_ratio", signRatio);
  return (yTrue, yPred) =>
    tf.tidy(() =>
      tf.add(
        tf.mul(valueRatio, mseLoss(yTrue, yPred)),
        tf.mul(signRatio, signError(yTrue, yPred)),
      ) as tf.Scalar
    );
}

function checkNonNegative(name: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`Invalid loss ${name} "${value}": expected a number >= 0`);
  }
}

/** The loss names `makeLoss` accepts (the schema's `loss.name`). */
export const LOSS_NAMES = ["bce", "mse", "huber", "mse-sign", "huber-sign", "sign-ratio"] as const;

/**
 * The loss an experiment's `loss:` section asks for.
 *
 * @param loss the resolved loss config (defaults filled in by the schema)
 * @returns `(yTrue, yPred) => scalar`, the mean over the batch
 * @throws {RangeError} for an unknown name or an invalid parameter
 * @example
 * ```ts
 * const loss = makeLoss({ name: "sign-ratio", delta: 1, sign_weight: 1, value_ratio: 0.5, sign_ratio: 2 });
 * const value = loss(tf.tensor1d([0.1]), tf.tensor1d([-0.1]));
 * ```
 */
export function makeLoss(loss: LossConfig): LossFn {
  switch (loss.name) {
    case "bce":
      return bceLoss;
    case "mse":
      return mseLoss;
    case "huber":
      return huberLoss(loss.delta);
    case "mse-sign":
      return mseSignLoss(loss.sign_weight);
    case "huber-sign":
      return huberSignLoss(loss.delta, loss.sign_weight);
    case "sign-ratio":
      return signRatioLoss(loss.value_ratio, loss.sign_ratio);
    default:
      throw new RangeError(
        `Unknown loss "${(loss as { name: string }).name}": expected one of ${
          LOSS_NAMES.map((n) => `"${n}"`).join(", ")
        }`,
      );
  }
}
