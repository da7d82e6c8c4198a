/**
 * What the fused MLP engines share (`train.engine: fused`): the flat parameter
 * layout, the mapping to and from the tfjs model's weights and the checkpoint
 * format, the argument checks, and the adapter that puts a fused engine behind
 * the epoch loop ({@linkcode fusedTrainingEngine}; the loop and its policy are
 * `loop.ts`'s, the same as the tfjs engine's).
 *
 * A fused engine ({@linkcode FusedEngine}) only runs whole epochs: the WebGPU
 * one ({@link ./fused_webgpu.ts}) in WGSL compute shaders, the CPU one
 * ({@link ./fused_cpu.ts}) with a BLAS or wasm sgemm and wasm SIMD kernels
 * over shared memory. Both hold the parameters of every layer in one flat
 * buffer, laid out by {@linkcode fusedLayout}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { LossSpec, MlpDescription } from "./spec.ts";
import { checkTrainArgs, type HostTensor, type TrainArgs, type TrainingEngine } from "./loop.ts";
import { FUSED_ACTIVATIONS, type FusedActivation } from "./wgsl.ts";

/** Arguments every fused engine takes: the trainer's, plus what the kernels are generated from. */
export interface FusedArgs extends TrainArgs {
  /** The MLP being trained (the runner passes `describeModel(config, inputDim, { label })`). */
  description: MlpDescription;
  /** The loss config `args.loss` was made from (the engines mirror it; `args.loss` itself is not called). */
  lossConfig: LossSpec;
}

/** One dense layer (with its optional batch normalization) in the flat parameter buffer. */
export interface FusedLayer {
  /** Inputs. */
  inDim: number;
  /** Outputs. */
  outDim: number;
  /** Offset of the kernel (inDim × outDim, row-major). */
  wOff: number;
  /** Offset of the bias (outDim). */
  bOff: number;
  /** Batch norm: offset of gamma (then beta, moving mean, moving variance), or -1. */
  nOff: number;
  /** The activation after the layer (and its batch normalization). */
  activation: FusedActivation;
}

/**
 * Why the fused engines cannot train this model, or null when they can.
 *
 * @param d the model description
 * @returns a sentence naming the unsupported feature, or null
 */
export function fusedUnsupported(d: MlpDescription): string | null {
  if (d.normalization === "layer") {
    return `normalization "layer" (model "${d.family}") is not supported by the fused engine: it trains families without normalization or with batch normalization; set model.normalization: none or batch, or train.engine: tfjs`;
  }
  if (d.dropout > 0) {
    return `dropout ${d.dropout} is not supported by the fused engine: set model.dropout: 0 or train.engine: tfjs`;
  }
  if (!(FUSED_ACTIVATIONS as readonly string[]).includes(d.activation)) {
    return `activation "${d.activation}" is not supported by the fused engine: expected one of ${
      FUSED_ACTIVATIONS.map((a) => `"${a}"`).join(", ")
    }, or train.engine: tfjs`;
  }
  return null;
}

/**
 * The flat parameter layout of a model: per layer the kernel, the bias and,
 * with batch norm, gamma, beta, moving mean and moving variance.
 *
 * @param d the model description
 * @returns the layers and the total parameter count (moving statistics included)
 */
export function fusedLayout(d: MlpDescription): { layers: FusedLayer[]; params: number } {
  const layers: FusedLayer[] = [];
  let off = 0;
  let inDim = d.inputDim;
  const outs = [...d.widths, 1];
  outs.forEach((outDim, j) => {
    const wOff = off;
    off += inDim * outDim;
    const bOff = off;
    off += outDim;
    const hidden = j < d.widths.length;
    const nOff = hidden && d.normalization === "batch" ? off : -1;
    if (nOff >= 0) off += 4 * outDim;
    layers.push({
      inDim,
      outDim,
      wOff,
      bOff,
      nOff,
      activation: (hidden ? d.activation : d.output) as FusedActivation,
    });
    inDim = outDim;
  });
  return { layers, params: off };
}

/** Where one tensor of `model.getWeights()` lives in a fused engine's flat parameter buffer. */
export interface WeightSlot {
  /** Offset of its first value. */
  off: number;
  /** Its shape (values row-major from `off`). */
  shape: number[];
}

/**
 * Where each tensor of `model.getWeights()` lives in the flat parameter
 * buffer: trainable weights first (per layer kernel, bias, then gamma and beta
 * with batch norm), then the non-trainable moving mean and variance per
 * normalized layer — the order tfjs-layers lists them in.
 *
 * @param layers the layout's layers
 * @returns offset and shape per weight tensor
 */
