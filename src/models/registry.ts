/**
 * The model family registry: the research notes' MLP families, built as seeded
 * TensorFlow.js `Sequential` models, with the notes' parameter count and an
 * estimate of the memory training needs.
 *
 * | family | hidden widths (defaults) | normalization | magnitude output |
 * | --- | --- | --- | --- |
 * | `vanilla.small` | 10 × 256 | none | linear |
 * | `vanilla.medium` | 10 × 1024 | none | linear |
 * | `vanilla.large` | 100 × 1024 | none | linear |
 * | `vanilla.{small,medium,large}.tanh` | as above | none | tanh |
 * | `vanilla.compression` | 2048, 1024, 512 (3 layers, each half the previous) | none | linear |
 * | `vanilla.compression.tanh` | as above | none | tanh |
 * | `vanilla.deep.norm` | 20 × 1024 | batch | linear |
 * | `vanilla.deep.norm.tanh` | 20 × 1024 | batch | tanh |
 * | `lstm`, `gru` | 1 recurrent layer of 64 units | none | linear |
 * | `conv-lstm` | 1 causal Conv1D (32 filters, kernel 5), then 1 LSTM of 64 | none | linear |
 * | `transformer` | width 64, 2 encoder blocks, 4 heads, feed-forward 128 | layer (in the blocks) | linear |
 *
 * The sequence families (`./sequence.ts`) read the row as a window and need its
 * shape (`QuarterlyFrame.sequence`): `buildModel` and `describeModel` refuse
 * them without one.
 *
 * A direction label always gets a sigmoid output (BCE needs a probability).
 * `model.size`, `model.layers` and `model.normalization` override the family's
 * defaults; `model.activation` and `model.dropout` apply to every hidden layer.
 *
 * Hidden layer `i` is `Dense(width_i, activation)`, or with normalization
 * `Dense(width_i) → BatchNorm/LayerNorm → activation` (the notes' deep variant:
 * the normalization sits right before the activation), then dropout when
 * `model.dropout > 0`. Kernels are Glorot-uniform with a seed derived from the
 * experiment seed and the layer index; biases start at zero.
 *
 * @module
 */
import { lookup } from "../registry.ts";
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "@alfred/core";
import type { LabelConfig, ModelConfig, ModelFamily } from "../config/schema.ts";
import { SeededDropout } from "./dropout.ts";
import type { SequenceShape } from "../features/sequence.ts";
import {
  buildSequenceModel,
  isSequenceFamily,
  resolveSequence,
  SEQUENCE_DEFAULTS,
  type SequenceArchitecture,
  sequenceCounts,
} from "./sequence.ts";

/** Normalization after each hidden layer. */
export type Normalization = "none" | "batch" | "layer";
/** Activation of the output unit. */
export type OutputActivation = "sigmoid" | "tanh" | "linear";

/** What a family is when the config does not override it. */
export interface FamilySpec {
  /** One line for `--help` and reports. */
  description: string;
  /**
   * `uniform`: `layers` hidden layers of `size`; `compression`: each layer half the previous;
   * `sequence`: a window model of `./sequence.ts` (`size` units or width, `layers` recurrent
   * layers or encoder blocks).
   */
  shape: "uniform" | "compression" | "sequence";
  /** Width of the first hidden layer. */
  size: number;
  /** Number of hidden layers. */
  layers: number;
  /** Normalization after each hidden layer. */
  normalization: Normalization;
  /** Magnitude label: tanh output (true) or linear (false). */
  tanh: boolean;
}

/** Every family the schema's `model.family` allows, with its defaults. */
export const FAMILIES: Readonly<Record<ModelFamily, FamilySpec>> = Object.freeze({
  "vanilla.small": uniform("the notes' default MLP", 256, 10, "none", false),
  "vanilla.medium": uniform("the notes' 10 × 1024 MLP", 1024, 10, "none", false),
  "vanilla.large": uniform("the notes' 100 × 1024 MLP", 1024, 100, "none", false),
  "vanilla.small.tanh": uniform("vanilla.small with a tanh output", 256, 10, "none", true),
  "vanilla.medium.tanh": uniform("vanilla.medium with a tanh output", 1024, 10, "none", true),
  "vanilla.large.tanh": uniform("vanilla.large with a tanh output", 1024, 100, "none", true),
  "vanilla.compression": {
    description: "3 hidden layers, each half the width of the previous",
    shape: "compression",
    size: 2048,
    layers: 3,
    normalization: "none",
    tanh: false,
  },
  "vanilla.compression.tanh": {
    description: "vanilla.compression with a tanh output",
    shape: "compression",
    size: 2048,
    layers: 3,
    normalization: "none",
    tanh: true,
  },
  "vanilla.deep.norm": uniform(
    "the notes' best: deeper, with batch normalization before each activation",
    1024,
    20,
    "batch",
    false,
  ),
  "vanilla.deep.norm.tanh": uniform(
    "vanilla.deep.norm with a tanh output",
    1024,
    20,
    "batch",
    true,
  ),
  lstm: sequence("stacked LSTM over the window (the last layer's final state)", 1),
  gru: sequence("stacked GRU over the window (the last layer's final state)", 1),
  "conv-lstm": sequence("causal Conv1D stack (ReLU), then the LSTM stack", 1),
  transformer: sequence(
    "encoder blocks of multi-head self-attention and feed-forward over the projected window",
    SEQUENCE_DEFAULTS.transformerLayers,
  ),
});

