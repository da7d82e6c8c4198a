/**
 * The fused WebGPU MLP engine (`train.engine: fused`): trains the registry's
 * MLP families directly with WGSL compute shaders instead of through tfjs ops.
 *
 * - Pipelines, buffers, uniforms and bind groups are created once per
 *   {@linkcode trainFused} call; nothing is allocated per step or per epoch.
 * - Forward: one tiled matmul + bias + activation dispatch per layer.
 *   Backward: one matmul × activation-derivative dispatch per layer for the
 *   input gradient, one tiled `Hᵀ·D` dispatch for the weight gradient and one
 *   column-sum dispatch for the bias gradient. One Adam (or SGD) dispatch
 *   updates the flat parameter buffer.
 * - Every epoch the loop's seeded row order (the same stream for every
 *   engine) is uploaded once; each mini-batch is
 *   gathered on the GPU. The loss is summed on the GPU and read back once per
 *   epoch, together with the validation loss; the whole epoch (all steps and
 *   the validation pass) is encoded into one command buffer.
 * - The epoch loop and its policy (early stopping, LR plateau, best-weight
 *   restore, checkpoints, interrupts) are every engine's ({@link ./loop.ts});
 *   the weight layout and the checkpoint mapping are the fused engines'
 *   ({@link ./fused.ts}).
 *
 * Supported: no normalization or batch normalization (tfjs-layers'
 * semantics: batch statistics and moving averages with momentum 0.99 in
 * training, moving statistics in validation, epsilon 1e-3), no dropout,
 * hidden activations relu, tanh,
 * sigmoid, linear and elu, any output (sigmoid/tanh/linear), every loss of
 * `src/models/losses.ts`, Adam and SGD. Anything else is refused with a
 * message naming what is unsupported (`fusedUnsupported` in {@link ./fused.ts}).
 *
 * @module
 */
import type { LossSpec, MlpDescription } from "./spec.ts";
import { runEpochs, type TrainResult } from "./loop.ts";
import {
  checkFusedArgs,
  type FusedArgs,
  type FusedEngine,
  type FusedLayer,
  fusedLayout,
  type FusedOptimizerState,
  fusedTrainingEngine,
  weightSlots,
} from "./fused.ts";
import {
  batchNormBackwardShader,
  batchNormForwardShader,
  biasGradShader,
  DIMS_BYTES,
  type Epilogue,
  type FusedActivation,
  gatherShader,
  lossShader,
  type MatmulKernel,
  matmulShader,
  matmulTile,
  splitReduceShader,
  STEP_BYTES,
  TILE_K,
  TILED_128,
  TILED_64,
  updateShader,
  vec4Kernel,
} from "./wgsl.ts";

/** Arguments of {@linkcode trainFused}: the trainer's, plus what the shaders are generated from. */
export interface FusedTrainArgs extends FusedArgs {
  /** A device to use (default: {@linkcode fusedDevice}). */
  device?: GPUDevice;
  /**
   * Matmul kernel for every product, or `auto` (default on a hardware adapter
   * or a given device: 128 × 128 tiles for large products, else 64 × 64 tiles
   * with split-K; four-float loads wherever dimensions and offsets are
   * multiples of 4). On a software adapter the default is the
   * simple kernel, because its LLVM compiles tiled shaders slowly.
   */
  kernel?: MatmulKernel | "auto";
  /**
   * Split-K for the products over the batch rows (tiled kernel only): a count
   * of slices to force, or `auto` (default: split when the output has too
   * few tiles to fill a large GPU, e.g. 64 rows × 4096).
   */
  splitK?: number | "auto";
  /**
   * Training steps per command buffer (default 1: each step is submitted as
   * soon as it is encoded, so the GPU starts while the rest of the epoch is
   * encoded; `Infinity` submits the whole epoch at once). Results do not
   * depend on it.
   */
  submitEvery?: number;
}

let liveBuffers = 0;

/**
 * GPU buffers the engine has created and not yet destroyed (0 between runs;
 * constant across the epochs of one run).
 *
 * @returns the count
 */
export function liveGpuBuffers(): number {
  return liveBuffers;
}

/** The WebGPU device the fused engine trains on, and its adapter. */
export interface FusedGpuDevice {
  /** The device, created with the adapter's largest buffer limits. */
  device: GPUDevice;
  /** The adapter's description (or vendor, architecture and device). */
  adapter: string;
  /** Whether the adapter is a software one (llvmpipe, SwiftShader, lavapipe, WARP). */
  software: boolean;
}

/** The process's device, once asked for (the promise, so concurrent callers share it). */
let cachedDevice: Promise<FusedGpuDevice> | null = null;
/** Its adapter once the device exists, for {@linkcode fusedDeviceAdapter}. */
let cachedAdapter: string | null = null;

/**
 * The process-wide WebGPU device the engine uses, created on the first call
 * with the adapter's largest buffer limits (large models need more than the
 * default 128 MiB binding) and kept until {@linkcode releaseFusedDevice} or
 * until the device is lost.
 *
 * @returns the device and a description of its adapter
 * @throws {Error} when `navigator.gpu` or an adapter is missing
 */
