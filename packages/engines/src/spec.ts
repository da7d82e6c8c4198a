/**
 * What the engines are told about a training: the `train:` options the loop
 * reads, the MLP a fused engine builds its kernels for, and the loss it
 * mirrors. Plain shapes, so the package depends on no config schema: the
 * runner's `TrainConfig`, `describeModel(…)` and `LossConfig` are assignable
 * to them as they are.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A tfjs layers model (`tf.LayersModel`): what the engines train, in place. */
export type LayersModel = tf.LayersModel;
/** A tfjs tensor (`tf.Tensor`). */
export type Tensor = tf.Tensor;
/** A tfjs scalar tensor (`tf.Scalar`): a loss's value. */
export type Scalar = tf.Scalar;

/** The `train:` options every engine's loop reads (the runner's `TrainConfig` has them all). */
export interface TrainOptions {
  /** Most epochs to train. */
  epochs: number;
  /** Rows per mini-batch. */
  batch_size: number;
  /** The learning rate at the start. */
  learning_rate: number;
  /** The optimizer. */
  optimizer: "adam" | "sgd";
  /** Epochs without a better validation loss before training stops. */
  patience: number;
  /** Epochs without a better validation loss before the learning rate is lowered. */
  lr_patience: number;
  /** What the learning rate is multiplied by on a plateau (0 < factor < 1). */
  lr_factor: number;
  /** The learning rate never goes below this. */
  min_lr: number;
}

/**
 * The MLP a fused engine trains: dense layers of `widths` after `inputDim`
 * inputs, each with `activation` (after batch normalization when
 * `normalization` is `batch`), then one output unit with `output`. The
 * runner's `describeModel(…)` is one.
 */
export interface MlpDescription {
  /** The model's family name, for messages. */
  family: string;
  /** Width of the first hidden layer, for messages. */
  size: number;
  /** Number of hidden layers, for messages. */
  layers: number;
  /** Width of every hidden layer, in order. */
  widths: number[];
  /** Input columns. */
  inputDim: number;
  /** Hidden activation (the fused engines refuse one they do not implement). */
  activation: string;
  /** Dropout rate after each hidden layer (the fused engines refuse anything but 0). */
  dropout: number;
  /** Normalization after each hidden layer (the fused engines refuse `layer`). */
  normalization: "none" | "batch" | "layer";
  /** Activation of the output unit. */
  output: "sigmoid" | "tanh" | "linear";
}

/**
 * The loss a fused engine computes, mirroring the tfjs loss the trainer is
 * given (the runner's `LossConfig`, whose `makeLoss` builds that tfjs loss):
 * `bce` on probabilities clipped to `[BCE_EPSILON, 1 − BCE_EPSILON]`, `mse`,
 * `huber` with `delta`, and the sign-penalized `mse-sign`, `huber-sign`
 * (`sign_weight`) and `sign-ratio` (`value_ratio`, `sign_ratio`).
 */
export interface LossSpec {
  /** Which loss. */
  name: "bce" | "mse" | "huber" | "mse-sign" | "huber-sign" | "sign-ratio";
  /** huber, huber-sign: where the loss turns from quadratic to linear. */
  delta: number;
  /** mse-sign, huber-sign: weight of the sign error `relu(−y·p)`. */
  sign_weight: number;
  /** sign-ratio: scale of the squared error. */
  value_ratio: number;
  /** sign-ratio: scale of the sign error. */
  sign_ratio: number;
}

/** Probabilities are clipped to `[BCE_EPSILON, 1 − BCE_EPSILON]` before the logarithm. */
export const BCE_EPSILON = 1e-7;

/**
 * Bytes as GiB with two decimals, the unit of every memory message.
 *
 * @param n bytes
 * @returns e.g. `2.42 GiB`
 */
export const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(2)} GiB`;
