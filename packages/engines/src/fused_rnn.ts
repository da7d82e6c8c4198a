/**
 * The fused CPU recurrent engine (`train.engine: fused` for the `lstm` and
 * `gru` families on `train.backend: cpu-blas`, `wasm` or `auto` without a
 * GPU): trains the runner's stacked LSTM or GRU with its Dense(1) head without
 * tfjs ops, the products in the fused CPU MLP engine's sgemm (a system BLAS
 * when one loads, else the engine's own wasm SIMD sgemm: {@link ./fused_cpu.ts}
 * `startSgemm`), the gates in JavaScript loops over buffers allocated once per
 * run, the optimizer step in the same threads and kernels as the MLP engine's
 * ({@link ./cpu_pool.ts}).
 *
 * The model is the one `src/models/sequence.ts` builds: the flat row (time
 * major, column `t · fields + f`) reshaped to `[length, fields]`, `layers`
 * recurrent layers of `size` units (every one but the last returning its
 * sequence, the last its final state), then `output` Dense(1). The weights and
 * the arithmetic are tfjs-layers 4.22's (Keras's):
 *
 * - LSTM: kernel `[n, 4u]`, recurrent kernel `[u, 4u]`, bias `[4u]`, gates in
 *   the order i, f, c, o: `z = x·W + h·U + b`, `i = σ(z_i)`, `f = σ(z_f)`,
 *   `c' = f·c + i·tanh(z_c)`, `o = σ(z_o)`, `h' = o·tanh(c')`.
 * - GRU (`reset_after: false`, the only one tfjs has): kernel `[n, 3u]`,
 *   recurrent kernel `[u, 3u]`, bias `[3u]`, gates z, r, h:
 *   `x̂ = x·W + b`, `z = σ(x̂_z + h·U_z)`, `r = σ(x̂_r + h·U_r)`,
 *   `ĥ = tanh(x̂_h + (r·h)·U_h)`, `h' = z·h + (1 − z)·ĥ`.
 * - σ is tfjs's default recurrent activation, the hard sigmoid
 *   `clip(0.2·x + 0.5, 0, 1)` (the builder does not set another); its
 *   derivative is 0.2 where the output is strictly inside (0, 1), else 0 (tfjs
 *   also passes the gradient where `0.2·x + 0.5` is exactly 0 or 1, a set of
 *   measure zero).
 * - Initial states are zeros. The flat parameters are the model's weights in
 *   `model.getWeights()` order (per layer kernel, recurrent kernel, bias; then
 *   the head's kernel and bias), so checkpoints, best-weight restore and the
 *   final weights go through the fused engines' shared adapter
 *   ({@link ./fused.ts} `fusedTrainingEngine`) unchanged.
 *
 * Per layer and batch of `B` rows: the input projection of every step in one
 * sgemm (`X[T·B, n] · W[n, G·u]`, the batch stored time-major so a step's rows
 * are contiguous); per step one sgemm per gate block (LSTM: `h·U` for all four
 * gates; GRU: `h·U_zr`, then `(r·h)·U_h`); backward through time, per step the
 * same blocks transposed (`dZ·Uᵀ`), and after the steps the weight gradients as
 * one sgemm each over all steps (`Xᵀ·dZ`, `Hₜ₋₁ᵀ·dZ`) and the gradient to the
 * layer below (`dZ·Wᵀ`). The GRU's recurrent kernel is copied into two
 * contiguous blocks (`U_zr`, `U_h`) once per batch, and its gradient back.
 *
 * Dropout is refused (`model.dropout > 0`): the model's dropout layers draw
 * their masks from tfjs's seeded generator, which this engine does not
 * reproduce. `conv-lstm` and `transformer` are refused too.
 *
 * @module
 */
import type { LossSpec } from "./spec.ts";
import { gib } from "./spec.ts";
import {
  checkTrainArgs,
  runEpochs,
  type TrainArgs,
  type TrainingEngine,
  type TrainResult,
} from "./loop.ts";
import type { Blas } from "./blas_cpu.ts";
import { biasActivation, columnSums, derivativeMul, lossTerms } from "./cpu_kernels.ts";
import { CpuPool } from "./cpu_pool.ts";
import { CpuRunState, freeMemory } from "./cpu_run.ts";
import { Arena, ARENA_MAX_BYTES, simdKernels } from "./wasm_simd.ts";
import { SGEMM_SCRATCH_FLOATS } from "./wasm_sgemm.ts";
import {
  BLAS_INSTALL,
  chooseSgemm,
  type FusedSgemm,
  PARALLEL_MIN_PARAMS,
  PROBE_FLOATS,
  type Sgemm,
  type SgemmChoice,
  startSgemm,
} from "./fused_cpu.ts";
import { type FusedEngine, fusedTrainingEngine, type WeightSlot } from "./fused.ts";
import type { FusedActivation } from "./wgsl.ts";

/** The recurrent families the engine trains. */
export const FUSED_RNN_FAMILIES = ["lstm", "gru"] as const;

