/**
 * The sequence families (`lstm`, `gru`, `conv-lstm`, `transformer`): their
 * resolved architecture, exact parameter count, training-memory estimate and
 * seeded tfjs builders. `registry.ts` stays the one registry and calls these.
 *
 * Every sequence model reads the flat, time-major row (`src/features/sequence.ts`:
 * column `t · fields + f`, oldest step first) and starts by reshaping it:
 *
 * | family | layers (names) |
 * | --- | --- |
 * | `lstm` | `window` reshape → `layers` × LSTM(`size`) `lstm_<i>` (+ `drop_<i>`) → `output` |
 * | `gru` | `window` → `layers` × GRU(`size`) `gru_<i>` (+ `drop_<i>`) → `output` |
 * | `conv-lstm` | `window` → `conv.layers` × causal Conv1D(`filters`, `kernel`, ReLU) `conv_<j>` → the `lstm` stack → `output` |
 * | `transformer` | `window` → Dense(`size`) `project` → `positions` → `layers` × encoder block → `pool` → `output` |
 *
 * The causal convolution is this module's `CausalConv1D` (`conv_<j>`): the
 * window padded with `kernel − 1` zero steps before its first, its `kernel`
 * shifted copies side by side, and one matrix product with the kernel. Its
 * weights (`conv_<j>/kernel` of `[kernel, channels, filters]`, `conv_<j>/bias`)
 * and result are a causal Conv1D's: step `t` sees steps `t − kernel + 1 … t`
 * only, never a later one. It is not `tf.layers.conv1d` because the wasm
 * backend has no gradient kernel for it (`Conv2DBackpropFilter` is not
 * registered: a conv-lstm could not train on wasm), and tfjs 4.22's conv1d
 * throws "not implemented" for `padding: "causal"` with a bias; slices, a
 * concatenation and a matrix product have gradients on every backend.
 *
 * Every recurrent layer but the last returns its sequence; the last returns its
 * final state. An encoder block `b` is: `attention_<b>` (multi-head
 * self-attention, `./attention.ts`) → `drop_<b>_attention` → `add_<b>_attention`
 * (residual) → `norm_<b>_attention` (layer normalization) → `ff_<b>_1`
 * (Dense(`ff_size`, ReLU)) → `ff_<b>_2` (Dense(`size`)) → `drop_<b>_ff` →
 * `add_<b>_ff` → `norm_<b>_ff`; the dropouts only when `model.dropout > 0`.
 * `output` is Dense(1) with the label's activation.
 *
 * The layer normalization is this module's `LayerNorm` (`(x − mean) / √(var + 0.001) · gamma +
 * beta` over the last axis, weights `gamma` and `beta`, tfjs's epsilon), not
 * `tf.layers.layerNormalization`: on the wasm backend that one's training step took 4.8 s for a
 * `[64, 60, 64]` batch against 14 ms for the same formula in plain ops (measured on the shared
 * 2-core machine), which made the transformer many times slower than it needed to be. Its gradient
 * is written out in closed form (`layerNorm` below), which halved the kernels autodiff recorded.
 *
 * Initializers: every kernel (input, recurrent, convolution, projection,
 * attention, feed-forward, output) is Glorot-uniform with a seed derived from
 * the experiment seed (`deriveSeed(seed, n, salt)`, `n` the weight-bearing
 * layer's index), so the same config and seed give bit-identical weights.
 * Recurrent kernels are Glorot-uniform too, not tfjs's default orthogonal: that
 * one runs a QR decomposition of the whole `[units, gates × units]` matrix in
 * tfjs ops on every build (slow, and it warns above 2,000 elements, which a
 * 64-unit LSTM's 16,384 pass). Biases start at zero, except the LSTM's forget
 * gate at one (`unitForgetBias`, Keras's default). Learned positions start
 * uniform in ±0.05, seeded the same way.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "@alfred/core";
import type { ModelConfig } from "../config/schema.ts";
import type { SequenceShape } from "../features/sequence.ts";
import { SeededDropout } from "./dropout.ts";
import { MultiHeadSelfAttention } from "./attention.ts";
import { SEQUENCE_DEFAULTS, type SequenceFamily } from "./sequence_spec.ts";

export { isSequenceFamily, SEQUENCE_DEFAULTS, SEQUENCE_FAMILIES } from "./sequence_spec.ts";
export type { SequenceFamily } from "./sequence_spec.ts";

/** A sequence model's resolved architecture: every default filled in. */
export interface SequenceArchitecture {
  family: SequenceFamily;
  /** Steps of the window. */
  length: number;
  /** Fields at each step. */
  fields: number;
  /** Recurrent units, or the transformer's width. */
  size: number;
  /** Recurrent layers, or encoder blocks. */
  layers: number;
  dropout: number;
  /** transformer only: heads (divide `size`), feed-forward width, positions, pooling. */
  heads: number;
  ffSize: number;
  positions: "sinusoidal" | "learned";
  pooling: "mean" | "last";
  /** conv-lstm only: the causal Conv1D stack; null for the other families. */
  conv: { filters: number; kernel: number; layers: number } | null;
}

