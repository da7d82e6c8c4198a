/**
 * The engines section of `deno task bench`: seconds per epoch of the fused
 * engines and the cpu-blas path on the notes' large MLPs, against PyTorch eager
 * (when `python3 -c "import torch"` works) and against the sgemm rates
 * measured in the same run: OpenBLAS's (when it loads) and the fused CPU
 * engine's own wasm SIMD sgemm's.
 *
 * Workloads: 60 inputs, N ReLU layers of width W, a sigmoid output, BCE,
 * Adam(lr 1e-4): 10 × 256, 10 × 1024 and 10 × 4096 on 1000 rows at batch 64,
 * and 10 × 4096 on 4096 rows at batch 512 (by default on the GPU only: it
 * takes minutes per epoch on two CPU cores; `cpuMaxRows`).
 * Arithmetic per epoch is counted as `6 · parameters · rows` FLOP (forward
 * 2·P, backward 4·P per row).
 *
 * - `fused` runs {@linkcode trainFused} (WGSL) for one warm-up epoch plus the
 *   timed epochs, and reports their median (each epoch also runs a 64-row
 *   validation pass, which the PyTorch loop does not). On a software adapter
 *   (llvmpipe) it is skipped unless `softwareGpu` is set.
 * - `fused-wasm` and `fused-blas` run {@linkcode trainFusedCpu} with its own
 *   wasm SIMD sgemm or with OpenBLAS; `fused-cpu` with whichever it picks
 *   (OpenBLAS when it loads). Each stops after the epoch that passes
 *   `budgetSeconds` (at least one timed epoch).
 * - The sgemm references are the best of five rounds of `sgemmSize`² products
 *   (a ceiling: this 2-core VM's rate drifts by up to 1.7× from minute to
 *   minute), measured at the start of the section.
 * - `cpu-blas` runs a plain `optimizer.minimize` loop on a tfjs CPU backend
 *   (`blasHost`: wasm by default, or the plain-JavaScript cpu) with the BLAS
 *   kernels; past `budgetSeconds` the epoch time is extrapolated from the
 *   batches timed (the row says how many). A model past the wasm heap is
 *   skipped on the wasm host (the JavaScript host takes minutes per step).
 * - `torch` runs `torch_baseline.py` (needs `--allow-run`); its device is CUDA
 *   when available, else the CPU.
 *
 * Progress (the cell being timed, each epoch) goes to `log` as it happens.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { Prng } from "@alfred/core";
import { BCE_EPSILON, type LossSpec, type MlpDescription, type TrainOptions } from "../src/spec.ts";
import type { LossFn, TrainResult } from "../src/loop.ts";
import {
  type BlasHost,
  blasKernelsInstalled,
  installBlasKernels,
  measureSgemm,
  uninstallBlasKernels,
} from "../src/blas_cpu.ts";
import { fusedDevice, trainFused } from "../src/fused_webgpu.ts";
import { type FusedSgemm, trainFusedCpu } from "../src/fused_cpu.ts";
import type { FusedArgs } from "../src/fused.ts";
import { Arena, simdKernels } from "../src/wasm_simd.ts";
import { CpuPool } from "../src/cpu_pool.ts";
import { SGEMM_SCRATCH_FLOATS, sgemmScratch, WasmSgemm } from "../src/wasm_sgemm.ts";

export type { BlasHost };

/** One workload: hidden width × layers, rows per epoch, batch size. */
export interface EngineWorkload {
  /** Hidden width. */
  size: number;
  /** Hidden layers. */
  layers: number;
  /** Training rows per epoch. */
  rows: number;
  /** Mini-batch size. */
  batch: number;
}

/** Issue 9's four workloads. */
export const ENGINE_WORKLOADS: readonly EngineWorkload[] = [
  { size: 256, layers: 10, rows: 1000, batch: 64 },
  { size: 1024, layers: 10, rows: 1000, batch: 64 },
  { size: 4096, layers: 10, rows: 1000, batch: 64 },
  { size: 4096, layers: 10, rows: 4096, batch: 512 },
];