/** One of {@linkcode FUSED_RNN_FAMILIES}. */
export type FusedRnnFamily = typeof FUSED_RNN_FAMILIES[number];

/**
 * A sequence model's window and stack, as the runner resolves it
 * (`describeModel(…).sequence`, whose other fields the engine ignores).
 */
export interface RecurrentShape {
  /** The family (`lstm`, `gru`; others are refused). */
  family: string;
  /** Steps of the window. */
  length: number;
  /** Fields per step. */
  fields: number;
  /** Units of every recurrent layer. */
  size: number;
  /** Stacked recurrent layers. */
  layers: number;
}

/** What the engine is told about the model: the runner's `describeModel(…)` is one. */
export interface RecurrentDescription {
  /** The model's family name, for messages. */
  family: string;
  /** Input columns (`length × fields`). */
  inputDim: number;
  /** Dropout rate after each recurrent layer (refused unless 0). */
  dropout: number;
  /** Activation of the output unit. */
  output: "sigmoid" | "tanh" | "linear";
  /** The window and stack; absent for an MLP (refused). */
  sequence?: RecurrentShape;
}

/** Arguments of {@linkcode trainFusedRnn}: the trainer's, the model, the loss, the sgemm. */
export interface FusedRnnArgs extends TrainArgs {
  /** The model being trained (`describeModel(config, inputDim, { label, sequence })`). */
  description: RecurrentDescription;
  /** The loss config `args.loss` was made from (mirrored; `args.loss` itself is not called). */
  lossConfig: LossSpec;
  /**
   * Threads, the main one included: the wasm sgemm splits its larger products
   * over them, the optimizer its step when the model has
   * {@linkcode PARALLEL_MIN_PARAMS} parameters or more (default: one per CPU
   * with the wasm sgemm, 1 with a BLAS, which has its own). The results do not
   * depend on it.
   */
  threads?: number;
  /** `blas`, `wasm` or `auto` (default), as the fused CPU MLP engine's. */
  sgemm?: FusedSgemm;
  /** A BLAS to use (default: `loadBlas()`). */
  blas?: Blas;
}

/**
 * Why the fused recurrent engine cannot train a model, or null when it can.
 *
 * @param d the model description
 * @returns a sentence naming what is not supported and what to do, or null
 * @example
 * ```ts
 * fusedRnnUnsupported({ family: "transformer", inputDim: 10, dropout: 0, output: "sigmoid",
 *   sequence: { family: "transformer", length: 5, fields: 2, size: 8, layers: 1 } }); // "model family ..."
 * ```
 */
export function fusedRnnUnsupported(d: RecurrentDescription): string | null {
  const s = d.sequence;
  if (!s) {
    return `model "${d.family}" is not a sequence model: the fused recurrent engine trains "lstm" and "gru"`;
  }
  if (!(FUSED_RNN_FAMILIES as readonly string[]).includes(s.family)) {
    const what = s.family === "conv-lstm"
      ? "its causal Conv1D stack is not fused"
      : s.family === "transformer"
      ? "attention is not fused"
      : "it is not a recurrent family";
    return `model family "${s.family}" is not supported by the fused recurrent engine (${what}): it trains "lstm" and "gru"; set train.engine: tfjs for "${s.family}"`;
  }
  if (d.dropout > 0) {
    return `dropout ${d.dropout} is not supported by the fused recurrent engine (the model's dropout masks come from tfjs's seeded generator, which it does not reproduce): set model.dropout: 0 or train.engine: tfjs`;
  }
  if (d.inputDim !== s.length * s.fields) {
    return `model "${d.family}" reads ${s.length} steps x ${s.fields} fields = ${
      s.length * s.fields
    } inputs, but its description says ${d.inputDim}`;
  }
  return null;
}

/** One recurrent layer in the flat parameter buffer. */
export interface RnnLayer {
  /** Inputs per step (the fields, or the units of the layer below). */
  inDim: number;
  /** Gates: 4 (LSTM) or 3 (GRU). */
  gates: number;
  /** Offset of the kernel (`inDim × gates·units`, row-major). */
  kOff: number;
  /** Offset of the recurrent kernel (`units × gates·units`). */
  rOff: number;
  /** Offset of the bias (`gates·units`). */
  bOff: number;
}

/** A recurrent model's flat layout: its layers, its head and where tfjs's weights go. */
export interface FusedRnnLayout {
  /** The family. */
  family: FusedRnnFamily;
  /** Steps. */
  length: number;
  /** Fields per step. */
  fields: number;
  /** Units per layer. */
  units: number;
  /** The recurrent layers, bottom first. */
  layers: RnnLayer[];
  /** The Dense(1) head: kernel `[units, 1]` at `wOff`, bias at `bOff`. */
  head: { wOff: number; bOff: number };
  /** Parameters in all. */
  params: number;
  /** Each of `model.getWeights()` in the flat buffer. */
  slots: WeightSlot[];
}