/**
 * A sequence model config resolved against its family's defaults and the window's shape.
 *
 * @param model the model config (a sequence family)
 * @param inputDim the flat row's width: must be `length × fields`
 * @param sequence the window's shape (`QuarterlyFrame.sequence`)
 * @returns the architecture
 * @throws {RangeError} without a window shape, when the row's width is not the window's, or when
 *   `heads` does not divide `size`
 */
export function resolveSequence(
  model: ModelConfig,
  inputDim: number,
  sequence: SequenceShape | undefined,
): SequenceArchitecture {
  const family = model.family as SequenceFamily;
  if (!sequence) {
    throw new RangeError(
      `Model family "${family}" reads a window of history and needs its shape: set features.sequence ` +
        `(the prepared data's sequence shape is passed to buildModel and describeModel)`,
    );
  }
  const fields = sequence.fields.length;
  if (!Number.isInteger(sequence.length) || sequence.length < 1 || fields < 1) {
    throw new RangeError(
      `Invalid sequence shape for model family "${family}": length ${sequence.length}, ${fields} fields`,
    );
  }
  if (inputDim !== sequence.length * fields) {
    throw new RangeError(
      `Model family "${family}" expects ${sequence.length} steps x ${fields} fields = ${
        sequence.length * fields
      } inputs, got "${inputDim}"`,
    );
  }
  const transformer = family === "transformer";
  const size = model.size ?? SEQUENCE_DEFAULTS.size;
  const heads = transformer ? model.heads ?? SEQUENCE_DEFAULTS.heads : 0;
  if (transformer && size % heads !== 0) {
    throw new RangeError(
      `Model family "transformer": ${heads} heads do not divide model.size ${size}`,
    );
  }
  return {
    family,
    length: sequence.length,
    fields,
    size,
    layers: model.layers ??
      (transformer ? SEQUENCE_DEFAULTS.transformerLayers : SEQUENCE_DEFAULTS.recurrentLayers),
    dropout: model.dropout,
    heads,
    ffSize: transformer ? model.ff_size ?? 2 * size : 0,
    positions: model.positions ?? SEQUENCE_DEFAULTS.positions,
    pooling: model.pooling ?? SEQUENCE_DEFAULTS.pooling,
    conv: family === "conv-lstm" ? { ...SEQUENCE_DEFAULTS.conv, ...model.conv } : null,
  };
}

/** Counts behind a sequence model's description (see {@linkcode sequenceCounts}). */
export interface SequenceCounts {
  /** Trainable parameters (all of them: the sequence families have no moving statistics). */
  parameters: number;
  /** Width of every hidden layer in order (fan-ins for the Adam step warning). */
  widths: number[];
  /** Float32 values one row keeps for the backward pass (time dimension included). */
  activationsPerRow: number;
  /** The largest weight matrix, in elements. */
  largestMatrix: number;
}

