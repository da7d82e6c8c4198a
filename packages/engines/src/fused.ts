/**
 * What the fused MLP engines share (`train.engine: fused`): the flat parameter
 * layout, the mapping to and from the tfjs model's weights, the argument
 * checks, and the epoch loop with `trainModel`'s policy (seeded shuffle, early
 * stopping, LR plateau, best-weight restore).
 *
 * An engine ({@linkcode FusedEngine}) only runs epochs: the WebGPU one
 * ({@link ./fused_webgpu.ts}) in WGSL compute shaders, the CPU one
 * ({@link ./fused_cpu.ts}) with a BLAS sgemm and JavaScript kernels over
 * shared memory. Both hold the parameters of every layer in one flat buffer,
 * laid out by {@linkcode fusedLayout}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { LossSpec, MlpDescription } from "./spec.ts";
import type {
  EpochLog,
  HostTensor,
  StopReason,
  TrainArgs,
  TrainResult,
  TrainState,
} from "./trainer.ts";
import {
  checkOptions,
  checkpointSchedule,
  checkResumable,
  type PlateauState,
  plateauStep,
} from "./trainer.ts";
import { checkMatrix, ShuffleRng } from "./core.ts";
import { FUSED_ACTIVATIONS, type FusedActivation } from "./wgsl.ts";
import { predict } from "./predict.ts";

/** Arguments every fused engine takes: the trainer's, plus what the kernels are generated from. */
export interface FusedArgs extends TrainArgs {
  /** The MLP being trained (the runner passes `describeModel(config, inputDim, { label })`). */
  description: MlpDescription;
  /** The loss config `args.loss` was made from (the engines mirror it; `args.loss` itself is not called). */
  lossConfig: LossSpec;
}