/**
 * The flat layout of a recurrent model: per layer kernel, recurrent kernel and
 * bias, then the head's kernel and bias (the order of `model.getWeights()`).
 *
 * @param d the model description (a supported one: see {@linkcode fusedRnnUnsupported})
 * @returns the layout
 * @throws {RangeError} for a model the engine does not train
 */
export function fusedRnnLayout(d: RecurrentDescription): FusedRnnLayout {
  const why = fusedRnnUnsupported(d);
  if (why) throw new RangeError(`Cannot lay out the model for the fused recurrent engine: ${why}`);
  const s = d.sequence!;
  const family = s.family as FusedRnnFamily;
  const gates = family === "lstm" ? 4 : 3;
  const u = s.size;
  const layers: RnnLayer[] = [];
  const slots: WeightSlot[] = [];
  let off = 0;
  let inDim = s.fields;
  for (let l = 0; l < s.layers; l++) {
    const kOff = off;
    off += inDim * gates * u;
    const rOff = off;
    off += u * gates * u;
    const bOff = off;
    off += gates * u;
    layers.push({ inDim, gates, kOff, rOff, bOff });
    slots.push(
      { off: kOff, shape: [inDim, gates * u] },
      { off: rOff, shape: [u, gates * u] },
      { off: bOff, shape: [gates * u] },
    );
    inDim = u;
  }
  const head = { wOff: off, bOff: off + u };
  off += u + 1;
  slots.push({ off: head.wOff, shape: [u, 1] }, { off: head.bOff, shape: [1] });
  return { family, length: s.length, fields: s.fields, units: u, layers, head, params: off, slots };
}

/** Validation rows per forward pass at most (the activations of every step are kept). */
export const RNN_VALIDATION_CHUNK = 256;

/** Floats the engine takes from its arena, and how many arrays (for alignment). */
function rnnFloats(
  layout: FusedRnnLayout,
  cap: number,
  optimizer: "adam" | "sgd",
  sgemmThreads: number,
): { arena: number; arrays: number } {
  const { length: T, fields: F, units: H, family } = layout;
  const L = layout.layers.length;
  const G = family === "lstm" ? 4 : 3;
  const P = layout.params;
  const seq = T * cap;
  const perLayer = (T + 1) * cap * H + seq * G * H +
    (family === "lstm" ? (T + 1) * cap * H + seq * H : seq * H + 3 * H * H);
  const arena = (optimizer === "adam" ? 4 : 2) * P + seq * F + seq * G * H + L * perLayer +
    cap * G * H + seq * G * H + (family === "gru" ? cap * H + seq * 3 * H + 3 * H * H : 0) +
    (L > 1 ? seq * H : 0) + 3 * cap * H + 3 * cap + sgemmThreads * SGEMM_SCRATCH_FLOATS +
    PROBE_FLOATS;
  return { arena, arrays: 24 + 5 * L + sgemmThreads };
}

/** What a recurrent run's memory depends on besides the model. */
export interface FusedRnnSizes {
  /** Mini-batch size (`train.batch_size`). */
  batchSize: number;
  /** The optimizer (Adam keeps two moments per parameter). */
  optimizer: "adam" | "sgd";
  /** Training rows (the batch is at most that many). */
  rows?: number;
  /** Validation rows (passes of up to {@linkcode RNN_VALIDATION_CHUNK}). */
  valRows?: number;
}

function rowsCap(sizes: FusedRnnSizes): number {
  const batch = sizes.rows === undefined ? sizes.batchSize : Math.min(sizes.batchSize, sizes.rows);
  return Math.max(batch, Math.min(sizes.valRows ?? 0, RNN_VALIDATION_CHUNK));
}

/**
 * Bytes the fused recurrent engine allocates: parameters, gradients, moments
 * and best copy; every step's gates, states and their gradients for the batch
 * (or the validation chunk); with the wasm sgemm, each thread's packing scratch.
 *
 * @param d the model description
 * @param sizes the batch, the optimizer and, once known, the data's rows
 * @param sgemmThreads threads of the wasm sgemm (0 with a BLAS)
 * @returns bytes
 * @throws {RangeError} for a model the engine does not train
 */
export function fusedRnnBytes(
  d: RecurrentDescription,
  sizes: FusedRnnSizes,
  sgemmThreads = 0,
): number {
  const layout = fusedRnnLayout(d);
  const f = rnnFloats(layout, rowsCap(sizes), sizes.optimizer, sgemmThreads);
  return 4 * (f.arena + layout.params) + 64 * f.arrays;
}

/**
 * Why the fused recurrent engine cannot train a model here, or null when it
 * can: an unsupported model, or buffers past the memory available or one wasm
 * memory's 4 GiB (the engine keeps all of them in one).
 *
 * @param d the model description
 * @param sizes the batch, the optimizer and, once known, the data's rows
 * @param sgemmThreads threads of the wasm sgemm (0 with a BLAS)
 * @param available bytes of memory available (default: the system's, when it can tell)
 * @returns a sentence naming the model, what it needs and what to do, or null
 */
