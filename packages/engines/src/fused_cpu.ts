/**
 * The fused CPU MLP engine (`train.engine: fused` with `train.backend:
 * cpu-blas`, `wasm` or `auto` without a GPU): trains the registry's MLP
 * families without tfjs ops, the matmuls in a system BLAS when one loads
 * (`cblas_sgemm` through Deno FFI, multi-threaded by the library) and
 * otherwise in the engine's own wasm SIMD sgemm ({@link ./wasm_sgemm.ts},
 * split over the engine's threads), the elementwise work in wasm SIMD
 * kernels ({@link ./wasm_simd.ts}; JavaScript ones, {@link ./cpu_kernels.ts},
 * for the activations and widths they do not cover) over buffers allocated
 * once per run.
 *
 * - Forward per layer: `Z = H·W` (sgemm) then bias + activation in place.
 *   Backward: `dW = Hᵀ·D` and `D' = D·Wᵀ` (sgemm, transposed operands passed
 *   as flags, never copied), the activation derivative through the layer's
 *   output, the bias gradient as column sums.
 * - One Adam (or SGD) step over the flat parameter buffer, split across
 *   threads ({@link ./cpu_pool.ts}): it is memory-bound, and two cores have
 *   twice the bandwidth of one. The same threads split the wasm sgemm.
 * - Parameters, gradients, moments and activations live in one shared wasm
 *   memory outside the tfjs wasm heap (up to 4 GiB; past that, plain
 *   `SharedArrayBuffer`s and the JavaScript kernels), so a 10 × 4096 MLP,
 *   which does not fit the tfjs wasm backend, trains.
 * - The epoch loop, its policy and checkpoints are every engine's
 *   ({@link ./loop.ts}), the weight layout the fused engines'
 *   ({@link ./fused.ts}); per-epoch losses match `trainModel` within float32
 *   summation-order tolerance (the conformance suite).
 *
 * Results do not depend on the thread count; they do depend on the sgemm
 * (the BLAS library and its build, or the wasm sgemm and whether the CPU
 * fuses its multiply-adds), which the run record names.
 *
 * @module
 */
import type { LossSpec } from "./spec.ts";
import { runEpochs, type TrainResult } from "./loop.ts";
import { gib, type MlpDescription } from "./spec.ts";
import { type Blas, BLAS_DEBIAN_PACKAGE, loadBlas } from "./blas_cpu.ts";
import {
  batchNormBackward,
  batchNormForward,
  biasActivation,
  columnSums,
  derivativeMul,
  lossTerms,
} from "./cpu_kernels.ts";
import { CpuPool } from "./cpu_pool.ts";
import { CpuRunState, freeMemory } from "./cpu_run.ts";
import { Arena, ARENA_MAX_BYTES, type SimdKernels, simdKernels } from "./wasm_simd.ts";
import {
  SGEMM_PARALLEL_MIN,
  SGEMM_SCRATCH_FLOATS,
  type SgemmKernels,
  sgemmScratch,
  WasmSgemm,
} from "./wasm_sgemm.ts";
import {
  checkFusedArgs,
  type FusedArgs,
  type FusedEngine,
  type FusedLayer,
  fusedLayout,
  fusedTrainingEngine,
  weightSlots,
} from "./fused.ts";
import type { FusedActivation } from "./wgsl.ts";

/**
 * Models with fewer parameters update on one thread: measured on 10 × 256
 * (0.6 M parameters), a second thread saved nothing and, competing with
 * OpenBLAS's spinning threads on 2 cores, once halved the speed.
 */
export const PARALLEL_MIN_PARAMS = 1 << 20;

/** Which sgemm the fused CPU engine multiplies with. */
export type FusedSgemm = "auto" | "blas" | "wasm";