/**
 * The exact parameter count (equal to the built model's `countParams()`) and the activation
 * values one row keeps for the backward pass, with `T` steps, `F` fields:
 *
 * - LSTM of `u` units on `n` inputs: `4(n·u + u·u + u)` parameters; it keeps per step its four
 *   gates, the cell and the hidden state: `T·u·(4 + 2)` values. GRU: `3(n·u + u·u + u)`, and
 *   `T·u·(3 + 1)`.
 * - causal Conv1D of `c` filters, kernel `k`, on `n` channels: `k·n·c + c`; `2·T·c` values
 *   (pre-activation and ReLU).
 * - transformer of width `d`, `h` heads, feed-forward `f`: projection `F·d + d`, learned
 *   positions `T·d`, per block attention `4(d² + d)`, two layer norms `2·2d`, feed-forward
 *   `d·f + f + f·d + d`; per block it keeps `Q, K, V`, the merged heads, the attention output,
 *   two residual sums and two norms (`9·T·d`), the feed-forward (`T·f + T·d`) and the scores
 *   and their softmax (`2·h·T·T`).
 * - the output unit: `n + 1`.
 *
 * @param a the architecture
 * @returns the counts
 */
export function sequenceCounts(a: SequenceArchitecture): SequenceCounts {
  const T = a.length;
  let parameters = 0;
  let perRow = T * a.fields;
  let largest = 0;
  const widths: number[] = [];
  const matrix = (rows: number, cols: number) => (largest = Math.max(largest, rows * cols));
  let inputs = a.fields;
  if (a.family === "transformer") {
    const d = a.size;
    parameters += a.fields * d + d;
    matrix(a.fields, d);
    perRow += 2 * T * d; // projection, with positions
    if (a.positions === "learned") parameters += T * d;
    widths.push(d);
    for (let b = 0; b < a.layers; b++) {
      parameters += 4 * (d * d + d) + 2 * 2 * d + (d * a.ffSize + a.ffSize) + (a.ffSize * d + d);
      matrix(d, d);
      matrix(d, a.ffSize);
      perRow += 9 * T * d + T * a.ffSize + T * d + 2 * a.heads * T * T;
      widths.push(d, a.ffSize, d);
    }
    perRow += d; // pooled
    inputs = d;
  } else {
    if (a.conv) {
      for (let j = 0; j < a.conv.layers; j++) {
        parameters += a.conv.kernel * inputs * a.conv.filters + a.conv.filters;
        matrix(a.conv.kernel * inputs, a.conv.filters);
        perRow += 2 * T * a.conv.filters;
        widths.push(a.conv.filters);
        inputs = a.conv.filters;
      }
    }
    const gates = a.family === "gru" ? 3 : 4;
    const states = a.family === "gru" ? 1 : 2;
    for (let i = 0; i < a.layers; i++) {
      const u = a.size;
      parameters += gates * (inputs * u + u * u + u);
      matrix(inputs + u, gates * u);
      perRow += T * u * (gates + states);
      widths.push(u);
      inputs = u;
    }
  }
  parameters += inputs + 1;
  perRow += 1;
  return { parameters, widths, activationsPerRow: perRow, largestMatrix: largest };
}

/** The last step of a `[batch, steps, d]` sequence: `[batch, d]` (the transformer's `pooling: last`). */
export class LastStep extends tf.layers.Layer {
  /** Name under which the layer is serialized. */
  static className = "LastStep";

  /** `[batch, steps, d]` → `[batch, d]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], s[2]];
  }

  /** The input's last step. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [b, t, d] = x.shape;
    return tf.reshape(tf.slice(x, [0, t - 1, 0], [b, 1, d]), [b, d]);
  }
}
tf.serialization.registerClass(LastStep);

/** Constructor arguments of {@linkcode LayerNorm}. */
export interface LayerNormArgs {
  /** Layer name. */
  name?: string;
}

/**
 * Layer normalization over the last axis: `(x − mean) / √(var + 0.001) · gamma + beta`, the same
 * function and weights (`gamma` ones, `beta` zeros at start) as `tf.layers.layerNormalization`,
 * written in plain ops so its gradient is fast on every backend (see the module doc).
 */
export class LayerNorm extends tf.layers.Layer {
  /** Name under which the layer is serialized. */
  static className = "LayerNorm";
  /** Added to the variance (tfjs's default for layer normalization). */
  static readonly EPSILON = 1e-3;
  #gamma: ReturnType<tf.layers.Layer["addWeight"]> | null = null;
  #beta: ReturnType<tf.layers.Layer["addWeight"]> | null = null;