export function fusedDevice(): Promise<FusedGpuDevice> {
  if (cachedDevice) return cachedDevice;
  const entry: Promise<FusedGpuDevice> = (async () => {
    // Deno types `navigator.gpu` as always present; a build without WebGPU leaves it undefined.
    const gpu: GPU | undefined = navigator.gpu;
    if (!gpu) {
      throw new Error(
        "The fused engine needs WebGPU but navigator.gpu is undefined: use a Deno with WebGPU, or train.engine: tfjs",
      );
    }
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) {
      throw new Error(
        "The fused engine found no WebGPU adapter (requestAdapter returned null): install the GPU's Vulkan/Metal driver, or use train.engine: tfjs",
      );
    }
    const info = adapter.info ?? {};
    const description = info.description ||
      [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") ||
      "unknown adapter";
    const software = /llvmpipe|swiftshader|lavapipe|softpipe|warp/i.test(description) ||
      description === "unknown adapter";
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(
          8,
          adapter.limits.maxStorageBuffersPerShaderStage,
        ),
      },
    });
    device.lost.then(() => forget(entry));
    cachedAdapter = description;
    return { device, adapter: description, software };
  })();
  cachedDevice = entry;
  entry.catch(() => forget(entry));
  return entry;
}

/** Drops the cached device if it is still `entry` (a released device's loss must not drop its successor). */
function forget(entry: Promise<FusedGpuDevice>): void {
  if (cachedDevice !== entry) return;
  cachedDevice = null;
  cachedAdapter = null;
}

/**
 * The adapter of the device {@linkcode fusedDevice} keeps for the process.
 *
 * @returns its description, or null when there is none (not asked for, released or lost)
 */
export function fusedDeviceAdapter(): string | null {
  return cachedAdapter;
}

/**
 * Destroys the process's WebGPU device (see {@linkcode fusedDevice}); the
 * next fused WebGPU training creates a new one.
 *
 * @returns true when there was a device and it is destroyed, false when there was none
 * @throws {Error} while a fused WebGPU training holds buffers on it
 * @example
 * ```ts
 * await trainFused(args);
 * await releaseFusedDevice(); // the GPU's memory goes back now, not at exit
 * ```
 */
export async function releaseFusedDevice(): Promise<boolean> {
  const entry = cachedDevice;
  if (!entry) return false;
  if (liveBuffers > 0) {
    throw new Error(
      `Cannot release the fused engine's WebGPU device: a training holds ${liveBuffers} buffers on it`,
    );
  }
  let found: FusedGpuDevice;
  try {
    found = await entry;
  } catch {
    return false;
  }
  forget(entry);
  found.device.destroy();
  return true;
}

/**
 * Trains `args.model` with the fused WebGPU engine under the epoch loop
 * (`runEpochs`), as `trainModel` trains with tfjs ops: the same shuffle
 * stream, early stopping, LR plateau, best-weight restore, checkpoints and
 * interrupts; the model ends holding the best weights.
 *
 * @param args trainer arguments plus the model description and loss config
 * @returns history, best epoch and validation loss, why training stopped
 * @throws {Error} for an unsupported model (see `fusedUnsupported`), no
 *   WebGPU adapter, or a model larger than the adapter's buffer limits
 * @throws {RangeError} on inconsistent shapes or invalid options (as `trainModel`)
 * @example
 * ```ts
 * const d = describeModel(config.model, x.cols, { label: config.label });
 * const result = await trainFused({ model, loss: makeLoss(config.loss), lossConfig: config.loss,
 *   description: d, train: config.train, seed, x, y, xVal, yVal });
 * ```
 */
export async function trainFused(args: FusedTrainArgs): Promise<TrainResult> {
  const { layers, params } = checkFusedArgs(args);
  if (args.submitEvery !== undefined && !(args.submitEvery >= 1)) {
    throw new RangeError(`submitEvery must be at least 1 step, got ${args.submitEvery}`);
  }
  let device = args.device;
  let kernel: MatmulKernel | "auto" = args.kernel ?? "auto";
  if (!device) {
    const found = await fusedDevice();
    device = found.device;
    if (!args.kernel && found.software) kernel = { kind: "simple" };
  }
  const engine = new FusedRun(
    device,
    kernel,
    args.splitK ?? "auto",
    args.submitEvery ?? 1,
    layers,
    params,
    args.description,
    args.lossConfig,
    args.train,
    args.x,
    args.y,
    args.xVal,
    args.yVal,
  );
  return await runEpochs(
    args,
    await fusedTrainingEngine(args, weightSlots(layers), params, engine),
  );
}

/**
 * The kernel for an m × n output over a shared dimension k: the given one,
 * or with `auto` 128 × 128 tiles for products with at least 64 such tiles
 * and k ≥ 256, else 64 × 64, with four-float loads. (Measured on an H100:
 * 128-tiles won on 512 × 4096 × 4096 even split in two along k, lost on
 * 4096 × 4096 × 64 weight gradients and on 64-row products.) Four-float
 * loads need `aligned` (dimensions and offsets multiples of 4); without it a
 * tiled kernel falls back to scalar loads.
 */
function pickKernel(
  kernel: MatmulKernel | "auto",
  m: number,
  n: number,
  k: number,
  aligned: boolean,
): MatmulKernel {
  const base = kernel !== "auto"
    ? kernel
    : m * n >= 64 * 128 * 128 && k >= 256
    ? TILED_128
    : TILED_64;
  if (base.kind !== "tiled") return base;
  const vec4 = kernel === "auto" || base.vec4 === true;
  return vec4 && aligned ? vec4Kernel(base) : { ...base, vec4: false };
}