/**
 * The engines the section can time: `fused` (WGSL), the fused CPU engine with
 * its own wasm sgemm (`fused-wasm`), with OpenBLAS (`fused-blas`) or with
 * whichever it picks (`fused-cpu`), and tfjs on the BLAS kernels (`cpu-blas`).
 */
export const BENCH_ENGINES = [
  "fused",
  "fused-cpu",
  "fused-wasm",
  "fused-blas",
  "cpu-blas",
] as const;

/** One of {@linkcode BENCH_ENGINES}. */
export type BenchEngine = typeof BENCH_ENGINES[number];

/** The fused CPU engine's sgemm per bench engine. */
const CPU_ENGINES: Record<string, FusedSgemm> = {
  "fused-cpu": "auto",
  "fused-wasm": "wasm",
  "fused-blas": "blas",
};

/** Options of {@linkcode engineBench}. */
export interface EngineBenchOptions {
  /** What to train. */
  workloads: readonly EngineWorkload[];
  /** Which engines to time. */
  engines: readonly BenchEngine[];
  /** Timed epochs of the fused engines (after one warm-up epoch). */
  epochs: number;
  /**
   * Seconds one CPU cell may take: the cpu-blas one extrapolates its epoch
   * from the batches timed by then, the fused-cpu one stops after that epoch.
   */
  budgetSeconds: number;
  /** Time the fused engine even on a software adapter. */
  softwareGpu: boolean;
  /** Run the PyTorch baseline when python3 has torch. */
  torch: boolean;
  /** Timed epochs of each PyTorch workload. */
  torchEpochs: number;
  /** Side of the square sgemm products the rates are measured on. */
  sgemmSize: number;
  /** The tfjs backend the BLAS kernels go into for the cpu-blas rows. */
  blasHost: BlasHost;
  /** Seeds the initial weights, the data and the shuffle. */
  seed: number;
  /**
   * CPU engines (the fused CPU one, cpu-blas) skip workloads of more rows
   * (default 1000: 10 × 4096 on 4096 rows takes minutes per epoch on two
   * cores); Infinity times them all.
   */
  cpuMaxRows: number;
  /** Progress lines as the section runs: the cell being timed, each epoch (default: none). */
  log?: (line: string) => void;
}

/**
 * Defaults: the notes' large-MLP workloads (the 4096-row one on the GPU only), every
 * engine (the fused CPU one with each sgemm), PyTorch when present.
 */
export const DEFAULT_ENGINE_BENCH: EngineBenchOptions = {
  workloads: ENGINE_WORKLOADS,
  cpuMaxRows: 1000,
  engines: ["fused", "fused-wasm", "fused-blas", "cpu-blas"],
  epochs: 3,
  budgetSeconds: 20,
  softwareGpu: false,
  torch: true,
  torchEpochs: 3,
  sgemmSize: 1024,
  blasHost: "wasm",
  seed: 42,
};

/** One measured (workload, engine) cell. */
export interface EngineBenchRow {
  /** e.g. `10x1024 rows=1000 batch=64`. */
  workload: string;
  /** Which engine, or the PyTorch reference. */
  engine: BenchEngine | "torch";
  /** What ran it: adapter, backend and library, or PyTorch's device. */
  device: string;
  /** Model parameters. */
  parameters: number;
  /** `null` when the engine could not run it (see `note`). */
  secondsPerEpoch: number | null;
  /** `6 · parameters · rows / secondsPerEpoch / 1e9`. */
  gflops: number | null;
  /** Batches timed (fewer than an epoch's when the budget ran out). */
  batchesTimed: number;
  /** Batches in one epoch. */
  batchesPerEpoch: number;
  /** This row's seconds per epoch over PyTorch's on the same workload (< 1: faster). */
  vsTorch: number | null;
  /** CPU engines: `gflops` over the rate of the sgemm they used, measured in the same run. */
  vsSgemm: number | null;
  /** Why the figure is special (extrapolated, another host), or empty. */
  note: string;
}

/** Everything the section measured. */
export interface EngineBenchResult {
  /** One row per (workload, engine) measured. */
  rows: EngineBenchRow[];
  /** The BLAS sgemm rate of this run, or why there is none. */
  sgemm: { gflops: number; library: string } | { gflops: null; reason: string };
  /** The fused CPU engine's own wasm SIMD sgemm rate of this run (on every thread), or why there is none. */
  wasmSgemm: { gflops: number; device: string } | { gflops: null; reason: string };
  /** The PyTorch version and device, or why there is no PyTorch figure. */
  torch: { available: true; version: string; device: string } | {
    available: false;
    reason: string;
  };
  /** What was skipped and why. */
  skipped: string[];
}