export function fusedRnnProblem(
  d: RecurrentDescription,
  sizes: FusedRnnSizes,
  sgemmThreads = 0,
  available: number | null = freeMemory(),
): string | null {
  const why = fusedRnnUnsupported(d);
  if (why) return why;
  const bytes = fusedRnnBytes(d, sizes, sgemmThreads);
  const s = d.sequence!;
  const model = `model "${s.family}" (${s.layers} layers of ${s.size} over ${s.length} steps)`;
  if (available !== null && bytes > available) {
    return `${model} needs about ${gib(bytes)} at ${rowsCap(sizes)} rows, but ${
      gib(available)
    } is available: lower train.batch_size, model.size or the window's length`;
  }
  if (bytes > ARENA_MAX_BYTES) {
    return `${model} needs ${
      gib(bytes)
    } in one wasm memory, which holds at most 4 GiB: lower train.batch_size, model.size or the window's length`;
  }
  return null;
}

/**
 * Trains `args.model` (the runner's `lstm` or `gru`) with the fused recurrent
 * engine under the epoch loop (`runEpochs`), as `trainModel` trains it: the
 * same shuffle stream, early stopping, LR plateau, best-weight restore,
 * checkpoints and interrupts; the model ends holding the best weights.
 *
 * @param args trainer arguments plus the model description and loss config
 * @returns history, best epoch and validation loss, why training stopped
 * @throws {Error} for an unsupported model, or `sgemm: "blas"` without a loadable BLAS
 * @throws {RangeError} on inconsistent shapes, invalid options, a model whose
 *   weights are not the description's, or buffers that cannot be allocated
 * @example
 * ```ts
 * const d = describeModel(config.model, x.cols, { label: config.label, sequence });
 * const result = await trainFusedRnn({ model, loss: makeLoss(config.loss), lossConfig: config.loss,
 *   description: d, train: config.train, seed, x, y, xVal, yVal });
 * ```
 */
export async function trainFusedRnn(args: FusedRnnArgs): Promise<TrainResult> {
  const run = await startFusedRnn(args);
  let engine: TrainingEngine;
  try {
    engine = await fusedTrainingEngine(args, run.layout.slots, run.layout.params, run);
  } catch (e) {
    run.destroy();
    throw e;
  }
  return await runEpochs(args, engine);
}

/**
 * Checks the arguments and starts the engine's run (threads, sgemm, buffers)
 * without training: {@linkcode trainFusedRnn}'s first half, and what the tests
 * drive step by step. The caller destroys the run.
 *
 * @param args as {@linkcode trainFusedRnn}'s
 * @returns the started run
 * @throws as {@linkcode trainFusedRnn}
 */
export async function startFusedRnn(args: FusedRnnArgs): Promise<FusedRnnRun> {
  const why = fusedRnnUnsupported(args.description);
  if (why) throw new Error(`Cannot train with the fused recurrent engine: ${why}`);
  checkTrainArgs(args, args.description.inputDim);
  const layout = fusedRnnLayout(args.description);
  checkWeights(args, layout.slots);
  if (args.threads !== undefined && !(Number.isInteger(args.threads) && args.threads >= 1)) {
    throw new RangeError(`Invalid thread count "${args.threads}": expected an integer >= 1`);
  }
  const choice = chooseSgemm(args);
  const cpus = Math.max(1, navigator.hardwareConcurrency ?? 1);
  const threads = args.threads ?? (choice.blas ? 1 : cpus);
  const optimizer = layout.params >= PARALLEL_MIN_PARAMS ? threads : 1;
  const run = new FusedRnnRun(choice, threads, optimizer, layout, args);
  try {
    await run.start();
  } catch (e) {
    run.destroy();
    throw e;
  }
  return run;
}

function checkWeights(args: FusedRnnArgs, slots: WeightSlot[]): void {
  const shapes = args.model.weights.map((w) => w.shape);
  const same = shapes.length === slots.length &&
    shapes.every((s, i) =>
      s.length === slots[i].shape.length && s.every((v, k) => v === slots[i].shape[k])
    );
  if (!same) {
    throw new RangeError(
      `The model does not match its description: weights have shapes ${
        JSON.stringify(shapes)
      }, the fused recurrent engine expects ${
        JSON.stringify(slots.map((s) => s.shape))
      } (per layer kernel, recurrent kernel and bias, then the Dense(1) head's kernel and bias)`,
    );
  }
}

/** The hard sigmoid's slope, as tfjs multiplies by it (a float32 constant). */
const SLOPE = Math.fround(0.2);

/** tfjs's hard sigmoid: `clip(0.2·x + 0.5, 0, 1)` in float32. */
function hardSigmoid(x: number): number {
  const y = Math.fround(Math.fround(SLOPE * x) + 0.5);
  return y < 0 ? 0 : y > 1 ? 1 : y;
}

/** The hard sigmoid's derivative from its output: 0.2 strictly inside (0, 1), else 0. */
function hardSigmoidSlope(y: number): number {
  return y > 0 && y < 1 ? SLOPE : 0;
}