function sequence(description: string, layers: number): FamilySpec {
  return {
    description,
    shape: "sequence",
    size: SEQUENCE_DEFAULTS.size,
    layers,
    normalization: "none",
    tanh: false,
  };
}

function uniform(
  description: string,
  size: number,
  layers: number,
  normalization: Normalization,
  tanh: boolean,
): FamilySpec {
  return { description, shape: "uniform", size, layers, normalization, tanh };
}

/** Bytes of memory estimated for training, by part. */
export interface MemoryEstimate {
  /** All weights (trainable and batch-norm moving statistics), float32. */
  weights: number;
  /** Adam's first and second moments: 2 × trainable parameters. */
  optimizer: number;
  /** One gradient per trainable parameter. */
  gradients: number;
  /** Per-layer outputs kept for the backward pass and their gradients, for one batch. */
  activations: number;
  /** Transient copies: the transposed largest weight matrix and its gradient (the wasm matmul fix). */
  workspace: number;
}

/** The resolved shape of a model, its parameter count and training-memory estimate. */
export interface ModelDescription {
  family: ModelFamily;
  /** Width of the first hidden layer. */
  size: number;
  /** Number of hidden layers. */
  layers: number;
  /** Width of every hidden layer in order. */
  widths: number[];
  inputDim: number;
  activation: ModelConfig["activation"];
  dropout: number;
  normalization: Normalization;
  output: OutputActivation;
  /** Every weight, equal to `model.countParams()` (batch-norm moving statistics included). */
  parameters: number;
  /** Weights the optimizer updates. */
  trainableParameters: number;
  /** Estimated bytes to train with Adam at `batchSize` (sum of `memory`). */
  bytes: number;
  memory: MemoryEstimate;
  batchSize: number;
  /** A sequence family's resolved architecture (window, heads, pooling, conv stack); absent for an MLP. */
  sequence?: SequenceArchitecture;
}

/** Options of {@linkcode describeModel}. */
export interface DescribeOptions {
  /** Decides the output activation; without it `.tanh` families say tanh, others sigmoid. */
  label?: LabelConfig;
  /** Batch size the activation memory is estimated for (default 64). */
  batchSize?: number;
  /** The window's shape: required by the sequence families (`QuarterlyFrame.sequence`). */
  sequence?: SequenceShape;
}

/**
 * The output activation for a family and label: direction → sigmoid;
 * magnitude → tanh for `.tanh` families, linear otherwise.
 *
 * @param family the model family
 * @param label the label config
 * @returns the output activation
 */
export function outputActivation(family: ModelFamily, label: LabelConfig): OutputActivation {
  if (label.mode === "direction") return "sigmoid";
  return familySpec(family).tanh ? "tanh" : "linear";
}

/**
 * The registry entry of a family.
 *
 * @param family a family name
 * @returns its spec
 * @throws {RangeError} when the family is unknown, listing the known ones
 */
export function familySpec(family: string): FamilySpec {
  return lookup(FAMILIES, family, "model family");
}

function hiddenWidths(spec: FamilySpec, size: number, layers: number): number[] {
  if (spec.shape === "uniform") return Array.from({ length: layers }, () => size);
  return Array.from({ length: layers }, (_, i) => Math.max(1, Math.floor(size / 2 ** i)));
}

/**
 * Resolves a model config against its family's defaults and describes it:
 * widths, parameter count (equal to `countParams()` of the built model) and
 * an estimate of the bytes training with Adam needs.
 *
 * Memory estimate, float32 throughout: weights (all parameters) + Adam's two
 * moments and one gradient per trainable parameter + for one batch the output
 * of every layer kept for the backward pass and a gradient of the same size
 * (×2; ×4 with a normalization layer, which adds its own input and output) +
 * a transposed copy of the largest weight matrix and its gradient.
 *
 * A sequence family counts its activations over the window's time dimension
 * (`sequenceCounts` in `./sequence.ts`: B × T × units × (gates + states) per
 * recurrent layer, B × heads × T × T attention scores and their softmax per
 * encoder block), the same ×2 for their gradients and ×1.5 with dropout.
 *
 * @param model the resolved model config
 * @param inputDim number of input features (≥ 1; a sequence family's is `length × fields`)
 * @param options label (for the output activation), batch size and, for a sequence family, the
 *   window's shape
 * @returns the description
 * @throws {RangeError} for an unknown family or an input size below 1, and for a sequence family
 *   without a window shape, with an input size that is not the window's, or with `heads` not
 *   dividing `size`
 * @example
 * ```ts
 * describeModel(ModelConfig.parse({ family: "vanilla.small" }), 60).parameters; // 608,001
 * ```
 */