function label(w: EngineWorkload): string {
  return `${w.layers}x${w.size} rows=${w.rows} batch=${w.batch}`;
}

function syntheticData(rows: number, cols: number, seed: number) {
  const rng = new Prng(seed);
  const x = new Float32Array(rows * cols).map(() => rng.next() * 2 - 1);
  const y = new Float32Array(rows).map(() => (rng.next() < 0.5 ? 0 : 1));
  return { x: { data: x, rows, cols }, y };
}

const INPUTS = 60;

/** A workload's MLP: `layers` ReLU layers of `size`, a sigmoid output (the runner's `vanilla.small`). */
function mlp(w: EngineWorkload): MlpDescription {
  return {
    family: "vanilla.small",
    size: w.size,
    layers: w.layers,
    widths: Array.from({ length: w.layers }, () => w.size),
    inputDim: INPUTS,
    activation: "relu",
    dropout: 0,
    normalization: "none",
    output: "sigmoid",
  };
}

/** Weights of an MLP without normalization: each layer's kernel and bias. */
function parametersOf(d: MlpDescription): number {
  let inputs = d.inputDim;
  let p = 0;
  for (const width of [...d.widths, 1]) {
    p += inputs * width + width;
    inputs = width;
  }
  return p;
}

/** The tfjs model of an MLP, Glorot-initialized from `seed`. */
function mlpModel(d: MlpDescription, seed: number): tf.Sequential {
  const model = tf.sequential();
  [...d.widths, 1].forEach((units, i) => {
    const hidden = i < d.widths.length;
    model.add(tf.layers.dense({
      units,
      activation: (hidden ? d.activation : d.output) as "relu" | "sigmoid",
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
      biasInitializer: "zeros",
      ...(i === 0 ? { inputShape: [d.inputDim] } : {}),
    }));
  });
  return model;
}

/** BCE on probabilities: tfjs's log loss with the engines' epsilon (the fused engines compute their own). */
const bce: LossFn = (y, p) => tf.losses.logLoss(y, p, undefined, BCE_EPSILON) as tf.Scalar;

const BCE: LossSpec = { name: "bce", delta: 1, sign_weight: 1, value_ratio: 0.5, sign_ratio: 2 };

/** The bench's `train:` options: Adam at 1e-4, never stopping early or lowering the rate. */
function trainOptions(epochs: number, batch: number): TrainOptions {
  return {
    epochs,
    batch_size: batch,
    learning_rate: 1e-4,
    optimizer: "adam",
    patience: 1_000_000,
    lr_patience: 1_000_000,
    lr_factor: 0.5,
    min_lr: 1e-6,
  };
}

async function fusedCell(
  w: EngineWorkload,
  o: EngineBenchOptions,
  engine: "fused" | "fused-cpu" | "fused-wasm" | "fused-blas",
  device: string,
) {
  const description = mlp(w);
  const model = mlpModel(description, o.seed);
  const t = syntheticData(w.rows, INPUTS, o.seed);
  const v = syntheticData(64, INPUTS, o.seed + 1);
  const budget = new AbortController();
  let spent = 0;
  const log = o.log ?? (() => {});
  const epochs = 1 + o.epochs;
  log(
    `timing ${engine} on ${
      label(w)
    }: 1 warm-up epoch + up to ${o.epochs} timed (budget ${o.budgetSeconds} s)`,
  );
  const args: FusedArgs = {
    model,
    loss: bce,
    lossConfig: BCE,
    description,
    train: trainOptions(epochs, w.batch),
    seed: o.seed,
    ...t,
    xVal: v.x,
    yVal: v.y,
    signal: budget.signal,
    onEpoch: (h) => {
      log(
        `  ${engine} ${label(w)}: epoch ${h.epoch}/${epochs} ${h.seconds.toFixed(2)} s${
          h.epoch === 1 ? " (warm-up)" : ""
        }`,
      );
      if (h.epoch > 1) spent += h.seconds;
      if (spent > o.budgetSeconds) budget.abort();
    },
  };
  try {
    const r: TrainResult = engine === "fused"
      ? await trainFused(args)
      : await trainFusedCpu({ ...args, sgemm: CPU_ENGINES[engine] });
    const timed = r.history.slice(1);
    if (timed.length === 0) throw new Error("no epoch was timed");
    const seconds = median(timed.map((h) => h.seconds));
    const batches = Math.ceil(w.rows / w.batch);
    const note = timed.length < o.epochs ? `${timed.length} timed epoch(s): budget spent` : "";
    const ran = engine !== "fused" && r.engine ? `${r.engine} (${device})` : device;
    return row(w, engine, ran, parametersOf(description), seconds, batches * timed.length, note);
  } finally {
    model.dispose();
  }
}