/** Per-layer activations kept for the backward pass. */
interface LayerBuffers {
  /** States `h₋₁ … h_{T−1}`, `(T + 1) × B × u`, the first block zeros. */
  h: Float32Array;
  /** Gate outputs per step, `T × B × G·u` (LSTM i, f, tanh(z_c), o; GRU z, r, ĥ). */
  gates: Float32Array;
  /** LSTM: cells `c₋₁ … c_{T−1}`, `(T + 1) × B × u`. */
  c: Float32Array | null;
  /** LSTM: `tanh(c)` per step, `T × B × u`. */
  tc: Float32Array | null;
  /** GRU: `r·h₋` per step, `T × B × u`. */
  rh: Float32Array | null;
  /** GRU: the recurrent kernel's z, r block `[u, 2u]` and h block `[u, u]`, copied per batch. */
  uzr: Float32Array | null;
  uh: Float32Array | null;
}

/** A started run of the fused recurrent engine: buffers, threads and the passes. */
export class FusedRnnRun extends CpuRunState implements FusedEngine {
  readonly batch: number;
  readonly rowsCap: number;
  readonly arena: Arena;
  readonly p: Float32Array;
  readonly g: Float32Array;
  readonly m: Float32Array | null;
  readonly v: Float32Array | null;
  readonly best: Float32Array;
  /** The batch's inputs, time-major: `T × B × fields`. */
  readonly x0: Float32Array;
  /** A layer's input projections, `T × B × G·u`. */
  readonly xw: Float32Array;
  readonly layer: LayerBuffers[];
  /** A step's recurrent product, `B × G·u` (GRU: `B × 2u`, then `B × u` in `rhu`). */
  readonly hu: Float32Array;
  readonly rhu: Float32Array;
  /** Gradients at a layer's gate pre-activations, `T × B × G·u`. */
  readonly dA: Float32Array;
  /** GRU: the z, r and h blocks of `dA` again, contiguous per step. */
  readonly dAzr: Float32Array;
  readonly dAh: Float32Array;
  /** GRU: gradients of the recurrent kernel's blocks. */
  readonly gUzr: Float32Array;
  readonly gUh: Float32Array;
  /** The gradient at a layer's output sequence from the layer above, `T × B × u`. */
  readonly dIn: Float32Array | null;
  /** The state gradient carried back through time, the LSTM's cell gradient, a step's scratch. */
  readonly dh: Float32Array;
  readonly dc: Float32Array;
  readonly tmp: Float32Array;
  readonly pred: Float32Array;
  readonly dOut: Float32Array;
  readonly yb: Float32Array;
  readonly scratch: Float32Array[];
  readonly probe: Float32Array | null;
  readonly loss: (p: number, y: number) => [number, number];
  /** The product the passes call (set by {@linkcode FusedRnnRun.start}). */
  sgemm: Sgemm = () => {
    throw new Error("The fused recurrent engine was not started");
  };
  sgemmName = "";

  constructor(
    readonly choice: SgemmChoice,
    readonly threads: number,
    readonly optimizerThreads: number,
    readonly layout: FusedRnnLayout,
    readonly args: FusedRnnArgs,
  ) {
    super();
    const { x, xVal, train } = args;
    this.batch = Math.min(train.batch_size, x.rows);
    const sizes = {
      batchSize: train.batch_size,
      optimizer: train.optimizer,
      rows: x.rows,
      valRows: xVal.rows,
    };
    this.rowsCap = rowsCap(sizes);
    const wasmThreads = choice.blas ? 0 : threads;
    const why = fusedRnnProblem(args.description, sizes, wasmThreads);
    if (why) throw new RangeError(`The fused recurrent engine cannot train this model: ${why}`);
    const f = rnnFloats(layout, this.rowsCap, train.optimizer, wasmThreads);
    const arena = Arena.create(4 * f.arena, f.arrays);
    if (!(arena instanceof Arena)) {
      throw new RangeError(
        `The fused recurrent engine keeps its buffers in one wasm memory, and there is none (${arena.reason})${
          choice.blas ? "" : `; without a BLAS (${choice.why}) install ${BLAS_INSTALL}`
        }`,
      );
    }
    this.arena = arena;
    const { length: T, fields: F, units: H, family, params } = layout;
    const G = family === "lstm" ? 4 : 3;
    const cap = this.rowsCap;
    const seq = T * cap;
    const a = (n: number) => arena.floats(n);
    const adam = train.optimizer === "adam";
    this.p = a(params);
    this.g = a(params);
    this.m = adam ? a(params) : null;
    this.v = adam ? a(params) : null;
    this.best = new Float32Array(params);
    this.x0 = a(seq * F);
    this.xw = a(seq * G * H);
    const lstm = family === "lstm";
    this.layer = layout.layers.map(() => ({
      h: a((T + 1) * cap * H),
      gates: a(seq * G * H),
      c: lstm ? a((T + 1) * cap * H) : null,
      tc: lstm ? a(seq * H) : null,
      rh: lstm ? null : a(seq * H),
      uzr: lstm ? null : a(2 * H * H),
      uh: lstm ? null : a(H * H),
    }));
    this.hu = a(cap * G * H);
    this.dA = a(seq * G * H);
    const gru = (n: number) => lstm ? new Float32Array(0) : a(n);
    this.rhu = gru(cap * H);
    this.dAzr = gru(seq * 2 * H);
    this.dAh = gru(seq * H);
    this.gUzr = gru(2 * H * H);
    this.gUh = gru(H * H);
    this.dIn = layout.layers.length > 1 ? a(seq * H) : null;
    this.dh = a(cap * H);
    this.dc = a(cap * H);
    this.tmp = a(cap * H);
    this.pred = a(cap);
    this.dOut = a(cap);
    this.yb = a(cap);
    this.scratch = Array.from({ length: wasmThreads }, () => a(SGEMM_SCRATCH_FLOATS));
    this.probe = wasmThreads > 0 ? a(PROBE_FLOATS) : null;
    this.loss = lossTerms(args.lossConfig);
  }