export function describeModel(
  model: ModelConfig,
  inputDim: number,
  options: DescribeOptions = {},
): ModelDescription {
  const spec = familySpec(model.family);
  if (!Number.isInteger(inputDim) || inputDim < 1) {
    throw new RangeError(`Invalid model input size "${inputDim}": expected an integer >= 1`);
  }
  const output: OutputActivation = options.label
    ? outputActivation(model.family, options.label)
    : spec.tanh
    ? "tanh"
    : "sigmoid";
  const batchSize = options.batchSize ?? 64;
  if (isSequenceFamily(model.family)) {
    return describeSequence(model, inputDim, output, batchSize, options.sequence);
  }
  const size = model.size ?? spec.size;
  const layers = model.layers ?? spec.layers;
  const normalization = model.normalization ?? spec.normalization;
  const widths = hiddenWidths(spec, size, layers);

  let trainable = 0;
  let nonTrainable = 0;
  let largestMatrix = inputDim;
  let previous = inputDim;
  for (const w of widths) {
    trainable += previous * w + w;
    largestMatrix = Math.max(largestMatrix, previous * w);
    if (normalization === "batch") {
      trainable += 2 * w; // gamma, beta
      nonTrainable += 2 * w; // moving mean, moving variance
    } else if (normalization === "layer") {
      trainable += 2 * w;
    }
    previous = w;
  }
  trainable += previous + 1; // the output unit
  const parameters = trainable + nonTrainable;

  const perRowValues = inputDim + widths.reduce((a, b) => a + b, 0) + 1;
  const activationCopies = normalization === "none" ? 2 : 4;
  const memory: MemoryEstimate = {
    weights: 4 * parameters,
    optimizer: 4 * 2 * trainable,
    gradients: 4 * trainable,
    activations: 4 * batchSize * perRowValues * activationCopies * (model.dropout > 0 ? 1.5 : 1),
    workspace: 4 * 2 * largestMatrix,
  };
  const bytes = memory.weights + memory.optimizer + memory.gradients + memory.activations +
    memory.workspace;
  return {
    family: model.family,
    size,
    layers,
    widths,
    inputDim,
    activation: model.activation,
    dropout: model.dropout,
    normalization,
    output,
    parameters,
    trainableParameters: trainable,
    bytes: Math.ceil(bytes),
    memory,
    batchSize,
  };
}

function describeSequence(
  model: ModelConfig,
  inputDim: number,
  output: OutputActivation,
  batchSize: number,
  shape: SequenceShape | undefined,
): ModelDescription {
  const a = resolveSequence(model, inputDim, shape);
  const c = sequenceCounts(a);
  const memory: MemoryEstimate = {
    weights: 4 * c.parameters,
    optimizer: 4 * 2 * c.parameters,
    gradients: 4 * c.parameters,
    activations: 4 * batchSize * c.activationsPerRow * 2 * (a.dropout > 0 ? 1.5 : 1),
    workspace: 4 * 2 * c.largestMatrix,
  };
  const bytes = memory.weights + memory.optimizer + memory.gradients + memory.activations +
    memory.workspace;
  return {
    family: model.family,
    size: a.size,
    layers: a.layers,
    widths: c.widths,
    inputDim,
    activation: model.activation,
    dropout: model.dropout,
    normalization: "none",
    output,
    parameters: c.parameters,
    trainableParameters: c.parameters,
    bytes: Math.ceil(bytes),
    memory,
    batchSize,
    sequence: a,
  };
}

/**
 * Builds the model a config asks for. Deterministic: the same config, input
 * size, label and seed give bit-identical initial weights.
 *
 * @param model the resolved model config
 * @param inputDim number of input features
 * @param label the label config (decides the output activation)
 * @param seed the experiment seed (default 42, the schema's)
 * @param sequence the window's shape (`QuarterlyFrame.sequence`): required by a sequence family,
 *   ignored by an MLP (which reads the flat row as it is)
 * @returns an uncompiled model (a `tf.Sequential`, or a functional `tf.LayersModel` for the
 *   transformer); its `countParams()` equals `describeModel(...).parameters`
 * @throws {RangeError} for an unknown family or an invalid input size, and for a sequence family
 *   as {@linkcode describeModel} does
 * @example
 * ```ts
 * const net = buildModel(ModelConfig.parse({ family: "vanilla.small", size: 8, layers: 2 }), 5,
 *   { mode: "direction", horizon: 1 }, 7);
 * ```
 */