/** The median: one slow epoch (another process, a page-fault storm) does not move it. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Bytes the wasm heap needs to train with Adam: weights, gradients, two
 * moments and about three parameter-sized temporaries of the update (the heap
 * is capped at 4 GiB; past it the wasm module aborts and cannot recover).
 */
function wasmTrainingBytes(parameters: number): number {
  return parameters * 4 * 7;
}

const WASM_BUDGET_BYTES = 3.5 * 1024 ** 3;

async function cpuBlasCell(w: EngineWorkload, o: EngineBenchOptions) {
  const description = mlp(w);
  const params = parametersOf(description);
  const host = o.blasHost;
  if (host === "wasm" && wasmTrainingBytes(params) > WASM_BUDGET_BYTES) {
    throw new Error(
      `${
        (wasmTrainingBytes(params) / 1024 ** 3).toFixed(1)
      } GiB does not fit the wasm heap; blasHost "cpu" (--blas-host cpu) times it on the JavaScript backend, at minutes per step`,
    );
  }
  const log = o.log ?? (() => {});
  const batchesAll = Math.ceil(w.rows / w.batch);
  log(
    `timing cpu-blas on ${
      label(w)
    }: 1 warm-up step + up to ${batchesAll} batches (budget ${o.budgetSeconds} s)`,
  );
  await tf.setBackend(host);
  const { library } = installBlasKernels(host);
  const model = mlpModel(description, o.seed);
  const parameters = model.countParams();
  const t = syntheticData(w.rows, INPUTS, o.seed);
  const xT = tf.tensor2d(t.x.data, [w.rows, INPUTS]);
  const yT = tf.tensor2d(t.y, [w.rows, 1]);
  const optimizer = tf.train.adam(1e-4);
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const perm = tf.tensor1d(new Prng(o.seed).permutation(w.rows), "int32");
  const batches = Math.ceil(w.rows / w.batch);
  const step = (b: number) => {
    const start = (b % batches) * w.batch;
    const size = Math.min(w.batch, w.rows - start);
    const cost = tf.tidy(() => {
      const idx = perm.slice(start, size);
      const xb = tf.gather(xT, idx);
      const yb = tf.gather(yT, idx);
      return optimizer.minimize(
        () => bce(yb, model.apply(xb, { training: true }) as tf.Tensor),
        true,
        vars,
      ) as tf.Scalar;
    });
    cost.dataSync();
    cost.dispose();
  };
  try {
    step(0);
    let timed = 0;
    const t0 = performance.now();
    let reported = t0;
    while (timed < batches) {
      step(timed + 1);
      timed++;
      const now = performance.now();
      if (now - reported > 5000) {
        log(
          `  cpu-blas ${label(w)}: ${timed}/${batches} batches, ${
            ((now - t0) / 1000).toFixed(1)
          } s`,
        );
        reported = now;
      }
      if ((now - t0) / 1000 > o.budgetSeconds) break;
    }
    const seconds = (performance.now() - t0) / 1000 / timed * batches;
    log(`  cpu-blas ${label(w)}: ${seconds.toFixed(2)} s/epoch`);
    const notes = [
      host === "cpu" ? "the JavaScript cpu backend" : "",
      timed < batches ? `extrapolated from ${timed} of ${batches} batches` : "",
    ];
    const note = notes.filter(Boolean).join("; ");
    const threads = navigator.hardwareConcurrency ?? 1;
    const device = `tfjs ${host} + ${library} (${threads} CPUs)`;
    return row(w, "cpu-blas", device, parameters, seconds, timed, note);
  } finally {
    tf.dispose([xT, yT, perm]);
    optimizer.dispose();
    model.dispose();
  }
}