  async start(): Promise<void> {
    const arena = this.arena;
    this.pool = await CpuPool.start(this.threads, {
      p: this.p,
      g: this.g,
      ...(this.m ? { m: this.m, v: this.v! } : {}),
      wasm: { memory: arena.memory, module: arena.module },
      ...(this.scratch.length ? { scratch: this.scratch.map((s) => s.byteOffset) } : {}),
    });
    const product = startSgemm(
      this.choice,
      this.pool,
      arena,
      simdKernels(arena.module, arena.memory),
      this.scratch,
      this.probe,
    );
    this.sgemm = product.sgemm;
    this.sgemmName = product.name;
  }

  /** Which sgemm and threads run the training. */
  describe(): string {
    const threads = this.pool?.threads ?? 1;
    const optimizer = Math.min(this.optimizerThreads, threads);
    return `fused CPU ${this.layout.family.toUpperCase()} engine: ${this.sgemmName}, JavaScript gate kernels, optimizer on ${optimizer} thread${
      optimizer === 1 ? "" : "s"
    }`;
  }

  upload(flat: Float32Array<ArrayBuffer>): void {
    this.p.set(flat);
  }

  /**
   * Copies `rows` rows of `x` (by `index[start + r]`, or in order) into the
   * time-major input and their labels.
   */
  gather(
    x: Float32Array,
    y: Float32Array,
    index: Int32Array | null,
    start: number,
    rows: number,
  ): void {
    const { length: T, fields: F } = this.layout;
    const cols = T * F;
    const x0 = this.x0;
    for (let r = 0; r < rows; r++) {
      const src = index ? index[start + r] : start + r;
      const base = src * cols;
      for (let t = 0; t < T; t++) {
        const to = (t * rows + r) * F;
        const from = base + t * F;
        for (let f = 0; f < F; f++) x0[to + f] = x[from + f];
      }
      this.yb[r] = y[src];
    }
  }

  /** Forward over `rows` gathered rows; returns the predictions. */
  forward(rows: number): Float32Array {
    const { p, layout } = this;
    const { length: T, units: H } = layout;
    let xin = this.x0;
    layout.layers.forEach((l, i) => {
      const GH = l.gates * H;
      const buf = this.layer[i];
      buf.h.fill(0, 0, rows * H);
      buf.c?.fill(0, 0, rows * H);
      this.sgemm(false, false, T * rows, GH, l.inDim, xin, p.subarray(l.kOff), this.xw);
      if (layout.family === "lstm") this.lstmForward(l, buf, rows);
      else this.gruForward(l, buf, rows);
      xin = buf.h.subarray(rows * H);
    });
    const top = this.layer[this.layer.length - 1].h.subarray(T * rows * H);
    const { head } = layout;
    this.sgemm(false, false, rows, 1, H, top, p.subarray(head.wOff), this.pred);
    biasActivation(this.pred, rows, 1, p, head.bOff, this.args.description.output);
    return this.pred;
  }

  lstmForward(l: RnnLayer, buf: LayerBuffers, rows: number): void {
    const { p, xw, hu } = this;
    const { length: T, units: H } = this.layout;
    const GH = 4 * H;
    const U = p.subarray(l.rOff);
    const { h, gates } = buf;
    const c = buf.c!, tc = buf.tc!;
    const b0 = l.bOff;
    for (let t = 0; t < T; t++) {
      const prev = t * rows * H;
      this.sgemm(false, false, rows, GH, H, h.subarray(prev), U, hu);
      for (let b = 0; b < rows; b++) {
        const z = (t * rows + b) * GH;
        const r = b * GH;
        const s = prev + b * H;
        const next = s + rows * H;
        for (let j = 0; j < H; j++) {
          const i = hardSigmoid(xw[z + j] + hu[r + j] + p[b0 + j]);
          const f = hardSigmoid(xw[z + H + j] + hu[r + H + j] + p[b0 + H + j]);
          const g = Math.tanh(xw[z + 2 * H + j] + hu[r + 2 * H + j] + p[b0 + 2 * H + j]);
          const o = hardSigmoid(xw[z + 3 * H + j] + hu[r + 3 * H + j] + p[b0 + 3 * H + j]);
          gates[z + j] = i;
          gates[z + H + j] = f;
          gates[z + 2 * H + j] = g;
          gates[z + 3 * H + j] = o;
          const cell = Math.fround(f * c[s + j] + i * g);
          c[next + j] = cell;
          const th = Math.tanh(cell);
          tc[s + j] = th;
          h[next + j] = o * th;
        }
      }
    }
  }