export function weightSlots(layers: FusedLayer[]): WeightSlot[] {
  const trainable = layers.flatMap((l) => [
    { off: l.wOff, shape: [l.inDim, l.outDim] },
    { off: l.bOff, shape: [l.outDim] },
    ...(l.nOff >= 0
      ? [{ off: l.nOff, shape: [l.outDim] }, { off: l.nOff + l.outDim, shape: [l.outDim] }]
      : []),
  ]);
  const moving = layers.filter((l) => l.nOff >= 0).flatMap((l) => [
    { off: l.nOff + 2 * l.outDim, shape: [l.outDim] },
    { off: l.nOff + 3 * l.outDim, shape: [l.outDim] },
  ]);
  return [...trainable, ...moving];
}

function checkWeights(model: tf.LayersModel, layers: FusedLayer[]): void {
  const expected = weightSlots(layers).map((w) => w.shape);
  const shapes = model.weights.map((w) => w.shape);
  const same = shapes.length === expected.length &&
    shapes.every((s, i) =>
      s.length === expected[i].length && s.every((v, k) => v === expected[i][k])
    );
  if (!same) {
    throw new RangeError(
      `The model does not match its description: weights have shapes ${
        JSON.stringify(shapes)
      }, the fused engine expects ${
        JSON.stringify(expected)
      } (per layer dense kernel and bias, with batch norm gamma and beta; then the moving means and variances)`,
    );
  }
}

/**
 * Checks a fused engine's arguments as every engine's are checked
 * (`checkTrainArgs`), plus the model against its description.
 *
 * @param args the engine's arguments
 * @returns the flat layout of the model
 * @throws {Error} for an unsupported model
 * @throws {RangeError} on inconsistent shapes or invalid options
 */
export function checkFusedArgs(args: FusedArgs): { layers: FusedLayer[]; params: number } {
  const { description } = args;
  const why = fusedUnsupported(description);
  if (why) throw new Error(`Cannot train with the fused engine: ${why}`);
  checkTrainArgs(args, description.inputDim);
  const out = fusedLayout(description);
  checkWeights(args.model, out.layers);
  return out;
}

/** Adam's state in a fused engine: flat moments in the parameter layout, and β powers. */
export interface FusedOptimizerState {
  /** First moments; from {@linkcode FusedEngine.optimizerState} possibly a view into the engine's memory. */
  m: Float32Array;
  /** Second moments (as `m`). */
  v: Float32Array;
  /** β1^t and β2^t after the last step. */
  powers: [number, number];
}

/** Names of the flat Adam moments in a fused checkpoint's optimizer list. */
const MOMENTS = ["fused/adam/m", "fused/adam/v"] as const;

/** What the shared loop needs from an engine. */
export interface FusedEngine {
  /** Loads the flat parameters (the layout of {@linkcode fusedLayout}). */
  upload(flat: Float32Array<ArrayBuffer>): void;
  /**
   * Trains one epoch over the rows in `perm` order at learning rate `lr`, then
   * runs the validation pass.
   *
   * @returns [sum of the per-row training losses, sum of the validation losses]
   */
  epoch(perm: Int32Array, lr: number): Promise<[number, number]>;
  /** Remembers the current parameters as the best so far. */
  saveBest(): void;
  /**
   * The current (or best remembered) flat parameters: possibly a view into the
   * engine's memory, valid until the engine next trains or is destroyed.
   */
  download(best: boolean): Promise<Float32Array>;
  /** Sets the remembered best parameters (a resumed checkpoint's). */
  setBest(flat: Float32Array<ArrayBuffer>): void;
  /**
   * Adam's moments and running powers of β1, β2 (null with SGD), for a
   * checkpoint; the moments may be views, valid as {@linkcode FusedEngine.download}'s.
   */
  optimizerState(): Promise<FusedOptimizerState | null>;
  /** Restores what {@linkcode FusedEngine.optimizerState} returned. */
  setOptimizerState(s: FusedOptimizerState): void;
  /** What runs the training: kernels, device, threads (for the run record). */
  describe(): string;
  /** Releases what the engine holds; called once, also after an error. */
  destroy(): void;
}

/**
 * Reads the model's weights into one flat buffer.
 *
 * @param model the tfjs model
 * @param slots where each of its weights lives in the flat buffer
 * @param params the layout's parameter count
 * @returns the flat parameters
 */
