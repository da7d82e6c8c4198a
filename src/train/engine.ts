/**
 * The experiment's training engine (`train.engine`): the tfjs trainer, or the fused MLP engine
 * of the active backend (WGSL on `webgpu`, the CPU engine with the BLAS sgemm on `cpu-blas` and
 * with its own wasm SIMD sgemm on `wasm`); the checks that the model fits it, made before any
 * long work; and the training of fresh models without checkpoints (controls, ablation retrains).
 *
 * The fused engines train the MLP families and, on the CPU backends, the `lstm` and `gru` sequence
 * families (the fused recurrent engine, `trainFusedRnn`): {@linkcode fusedRefusal} is the one place
 * that says which model families they refuse (`conv-lstm`, `transformer`).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { Matrix } from "@alfred/core";
import {
  checkFusedFits,
  FUSED_RNN_FAMILIES,
  fusedCpuSgemm,
  fusedRnnProblem,
  type FusedTarget,
  fusedUnsupported,
  type TrainArgs,
  trainFused,
  trainFusedCpu,
  trainFusedRnn,
  trainModel,
  type TrainResult,
} from "@alfred/engines";
import type { Experiment } from "../config/schema.ts";
import type { Prepared } from "../dataset/prepare.ts";
import type { SequenceShape } from "../features/sequence.ts";
import { isSequenceFamily } from "../models/sequence_spec.ts";
import {
  buildModel,
  checkFits,
  describeModel,
  gib,
  type ModelDescription,
} from "../models/registry.ts";
import { makeLoss } from "../models/losses.ts";
import { checkPlanFits, type MemoryPlan, runMemoryPlan } from "./memory.ts";
import type { ProgressReporter } from "./progress.ts";
import { adamStepWarning } from "./warnings.ts";

/**
 * Which fused engine trains on a backend: the WGSL one on `webgpu`, the CPU
 * one with the BLAS sgemm on `cpu-blas` and with its own wasm SIMD sgemm on
 * `wasm`.
 *
 * @param backend the active backend
 * @returns the engine's target
 * @throws {Error} for another backend, naming the three that work
 * @example
 * ```ts
 * fusedTarget("cpu-blas"); // "blas"
 * ```
 */
export function fusedTarget(backend: string): FusedTarget {
  if (backend === "webgpu") return "webgpu";
  if (backend === "cpu-blas") return "blas";
  if (backend === "wasm") return "wasm";
  throw new Error(
    `train.engine "fused" runs on backend "webgpu" (WGSL), "cpu-blas" (BLAS sgemm) or "wasm" (wasm SIMD sgemm), not on "${backend}": set train.backend to one of them, or train.engine: tfjs`,
  );
}

/**
 * Whether `train.engine: fused` trains a family with the fused recurrent engine (`lstm`, `gru`).
 *
 * @param family the model family
 * @returns true for the recurrent families the fused CPU engine trains
 */
export function isFusedRecurrent(family: string): boolean {
  return (FUSED_RNN_FAMILIES as readonly string[]).includes(family);
}

/**
 * Why `train.engine: fused` cannot train a model family, or null when it can. The fused engines
 * train the MLP families (WGSL on webgpu, the CPU engine on cpu-blas and wasm) and `lstm` and
 * `gru` (the fused recurrent engine, on cpu-blas and wasm); `conv-lstm` and `transformer` train on
 * the tfjs engine. The one statement of that rule: {@linkcode checkEngine},
 * {@linkcode planTraining} and {@linkcode trainWithEngine} all ask it.
 *
 * @param family the model family
 * @returns the refusal, naming the family and the alternatives, or null
 * @example
 * ```ts
 * fusedRefusal("transformer"); // 'train.engine "fused" cannot train model family "transformer": ...'
 * ```
 */
export function fusedRefusal(family: string): string | null {
  if (!isSequenceFamily(family) || isFusedRecurrent(family)) return null;
  const why = family === "conv-lstm"
    ? "its causal Conv1D stack is not fused"
    : "attention is not fused";
  return `train.engine "fused" cannot train model family "${family}" (${why}): the fused engines ` +
    `train the MLP families (vanilla.*) and "lstm" and "gru"; set train.engine: tfjs (on any ` +
    `backend: wasm, cpu, cpu-blas, webgpu) for "${family}"`;
}