  /** @param args name */
  constructor(args: LayerNormArgs = {}) {
    super({ name: args.name });
  }

  /** Creates `gamma` and `beta` of the input's last dimension. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const d = s[s.length - 1]!;
    this.#gamma = this.addWeight("gamma", [d], "float32", tf.initializers.ones());
    this.#beta = this.addWeight("beta", [d], "float32", tf.initializers.zeros());
    this.built = true;
  }

  /** Same shape as the input. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** The normalized input. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return layerNorm(x, this.#gamma!.read(), this.#beta!.read());
    });
  }
}
tf.serialization.registerClass(LayerNorm);

/**
 * `LayerNorm`'s function with its gradient in closed form. With `x̂ = (x − mean)·r`,
 * `r = 1/√(var + ε)` and `g = dy·gamma` over the last axis (width `d`):
 * `dx = r·(g − mean(g) − x̂·mean(g·x̂))`, `dgamma = Σ_rows dy·x̂`, `dbeta = Σ_rows dy`.
 * Autodiff of the plain-op formula records about twice the kernels, and its `gamma`/`beta`
 * gradients reduce over the leading axes, which the wasm backend does by transposing first; here
 * the column sums are one matrix product with a row of ones. Same values within float32 rounding.
 */
const layerNorm = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const centered = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.mean(tf.square(centered), -1, true);
  const r = tf.rsqrt(tf.add(variance, LayerNorm.EPSILON));
  const normalized = tf.mul(centered, r);
  save([normalized, r, gamma]);
  return {
    value: tf.add(tf.mul(normalized, gamma), beta),
    gradFunc: (dy, saved) => {
      const [xh, rs, g0] = saved as tf.Tensor[];
      const d = xh.shape[xh.shape.length - 1];
      const g = tf.mul(dy as tf.Tensor, g0);
      const inner = tf.sub(
        tf.sub(g, tf.mean(g, -1, true)),
        tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true)),
      );
      const rows = tf.ones([1, xh.size / d]);
      const columnSums = (t: tf.Tensor) => tf.reshape(tf.matMul(rows, tf.reshape(t, [-1, d])), [d]);
      return [
        tf.mul(rs, inner),
        columnSums(tf.mul(dy as tf.Tensor, xh)),
        columnSums(dy as tf.Tensor),
      ];
    },
  };
});

/** Constructor arguments of {@linkcode CausalConv1D}. */
export interface CausalConv1DArgs {
  /** Output channels. */
  filters: number;
  /** Steps each output sees: its own and the `kernel − 1` before it. */
  kernel: number;
  /** Seed of the `[kernel, channels, filters]` kernel's Glorot-uniform draw (the bias is zero). */
  seed: number;
  /** Layer name. */
  name?: string;
}

/**
 * A causal Conv1D with ReLU on `[batch, steps, channels]`: output step `t` is
 * `relu(bias + Σ_j x[t − kernel + 1 + j] · kernel[j])` with steps before the first taken as zero,
 * so no output depends on a later step. Computed as `kernel` shifted slices of the left-padded
 * input side by side (`[batch, steps, kernel · channels]`) times the kernel reshaped to
 * `[kernel · channels, filters]`: ops whose gradients every tfjs backend has, where
 * `tf.layers.conv1d`'s filter gradient is missing on wasm.
 */
export class CausalConv1D extends tf.layers.Layer {
  /** Name under which the layer is serialized. */
  static className = "CausalConv1D";
  /** Output channels. */
  readonly filters: number;
  /** Steps each output sees. */
  readonly kernelSize: number;
  /** Seed of the kernel's initializer. */
  readonly seed: number;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  /** @param args filters, kernel size, kernel initializer and name */
  constructor(args: CausalConv1DArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernel;
    this.seed = args.seed;
  }