/** Arguments of {@linkcode trainFusedCpu}: the shared fused arguments, plus threads and sgemm. */
export interface FusedCpuArgs extends FusedArgs {
  /**
   * Threads, the main one included, of the optimizer and of the wasm sgemm
   * (default: one per CPU for models of {@linkcode PARALLEL_MIN_PARAMS}
   * parameters or more or, with the wasm sgemm, with a product large enough
   * to split; else 1). The results do not depend on it.
   */
  threads?: number;
  /**
   * `blas`: a system BLAS (an error when none loads); `wasm`: the engine's
   * own wasm SIMD sgemm; `auto` (default): a BLAS when one loads, else wasm.
   */
  sgemm?: FusedSgemm;
  /** A BLAS to use (default: {@linkcode loadBlas}). */
  blas?: Blas;
  /**
   * Use the wasm SIMD kernels when the buffers fit a wasm memory (default
   * true); false forces the JavaScript kernels, the path of larger models,
   * which multiply with a BLAS only.
   */
  simd?: boolean;
}

/** The sgemm a run multiplies with: a loaded BLAS, or null for the wasm one (and why). */
export interface SgemmChoice {
  blas: Blas | null;
  /** Why there is no BLAS (empty with one). */
  why: string;
}

/**
 * The sgemm a fused CPU run multiplies with (see {@linkcode FusedCpuArgs.sgemm}).
 *
 * @param args which sgemm, and a BLAS to use
 * @returns the BLAS, or null for the wasm sgemm and why
 * @throws {Error} for `blas` when no BLAS library loads
 */
export function chooseSgemm(args: Pick<FusedCpuArgs, "sgemm" | "blas">): SgemmChoice {
  const which = args.sgemm ?? "auto";
  if (which === "wasm") return { blas: null, why: "sgemm: wasm" };
  try {
    return { blas: args.blas ?? loadBlas(), why: "" };
  } catch (e) {
    if (which === "blas") throw e;
    return { blas: null, why: (e as Error).message };
  }
}

/**
 * Which sgemm the fused CPU engine will multiply with on this machine: a
 * BLAS library's when one loads (unless `wasm` is asked for), else its own.
 *
 * @param sgemm as {@linkcode FusedCpuArgs.sgemm} (default `auto`)
 * @returns e.g. `libopenblas.so.0 sgemm` or `wasm SIMD sgemm`
 * @throws {Error} for `blas` when no BLAS library loads
 */
export function fusedCpuSgemm(sgemm: FusedSgemm = "auto"): string {
  const { blas } = chooseSgemm({ sgemm });
  return blas ? `${blas.library} sgemm` : "wasm SIMD sgemm";
}

/**
 * Floats the fused CPU engine allocates for a model, in its arena
 * (parameters, gradients, Adam's two moments, each layer's activations, the
 * two gradient buffers and, for the wasm sgemm, each thread's packing scratch)
 * and beside it (the best copy, batch-norm scratch).
 */
function engineFloats(
  layers: FusedLayer[],
  params: number,
  rowsCap: number,
  optimizer: "adam" | "sgd",
  sgemmThreads: number,
): { arena: number; beside: number; widest: number } {
  const widest = Math.max(layers[0].inDim, ...layers.map((l) => l.outDim));
  const acts = layers.reduce((s, l) => s + rowsCap * l.outDim, 0);
  const bn = layers.reduce((s, l) => s + (l.nOff >= 0 ? rowsCap * l.outDim : 0), 0);
  return {
    arena: (optimizer === "adam" ? 4 : 2) * params + rowsCap * layers[0].inDim + acts +
      2 * rowsCap * widest + sgemmThreads * SGEMM_SCRATCH_FLOATS + PROBE_FLOATS,
    beside: params + bn,
    widest,
  };
}

/** What provides a BLAS on Debian and Ubuntu. */
export const BLAS_INSTALL = `a BLAS ("apt-get install ${BLAS_DEBIAN_PACKAGE}")`;

/** Floats of the arena the wasm sgemm's rounding probe uses. */
export const PROBE_FLOATS = 16;