function row(
  w: EngineWorkload,
  engine: EngineBenchRow["engine"],
  device: string,
  parameters: number,
  seconds: number | null,
  batchesTimed: number,
  note: string,
): EngineBenchRow {
  return {
    workload: label(w),
    engine,
    device,
    parameters,
    secondsPerEpoch: seconds,
    gflops: seconds === null ? null : 6 * parameters * w.rows / seconds / 1e9,
    batchesTimed,
    batchesPerEpoch: Math.ceil(w.rows / w.batch),
    vsTorch: null,
    vsSgemm: null,
    note,
  };
}

/** The PyTorch baseline script that ships beside this module. */
export const TORCH_SCRIPT = new URL("./torch_baseline.py", import.meta.url);

/** What the PyTorch baseline reported: its version and device, or why there is none. */
export type TorchInfo = EngineBenchResult["torch"];

/**
 * Runs `torch_baseline.py` with `args` under `python3` and collects its JSON lines.
 *
 * @param args the script's arguments
 * @returns the info line (or why torch is absent) and every other JSON line
 */
async function runTorchScript(
  args: string[],
): Promise<{ info: TorchInfo; records: Record<string, unknown>[] }> {
  const records: Record<string, unknown>[] = [];
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("python3", {
      args: [TORCH_SCRIPT.pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    const name = (e as Error).name;
    return {
      info: {
        available: false,
        reason: name === "NotCapable" || name === "PermissionDenied"
          ? "torch not checked: run the bench with --allow-run=python3"
          : `torch absent: python3 could not be started (${(e as Error).message})`,
      },
      records,
    };
  }
  const text = new TextDecoder().decode(output.stdout);
  let info: TorchInfo | null = null;
  for (const line of text.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    const j = JSON.parse(line);
    if (j.kind === "info") info = { available: true, version: j.torch, device: j.device };
    else records.push(j);
  }
  if (!info) {
    const err = new TextDecoder().decode(output.stderr).trim().split("\n").pop() ?? "";
    return {
      info: {
        available: false,
        reason: /No module named 'torch'/.test(err)
          ? 'torch absent: python3 -c "import torch" fails'
          : `torch absent: ${err}`,
      },
      records,
    };
  }
  return { info, records };
}

async function runTorch(
  o: EngineBenchOptions,
): Promise<{ info: EngineBenchResult["torch"]; seconds: Map<string, number> }> {
  const seconds = new Map<string, number>();
  const specs = o.workloads.map((w) =>
    `${w.size}:${w.layers}:${w.rows}:${w.batch}:${o.torchEpochs}`
  );
  const { info, records } = await runTorchScript(specs);
  for (const j of records) {
    if (j.kind !== "mlp") continue;
    const w = j as { size: number; layers: number; rows: number; batch: number; seconds: number };
    seconds.set(label({ size: w.size, layers: w.layers, rows: w.rows, batch: w.batch }), w.seconds);
  }
  return { info, seconds };
}

/** One sequence model for the PyTorch baseline (`torch_baseline.py`'s `seq:` spec). */
export interface TorchSequenceSpec {
  /** `lstm`, `gru` or `transformer`. */
  family: string;
  /** Windows (rows) per epoch. */
  windows: number;
  /** Steps per window. */
  length: number;
  /** Fields per step. */
  fields: number;
  /** Recurrent units, or the transformer's width. */
  size: number;
  /** Rows per mini-batch. */
  batch: number;
  /** Timed epochs (after a warm-up of two batches). */
  epochs: number;
}

/** What the PyTorch baseline measured for one {@linkcode TorchSequenceSpec}. */
export interface TorchSequenceRow extends TorchSequenceSpec {
  /** PyTorch's parameter count (its recurrent layers keep two bias vectors, tfjs's one). */
  parameters: number;
  /** Seconds per epoch. */
  seconds: number;
}

/**
 * Times sequence models in PyTorch eager (`torch_baseline.py`, LSTM, GRU and a transformer of the
 * tfjs models' shapes) with `threads` intra-op threads. Missing torch or python3 is a reason in
 * the result, not an error.
 *
 * @param specs the models and shapes
 * @param threads `torch.set_num_threads`
 * @returns torch's version and device (or why there is none), and one row per spec it ran
 * @example
 * ```ts
 * const { info, rows } = await torchSequenceBaseline([{ family: "lstm", windows: 1000,
 *   length: 60, fields: 5, size: 64, batch: 64, epochs: 2 }], 2);
 * ```
 */
export async function torchSequenceBaseline(
  specs: TorchSequenceSpec[],
  threads: number,
): Promise<{ info: TorchInfo; rows: TorchSequenceRow[] }> {
  const args = [
    `--threads=${threads}`,
    ...specs.map((s) =>
      `seq:${s.family}:${s.windows}:${s.length}:${s.fields}:${s.size}:${s.batch}:${s.epochs}`
    ),
  ];
  const { info, records } = await runTorchScript(args);
  const rows = records.filter((j) => j.kind === "sequence").map((j) => {
    const r = j as Record<string, number | string>;
    return {
      family: String(r.family),
      windows: Number(r.windows),
      length: Number(r.length),
      fields: Number(r.fields),
      size: Number(r.size),
      batch: Number(r.batch),
      epochs: specs[0]?.epochs ?? 1,
      parameters: Number(r.parameters),
      seconds: Number(r.seconds),
    };
  });
  return { info, rows };
}

/**
 * Float32 throughput of the fused CPU engine's own wasm SIMD sgemm on
 * `n × n` matrices, on `threads` threads, measured now as
 * {@linkcode measureSgemm} measures a BLAS: the best of `rounds` rounds of
 * `reps` products, after warm-up products until V8 has had a second to
 * optimize the kernels (they start in its baseline compiler).
 *
 * @param n side of the square matrices
 * @param threads threads the products are split over
 * @param reps products per round
 * @param rounds timed rounds; the fastest counts
 * @returns GFLOP/s and what ran (`wasm SIMD sgemm (fused multiply-add, 2 threads)`)
 * @throws {Error} when the runtime refuses the shared wasm memory
 */
export async function measureWasmSgemm(
  n = 1024,
  threads = Math.max(1, navigator.hardwareConcurrency ?? 1),
  reps = 5,
  rounds = 5,
): Promise<{ gflops: number; device: string }> {
  const arena = Arena.create(4 * (3 * n * n + threads * SGEMM_SCRATCH_FLOATS + 64), 8 + threads);
  if (!(arena instanceof Arena)) throw new Error(`No wasm sgemm: ${arena.reason}`);
  const scratch = Array.from({ length: threads }, () => arena.floats(SGEMM_SCRATCH_FLOATS));
  const probe = arena.floats(16);
  const [a, b, c] = [arena.floats(n * n), arena.floats(n * n), arena.floats(n * n)];
  for (let i = 0; i < n * n; i++) {
    a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  }
  const pool = threads > 1
    ? await CpuPool.start(threads, {
      p: probe,
      g: probe,
      wasm: { memory: arena.memory, module: arena.module },
      scratch: scratch.map((x) => x.byteOffset),
    })
    : null;
  try {
    const sgemm = new WasmSgemm(
      simdKernels(arena.module, arena.memory),
      arena.memory,
      sgemmScratch(scratch[0].byteOffset),
      arena.fma,
      threads,
      pool ? (job, parts) => pool.sgemm(job, parts) : null,
      probe,
    );
    const once = () => sgemm.sgemm(false, false, n, n, n, a, b, c);
    const warm = performance.now();
    for (let i = 0; i < reps || performance.now() - warm < 1000; i++) once();
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) once();
      best = Math.min(best, (performance.now() - t0) / 1000 / reps);
    }
    return { gflops: 2 * n ** 3 / best / 1e9, device: sgemm.describe() };
  } finally {
    pool?.close();
  }
}