  /** Creates `kernel` `[kernel, channels, filters]` and `bias` `[filters]`. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = s[2] as number;
    this.kernel = this.addWeight(
      "kernel",
      [this.kernelSize, channels, this.filters],
      "float32",
      tf.initializers.glorotUniform({ seed: this.seed }),
    );
    this.bias = this.addWeight("bias", [this.filters], "float32", tf.initializers.zeros());
    this.built = true;
  }

  /** `[batch, steps, filters]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], s[1], this.filters];
  }

  /** The causal convolution and its ReLU. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [batch, steps, channels] = x.shape;
      const k = this.kernelSize;
      const padded = k > 1 ? tf.pad(x, [[0, 0], [k - 1, 0], [0, 0]]) : x;
      // Shift j holds step t − (k − 1) + j at t: column block j of the frame meets kernel[j].
      const frames = k > 1
        ? tf.concat(
          Array.from({ length: k }, (_, j) => padded.slice([0, j, 0], [batch, steps, channels])),
          2,
        )
        : x;
      const w = this.kernel!.read().reshape([k * channels, this.filters]);
      const y = tf.matMul(frames.reshape([batch * steps, k * channels]), w)
        .add(this.bias!.read());
      return tf.relu(y).reshape([batch, steps, this.filters]);
    });
  }

  /** Serializable config (filters, kernel, seed). */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernel: this.kernelSize,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(CausalConv1D);

/** Constructor arguments of {@linkcode PositionEncoding}. */
export interface PositionEncodingArgs {
  /** `sinusoidal`: fixed sin/cos of the step; `learned`: a trained `[steps, d]` table. */
  kind: "sinusoidal" | "learned";
  /** Seed of the learned table's initializer. */
  seed: number;
  /** Layer name. */
  name?: string;
}

/**
 * Adds a position code to each step of `[batch, steps, d]`: `sinusoidal` is Vaswani et al.'s
 * `PE[t, 2i] = sin(t / 10000^(2i/d))`, `PE[t, 2i+1] = cos(t / 10000^(2i/d))` (computed in float64,
 * no weights); `learned` is a trained table `embedding` of `steps × d`, uniform in ±0.05 at start.
 */
export class PositionEncoding extends tf.layers.Layer {
  /** Name under which the layer is serialized. */
  static className = "PositionEncoding";
  /** Which code. */
  readonly kind: "sinusoidal" | "learned";
  /** Seed of the learned table. */
  readonly seed: number;
  #table: ReturnType<tf.layers.Layer["addWeight"]> | null = null;
  /** The sinusoidal code, `[steps, d]` row-major (a tensor is made from it on each call). */
  #fixed: { data: Float32Array; shape: [number, number] } | null = null;

  /** @param args kind, seed and name */
  constructor(args: PositionEncodingArgs) {
    super({ name: args.name });
    this.kind = args.kind;
    this.seed = args.seed;
  }