/**
 * Bytes the fused CPU engine allocates for a model: parameters, gradients,
 * best copy and (Adam) two moments, plus the per-layer activations, gradients
 * and batch-norm scratch for `rowsCap` rows and, with the wasm sgemm, each
 * thread's packing scratch (about 2.2 MB).
 *
 * @param layers the model's layout
 * @param params its parameter count
 * @param rowsCap rows per forward pass (the batch, or the validation chunk)
 * @param optimizer adam or sgd
 * @param sgemmThreads threads of the wasm sgemm (0 with a BLAS)
 * @returns bytes
 */
export function fusedCpuBytes(
  layers: FusedLayer[],
  params: number,
  rowsCap: number,
  optimizer: "adam" | "sgd",
  sgemmThreads = 0,
): number {
  const f = engineFloats(layers, params, rowsCap, optimizer, sgemmThreads);
  return 4 * (f.arena + f.beside);
}

/** Arrays the engine takes from its arena besides the per-layer ones (64 bytes of alignment each). */
const ARENA_ARRAYS = 8;

/** What a fused CPU run's memory depends on besides the model. */
export interface FusedCpuSizes {
  /** Mini-batch size (`train.batch_size`). */
  batchSize: number;
  /** The optimizer (Adam keeps two moments per parameter). */
  optimizer: "adam" | "sgd";
  /**
   * Training rows (the batch is at most that many); absent before the dataset
   * is built (the description's input size is then a lower bound).
   */
  rows?: number;
  /** Validation rows (passes of up to 1024 of them); absent before the dataset is built. */
  valRows?: number;
}

/**
 * Why the fused CPU engine cannot train a model on this machine, or null when
 * it can: its buffers against the memory available and, with the wasm sgemm
 * (no BLAS), against one wasm memory's 4 GiB.
 *
 * @param d the model description (its input size may be a lower bound before the dataset is built)
 * @param sizes the batch, the optimizer and, once known, the data's rows
 * @param sgemm `blas` or `wasm` (which {@linkcode trainFusedCpu} will use)
 * @param threads the engine's threads (each has a wasm sgemm scratch)
 * @param available bytes of memory available (default: the system's, when it can tell)
 * @returns a sentence naming the model, what it needs, the limit and what to do, or null
 */
export function fusedCpuProblem(
  d: MlpDescription,
  sizes: FusedCpuSizes,
  sgemm: "blas" | "wasm",
  threads: number,
  available: number | null = freeMemory(),
): string | null {
  const { layers, params } = fusedLayout(d);
  const batch = sizes.rows === undefined ? sizes.batchSize : Math.min(sizes.batchSize, sizes.rows);
  const rowsCap = Math.max(batch, Math.min(sizes.valRows ?? 0, 1024));
  const f = engineFloats(layers, params, rowsCap, sizes.optimizer, sgemm === "wasm" ? threads : 0);
  const bytes = 4 * (f.arena + f.beside);
  // Before the dataset is built the input size is a lower bound, and so is the count.
  const model = `model "${d.family}" (${d.layers} layers of ${d.size}, ${
    sizes.rows === undefined ? "at least " : ""
  }${params.toLocaleString("en-US")} parameters)`;
  if (available !== null && bytes > available) {
    return `${model} needs about ${gib(bytes)} at ${rowsCap} rows, but ${
      gib(available)
    } is available: lower model.size or model.layers`;
  }
  const arena = 4 * f.arena + 64 * (ARENA_ARRAYS + layers.length + threads);
  if (sgemm === "wasm" && arena > ARENA_MAX_BYTES) {
    return `${model} needs ${
      gib(arena)
    } in one wasm memory, which holds at most 4 GiB, for the wasm sgemm (no BLAS library): install ${BLAS_INSTALL} and use train.backend: cpu-blas, or lower model.size or model.layers`;
  }
  return null;
}