/** Whether the options ask for any of these engines. */
function wants(o: EngineBenchOptions, ...engines: BenchEngine[]): boolean {
  return engines.some((e) => o.engines.includes(e));
}

/**
 * Times the fused engines and the cpu-blas path on the workloads, with the
 * PyTorch and sgemm references, logging each cell and epoch as it goes.
 * Restores the tfjs backend and the BLAS kernel registration it found.
 *
 * @param options what to run (defaults: {@linkcode DEFAULT_ENGINE_BENCH})
 * @returns rows, the references, and what was skipped
 * @example
 * ```ts
 * console.log(formatEngineBench(await engineBench({ engines: ["fused-wasm"], torch: false })));
 * ```
 */
export async function engineBench(
  options: Partial<EngineBenchOptions> = {},
): Promise<EngineBenchResult> {
  const o: EngineBenchOptions = { ...DEFAULT_ENGINE_BENCH, ...options };
  const log = o.log ?? (() => {});
  const rows: EngineBenchRow[] = [];
  const skipped: string[] = [];
  const previousBackend = tf.getBackend();
  const host = o.blasHost;
  const blasBefore = blasKernelsInstalled(host);
  let sgemm: EngineBenchResult["sgemm"];
  log(`measuring the sgemm references (${o.sgemmSize}^3)`);
  try {
    sgemm = measureSgemm(o.sgemmSize);
    log(`  ${sgemm.library} sgemm: ${sgemm.gflops.toFixed(1)} GFLOP/s`);
  } catch (e) {
    sgemm = { gflops: null, reason: (e as Error).message };
  }
  let wasmSgemm: EngineBenchResult["wasmSgemm"];
  try {
    wasmSgemm = await measureWasmSgemm(o.sgemmSize);
    log(`  ${wasmSgemm.device}: ${wasmSgemm.gflops.toFixed(1)} GFLOP/s`);
  } catch (e) {
    wasmSgemm = { gflops: null, reason: (e as Error).message };
  }
  let torch: EngineBenchResult["torch"] = { available: false, reason: "torch not requested" };
  let torchSeconds = new Map<string, number>();
  if (o.torch) {
    log("running the PyTorch baseline (python3 torch_baseline.py), when torch is installed");
    const t = await runTorch(o);
    torch = t.info;
    torchSeconds = t.seconds;
  }
  try {
    await tf.setBackend("cpu");
    if (wants(o, "fused")) {
      let gpu: { adapter: string; software: boolean } | null = null;
      try {
        gpu = await fusedDevice();
      } catch (e) {
        skipped.push(`fused: ${(e as Error).message}`);
      }
      if (gpu && gpu.software && !o.softwareGpu) {
        skipped.push(
          `fused: only a software adapter (${gpu.adapter}); pass softwareGpu to time it anyway`,
        );
      } else if (gpu) {
        for (const w of o.workloads) {
          try {
            rows.push(await fusedCell(w, o, "fused", `WebGPU ${gpu.adapter}`));
          } catch (e) {
            skipped.push(`fused ${label(w)}: ${(e as Error).message}`);
          }
        }
      }
    }
    const threads = navigator.hardwareConcurrency ?? 1;
    const cpuWorkloads = o.workloads.filter((w) => w.rows <= o.cpuMaxRows);
    for (const w of o.workloads.filter((w) => w.rows > o.cpuMaxRows)) {
      const cpu = o.engines.filter((e) => e !== "fused");
      if (cpu.length) {
        skipped.push(
          `${cpu.join(", ")} ${
            label(w)
          }: not timed by default (minutes per epoch on a CPU); ask for it with --workloads ${w.layers}x${w.size}@${w.batch}`,
        );
      }
    }
    for (const engine of ["fused-cpu", "fused-wasm", "fused-blas"] as const) {
      if (!wants(o, engine)) continue;
      if (engine === "fused-blas" && sgemm.gflops === null) {
        skipped.push(`fused-blas: ${sgemm.reason}`);
        continue;
      }
      for (const w of cpuWorkloads) {
        try {
          const r = await fusedCell(w, o, engine, `${threads} CPUs`);
          const reference = r.device.includes("wasm SIMD sgemm") ? wasmSgemm : sgemm;
          r.vsSgemm = r.gflops === null || reference.gflops === null
            ? null
            : r.gflops / reference.gflops;
          rows.push(r);
        } catch (e) {
          skipped.push(`${engine} ${label(w)}: ${(e as Error).message}`);
        }
      }
    }
    if (wants(o, "cpu-blas")) {
      if (sgemm.gflops === null) {
        skipped.push(`cpu-blas: ${sgemm.reason}`);
      } else {
        const cpuBefore = blasKernelsInstalled("cpu");
        for (const w of cpuWorkloads) {
          try {
            const r = await cpuBlasCell(w, o);
            r.vsSgemm = r.gflops === null ? null : r.gflops / sgemm.gflops;
            rows.push(r);
          } catch (e) {
            skipped.push(`cpu-blas ${label(w)}: ${(e as Error).message}`);
          }
        }
        if (!cpuBefore && host !== "cpu") uninstallBlasKernels("cpu");
      }
    }
  } finally {
    if (!blasBefore && blasKernelsInstalled(host)) uninstallBlasKernels(host);
    if (previousBackend && tf.getBackend() !== previousBackend) {
      await tf.setBackend(previousBackend);
    }
  }
  if (torch.available) {
    const t = torch;
    for (const w of o.workloads) {
      const s = torchSeconds.get(label(w));
      if (s === undefined) continue;
      const parameters = parametersOf(mlp(w));
      rows.push(row(w, "torch", `PyTorch ${t.version} eager on ${t.device}`, parameters, s, 0, ""));
    }
    for (const r of rows) {
      const s = torchSeconds.get(r.workload);
      if (r.engine !== "torch" && s !== undefined && r.secondsPerEpoch !== null) {
        r.vsTorch = r.secondsPerEpoch / s;
      }
    }
  }
  return { rows, sgemm, wasmSgemm, torch, skipped };
}