/**
 * The fused recurrent engine's target on a backend: the CPU engine with the BLAS sgemm on
 * `cpu-blas` and with the wasm SIMD sgemm on `wasm`.
 *
 * @param family the (recurrent) model family, for the message
 * @param backend the active backend
 * @returns `blas` or `wasm`
 * @throws {Error} for another backend (webgpu has no fused recurrent engine)
 */
function recurrentTarget(family: string, backend: string): "blas" | "wasm" {
  if (backend === "cpu-blas") return "blas";
  if (backend === "wasm") return "wasm";
  throw new Error(
    `train.engine "fused" trains model family "${family}" with the fused CPU recurrent engine, on backend "cpu-blas" (BLAS sgemm) or "wasm" (wasm SIMD sgemm), not on "${backend}": set train.backend to one of them, or train.engine: tfjs`,
  );
}

/**
 * Refuses, before the data work, a model past the fused engine's limits on the active backend
 * (with one input, a lower bound of the model the run will build); nothing for the tfjs engine.
 *
 * @param e the experiment
 * @param backend the active backend
 * @throws {Error} when `train.engine` is `fused` and the backend has no fused engine, the family
 *   is not one it trains ({@linkcode fusedRefusal}) or the model cannot fit it
 */
export async function checkEngine(e: Experiment, backend: string): Promise<void> {
  if (e.train.engine !== "fused") return;
  const refusal = fusedRefusal(e.model.family);
  if (refusal) throw new Error(refusal);
  // A recurrent model's size depends on the window's shape: planTraining checks it with the data.
  if (isFusedRecurrent(e.model.family)) {
    recurrentTarget(e.model.family, backend);
    return;
  }
  const lower = describeModel(e.model, 1, { label: e.label, batchSize: e.train.batch_size });
  await checkFusedFits(fusedTarget(backend), lower, {
    batchSize: e.train.batch_size,
    optimizer: e.train.optimizer,
  });
}

/** What trains a run's models, and on what. */
export interface Engine {
  /** The active tfjs backend. */
  backend: string;
  /** The backend's device, as `selectBackend` named it. */
  device: string;
  /** The fused engine's target, or null for the tfjs engine. */
  fused: FusedTarget | null;
  /** The device as the run records it: the backend's, with the fused engine named. */
  trainDevice: string;
}

/**
 * The run's training plan, checked before any training: the engine (the model must be one the
 * fused engine trains, or fit the tfjs backend's memory), the Adam step warning, and the memory
 * plan of the whole run, which must fit the machine. Logs the engine, the warning and the plan.
 *
 * @param e the experiment
 * @param p the prepared data (the model's input width is its number of features; a sequence
 *   family reads its window shape)
 * @param selected the active backend and its device
 * @param log one line of information
 * @returns the engine, the memory plan and the model's description
 * @throws {Error} when the fused engine cannot train the model
 * @throws {RangeError} when the model or the run does not fit in memory
 */
export function planTraining(
  e: Experiment,
  p: Prepared,
  selected: { backend: string; device: string },
  log: (line: string) => void,
): { engine: Engine; memory: MemoryPlan; description: ModelDescription } {
  const { backend, device } = selected;
  if (e.train.engine === "fused") {
    const refusal = fusedRefusal(e.model.family);
    if (refusal) throw new Error(refusal);
  }
  const description = describeModel(e.model, p.q.features.length, {
    label: e.label,
    batchSize: e.train.batch_size,
    sequence: p.q.sequence,
  });
  const recurrent = e.train.engine === "fused" && isFusedRecurrent(e.model.family)
    ? recurrentTarget(e.model.family, backend)
    : null;
  const fused = e.train.engine !== "fused" ? null : recurrent ?? fusedTarget(backend);
  let trainDevice = device;
  if (recurrent) {
    const rows = Math.max(...p.folds.map((f) => f.train.length));
    const valRows = Math.max(...p.folds.map((f) => f.validation.length));
    const threads = recurrent === "wasm" ? navigator.hardwareConcurrency ?? 1 : 0;
    const why = fusedRnnProblem(
      description,
      { batchSize: e.train.batch_size, optimizer: e.train.optimizer, rows, valRows },
      threads,
    );
    if (why) throw new Error(`train.engine "fused" cannot train this model: ${why}`);
    trainDevice = `${device}; fused CPU recurrent engine (${fusedCpuSgemm(recurrent)})`;
    log(`engine: fused CPU recurrent engine (${e.model.family})`);
  } else if (fused) {
    const why = fusedUnsupported(description);
    if (why) throw new Error(`train.engine "fused" cannot train this model: ${why}`);
    trainDevice = fused === "webgpu"
      ? `${device}; fused WGSL MLP engine`
      : `${device}; fused CPU MLP engine (${fusedCpuSgemm(fused)})`;
    log(`engine: fused ${fused === "webgpu" ? "WebGPU" : "CPU"} MLP engine`);
  } else {
    // The tfjs engine on cpu-blas trains inside the wasm heap.
    checkFits(description, undefined, { backend: backend === "cpu-blas" ? "wasm" : backend });
  }
  const stepWarning = adamStepWarning(description.widths, e.train);
  if (stepWarning) log(`warning: ${stepWarning}`);
  const memory = runMemoryPlan(e, description, fused, p.folds);
  checkPlanFits(memory, `model ${e.model.family} (${description.layers} x ${description.size})`);
  log(
    `model ${e.model.family}: ${description.layers} layers of ${description.size}, ` +
      `${description.parameters.toLocaleString("en-US")} parameters; peak memory about ${
        gib(memory.bytes)
      } (${memory.parts.map((m) => `${m.what} ${gib(m.bytes)}`).join(", ")})`,
  );
  return { engine: { backend, device, fused, trainDevice }, memory, description };
}

