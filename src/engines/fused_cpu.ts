/**
 * The fused CPU MLP engine (`train.engine: fused` with `train.backend:
 * cpu-blas`): trains the registry's MLP families without tfjs ops, the
 * matmuls in a system BLAS (`cblas_sgemm` through Deno FFI, multi-threaded by
 * the library) and the elementwise work in wasm SIMD kernels
 * ({@link ./wasm_simd.ts}; JavaScript ones, {@link ./cpu_kernels.ts}, for the
 * activations and widths they do not cover) over buffers allocated once per run.
 *
 * - Forward per layer: `Z = H·W` (sgemm) then bias + activation in place.
 *   Backward: `dW = Hᵀ·D` and `D' = D·Wᵀ` (sgemm, transposed operands passed
 *   as flags, never copied), the activation derivative through the layer's
 *   output, the bias gradient as column sums.
 * - One Adam (or SGD) step over the flat parameter buffer, split across
 *   threads ({@link ./cpu_pool.ts}): it is memory-bound, and two cores have
 *   twice the bandwidth of one.
 * - Parameters, gradients, moments and activations live in one shared wasm
 *   memory outside the tfjs wasm heap (up to 4 GiB; past that, plain
 *   `SharedArrayBuffer`s and the JavaScript kernels), so a 10 × 4096 MLP,
 *   which does not fit the tfjs wasm backend, trains.
 * - The epoch loop, its policy, checkpoints and the weight layout are the
 *   fused engines' shared ones ({@link ./fused.ts}); per-epoch losses match
 *   `trainModel` within float32 summation-order tolerance (the conformance suite).
 *
 * Results do not depend on the optimizer thread count; they do depend on the
 * BLAS library and its build, which the run record names.
 *
 * @module
 */
import type { LossConfig } from "../config/schema.ts";
import type { TrainResult } from "../train/trainer.ts";
import { gib } from "../models/registry.ts";
import { type Blas, loadBlas } from "./blas_cpu.ts";
import {
  batchNormBackward,
  batchNormForward,
  biasActivation,
  columnSums,
  derivativeMul,
  lossTerms,
} from "./cpu_kernels.ts";
import { OptimizerPool } from "./cpu_pool.ts";
import { Arena, type SimdKernels, simdKernels } from "./wasm_simd.ts";
import {
  checkFusedArgs,
  type FusedArgs,
  type FusedEngine,
  type FusedLayer,
  type FusedOptimizerState,
  runFused,
} from "./fused.ts";
import type { FusedActivation } from "./wgsl.ts";

/**
 * Models with fewer parameters update on one thread: measured on 10 × 256
 * (0.6 M parameters), a second thread saved nothing and, competing with
 * OpenBLAS's spinning threads on 2 cores, once halved the speed.
 */
export const PARALLEL_MIN_PARAMS = 1 << 20;

/** Arguments of {@linkcode trainFusedCpu}: the shared fused arguments, plus threads. */
export interface FusedCpuArgs extends FusedArgs {
  /**
   * Optimizer threads, the main one included (default: one per CPU for models
   * of {@linkcode PARALLEL_MIN_PARAMS} parameters or more, else 1). The results
   * do not depend on it.
   */
  threads?: number;
  /** A BLAS to use (default: {@linkcode loadBlas}). */
  blas?: Blas;
  /**
   * Use the wasm SIMD kernels when the buffers fit a wasm memory (default
   * true); false forces the JavaScript kernels, the path of larger models.
   */
  simd?: boolean;
}

/**
 * Floats the fused CPU engine allocates for a model, in its arena
 * (parameters, gradients, Adam's two moments, each layer's activations and
 * the two gradient buffers) and beside it (the best copy, batch-norm scratch).
 */
function engineFloats(
  layers: FusedLayer[],
  params: number,
  rowsCap: number,
  optimizer: "adam" | "sgd",
): { arena: number; beside: number; widest: number } {
  const widest = Math.max(layers[0].inDim, ...layers.map((l) => l.outDim));
  const acts = layers.reduce((s, l) => s + rowsCap * l.outDim, 0);
  const bn = layers.reduce((s, l) => s + (l.nOff >= 0 ? rowsCap * l.outDim : 0), 0);
  return {
    arena: (optimizer === "adam" ? 4 : 2) * params + rowsCap * layers[0].inDim + acts +
      2 * rowsCap * widest,
    beside: params + bn,
    widest,
  };
}

/**
 * Bytes the fused CPU engine allocates for a model: parameters, gradients,
 * best copy and (Adam) two moments, plus the per-layer activations, gradients
 * and batch-norm scratch for `rowsCap` rows.
 *
 * @param layers the model's layout
 * @param params its parameter count
 * @param rowsCap rows per forward pass (the batch, or the validation chunk)
 * @param optimizer adam or sgd
 * @returns bytes
 */
export function fusedCpuBytes(
  layers: FusedLayer[],
  params: number,
  rowsCap: number,
  optimizer: "adam" | "sgd",
): number {
  const f = engineFloats(layers, params, rowsCap, optimizer);
  return 4 * (f.arena + f.beside);
}

/**
 * Trains `args.model` with the fused CPU engine; the same contract as
 * `trainModel` (and `trainFused`): same shuffle stream, early stopping, LR
 * plateau and best-weight restore; the model ends holding the best weights.
 *
 * @param args trainer arguments plus the model description and loss config
 * @returns history, best epoch and validation loss, why training stopped
 * @throws {Error} for an unsupported model, or no loadable BLAS
 * @throws {RangeError} on inconsistent shapes, invalid options, or a model
 *   whose buffers cannot be allocated
 * @example
 * ```ts
 * const d = describeModel(config.model, x.cols, { label: config.label });
 * const result = await trainFusedCpu({ model, loss: makeLoss(config.loss), lossConfig: config.loss,
 *   description: d, train: config.train, seed, x, y, xVal, yVal });
 * ```
 */