  gruForward(l: RnnLayer, buf: LayerBuffers, rows: number): void {
    const { p, xw, hu, rhu } = this;
    const { length: T, units: H } = this.layout;
    const GH = 3 * H;
    const { h, gates } = buf;
    const rh = buf.rh!, uzr = buf.uzr!, uh = buf.uh!;
    // The recurrent kernel's z, r block and h block, each contiguous for its sgemm.
    for (let i = 0; i < H; i++) {
      const row = l.rOff + i * GH;
      uzr.set(p.subarray(row, row + 2 * H), i * 2 * H);
      uh.set(p.subarray(row + 2 * H, row + GH), i * H);
    }
    const b0 = l.bOff;
    for (let t = 0; t < T; t++) {
      const prev = t * rows * H;
      this.sgemm(false, false, rows, 2 * H, H, h.subarray(prev), uzr, hu);
      for (let b = 0; b < rows; b++) {
        const z = (t * rows + b) * GH;
        const r = b * 2 * H;
        const s = prev + b * H;
        for (let j = 0; j < H; j++) {
          const zg = hardSigmoid(xw[z + j] + p[b0 + j] + hu[r + j]);
          const rg = hardSigmoid(xw[z + H + j] + p[b0 + H + j] + hu[r + H + j]);
          gates[z + j] = zg;
          gates[z + H + j] = rg;
          rh[s + j] = rg * h[s + j];
        }
      }
      this.sgemm(false, false, rows, H, H, rh.subarray(prev), uh, rhu);
      for (let b = 0; b < rows; b++) {
        const z = (t * rows + b) * GH;
        const s = prev + b * H;
        const next = s + rows * H;
        for (let j = 0; j < H; j++) {
          const hh = Math.tanh(xw[z + 2 * H + j] + p[b0 + 2 * H + j] + rhu[b * H + j]);
          gates[z + 2 * H + j] = hh;
          const zg = gates[z + j];
          h[next + j] = zg * h[s + j] + (1 - zg) * hh;
        }
      }
    }
  }

  /** Loss sum over `rows`; with `grad`, writes the output gradient (mean loss) to `dOut`. */
  lossSum(rows: number, grad: boolean): number {
    const { pred, dOut, yb } = this;
    const scale = 1 / rows;
    let sum = 0;
    for (let i = 0; i < rows; i++) {
      const [l, g] = this.loss(pred[i], yb[i]);
      sum += Math.fround(l);
      if (grad) dOut[i] = g * scale;
    }
    if (grad) {
      derivativeMul(dOut, pred, rows, this.args.description.output as FusedActivation);
    }
    return sum;
  }

  /** Backward through the head and every layer and step: fills the gradient buffer. */
  backward(rows: number): void {
    const { p, g, layout, dh, dOut } = this;
    const { length: T, units: H, head } = layout;
    const L = layout.layers.length;
    const top = this.layer[L - 1].h.subarray(T * rows * H);
    this.sgemm(true, false, H, 1, rows, top, dOut, g.subarray(head.wOff));
    columnSums(dOut, rows, 1, g, head.bOff);
    // The top layer's last state gets the head's gradient; no other step of it gets one from above.
    this.sgemm(false, true, rows, H, 1, dOut, p.subarray(head.wOff), dh);
    for (let i = L - 1; i >= 0; i--) {
      const l = layout.layers[i];
      const buf = this.layer[i];
      if (i < L - 1) dh.fill(0, 0, rows * H);
      const fromAbove = i < L - 1 ? this.dIn : null;
      if (layout.family === "lstm") this.lstmBackward(l, buf, rows, fromAbove);
      else this.gruBackward(buf, rows, fromAbove);
      const GH = l.gates * H;
      const xin = i === 0 ? this.x0 : this.layer[i - 1].h.subarray(rows * H);
      this.sgemm(true, false, l.inDim, GH, T * rows, xin, this.dA, g.subarray(l.kOff));
      columnSums(this.dA, T * rows, GH, g, l.bOff);
      if (layout.family === "lstm") {
        this.sgemm(true, false, H, GH, T * rows, buf.h, this.dA, g.subarray(l.rOff));
      } else {
        this.sgemm(true, false, H, 2 * H, T * rows, buf.h, this.dAzr, this.gUzr);
        this.sgemm(true, false, H, H, T * rows, buf.rh!, this.dAh, this.gUh);
        for (let r = 0; r < H; r++) {
          const row = l.rOff + r * GH;
          g.set(this.gUzr.subarray(r * 2 * H, (r + 1) * 2 * H), row);
          g.set(this.gUh.subarray(r * H, (r + 1) * H), row + 2 * H);
        }
      }
      if (i > 0) {
        this.sgemm(false, true, T * rows, l.inDim, GH, this.dA, p.subarray(l.kOff), this.dIn!);
      }
    }
  }