/**
 * The rows only (for callers that print their own table).
 *
 * @param options as {@linkcode engineBench}
 * @returns the measured rows
 */
export async function engineBenchRows(
  options: Partial<EngineBenchOptions> = {},
): Promise<EngineBenchRow[]> {
  return (await engineBench(options)).rows;
}

/**
 * A plain-text table of the section, with the references and skips.
 *
 * @param r what {@linkcode engineBench} measured
 * @returns lines ready to print
 */
export function formatEngineBench(r: EngineBenchResult): string {
  const lines: string[] = ["Training engines (the notes' large MLPs, 60 inputs, BCE, Adam):"];
  lines.push(
    r.sgemm.gflops === null
      ? `  cblas_sgemm: n/a (${r.sgemm.reason})`
      : `  cblas_sgemm (${r.sgemm.library}): ${r.sgemm.gflops.toFixed(1)} GFLOP/s`,
  );
  lines.push(
    r.wasmSgemm.gflops === null
      ? `  wasm SIMD sgemm: n/a (${r.wasmSgemm.reason})`
      : `  ${r.wasmSgemm.device}: ${r.wasmSgemm.gflops.toFixed(1)} GFLOP/s${
        r.sgemm.gflops === null
          ? ""
          : ` (${(100 * r.wasmSgemm.gflops / r.sgemm.gflops).toFixed(0)}% of cblas_sgemm)`
      }`,
  );
  lines.push(
    r.torch.available
      ? `  torch ${r.torch.version} on ${r.torch.device}`
      : `  torch: ${r.torch.reason}`,
  );
  const head = [
    "workload",
    "engine",
    "s/epoch",
    "GFLOP/s",
    "vs torch",
    "% its sgemm",
    "device / note",
  ];
  const body = r.rows.map((x) => [
    x.workload,
    x.engine,
    x.secondsPerEpoch === null ? "n/a" : x.secondsPerEpoch.toFixed(4),
    x.gflops === null ? "n/a" : x.gflops.toFixed(1),
    x.vsTorch === null ? "" : `${x.vsTorch.toFixed(2)}x`,
    x.vsSgemm === null ? "" : `${(100 * x.vsSgemm).toFixed(0)}%`,
    x.note ? `${x.device}; ${x.note}` : x.device,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) => "  " + cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  lines.push(fmt(head), ...body.map(fmt));
  for (const s of r.skipped) lines.push(`  skipped: ${s}`);
  return lines.join("\n");
}