  /** Creates the table (learned) or the fixed code (sinusoidal) for the input's steps and width. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const steps = s[1]!;
    const d = s[2]!;
    if (this.kind === "learned") {
      this.#table = this.addWeight(
        "embedding",
        [steps, d],
        "float32",
        tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: this.seed }),
      );
    } else {
      const pe = new Float32Array(steps * d);
      for (let t = 0; t < steps; t++) {
        for (let i = 0; i < d; i++) {
          const angle = t / 10000 ** ((2 * Math.floor(i / 2)) / d);
          pe[t * d + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
        }
      }
      this.#fixed = { data: pe, shape: [steps, d] };
    }
    this.built = true;
  }

  /** Same shape as the input. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** The input plus the position code of each step. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (this.#table) return tf.add(x, this.#table.read());
    return tf.tidy(() => tf.add(x, tf.tensor2d(this.#fixed!.data, this.#fixed!.shape)));
  }

  /** Serializable config (kind and seed). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kind: this.kind, seed: this.seed };
  }
}
tf.serialization.registerClass(PositionEncoding);

/** The weight-bearing layer `n`'s initializer seed (`salt` 0: kernel; 2: recurrent kernel). */
function glorot(seed: number, n: number, salt = 0) {
  return tf.initializers.glorotUniform({ seed: deriveSeed(seed, n, salt) });
}

/**
 * Builds a sequence model (see the module doc for the layers and their names).
 *
 * @param a the resolved architecture
 * @param output the output unit's activation
 * @param seed the experiment seed
 * @param name the model's name
 * @returns an uncompiled model of input `[batch, length × fields]` and output `[batch, 1]`
 */
export function buildSequenceModel(
  a: SequenceArchitecture,
  output: "sigmoid" | "tanh" | "linear",
  seed: number,
  name: string,
): tf.LayersModel {
  const window = tf.layers.reshape({
    targetShape: [a.length, a.fields],
    inputShape: [a.length * a.fields],
    name: "window",
  });
  let n = 0; // weight-bearing layers so far: each one's seeds
  const head = (): tf.layers.Layer =>
    tf.layers.dense({
      units: 1,
      activation: output,
      kernelInitializer: glorot(seed, n),
      biasInitializer: "zeros",
      name: "output",
    });
  const drop = (layerName: string) =>
    new SeededDropout({ rate: a.dropout, seed: deriveSeed(seed, n, 1), name: layerName });

  if (a.family !== "transformer") {
    const net = tf.sequential({ name });
    net.add(window);
    if (a.conv) {
      for (let j = 0; j < a.conv.layers; j++, n++) {
        net.add(
          new CausalConv1D({
            filters: a.conv.filters,
            kernel: a.conv.kernel,
            seed: deriveSeed(seed, n),
            name: `conv_${j}`,
          }),
        );
      }
    }
    const kind = a.family === "gru" ? "gru" : "lstm";
    for (let i = 0; i < a.layers; i++, n++) {
      const args = {
        units: a.size,
        returnSequences: i < a.layers - 1,
        kernelInitializer: glorot(seed, n),
        recurrentInitializer: glorot(seed, n, 2),
        biasInitializer: "zeros" as const,
        name: `${kind}_${i}`,
      };
      net.add(
        kind === "gru" ? tf.layers.gru(args) : tf.layers.lstm({ ...args, unitForgetBias: true }),
      );
      if (a.dropout > 0) net.add(drop(`drop_${i}`));
    }
    net.add(head());
    return net;
  }

  const input = tf.input({ shape: [a.length * a.fields], name: "row" });
  let x = window.apply(input) as tf.SymbolicTensor;
  x = tf.layers.dense({
    units: a.size,
    kernelInitializer: glorot(seed, n),
    biasInitializer: "zeros",
    name: "project",
  }).apply(x) as tf.SymbolicTensor;
  n++;
  x = new PositionEncoding({ kind: a.positions, seed: deriveSeed(seed, n), name: "positions" })
    .apply(x) as tf.SymbolicTensor;
  n++;
  const sym = (l: tf.layers.Layer, v: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    l.apply(v) as tf.SymbolicTensor;
  for (let b = 0; b < a.layers; b++) {
    let attended = sym(
      new MultiHeadSelfAttention({
        heads: a.heads,
        seed: deriveSeed(seed, n, 3),
        name: `attention_${b}`,
      }),
      x,
    );
    if (a.dropout > 0) attended = sym(drop(`drop_${b}_attention`), attended);
    n++;
    x = sym(tf.layers.add({ name: `add_${b}_attention` }), [x, attended]);
    x = sym(new LayerNorm({ name: `norm_${b}_attention` }), x);
    let ff = sym(
      tf.layers.dense({
        units: a.ffSize,
        activation: "relu",
        kernelInitializer: glorot(seed, n),
        biasInitializer: "zeros",
        name: `ff_${b}_1`,
      }),
      x,
    );
    n++;
    ff = sym(
      tf.layers.dense({
        units: a.size,
        kernelInitializer: glorot(seed, n),
        biasInitializer: "zeros",
        name: `ff_${b}_2`,
      }),
      ff,
    );
    if (a.dropout > 0) ff = sym(drop(`drop_${b}_ff`), ff);
    n++;
    x = sym(tf.layers.add({ name: `add_${b}_ff` }), [x, ff]);
    x = sym(new LayerNorm({ name: `norm_${b}_ff` }), x);
  }
  x = sym(
    a.pooling === "mean"
      ? tf.layers.globalAveragePooling1d({ name: "pool" })
      : new LastStep({ name: "pool" }),
    x,
  );
  return tf.model({ inputs: input, outputs: sym(head(), x), name });
}