/** Four-float loads need every dimension and offset a multiple of 4. */
const aligned4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);

/** Workgroups along x (columns) and y (rows) for an m × n output. */
function tiles(kernel: MatmulKernel, m: number, n: number): [number, number] {
  const { tile } = matmulTile(kernel);
  return [Math.ceil(n / tile), Math.ceil(m / tile)];
}

/** Kernel and split-K slices for a product over `rows` batch rows. */
function splitPlan(
  kernel: MatmulKernel | "auto",
  splitK: number | "auto",
  rows: number,
  k: number,
  n: number,
  aligned = false,
): { kernel: MatmulKernel; count: number; chunk: number } {
  const picked = pickKernel(kernel, rows, n, k, aligned);
  if (picked.kind !== "tiled") return { kernel: picked, count: 1, chunk: k };
  let s = 1;
  if (typeof splitK === "number") {
    s = Math.max(1, Math.min(Math.floor(splitK), Math.ceil(k / TILE_K)));
  } else {
    const [tx, ty] = tiles(picked, rows, n);
    if (k >= 512 && tx * ty < 256) {
      s = Math.max(1, Math.min(8, Math.floor(k / 256), Math.ceil(256 / (tx * ty))));
    }
  }
  const chunk = Math.ceil(Math.ceil(k / s) / TILE_K) * TILE_K;
  return { kernel: picked, count: Math.ceil(k / chunk), chunk };
}

/** Floats of the split-K workspace: the largest slices × rows × columns of any product. */
function splitWorkspaceFloats(
  layers: FusedLayer[],
  kernel: MatmulKernel | "auto",
  splitK: number | "auto",
  rowCounts: number[],
): number {
  let floats = 0;
  for (const rows of rowCounts) {
    layers.forEach((l, j) => {
      const shapes = j > 0 ? [[l.inDim, l.outDim], [l.outDim, l.inDim]] : [[l.inDim, l.outDim]];
      for (const [k, n] of shapes) {
        const { count } = splitPlan(kernel, splitK, rows, k, n);
        if (count > 1) floats = Math.max(floats, count * rows * n);
      }
    });
  }
  return floats;
}

/** The WebGPU limits the fused engine's buffers and dispatches depend on. */
export interface FusedGpuLimits {
  /** Bytes one storage binding may cover. */
  maxStorageBufferBindingSize: number;
  /** Bytes one buffer may have. */
  maxBufferSize: number;
  /** Workgroups one dispatch may have along each dimension. */
  maxComputeWorkgroupsPerDimension: number;
  /** Storage buffers one shader may bind. */
  maxStorageBuffersPerShaderStage: number;
}

/** Storage buffers the engine's busiest shaders bind (the gather and batch-norm backward). */
const STORAGE_BUFFERS_PER_SHADER = 5;

/** What a fused WebGPU run's buffers depend on besides the model. */
export interface FusedGpuSizes {
  /** Mini-batch size (`train.batch_size`). */
  batchSize: number;
  /** The optimizer (Adam keeps two moments per parameter). */
  optimizer: "adam" | "sgd";
  /**
   * Training rows; absent before the dataset is built (its buffers are not
   * counted then, and the description's input size is taken as a lower bound).
   */
  rows?: number;
  /** Validation rows; likewise. */
  valRows?: number;
  /** The matmul kernel (default `auto`; the engine uses `simple` on a software adapter). */
  kernel?: MatmulKernel | "auto";
  /** Split-K (default `auto`). */
  splitK?: number | "auto";
}

/** One buffer the engine creates: what it holds, its bytes, whether a shader binds it as storage. */
export interface FusedGpuBuffer {
  /** What it holds, in words. */
  what: string;
  /** Its size. */
  bytes: number;
  /** Whether a shader binds it as storage (the binding limit applies). */
  storage: boolean;
}

/**
 * The buffers the fused WebGPU engine creates for a model, as
 * {@linkcode trainFused} sizes them (the small uniform and readback buffers
 * left out), and its largest dispatch along one dimension.
 *
 * @param d the model description
 * @param sizes the batch, the optimizer and, once known, the data's rows
 * @returns the buffers and the largest workgroup count of any dispatch dimension
 */