/**
 * Trains `args.model` with the fused CPU engine under the epoch loop
 * (`runEpochs`), as `trainModel` and `trainFused` train: the same shuffle
 * stream, early stopping, LR plateau, best-weight restore, checkpoints and
 * interrupts; the model ends holding the best weights.
 *
 * @param args trainer arguments plus the model description and loss config
 * @returns history, best epoch and validation loss, why training stopped
 * @throws {Error} for an unsupported model, or `sgemm: "blas"` without a loadable BLAS
 * @throws {RangeError} on inconsistent shapes, invalid options, or a model
 *   whose buffers cannot be allocated (past a wasm memory without a BLAS)
 * @example
 * ```ts
 * const d = describeModel(config.model, x.cols, { label: config.label });
 * const result = await trainFusedCpu({ model, loss: makeLoss(config.loss), lossConfig: config.loss,
 *   description: d, train: config.train, seed, x, y, xVal, yVal });
 * ```
 */
export async function trainFusedCpu(args: FusedCpuArgs): Promise<TrainResult> {
  const { layers, params } = checkFusedArgs(args);
  const choice = chooseSgemm(args);
  const cpus = Math.max(1, navigator.hardwareConcurrency ?? 1);
  if (args.threads !== undefined && !(Number.isInteger(args.threads) && args.threads >= 1)) {
    throw new RangeError(`Invalid thread count "${args.threads}": expected an integer >= 1`);
  }
  // The optimizer splits large models only (unless told); the wasm sgemm uses
  // every thread when some product is large enough to be split.
  const optimizer = args.threads ?? (params >= PARALLEL_MIN_PARAMS ? cpus : 1);
  const rows = Math.max(args.train.batch_size, Math.min(args.xVal.rows, 1024));
  const splits = layers.some((l) => rows * l.inDim * l.outDim >= SGEMM_PARALLEL_MIN);
  const threads = choice.blas ? optimizer : args.threads ?? (splits ? cpus : optimizer);
  const run = new FusedCpuRun(choice, threads, optimizer, layers, params, args);
  try {
    await run.start();
  } catch (e) {
    run.destroy();
    throw e;
  }
  return await runEpochs(args, await fusedTrainingEngine(args, weightSlots(layers), params, run));
}

/** Row-major `C = op(A)·op(B)` over views of the engine's buffers. */
export type Sgemm = Blas["sgemm"];

/**
 * The product a fused CPU run calls: the chosen BLAS's sgemm, or the wasm SIMD
 * sgemm on the arena, split over the pool's threads when it has more than one.
 *
 * @param choice the BLAS, or null for the wasm sgemm
 * @param pool the run's threads (the wasm sgemm splits products over them)
 * @param arena the run's arena (the wasm sgemm's operands live there)
 * @param simd the arena's kernels
 * @param scratch per thread, the wasm sgemm's packing scratch in the arena
 * @param probe arena floats for the fused-rounding probe
 * @returns the product and what it is, for the run record
 * @throws {RangeError} for the wasm sgemm without an arena, kernels, scratch or probe
 */
export function startSgemm(
  choice: SgemmChoice,
  pool: CpuPool,
  arena: Arena | null,
  simd: (SimdKernels & SgemmKernels) | null,
  scratch: Float32Array[],
  probe: Float32Array | null,
): { sgemm: Sgemm; name: string } {
  const blas = choice.blas;
  if (blas) return { sgemm: blas.sgemm, name: `${blas.library} sgemm` };
  if (!arena || !simd || !scratch.length || !probe) {
    throw new RangeError("The wasm sgemm needs an arena, its kernels, scratch and a probe");
  }
  const threads = pool.threads;
  const wasm = new WasmSgemm(
    simd,
    arena.memory,
    sgemmScratch(scratch[0].byteOffset),
    arena.fma,
    threads,
    threads > 1 ? (job, parts) => pool.sgemm(job, parts) : null,
    probe,
  );
  return {
    sgemm: (ta, tb, m, n, k, a, b, c) => wasm.sgemm(ta, tb, m, n, k, a, b, c),
    name: wasm.describe(),
  };
}