/**
 * Trains with the experiment's engine: `trainModel`, or the fused engine of
 * the active backend (see {@linkcode fusedTarget}).
 *
 * @param e the experiment
 * @param backend the active backend
 * @param args the trainer's arguments
 * @param sequence the window's shape (`QuarterlyFrame.sequence`): the fused recurrent engine needs it
 * @returns what the engine returned
 * @throws {Error} as the engine does (`fusedTarget` for a backend without a fused engine;
 *   {@linkcode fusedRefusal} for a family the fused engines do not train)
 */
export function trainWithEngine(
  e: Experiment,
  backend: string,
  args: TrainArgs,
  sequence?: SequenceShape,
): Promise<TrainResult> {
  if (e.train.engine !== "fused") return trainModel(args);
  const refusal = fusedRefusal(e.model.family);
  if (refusal) return Promise.reject(new Error(refusal));
  let description: ModelDescription;
  try {
    description = describeModel(e.model, args.x.cols, {
      label: e.label,
      batchSize: e.train.batch_size,
      sequence,
    });
  } catch (err) {
    return Promise.reject(err);
  }
  if (isFusedRecurrent(e.model.family)) {
    let sgemm: "blas" | "wasm";
    try {
      sgemm = recurrentTarget(e.model.family, backend);
    } catch (err) {
      return Promise.reject(err);
    }
    return trainFusedRnn({ ...args, description, lossConfig: e.loss, sgemm });
  }
  const fused = { ...args, description, lossConfig: e.loss };
  const target = fusedTarget(backend);
  return target === "webgpu" ? trainFused(fused) : trainFusedCpu({ ...fused, sgemm: target });
}

/** The rows a fresh model trains on: training rows and validation rows with their labels. */
export interface FitData {
  /** The training rows. */
  x: Matrix;
  /** Their labels. */
  y: Float32Array;
  /** The validation rows (early stopping). */
  xVal: Matrix;
  /** Their labels. */
  yVal: Float32Array;
  /** The window's shape (`QuarterlyFrame.sequence`): a sequence family needs it. */
  sequence?: SequenceShape;
}

/**
 * A fresh model of the experiment trained with its engine and seed, without checkpoints
 * (the shuffled-label control, ablation retrains), with progress lines when `progress` is given.
 *
 * @param e the experiment
 * @param backend the active backend
 * @param data the training and validation rows
 * @param signal stops the training (its result then says `interrupted`)
 * @param progress the progress display, finished with the result
 * @returns the trained model (the caller disposes of it) and the training's result
 */
export async function fitQuietly(
  e: Experiment,
  backend: string,
  data: FitData,
  signal?: AbortSignal,
  progress?: ProgressReporter,
): Promise<{ model: tf.LayersModel; result: TrainResult }> {
  const { sequence, ...rows } = data;
  const model = buildModel(e.model, rows.x.cols, e.label, e.seed, sequence);
  const result = await trainWithEngine(e, backend, {
    model,
    loss: makeLoss(e.loss),
    train: e.train,
    seed: e.seed,
    ...rows,
    signal,
    onEpoch: progress,
  }, sequence);
  progress?.finish(result);
  return { model, result };
}