export function fusedGpuBuffers(
  d: MlpDescription,
  sizes: FusedGpuSizes,
): { buffers: FusedGpuBuffer[]; workgroups: number } {
  const { layers, params } = fusedLayout(d);
  const cols = d.inputDim;
  const batch = sizes.rows === undefined ? sizes.batchSize : Math.min(sizes.batchSize, sizes.rows);
  const rowsCap = Math.max(batch, Math.min(sizes.valRows ?? 0, 1024));
  const maxWidth = Math.max(...layers.map((l) => l.outDim));
  const widest = layers.reduce((a, l) => (l.outDim > a.outDim ? l : a));
  const kernel = sizes.kernel ?? "auto";
  const splitK = sizes.splitK ?? "auto";
  const buffers: FusedGpuBuffer[] = [];
  const add = (what: string, bytes: number, storage = true) =>
    buffers.push({ what, bytes: Math.max(16, Math.ceil(bytes / 4) * 4), storage });
  if (sizes.rows !== undefined) {
    add(`the training inputs (${sizes.rows} rows × ${cols})`, sizes.rows * cols * 4);
    add("the training labels", sizes.rows * 4);
    add("the shuffled row index", sizes.rows * 4);
  }
  if (sizes.valRows !== undefined) {
    add(`the validation inputs (${sizes.valRows} rows × ${cols})`, sizes.valRows * cols * 4);
    add("the validation labels", sizes.valRows * 4);
    add("the validation row index", sizes.valRows * 4);
  }
  const count = params.toLocaleString("en-US");
  add(`the parameters (${count} floats)`, params * 4);
  add(`the gradients (${count} floats)`, params * 4);
  add(`the best parameters (${count} floats)`, params * 4, false);
  if (sizes.optimizer === "adam") {
    add(`Adam's first moments (${count} floats)`, params * 4);
    add(`Adam's second moments (${count} floats)`, params * 4);
  }
  add(`the gathered inputs (${rowsCap} rows × ${cols})`, rowsCap * cols * 4);
  for (const l of layers) {
    add(`a layer's outputs (${rowsCap} rows × ${l.outDim})`, rowsCap * l.outDim * 4);
    if (l.nOff >= 0) {
      add(`a layer's normalized values (${rowsCap} rows × ${l.outDim})`, rowsCap * l.outDim * 4);
    }
  }
  add("the gathered labels", rowsCap * 4);
  add(`the backward gradients (${rowsCap} rows × ${maxWidth}, twice)`, rowsCap * maxWidth * 4);
  add(`the backward gradients (${rowsCap} rows × ${maxWidth}, twice)`, rowsCap * maxWidth * 4);
  const workspace = splitWorkspaceFloats(layers, kernel, splitK, [batch, rowsCap]);
  if (workspace > 0) add("the split-K workspace", workspace * 4);
  let workgroups = Math.ceil(widest.outDim / 64);
  for (const rows of [batch, rowsCap]) {
    for (const l of layers) {
      const k = splitPlan(kernel, splitK, rows, l.inDim, l.outDim).kernel;
      workgroups = Math.max(
        workgroups,
        ...tiles(k, rows, l.outDim),
        ...tiles(k, l.inDim, l.outDim),
      );
    }
  }
  return { buffers, workgroups };
}

/**
 * Why the fused WebGPU engine cannot train a model within an adapter's
 * limits, or null when it can: each buffer against the binding and buffer
 * limits, the largest dispatch against the workgroup limit.
 *
 * @param d the model description
 * @param sizes the batch, the optimizer and, once known, the data's rows
 * @param limits the device's limits
 * @returns a sentence naming each limit exceeded, the model and what to do, or null
 */
export function fusedGpuLimitProblem(
  d: MlpDescription,
  sizes: FusedGpuSizes,
  limits: FusedGpuLimits,
): string | null {
  const { buffers, workgroups } = fusedGpuBuffers(d, sizes);
  const problems: string[] = [];
  const worst = (xs: FusedGpuBuffer[]) => xs.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const bytes = (n: number) => `${n.toLocaleString("en-US")} bytes`;
  const bound = buffers.filter((b) => b.storage && b.bytes > limits.maxStorageBufferBindingSize);
  if (bound.length) {
    const b = worst(bound);
    problems.push(
      `${b.what} need a storage binding of ${bytes(b.bytes)}, and the adapter allows ${
        bytes(limits.maxStorageBufferBindingSize)
      } (maxStorageBufferBindingSize)`,
    );
  }
  const big = buffers.filter((b) => b.bytes > limits.maxBufferSize);
  if (big.length) {
    const b = worst(big);
    problems.push(
      `${b.what} need a buffer of ${bytes(b.bytes)}, and the adapter allows ${
        bytes(limits.maxBufferSize)
      } (maxBufferSize)`,
    );
  }
  if (workgroups > limits.maxComputeWorkgroupsPerDimension) {
    problems.push(
      `a dispatch needs ${
        workgroups.toLocaleString("en-US")
      } workgroups along one dimension, and the adapter allows ${
        limits.maxComputeWorkgroupsPerDimension.toLocaleString("en-US")
      } (maxComputeWorkgroupsPerDimension): lower train.batch_size`,
    );
  }
  if (limits.maxStorageBuffersPerShaderStage < STORAGE_BUFFERS_PER_SHADER) {
    problems.push(
      `its shaders bind ${STORAGE_BUFFERS_PER_SHADER} storage buffers, and the adapter allows ${limits.maxStorageBuffersPerShaderStage} (maxStorageBuffersPerShaderStage)`,
    );
  }
  if (!problems.length) return null;
  const { params } = fusedLayout(d);
  const fit = Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 4);
  // Before the dataset is built the input size is a lower bound, and so is the count.
  const atLeast = sizes.rows === undefined ? "at least " : "";
  return `model "${d.family}" (${d.layers} layers of ${d.size}, ${atLeast}${
    params.toLocaleString("en-US")
  } parameters) does not fit the adapter's limits: ${problems.join("; ")}; ` +
    `use a smaller model (lower model.size or model.layers: ${
      fit.toLocaleString("en-US")
    } parameters fit one binding), or train.engine: fused on a CPU backend (train.backend: wasm or cpu-blas)`;
}