  lstmBackward(l: RnnLayer, buf: LayerBuffers, rows: number, fromAbove: Float32Array | null) {
    const { p, dA, dh, dc } = this;
    const { length: T, units: H } = this.layout;
    const GH = 4 * H;
    const U = p.subarray(l.rOff);
    const { gates } = buf;
    const c = buf.c!, tc = buf.tc!;
    const n = rows * H;
    dc.fill(0, 0, n);
    for (let t = T - 1; t >= 0; t--) {
      const prev = t * n;
      if (fromAbove) { for (let e = 0; e < n; e++) dh[e] += fromAbove[prev + e]; }
      for (let b = 0; b < rows; b++) {
        const z = (t * rows + b) * GH;
        const s = prev + b * H;
        const e0 = b * H;
        for (let j = 0; j < H; j++) {
          const i = gates[z + j], f = gates[z + H + j];
          const gg = gates[z + 2 * H + j], o = gates[z + 3 * H + j];
          const th = tc[s + j];
          const dhv = dh[e0 + j];
          const dcv = dc[e0 + j] + dhv * o * (1 - th * th);
          dA[z + j] = dcv * gg * hardSigmoidSlope(i);
          dA[z + H + j] = dcv * c[s + j] * hardSigmoidSlope(f);
          dA[z + 2 * H + j] = dcv * i * (1 - gg * gg);
          dA[z + 3 * H + j] = dhv * th * hardSigmoidSlope(o);
          dc[e0 + j] = dcv * f;
        }
      }
      if (t > 0) this.sgemm(false, true, rows, H, GH, dA.subarray(t * rows * GH), U, dh);
    }
  }

  gruBackward(buf: LayerBuffers, rows: number, fromAbove: Float32Array | null) {
    const { dA, dAzr, dAh, dh, tmp } = this;
    const { length: T, units: H } = this.layout;
    const GH = 3 * H;
    const { gates, h } = buf;
    const uzr = buf.uzr!, uh = buf.uh!;
    const n = rows * H;
    for (let t = T - 1; t >= 0; t--) {
      const prev = t * n;
      if (fromAbove) { for (let e = 0; e < n; e++) dh[e] += fromAbove[prev + e]; }
      for (let b = 0; b < rows; b++) {
        const z = (t * rows + b) * GH;
        const s = prev + b * H;
        const e0 = b * H;
        for (let j = 0; j < H; j++) {
          const zg = gates[z + j], hh = gates[z + 2 * H + j];
          const dhv = dh[e0 + j];
          const dAhv = dhv * (1 - zg) * (1 - hh * hh);
          dA[z + 2 * H + j] = dAhv;
          dAh[s + j] = dAhv;
          dA[z + j] = dhv * (h[s + j] - hh); // ∂h'/∂z, times σ' below
          dh[e0 + j] = dhv * zg;
        }
      }
      // d(r·h₋) = dĥ·U_hᵀ
      this.sgemm(false, true, rows, H, H, dAh.subarray(prev), uh, tmp);
      for (let b = 0; b < rows; b++) {
        const z = (t * rows + b) * GH;
        const s = prev + b * H;
        const e0 = b * H;
        const zr = (t * rows + b) * 2 * H;
        for (let j = 0; j < H; j++) {
          const zg = gates[z + j], rg = gates[z + H + j];
          const drh = tmp[e0 + j];
          dh[e0 + j] += drh * rg;
          const dz = dA[z + j] * hardSigmoidSlope(zg);
          const dr = drh * h[s + j] * hardSigmoidSlope(rg);
          dA[z + j] = dz;
          dA[z + H + j] = dr;
          dAzr[zr + j] = dz;
          dAzr[zr + H + j] = dr;
        }
      }
      if (t > 0) {
        this.sgemm(false, true, rows, H, 2 * H, dAzr.subarray(t * rows * 2 * H), uzr, tmp);
        for (let e = 0; e < n; e++) dh[e] += tmp[e];
      }
    }
  }

  epoch(perm: Int32Array, lr: number): Promise<[number, number]> {
    const { x, y, xVal, yVal } = this.args;
    let sum = 0;
    for (let start = 0; start < x.rows; start += this.batch) {
      const rows = Math.min(this.batch, x.rows - start);
      this.gather(x.data, y, perm, start, rows);
      this.forward(rows);
      sum += this.lossSum(rows, true);
      this.backward(rows);
      this.update(lr);
    }
    let valSum = 0;
    for (let start = 0; start < xVal.rows; start += this.rowsCap) {
      const rows = Math.min(this.rowsCap, xVal.rows - start);
      this.gather(xVal.data, yVal, null, start, rows);
      this.forward(rows);
      valSum += this.lossSum(rows, false);
    }
    return Promise.resolve([sum, valSum]);
  }
}