/** One dense layer (with its optional batch normalization) in the flat parameter buffer. */
export interface FusedLayer {
  inDim: number;
  outDim: number;
  /** Offset of the kernel (inDim × outDim, row-major). */
  wOff: number;
  /** Offset of the bias (outDim). */
  bOff: number;
  /** Batch norm: offset of gamma (then beta, moving mean, moving variance), or -1. */
  nOff: number;
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

/**
 * Where each tensor of `model.getWeights()` lives in the flat parameter
 * buffer: trainable weights first (per layer kernel, bias, then gamma and beta
 * with batch norm), then the non-trainable moving mean and variance per
 * normalized layer — the order tfjs-layers lists them in.
 *
 * @param layers the layout's layers
 * @returns offset and shape per weight tensor
 */
export function weightSlots(layers: FusedLayer[]): { off: number; shape: number[] }[] {
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
 * Checks a fused engine's arguments as `trainModel` checks its own, plus the
 * model against its description.
 *
 * @param args the engine's arguments
 * @returns the flat layout of the model
 * @throws {Error} for an unsupported model
 * @throws {RangeError} on inconsistent shapes or invalid options
 */
export function checkFusedArgs(args: FusedArgs): { layers: FusedLayer[]; params: number } {
  const { train, x, y, xVal, yVal, description } = args;
  const why = fusedUnsupported(description);
  if (why) throw new Error(`Cannot train with the fused engine: ${why}`);
  checkpointSchedule(args.checkpoint);
  checkOptions(train);
  checkMatrix("x", x, y, "y");
  checkMatrix("xVal", xVal, yVal, "yVal");
  if (x.rows === 0) throw new RangeError("Cannot train: the training set is empty");
  if (xVal.rows === 0) {
    throw new RangeError(
      "Cannot train: the validation set is empty (early stopping and best-weight restore need validation rows)",
    );
  }
  if (xVal.cols !== x.cols || x.cols !== description.inputDim) {
    throw new RangeError(
      `Column count mismatch: "x" has ${x.cols} columns, "xVal" ${xVal.cols}, the model expects ${description.inputDim}`,
    );
  }
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
 * @param layers its layout
 * @param params the layout's parameter count
 * @returns the flat parameters
 */
export async function flatWeights(
  model: tf.LayersModel,
  layers: FusedLayer[],
  params: number,
): Promise<Float32Array<ArrayBuffer>> {
  const flat = new Float32Array(params);
  const slots = weightSlots(layers);
  const weights = model.getWeights();
  for (let i = 0; i < weights.length; i++) {
    flat.set((await weights[i].data()) as Float32Array, slots[i].off);
  }
  return flat;
}

function hostWeights(
  flat: Float32Array,
  layers: FusedLayer[],
  model: tf.LayersModel,
): HostTensor[] {
  return weightSlots(layers).map(({ off, shape }, i) => ({
    name: model.weights[i]?.originalName ?? `w${i}`,
    shape,
    dtype: "float32" as const,
    // Views, not copies: a checkpoint streams them to its file before the next epoch.
    data: flat.subarray(off, off + shape.reduce((a, b) => a * b, 1)),
  }));
}

function flatFromHost(
  hs: HostTensor[],
  layers: FusedLayer[],
  params: number,
  what: string,
): Float32Array<ArrayBuffer> {
  const slots = weightSlots(layers);
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
 * Runs `trainModel`'s epoch loop over a fused engine: the same shuffle stream,
 * early stopping, LR plateau and best-weight restore; the model ends holding
 * the best weights. With `args.checkpoint` the state is saved after every
 * `every` epochs, at the end, and when `args.signal` interrupts (after the
 * running epoch completes) in `trainModel`'s format (weights in model order,
 * Adam's moments as two flat tensors), and a saved state is resumed exactly;
 * a checkpoint of the tfjs engine is refused. The engine is
 * destroyed before this returns or throws.
 *
 * @param args the engine's (checked) arguments
 * @param layers the model's layout
 * @param params the layout's parameter count
 * @param engine a freshly built engine
 * @returns history, best epoch and validation loss, why training stopped, the engine
 * @throws {RangeError} for a checkpoint of another run, model or engine
 */
export async function runFused(
  args: FusedArgs,
  layers: FusedLayer[],
  params: number,
  engine: FusedEngine,
): Promise<TrainResult> {
  const { model, train, seed, x, xVal, onEpoch, onResume, signal, checkpoint } = args;
  const schedule = checkpointSchedule(checkpoint);
  const run: TrainState["run"] = {
    rows: x.rows,
    cols: x.cols,
    valRows: xVal.rows,
    seed,
    optimizer: train.optimizer,
    batchSize: train.batch_size,
    engine: "fused",
  };
  try {
    engine.upload(await flatWeights(model, layers, params));
    const n = x.rows;
    const rng = new ShuffleRng(seed);
    const plateau: PlateauState = {
      lr: train.learning_rate,
      bestEpoch: 0,
      bestValLoss: Infinity,
      wait: 0,
      lrWait: 0,
    };
    let history: EpochLog[] = [];
    let epoch = 0;
    let finished: StopReason | null = null;

    const capture = async (): Promise<TrainState> => {
      const opt = await engine.optimizerState();
      return {
        version: 1,
        run,
        epoch,
        finished,
        weights: hostWeights(await engine.download(false), layers, model),
        optimizer: opt
          ? [opt.m, opt.v].map((data, i) => ({
            name: MOMENTS[i],
            shape: [params],
            dtype: "float32" as const,
            data,
          }))
          : [],
        adamPowers: opt ? opt.powers : null,
        lr: plateau.lr,
        best: {
          epoch: plateau.bestEpoch,
          valLoss: plateau.bestValLoss,
          weights: plateau.bestEpoch > 0
            ? hostWeights(await engine.download(true), layers, model)
            : null,
        },
        wait: plateau.wait,
        lrWait: plateau.lrWait,
        rng: rng.state,
        history: history.map((h) => ({ ...h })),
      };
    };
    const restore = (s: TrainState) => {
      checkResumable(s, run);
      engine.upload(flatFromHost(s.weights, layers, params, "weights"));
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
      if (s.best.weights) {
        engine.setBest(flatFromHost(s.best.weights, layers, params, "best weights"));
      }
      epoch = s.epoch;
      finished = s.finished;
      plateau.lr = s.lr;
      plateau.bestEpoch = s.best.epoch;
      plateau.bestValLoss = s.best.valLoss ?? Infinity;
      plateau.wait = s.wait;
      plateau.lrWait = s.lrWait;
      rng.state = s.rng >>> 0;
      history = s.history.map((h) => ({ ...h }));
    };

    const saved = checkpoint ? await checkpoint.load() : null;
    if (saved) {
      restore(saved);
      schedule.loaded(epoch);
      onResume?.(history.map((h) => ({ ...h })));
    }
    let stoppedBy: StopReason = finished ?? "epochs";
    while (!finished) {
      if (epoch >= train.epochs) {
        stoppedBy = "epochs";
        break;
      }
      if (signal?.aborted) {
        stoppedBy = "interrupted";
        break;
      }
      const started = performance.now();
      const lr = plateau.lr;
      const [sum, valSum] = await engine.epoch(rng.permutation(n), lr);
      epoch += 1;
      const log: EpochLog = {
        epoch,
        loss: Math.fround(sum / n),
        valLoss: Math.fround(valSum / xVal.rows),
        lr,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(log);
      const step = plateauStep(plateau, epoch, log.valLoss, train);
      if (step.improved) engine.saveBest();
      finished = step.finished;
      onEpoch?.(log);
      if (schedule.due(epoch, finished !== null)) await schedule.save(await capture());
      if (finished) {
        stoppedBy = finished;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // An engine's epoch is one call and always completes: on an interrupt the
    // engine holds the last completed epoch, saved here unless already saved.
    if (stoppedBy === "interrupted" && checkpoint && !schedule.holds(epoch)) {
      await schedule.save(await capture());
    }
    const setWeights = async (best: boolean) => {
      const flat = await engine.download(best);
      const ts = weightSlots(layers).map(({ off, shape }) =>
        tf.tensor(flat.subarray(off, off + shape.reduce((a, b) => a * b, 1)), shape)
      );
      model.setWeights(ts);
      tf.dispose(ts);
    };
    // trainModel's contract: the last epoch's fit of the training rows when an
    // earlier epoch's weights are restored.
    let lastEpochTrain: Float32Array | undefined;
    if (
      args.lastEpochFit && stoppedBy !== "interrupted" && plateau.bestEpoch > 0 &&
      plateau.bestEpoch !== history.length
    ) {
      await setWeights(false);
      lastEpochTrain = await predict(model, x);
    }
    await setWeights(plateau.bestEpoch > 0);
    return {
      history,
      bestEpoch: plateau.bestEpoch,
      bestValLoss: plateau.bestValLoss,
      stoppedBy,
      engine: engine.describe(),
      ...(lastEpochTrain ? { lastEpochTrain } : {}),
    };
  } finally {
    engine.destroy();
  }
}