/**
 * Checks a model against the WebGPU device's limits before any training (the
 * pipeline calls it right after choosing the backend, before the dataset is
 * built, and the engine again with the data's sizes).
 *
 * @param d the model description (its input size may be a lower bound before the dataset is built)
 * @param sizes the batch, the optimizer and, once known, the data's rows
 * @param device a device (default: the engine's, {@linkcode fusedDevice})
 * @throws {RangeError} naming the model, each limit it exceeds and what to do
 * @throws {Error} when there is no WebGPU adapter
 * @example
 * ```ts
 * await checkFusedGpuLimits(describeModel(config.model, 60), { batchSize: 64, optimizer: "adam" });
 * ```
 */
export async function checkFusedGpuLimits(
  d: MlpDescription,
  sizes: FusedGpuSizes,
  device?: GPUDevice,
): Promise<void> {
  let adapter = "the given device";
  let software = false;
  if (!device) {
    const found = await fusedDevice();
    device = found.device;
    adapter = found.adapter;
    software = found.software;
  }
  const kernel = sizes.kernel ?? (software ? { kind: "simple" as const } : "auto");
  const why = fusedGpuLimitProblem(d, { ...sizes, kernel }, device.limits);
  if (why) {
    throw new RangeError(`The fused WebGPU engine cannot train on "${adapter}": ${why}`);
  }
}

/** What a Float32Array or Int32Array upload needs. */
type Upload = Float32Array | Uint32Array;

class FusedRun implements FusedEngine {
  readonly buffers: GPUBuffer[] = [];
  readonly batch: number;
  readonly rowsCap: number;
  readonly steps: number;
  readonly valChunks: number;
  readonly maxWidth: number;
  paramsBuf!: GPUBuffer;
  gradBuf!: GPUBuffer;
  bestBuf!: GPUBuffer;
  momentBufs: GPUBuffer[] = [];
  permBuf!: GPUBuffer;
  tableBuf!: GPUBuffer;
  stepBuf!: GPUBuffer;
  accBuf!: GPUBuffer;
  readBuf!: GPUBuffer;
  table: ArrayBuffer;
  trainPass: (pass: GPUComputePassEncoder) => void = () => {};
  valPass: (pass: GPUComputePassEncoder) => void = () => {};
  accBeta1 = Math.fround(0.9);
  accBeta2 = Math.fround(0.999);