class FusedCpuRun extends CpuRunState implements FusedEngine {
  readonly batch: number;
  readonly rowsCap: number;
  readonly p: Float32Array;
  readonly g: Float32Array;
  readonly best: Float32Array;
  readonly m: Float32Array | null;
  readonly v: Float32Array | null;
  /** H[0] = gathered inputs, H[j + 1] = output of layer j. */
  readonly h: Float32Array[];
  /** Batch norm: normalized values and reciprocal standard deviations per layer. */
  readonly xh: (Float32Array | null)[];
  readonly rs: (Float32Array | null)[];
  readonly d: [Float32Array, Float32Array];
  readonly yb: Float32Array;
  readonly loss: (p: number, y: number) => [number, number];
  readonly arena: Arena | null;
  /** Why there is no arena, or null. */
  readonly noArena: string | null;
  /** The SIMD kernels on the arena (null without one). */
  readonly simd: (SimdKernels & SgemmKernels) | null;
  /** Per thread, the wasm sgemm's scratch in the arena (empty with a BLAS). */
  readonly scratch: Float32Array[];
  readonly probe: Float32Array | null;
  /** The product the passes call (set by {@linkcode FusedCpuRun.start}). */
  sgemm: Sgemm = () => {
    throw new Error("The fused CPU engine was not started");
  };
  /** What multiplies, for the run record. */
  sgemmName = "";

  constructor(
    readonly choice: SgemmChoice,
    readonly threads: number,
    /** Threads an optimizer step is split over (at most `threads`). */
    readonly optimizerThreads: number,
    readonly layers: FusedLayer[],
    readonly params: number,
    readonly args: FusedCpuArgs,
  ) {
    super();
    const { x, xVal, train } = args;
    this.batch = Math.min(train.batch_size, x.rows);
    this.rowsCap = Math.max(this.batch, Math.min(xVal.rows, 1024));
    const cap = this.rowsCap;
    const wasmThreads = choice.blas ? 0 : threads;
    const floats = engineFloats(layers, params, cap, train.optimizer, wasmThreads);
    const why = fusedCpuProblem(
      args.description,
      { batchSize: train.batch_size, optimizer: train.optimizer, rows: x.rows, valRows: xVal.rows },
      choice.blas ? "blas" : "wasm",
      threads,
    );
    if (why) throw new RangeError(`The fused CPU engine cannot train this model: ${why}`);
    const adam = train.optimizer === "adam";
    // Parameters, gradients, moments and activations in one shared wasm memory
    // when they fit its 4 GiB (the SIMD kernels work there), else in plain buffers.
    const arena = args.simd === false
      ? { reason: "simd: false" }
      : Arena.create(4 * floats.arena, ARENA_ARRAYS + layers.length + wasmThreads);
    this.arena = arena instanceof Arena ? arena : null;
    this.noArena = arena instanceof Arena ? null : arena.reason;
    if (!this.arena && !choice.blas) {
      throw new RangeError(
        `The fused CPU engine has no BLAS library (${choice.why}) and its own wasm sgemm needs the model's buffers in one wasm memory, and there is none (${this.noArena}): install ${BLAS_INSTALL}, or lower model.size or model.layers`,
      );
    }
    this.simd = this.arena ? simdKernels(this.arena.module, this.arena.memory) : null;
    const shared = (n: number) => this.arena ? this.arena.floats(n) : sharedFloats(n);
    const local = (n: number) => this.arena ? this.arena.floats(n) : new Float32Array(n);
    this.p = shared(params);
    this.g = shared(params);
    this.m = adam ? shared(params) : null;
    this.v = adam ? shared(params) : null;
    this.best = new Float32Array(params);
    this.h = [local(cap * x.cols), ...layers.map((l) => local(cap * l.outDim))];
    this.d = [local(cap * floats.widest), local(cap * floats.widest)];
    this.scratch = Array.from(
      { length: wasmThreads },
      () => this.arena!.floats(SGEMM_SCRATCH_FLOATS),
    );
    this.probe = wasmThreads > 0 ? this.arena!.floats(PROBE_FLOATS) : null;
    this.xh = layers.map((l) => l.nOff >= 0 ? new Float32Array(cap * l.outDim) : null);
    this.rs = layers.map((l) => l.nOff >= 0 ? new Float32Array(l.outDim) : null);
    this.yb = new Float32Array(cap);
    this.loss = lossTerms(args.lossConfig as LossSpec);
  }