export function buildModel(
  model: ModelConfig,
  inputDim: number,
  label: LabelConfig,
  seed = 42,
  sequence?: SequenceShape,
): tf.LayersModel {
  const d = describeModel(model, inputDim, { label, sequence });
  if (d.sequence) {
    return buildSequenceModel(d.sequence, d.output, seed, model.family.replaceAll("-", "_"));
  }
  const net = tf.sequential({ name: model.family.replaceAll(".", "_") });
  d.widths.forEach((width, i) => {
    const normalized = d.normalization !== "none";
    net.add(tf.layers.dense({
      units: width,
      activation: normalized ? "linear" : activationId(d.activation),
      kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, i) }),
      biasInitializer: "zeros",
      ...(i === 0 ? { inputShape: [inputDim] } : {}),
      name: `hidden_${i}`,
    }));
    if (d.normalization === "batch") {
      net.add(tf.layers.batchNormalization({ name: `batch_norm_${i}` }));
    } else if (d.normalization === "layer") {
      net.add(tf.layers.layerNormalization({ name: `layer_norm_${i}` }));
    }
    if (normalized && d.activation !== "linear") {
      net.add(tf.layers.activation({ activation: activationId(d.activation), name: `act_${i}` }));
    }
    if (d.dropout > 0) {
      net.add(
        new SeededDropout({ rate: d.dropout, seed: deriveSeed(seed, i, 1), name: `drop_${i}` }),
      );
    }
  });
  net.add(tf.layers.dense({
    units: 1,
    activation: d.output,
    kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, d.widths.length) }),
    biasInitializer: "zeros",
    name: "output",
  }));
  return net;
}

type ActivationId = NonNullable<Parameters<typeof tf.layers.dense>[0]["activation"]>;

function activationId(a: ModelConfig["activation"]): ActivationId {
  return a as ActivationId;
}

/** Where {@linkcode availableMemory} got its figure. */
export interface AvailableMemory {
  bytes: number;
  source: string;
}

/** Used when the system's free memory cannot be read (no `--allow-sys`): 4 GiB. */
export const DEFAULT_AVAILABLE_BYTES = 4 * 1024 ** 3;

/** The wasm backend's 32-bit address space: it can never hold more than 4 GiB. */
export const WASM_MEMORY_LIMIT_BYTES = 4 * 1024 ** 3;

/**
 * Memory available for training: `Deno.systemMemoryInfo().available` when
 * the `sys` permission allows it, else {@linkcode DEFAULT_AVAILABLE_BYTES}.
 *
 * @returns bytes and where the figure came from
 */
export function availableMemory(): AvailableMemory {
  try {
    const info = Deno.systemMemoryInfo();
    return { bytes: info.available, source: "Deno.systemMemoryInfo().available" };
  } catch {
    return {
      bytes: DEFAULT_AVAILABLE_BYTES,
      source: "default of 4 GiB (grant --allow-sys to read the system's free memory)",
    };
  }
}

/**
 * Bytes as GiB with two decimals, the unit of every memory message.
 *
 * @param n bytes
 * @returns e.g. `2.42 GiB`
 */
export const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(2)} GiB`;

/**
 * Refuses, with the numbers, a model that will not fit in memory.
 *
 * @param d the model description
 * @param availableBytes bytes available (default: {@linkcode availableMemory})
 * @param options `backend: "wasm"` also caps at the 4 GiB wasm address space
 * @throws {RangeError} when `d.bytes` exceeds what is available
 */
export function checkFits(
  d: ModelDescription,
  availableBytes?: number,
  options: { backend?: string } = {},
): void {
  const avail = availableBytes === undefined
    ? availableMemory()
    : { bytes: availableBytes, source: "given" };
  let limit = avail.bytes;
  let source = avail.source;
  if (options.backend === "wasm" && WASM_MEMORY_LIMIT_BYTES < limit) {
    limit = WASM_MEMORY_LIMIT_BYTES;
    source = "the wasm backend's 4 GiB address space";
  }
  if (d.bytes > limit) {
    const m = d.memory;
    throw new RangeError(
      `Model "${d.family}" does not fit: ${d.parameters.toLocaleString("en-US")} parameters ` +
        `(${d.layers} layers, size ${d.size}) need about ${
          gib(d.bytes)
        } to train at batch ${d.batchSize} ` +
        `(weights ${gib(m.weights)}, Adam moments ${gib(m.optimizer)}, gradients ${
          gib(m.gradients)
        }, activations ${gib(m.activations)}, workspace ${gib(m.workspace)}) ` +
        `but ${gib(limit)} is available (${source}): lower model.size or model.layers`,
    );
  }
}