export async function flatWeights(
  model: tf.LayersModel,
  slots: WeightSlot[],
  params: number,
): Promise<Float32Array<ArrayBuffer>> {
  const flat = new Float32Array(params);
  const weights = model.getWeights();
  for (let i = 0; i < weights.length; i++) {
    flat.set((await weights[i].data()) as Float32Array, slots[i].off);
  }
  return flat;
}

function hostWeights(
  flat: Float32Array,
  slots: WeightSlot[],
  model: tf.LayersModel,
): HostTensor[] {
  return slots.map(({ off, shape }, i) => ({
    name: model.weights[i]?.originalName ?? `w${i}`,
    shape,
    dtype: "float32" as const,
    // Views, not copies: a checkpoint streams them to its file before the next epoch.
    data: flat.subarray(off, off + shape.reduce((a, b) => a * b, 1)),
  }));
}

function flatFromHost(
  hs: HostTensor[],
  slots: WeightSlot[],
  params: number,
  what: string,
): Float32Array<ArrayBuffer> {
  if (hs.length !== slots.length) {
    throw new RangeError(
      `Checkpoint does not match the model: ${what} have ${hs.length} tensors, the model ${slots.length}`,
    );
  }
  const flat = new Float32Array(params);
  hs.forEach((h, i) => {
    const { off, shape } = slots[i];
    if (h.shape.length !== shape.length || h.shape.some((d, j) => d !== shape[j])) {
      throw new RangeError(
        `Checkpoint does not match the model: ${what} "${h.name}" has shape [${h.shape}], the model [${shape}]`,
      );
    }
    flat.set(h.data as Float32Array, off);
  });
  return flat;
}

/**
 * A fused engine behind the epoch loop (`runEpochs`): loads the
 * model's weights into it, and maps its flat buffers to and from the model's
 * weights and the checkpoint format (weights in model order, Adam's moments
 * as two flat tensors named `fused/adam/m` and `fused/adam/v`). The epoch's
 * losses are the engine's sums over the rows, divided in float32. The fused
 * engine is destroyed when the returned one is disposed, or here on an error.
 *
 * @param args the engine's (checked) arguments
 * @param slots where each of the model's weights lives in the flat buffer ({@linkcode weightSlots}
 *   for an MLP)
 * @param params the layout's parameter count
 * @param engine a freshly built fused engine
 * @returns the engine for `runEpochs`
 */
export async function fusedTrainingEngine(
  args: TrainArgs,
  slots: WeightSlot[],
  params: number,
  engine: FusedEngine,
): Promise<TrainingEngine> {
  const { model, train, x, xVal } = args;
  try {
    engine.upload(await flatWeights(model, slots, params));
  } catch (e) {
    engine.destroy();
    throw e;
  }
  return {
    name: "fused",
    async epoch(order, lr) {
      // One call, always completed: the signal is not needed.
      const [sum, valSum] = await engine.epoch(order, lr);
      return { loss: Math.fround(sum / x.rows), valLoss: Math.fround(valSum / xVal.rows) };
    },
    keepBest() {
      engine.saveBest();
    },
    async snapshot(best) {
      const opt = await engine.optimizerState();
      return {
        weights: hostWeights(await engine.download(false), slots, model),
        optimizer: opt
          ? [opt.m, opt.v].map((data, i) => ({
            name: MOMENTS[i],
            shape: [params],
            dtype: "float32" as const,
            data,
          }))
          : [],
        adamPowers: opt ? opt.powers : null,
        best: best ? hostWeights(await engine.download(true), slots, model) : null,
      };
    },
    restore(s) {
      engine.upload(flatFromHost(s.weights, slots, params, "weights"));
      if (train.optimizer === "adam") {
        const [m, v] = MOMENTS.map((name) => s.optimizer.find((h) => h.name === name));
        if (!m || !v || !s.adamPowers || m.data.length !== params || v.data.length !== params) {
          throw new RangeError(
            `Checkpoint does not match this run: it lacks the fused engine's Adam moments of ${params} parameters`,
          );
        }
        engine.setOptimizerState({
          m: m.data as Float32Array,
          v: v.data as Float32Array,
          powers: s.adamPowers,
        });
      }
      if (s.best) engine.setBest(flatFromHost(s.best, slots, params, "best weights"));
      return Promise.resolve();
    },
    async toModel(which) {
      const flat = await engine.download(which === "best");
      const ts = slots.map(({ off, shape }) =>
        tf.tensor(flat.subarray(off, off + shape.reduce((a, b) => a * b, 1)), shape)
      );
      model.setWeights(ts);
      tf.dispose(ts);
    },
    describe() {
      return engine.describe();
    },
    dispose() {
      engine.destroy();
    },
  };
}