  async start(): Promise<void> {
    const arena = this.arena;
    this.pool = await CpuPool.start(this.threads, {
      p: this.p,
      g: this.g,
      ...(this.m ? { m: this.m, v: this.v! } : {}),
      ...(arena ? { wasm: { memory: arena.memory, module: arena.module } } : {}),
      ...(this.scratch.length ? { scratch: this.scratch.map((s) => s.byteOffset) } : {}),
    });
    const product = startSgemm(this.choice, this.pool, arena, this.simd, this.scratch, this.probe);
    this.sgemm = product.sgemm;
    this.sgemmName = product.name;
  }

  /** Which sgemm, kernels and threads run the training. */
  describe(): string {
    const threads = this.pool?.threads ?? 1;
    const kernels = this.arena ? "wasm SIMD kernels" : `JavaScript kernels (${this.noArena})`;
    const optimizer = Math.min(this.optimizerThreads, threads);
    return `fused CPU MLP engine: ${this.sgemmName}, ${kernels}, optimizer on ${optimizer} thread${
      optimizer === 1 ? "" : "s"
    }`;
  }

  upload(flat: Float32Array<ArrayBuffer>): void {
    this.p.set(flat);
  }

  /** Copies `rows` rows of `x` (by `index[start + r]`, or in order) into H[0] and the labels. */
  gather(
    x: Float32Array,
    y: Float32Array,
    cols: number,
    index: Int32Array | null,
    start: number,
    rows: number,
  ): void {
    const h0 = this.h[0];
    for (let r = 0; r < rows; r++) {
      const src = index ? index[start + r] : start + r;
      h0.set(x.subarray(src * cols, (src + 1) * cols), r * cols);
      this.yb[r] = y[src];
    }
  }

  /** `H = act(H + bias)`: SIMD for ReLU and linear when the width is a multiple of 4. */
  biasActivation(h: Float32Array, rows: number, n: number, bOff: number, a: FusedActivation) {
    const k = this.simd;
    if (k && n % 4 === 0 && (a === "relu" || a === "linear")) {
      const bias = this.p.byteOffset + bOff * 4;
      if (a === "relu") k.bias_relu(h.byteOffset, bias, rows, n);
      else k.bias_add(h.byteOffset, bias, rows, n);
    } else {
      biasActivation(h, rows, n, this.p, bOff, a);
    }
  }

  /** `D ⊙= act'(H)`: SIMD for ReLU over the largest multiple of 4 elements. */
  derivativeMul(d: Float32Array, h: Float32Array, len: number, a: FusedActivation) {
    const k = this.simd;
    if (k && a === "relu") {
      const n = len & ~3;
      k.relu_grad(d.byteOffset, h.byteOffset, n);
      derivativeMul(d.subarray(n), h.subarray(n), len - n, a);
    } else {
      derivativeMul(d, h, len, a);
    }
  }

  /** The bias gradient at `off`: SIMD when the width is a multiple of 4. */
  columnSums(d: Float32Array, rows: number, n: number, off: number) {
    const k = this.simd;
    if (k && n % 4 === 0) k.col_sums(d.byteOffset, this.g.byteOffset + off * 4, rows, n);
    else columnSums(d, rows, n, this.g, off);
  }