export async function trainFusedCpu(args: FusedCpuArgs): Promise<TrainResult> {
  const { layers, params } = checkFusedArgs(args);
  const blas = args.blas ?? loadBlas();
  const threads = args.threads ??
    (params >= PARALLEL_MIN_PARAMS ? Math.max(1, navigator.hardwareConcurrency ?? 1) : 1);
  const run = new FusedCpuRun(blas, layers, params, args);
  try {
    await run.start(threads);
  } catch (e) {
    run.destroy();
    throw e;
  }
  return await runFused(args, layers, params, run);
}

class FusedCpuRun implements FusedEngine {
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
  readonly simd: SimdKernels | null;
  pool: OptimizerPool | null = null;
  beta1 = Math.fround(0.9);
  beta2 = Math.fround(0.999);

  constructor(
    readonly blas: Blas,
    readonly layers: FusedLayer[],
    readonly params: number,
    readonly args: FusedCpuArgs,
  ) {
    const { x, xVal, train } = args;
    this.batch = Math.min(train.batch_size, x.rows);
    this.rowsCap = Math.max(this.batch, Math.min(xVal.rows, 1024));
    const cap = this.rowsCap;
    const floats = engineFloats(layers, params, cap, train.optimizer);
    const bytes = 4 * (floats.arena + floats.beside);
    const free = freeMemory();
    if (free !== null && bytes > free) {
      throw new RangeError(
        `The fused CPU engine needs about ${gib(bytes)} for ${
          params.toLocaleString("en-US")
        } parameters at ${cap} rows, but ${
          gib(free)
        } is available: lower model.size or model.layers`,
      );
    }
    const adam = train.optimizer === "adam";
    // Parameters, gradients, moments and activations in one shared wasm memory
    // when they fit its 4 GiB (the SIMD kernels work there), else in plain buffers.
    const arena = args.simd === false
      ? { reason: "simd: false" }
      : Arena.create(4 * floats.arena, (adam ? 4 : 2) + layers.length + 3);
    this.arena = arena instanceof Arena ? arena : null;
    this.noArena = arena instanceof Arena ? null : arena.reason;
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
    this.xh = layers.map((l) => l.nOff >= 0 ? new Float32Array(cap * l.outDim) : null);
    this.rs = layers.map((l) => l.nOff >= 0 ? new Float32Array(l.outDim) : null);
    this.yb = new Float32Array(cap);
    this.loss = lossTerms(args.lossConfig as LossConfig);
  }

  async start(threads: number): Promise<void> {
    this.pool = await OptimizerPool.start(threads, {
      p: this.p,
      g: this.g,
      ...(this.m ? { m: this.m, v: this.v! } : {}),
      ...(this.arena ? { wasm: { memory: this.arena.memory, module: this.arena.module } } : {}),
    });
  }

  /** Which kernels run the elementwise work and the optimizer, on how many threads. */
  describe(): string {
    const threads = this.pool?.threads ?? 1;
    const kernels = this.arena ? "wasm SIMD kernels" : `JavaScript kernels (${this.noArena})`;
    return `fused CPU MLP engine: ${this.blas.library} sgemm, ${kernels}, optimizer on ${threads} thread${
      threads === 1 ? "" : "s"
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
    const { layers, h, p, blas } = this;
    layers.forEach((l, j) => {
      const out = h[j + 1];
      blas.sgemm(
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
    const { layers, h, p, g, blas } = this;
    const L = layers.length;
    // The gradient at layer j's pre-activation is in dOf(j); the output layer uses d[0].
    const dOf = (j: number) => this.d[(L - 1 - j) % 2];
    for (let j = L - 1; j >= 0; j--) {
      const l = layers[j];
      const dj = dOf(j);
      if (l.nOff >= 0) {
        batchNormBackward(dj, this.xh[j]!, this.rs[j]!, rows, l.outDim, p, l.nOff, g, l.nOff);
      }
      blas.sgemm(
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
        blas.sgemm(
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

  update(lr: number): void {
    const pool = this.pool!;
    if (this.m) {
      const c1 = Math.fround(1 - this.beta1);
      const c2 = Math.fround(1 - this.beta2);
      this.beta1 = Math.fround(this.beta1 * Math.fround(0.9));
      this.beta2 = Math.fround(this.beta2 * Math.fround(0.999));
      pool.adam(lr, c1, c2);
    } else {
      pool.sgd(lr);
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

  saveBest(): void {
    this.best.set(this.p);
  }

  download(best: boolean): Promise<Float32Array> {
    // A view, not a copy: a 10 x 4096 model's parameters are 604 MB, and the
    // callers (a checkpoint, the final weights) read them before the next step.
    return Promise.resolve(best ? this.best : this.p);
  }

  setBest(flat: Float32Array<ArrayBuffer>): void {
    this.best.set(flat);
  }

  optimizerState(): Promise<FusedOptimizerState | null> {
    if (!this.m || !this.v) return Promise.resolve(null);
    return Promise.resolve({
      m: this.m,
      v: this.v,
      powers: [this.beta1, this.beta2],
    });
  }

  setOptimizerState(s: FusedOptimizerState): void {
    this.m?.set(s.m);
    this.v?.set(s.v);
    [this.beta1, this.beta2] = s.powers;
  }

  destroy(): void {
    this.pool?.close();
    this.pool = null;
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

/** Bytes of memory available now, or null where the runtime cannot tell. */
function freeMemory(): number | null {
  try {
    return Deno.systemMemoryInfo().available;
  } catch {
    return null;
  }
}