  constructor(
    readonly device: GPUDevice,
    readonly kernel: MatmulKernel | "auto",
    readonly splitK: number | "auto",
    readonly submitEvery: number,
    readonly layers: FusedLayer[],
    readonly params: number,
    readonly d: MlpDescription,
    readonly loss: LossSpec,
    readonly train: FusedTrainArgs["train"],
    readonly x: FusedTrainArgs["x"],
    readonly y: Float32Array,
    readonly xVal: FusedTrainArgs["x"],
    readonly yVal: Float32Array,
  ) {
    this.batch = Math.min(train.batch_size, x.rows);
    this.rowsCap = Math.max(this.batch, Math.min(xVal.rows, 1024));
    this.steps = Math.ceil(x.rows / this.batch);
    this.valChunks = Math.ceil(xVal.rows / this.rowsCap);
    this.maxWidth = Math.max(...layers.map((l) => l.outDim));
    this.table = new ArrayBuffer((this.steps + this.valChunks) * STEP_BYTES);
    const why = fusedGpuLimitProblem(d, {
      batchSize: train.batch_size,
      optimizer: train.optimizer,
      rows: x.rows,
      valRows: xVal.rows,
      kernel,
      splitK,
    }, device.limits);
    if (why) throw new RangeError(`The fused WebGPU engine cannot train this model: ${why}`);
    try {
      this.build();
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  buffer(size: number, usage: number, data?: Upload): GPUBuffer {
    const b = this.device.createBuffer({
      size: Math.max(16, Math.ceil(size / 4) * 4),
      usage,
      mappedAtCreation: data !== undefined,
    });
    liveBuffers += 1;
    this.buffers.push(b);
    if (data) {
      const view = data instanceof Float32Array
        ? new Float32Array(b.getMappedRange())
        : new Uint32Array(b.getMappedRange());
      view.set(data);
      b.unmap();
    }
    return b;
  }

  pipeline(code: string): GPUComputePipeline {
    const module = this.device.createShaderModule({ code });
    return this.device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
  }

  bind(p: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: p.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  dims(v: {
    m: number;
    n: number;
    k: number;
    ta?: boolean;
    tb?: boolean;
    aOff?: number;
    bOff?: number;
    cOff?: number;
    xOff?: number;
    p0?: number;
    p1?: number;
    p2?: number;
  }): GPUBuffer {
    const u = new Uint32Array(DIMS_BYTES / 4);
    u.set([
      v.m,
      v.n,
      v.k,
      v.ta ? 1 : 0,
      v.tb ? 1 : 0,
      v.aOff ?? 0,
      v.bOff ?? 0,
      v.cOff ?? 0,
      v.xOff ?? 0,
      v.p0 ?? 0,
      v.p1 ?? 0,
      v.p2 ?? 0,
    ]);
    return this.buffer(DIMS_BYTES, GPUBufferUsage.UNIFORM, u);
  }

  build(): void {
    const S = GPUBufferUsage.STORAGE;
    const CD = GPUBufferUsage.COPY_DST;
    const CS = GPUBufferUsage.COPY_SRC;
    const { x, y, xVal, yVal, layers, rowsCap } = this;
    const L = layers.length;
    const xBuf = this.buffer(x.data.byteLength, S, x.data);
    const yBuf = this.buffer(y.byteLength, S, y);
    const xValBuf = this.buffer(xVal.data.byteLength, S, xVal.data);
    const yValBuf = this.buffer(yVal.byteLength, S, yVal);
    const identity = new Uint32Array(xVal.rows).map((_, i) => i);
    const valIndex = this.buffer(identity.byteLength, S, identity);
    this.permBuf = this.buffer(x.rows * 4, S | CD);
    this.paramsBuf = this.buffer(this.params * 4, S | CD | CS);
    this.gradBuf = this.buffer(this.params * 4, S);
    this.bestBuf = this.buffer(this.params * 4, CD | CS);
    if (this.train.optimizer === "adam") {
      // COPY_SRC and COPY_DST: checkpoints read and restore the moments.
      this.momentBufs = [
        this.buffer(this.params * 4, S | CD | CS),
        this.buffer(this.params * 4, S | CD | CS),
      ];
    }
    this.tableBuf = this.buffer(this.table.byteLength, CD | CS);
    this.stepBuf = this.buffer(STEP_BYTES, GPUBufferUsage.UNIFORM | CD);
    this.accBuf = this.buffer(16, S | CD | CS);
    this.readBuf = this.buffer(16, GPUBufferUsage.MAP_READ | CD);
    // H[0] = gathered inputs, H[j + 1] = output of layer j; Yb the gathered labels.
    const H = [this.buffer(rowsCap * x.cols * 4, S)];
    for (const l of layers) H.push(this.buffer(rowsCap * l.outDim * 4, S));
    const yb = this.buffer(rowsCap * 4, S);
    const D = [
      this.buffer(rowsCap * this.maxWidth * 4, S),
      this.buffer(rowsCap * this.maxWidth * 4, S),
    ];
    // D buffer holding layer j's pre-activation gradient: the output layer uses D[0], then alternate.
    const dOf = (j: number) => D[(L - 1 - j) % 2];

    const pipelines = new Map<string, GPUComputePipeline>();
    const get = (key: string, code: () => string) => {
      let p = pipelines.get(key);
      if (!p) {
        p = this.pipeline(code());
        pipelines.set(key, p);
      }
      return p;
    };
    const gather = get("gather", gatherShader);
    const lossP = get("loss", () => lossShader(this.loss, this.d.output as FusedActivation));
    const biasP = get("bias", biasGradShader);
    const updP = get("update", () => updateShader(this.train.optimizer));
    const kernelKey = (k: MatmulKernel) =>
      k.kind === "simple" ? "s" : `t${k.wg}x${k.t}${k.vec4 ? "v" : ""}`;
    const pick = (m: number, n: number, k: number, aligned: boolean) =>
      pickKernel(this.kernel, m, n, k, aligned);
    const plan = (rows: number, k: number, n: number, aligned = false) =>
      splitPlan(this.kernel, this.splitK, rows, k, n, aligned);
    const batch = this.batch;
    const workspaceFloats = splitWorkspaceFloats(layers, this.kernel, this.splitK, [
      batch,
      rowsCap,
    ]);
    type Op = { p: GPUComputePipeline; g: GPUBindGroup; wg: [number, number, number?] };
    const workspace = workspaceFloats > 0 ? this.buffer(workspaceFloats * 4, S) : null;
    /**
     * `C = epilogue(A·op(B))` over up to `rows` batch rows (B in the parameter
     * buffer), split along k when that helps.
     */
    const product = (
      rows: number,
      epi: Exclude<Epilogue, { kind: "split" }>,
      key: string,
      d: { n: number; k: number; tb?: boolean; bOff: number; xOff?: number },
      A: GPUBuffer,
      C: GPUBuffer,
      X: GPUBuffer | null,
    ): Op[] => {
      const { kernel, count, chunk } = plan(rows, d.k, d.n, aligned4(d.n, d.k, d.bOff));
      const kk = kernelKey(kernel);
      if (count <= 1) {
        const p = get(`${key}-${kk}`, () => matmulShader(epi, kernel));
        const dims = this.dims({ m: 0, ...d });
        return [{
          p,
          g: this.bind(p, [this.stepBuf, dims, A, this.paramsBuf, C, ...(X ? [X] : [])]),
          wg: tiles(kernel, rows, d.n),
        }];
      }
      const sp = get(`split-${kk}`, () => matmulShader({ kind: "split" }, kernel));
      const rp = get(`reduce-${key}`, () => splitReduceShader(epi));
      const partDims = this.dims({ m: 0, n: d.n, k: d.k, tb: d.tb, bOff: d.bOff, p1: chunk });
      const sumDims = this.dims({ m: 0, n: d.n, k: 0, xOff: d.xOff, p2: count });
      return [
        {
          p: sp,
          g: this.bind(sp, [this.stepBuf, partDims, A, this.paramsBuf, workspace!]),
          wg: [...tiles(kernel, rows, d.n), count],
        },
        {
          p: rp,
          g: this.bind(rp, [this.stepBuf, sumDims, workspace!, C, ...(X ? [X] : [])]),
          wg: [Math.min(Math.ceil((rows * d.n) / 256), 1024), 1],
        },
      ];
    };
    const plainOf = (kernel: MatmulKernel) =>
      get(`plain-${kernelKey(kernel)}`, () => matmulShader({ kind: "plain" }, kernel));
    const gatherDims = this.dims({ m: 0, n: x.cols, k: 0 });
    const gatherWg = Math.min(Math.ceil((rowsCap * x.cols) / 256), 1024);
    const gatherTrain: Op = {
      p: gather,
      g: this.bind(gather, [this.stepBuf, gatherDims, xBuf, yBuf, this.permBuf, H[0], yb]),
      wg: [gatherWg, 1],
    };
    const gatherVal: Op = {
      p: gather,
      g: this.bind(gather, [this.stepBuf, gatherDims, xValBuf, yValBuf, valIndex, H[0], yb]),
      wg: [gatherWg, 1],
    };
    // Batch norm: xhat and rsqrt(var + eps) of the current batch, per normalized layer.
    const XH = layers.map((l) => l.nOff >= 0 ? this.buffer(rowsCap * l.outDim * 4, S) : null);
    const RS = layers.map((l) => l.nOff >= 0 ? this.buffer(l.outDim * 4, S) : null);
    const forwardOps = (inference: boolean, rows: number): Op[] =>
      layers.flatMap((l, j) => {
        const act = l.nOff >= 0 ? "linear" : l.activation;
        const ops: Op[] = product(
          rows,
          { kind: "bias-activation", activation: act },
          `fwd-${act}`,
          { n: l.outDim, k: l.inDim, bOff: l.wOff, xOff: l.bOff },
          H[j],
          H[j + 1],
          this.paramsBuf,
        );
        if (l.nOff >= 0) {
          const bn = get(`bn-${l.activation}`, () => batchNormForwardShader(l.activation));
          const bnDims = this.dims({
            m: 0,
            n: l.outDim,
            k: 0,
            xOff: l.nOff,
            p0: inference ? 1 : 0,
          });
          ops.push({
            p: bn,
            g: this.bind(bn, [this.stepBuf, bnDims, H[j + 1], XH[j]!, this.paramsBuf, RS[j]!]),
            wg: [Math.ceil(l.outDim / 64), 1],
          });
        }
        return ops;
      });
    const forward = forwardOps(false, batch);
    const forwardVal = forwardOps(true, rowsCap);
    const lossOp: Op = {
      p: lossP,
      g: this.bind(lossP, [this.stepBuf, H[L], yb, dOf(L - 1), this.accBuf]),
      wg: [1, 1],
    };
    const backward: Op[] = [];
    for (let j = L - 1; j >= 0; j--) {
      const l = layers[j];
      if (l.nOff >= 0) {
        // D_j holds the gradient at the normalized output; turn it into the one at Z_j.
        const bnb = get("bn-back", batchNormBackwardShader);
        const bnDims = this.dims({ m: 0, n: l.outDim, k: 0, xOff: l.nOff, cOff: l.nOff });
        backward.push({
          p: bnb,
          g: this.bind(bnb, [
            this.stepBuf,
            bnDims,
            dOf(j),
            XH[j]!,
            this.paramsBuf,
            RS[j]!,
            this.gradBuf,
          ]),
          wg: [Math.ceil(l.outDim / 64), 1],
        });
      }
      // dW_j = H_jᵀ · D_j  (m = inDim, n = outDim, k = rows)
      const dwKernel = pick(l.inDim, l.outDim, batch, aligned4(l.inDim, l.outDim, l.wOff));
      const dwDims = this.dims({ m: l.inDim, n: l.outDim, k: 0, ta: true, cOff: l.wOff });
      backward.push({
        p: plainOf(dwKernel),
        g: this.bind(plainOf(dwKernel), [this.stepBuf, dwDims, H[j], dOf(j), this.gradBuf]),
        wg: tiles(dwKernel, l.inDim, l.outDim),
      });
      const dbDims = this.dims({ m: 0, n: l.outDim, k: 0, cOff: l.bOff });
      backward.push({
        p: biasP,
        g: this.bind(biasP, [this.stepBuf, dbDims, dOf(j), this.gradBuf]),
        wg: [Math.ceil(l.outDim / 64), 1],
      });
      if (j > 0) {
        // D_{j-1} = (D_j · W_jᵀ) ⊙ act'(H_j)  (m = rows, n = inDim, k = outDim)
        const prev = layers[j - 1];
        backward.push(...product(
          batch,
          { kind: "activation-derivative", activation: prev.activation },
          `bwd-${prev.activation}`,
          { n: l.inDim, k: l.outDim, tb: true, bOff: l.wOff },
          dOf(j),
          dOf(j - 1),
          H[j],
        ));
      }
    }
    const updDims = this.dims({ m: 0, n: this.params, k: 0 });
    const update: Op = {
      p: updP,
      g: this.bind(updP, [
        this.stepBuf,
        updDims,
        this.paramsBuf,
        this.gradBuf,
        ...this.momentBufs,
      ]),
      wg: [Math.min(Math.ceil(this.params / 256), 4096), 1],
    };
    const run = (pass: GPUComputePassEncoder, ops: Op[]) => {
      for (const op of ops) {
        pass.setPipeline(op.p);
        pass.setBindGroup(0, op.g);
        pass.dispatchWorkgroups(op.wg[0], op.wg[1], op.wg[2] ?? 1);
      }
    };
    const trainOps = [gatherTrain, ...forward, lossOp, ...backward, update];
    const valOps = [gatherVal, ...forwardVal, lossOp];
    this.trainPass = (pass) => run(pass, trainOps);
    this.valPass = (pass) => run(pass, valOps);
  }

  describe(): string {
    const k = this.kernel === "auto"
      ? "auto-tiled, four-float loads where aligned,"
      : this.kernel.kind === "simple"
      ? "simple"
      : `tiled ${this.kernel.wg}x${this.kernel.t}${this.kernel.vec4 ? " four-float" : ""}`;
    return `fused WGSL MLP engine (${k} matmul kernels)`;
  }

  upload(flat: Float32Array<ArrayBuffer>): void {
    this.device.queue.writeBuffer(this.paramsBuf, 0, flat);
  }

  /** Runs one epoch and returns [sum of training losses, sum of validation losses]. */
  async epoch(perm: Int32Array, lr: number): Promise<[number, number]> {
    const { device, steps, batch, x, xVal, rowsCap } = this;
    device.queue.writeBuffer(this.permBuf, 0, Uint32Array.from(perm));
    const u32 = new Uint32Array(this.table);
    const f32 = new Float32Array(this.table);
    for (let k = 0; k < steps; k++) {
      const o = (k * STEP_BYTES) / 4;
      u32[o] = k * batch;
      u32[o + 1] = Math.min(batch, x.rows - k * batch);
      u32[o + 2] = 0;
      f32[o + 4] = lr;
      f32[o + 5] = Math.fround(1 - this.accBeta1);
      f32[o + 6] = Math.fround(1 - this.accBeta2);
      this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(0.9));
      this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(0.999));
    }
    for (let c = 0; c < this.valChunks; c++) {
      const o = ((steps + c) * STEP_BYTES) / 4;
      u32[o] = c * rowsCap;
      u32[o + 1] = Math.min(rowsCap, xVal.rows - c * rowsCap);
      u32[o + 2] = 1;
    }
    device.queue.writeBuffer(this.tableBuf, 0, this.table);
    let enc = device.createCommandEncoder();
    enc.clearBuffer(this.accBuf);
    const total = steps + this.valChunks;
    for (let k = 0; k < total; k++) {
      enc.copyBufferToBuffer(this.tableBuf, k * STEP_BYTES, this.stepBuf, 0, STEP_BYTES);
      const pass = enc.beginComputePass();
      if (k < steps) this.trainPass(pass);
      else this.valPass(pass);
      pass.end();
      // Submitting every few steps lets the GPU run them while the next are encoded.
      if ((k + 1) % this.submitEvery === 0 && k + 1 < total) {
        device.queue.submit([enc.finish()]);
        enc = device.createCommandEncoder();
      }
    }
    enc.copyBufferToBuffer(this.accBuf, 0, this.readBuf, 0, 16);
    device.queue.submit([enc.finish()]);
    // One wait only: Deno's mapAsync blocks until the queue is idle, then sleeps
    // 10 ms before it resolves; an onSubmittedWorkDone before it added 10 more.
    await this.readBuf.mapAsync(GPUMapMode.READ);
    const acc = new Float32Array(this.readBuf.getMappedRange().slice(0));
    this.readBuf.unmap();
    return [acc[0], acc[1]];
  }

  saveBest(): void {
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(this.paramsBuf, 0, this.bestBuf, 0, this.params * 4);
    this.device.queue.submit([enc.finish()]);
  }

  /** A copy of `src`'s first `floats` values, through a staging buffer destroyed at once. */
  async readBack(src: GPUBuffer, floats: number): Promise<Float32Array<ArrayBuffer>> {
    const read = this.device.createBuffer({
      size: Math.max(16, floats * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      // A copy WebGPU refuses (a buffer without COPY_SRC) would otherwise read back zeros.
      this.device.pushErrorScope("validation");
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(src, 0, read, 0, floats * 4);
      this.device.queue.submit([enc.finish()]);
      const error = await this.device.popErrorScope();
      if (error) throw new Error(`The fused engine could not read a buffer back: ${error.message}`);
      await this.device.queue.onSubmittedWorkDone();
      await read.mapAsync(GPUMapMode.READ);
      const flat = new Float32Array(read.getMappedRange(0, floats * 4).slice(0));
      read.unmap();
      return flat;
    } finally {
      read.destroy();
    }
  }

  download(best: boolean): Promise<Float32Array<ArrayBuffer>> {
    return this.readBack(best ? this.bestBuf : this.paramsBuf, this.params);
  }

  setBest(flat: Float32Array<ArrayBuffer>): void {
    this.device.queue.writeBuffer(this.bestBuf, 0, flat);
  }

  async optimizerState(): Promise<FusedOptimizerState | null> {
    if (this.momentBufs.length === 0) return null;
    return {
      m: await this.readBack(this.momentBufs[0], this.params),
      v: await this.readBack(this.momentBufs[1], this.params),
      powers: [this.accBeta1, this.accBeta2],
    };
  }

  setOptimizerState(s: FusedOptimizerState): void {
    // writeBuffer takes plain buffers only: a view into shared memory is copied.
    const plain = (a: Float32Array) =>
      a.buffer instanceof ArrayBuffer ? a as Float32Array<ArrayBuffer> : Float32Array.from(a);
    this.device.queue.writeBuffer(this.momentBufs[0], 0, plain(s.m));
    this.device.queue.writeBuffer(this.momentBufs[1], 0, plain(s.v));
    [this.accBeta1, this.accBeta2] = s.powers;
  }

  destroy(): void {
    for (const b of this.buffers) {
      b.destroy();
      liveBuffers -= 1;
    }
    this.buffers.length = 0;
  }
}