  /** Forward over `rows` gathered rows; returns the output (H[L]). */
  forward(rows: number, inference: boolean): Float32Array {
    const { layers, h, p } = this;
    layers.forEach((l, j) => {
      const out = h[j + 1];
      this.sgemm(
        false,
        false,
        rows,
        l.outDim,
        l.inDim,
        h[j],
        p.subarray(l.wOff, l.wOff + l.inDim * l.outDim),
        out,
      );
      if (l.nOff >= 0) {
        this.biasActivation(out, rows, l.outDim, l.bOff, "linear");
        batchNormForward(
          out,
          this.xh[j]!,
          this.rs[j]!,
          rows,
          l.outDim,
          p,
          l.nOff,
          inference,
          l.activation,
        );
      } else {
        this.biasActivation(out, rows, l.outDim, l.bOff, l.activation);
      }
    });
    return h[layers.length];
  }

  /** Loss sum over `rows`; with `grad`, writes the output gradient (mean loss) to D. */
  lossSum(rows: number, grad: boolean, output: FusedActivation): number {
    const pred = this.h[this.layers.length];
    const d = this.d[0];
    const scale = 1 / rows;
    let sum = 0;
    for (let i = 0; i < rows; i++) {
      const [l, g] = this.loss(pred[i], this.yb[i]);
      sum += Math.fround(l);
      if (grad) d[i] = g * scale;
    }
    if (grad) derivativeMul(d, pred, rows, output);
    return sum;
  }

  backward(rows: number): void {
    const { layers, h, p, g } = this;
    const L = layers.length;
    // The gradient at layer j's pre-activation is in dOf(j); the output layer uses d[0].
    const dOf = (j: number) => this.d[(L - 1 - j) % 2];
    for (let j = L - 1; j >= 0; j--) {
      const l = layers[j];
      const dj = dOf(j);
      if (l.nOff >= 0) {
        batchNormBackward(dj, this.xh[j]!, this.rs[j]!, rows, l.outDim, p, l.nOff, g, l.nOff);
      }
      this.sgemm(
        true,
        false,
        l.inDim,
        l.outDim,
        rows,
        h[j],
        dj,
        g.subarray(l.wOff, l.wOff + l.inDim * l.outDim),
      );
      this.columnSums(dj, rows, l.outDim, l.bOff);
      if (j > 0) {
        const prev = dOf(j - 1);
        this.sgemm(
          false,
          true,
          rows,
          l.inDim,
          l.outDim,
          dj,
          p.subarray(l.wOff, l.wOff + l.inDim * l.outDim),
          prev,
        );
        this.derivativeMul(prev, h[j], rows * l.inDim, layers[j - 1].activation);
      }
    }
  }

  epoch(perm: Int32Array, lr: number): Promise<[number, number]> {
    const { x, y, xVal, yVal, description } = this.args;
    const output = description.output as FusedActivation;
    let sum = 0;
    for (let start = 0; start < x.rows; start += this.batch) {
      const rows = Math.min(this.batch, x.rows - start);
      this.gather(x.data, y, x.cols, perm, start, rows);
      this.forward(rows, false);
      sum += this.lossSum(rows, true, output);
      this.backward(rows);
      this.update(lr);
    }
    let valSum = 0;
    for (let start = 0; start < xVal.rows; start += this.rowsCap) {
      const rows = Math.min(this.rowsCap, xVal.rows - start);
      this.gather(xVal.data, yVal, xVal.cols, null, start, rows);
      this.forward(rows, true);
      valSum += this.lossSum(rows, false, output);
    }
    return Promise.resolve([sum, valSum]);
  }
}

/**
 * A shared `Float32Array` of `length` zeros.
 *
 * @param length elements
 * @returns the array
 * @throws {RangeError} when the memory cannot be had, naming the size
 */
function sharedFloats(length: number): Float32Array {
  try {
    return new Float32Array(new SharedArrayBuffer(length * 4));
  } catch (e) {
    throw new RangeError(
      `Cannot allocate ${gib(length * 4)} for the fused CPU engine (${
        (e as Error).message
      }): lower model.size or model.layers`,
    );
  }
}
