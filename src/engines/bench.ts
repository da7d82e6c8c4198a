/**
 * The engines section of `alfred bench`: seconds per epoch of the fused WebGPU
 * engine and the cpu-blas path on issue 9's workloads, against PyTorch eager
 * (when `python3 -c "import torch"` works) and against the BLAS sgemm rate
 * measured in the same run.
 *
 * Workloads: 60 inputs, N ReLU layers of width W, a sigmoid output, BCE,
 * Adam(lr 1e-4): 10 × 256, 10 × 1024 and 10 × 4096 on 1000 rows at batch 64,
 * and 10 × 4096 on 4096 rows at batch 512. Arithmetic per epoch is counted as
 * `6 · parameters · rows` FLOP (forward 2·P, backward 4·P per row).
 *
 * - `fused` runs {@linkcode trainFused} for one warm-up epoch plus the timed
 *   epochs, and reports their median (each epoch also runs a 64-row
 *   validation pass, which the PyTorch loop does not). On a software adapter (llvmpipe) it is skipped unless
 *   `softwareGpu` is set.
 * - `fused-cpu` runs {@linkcode trainFusedCpu} (BLAS sgemm, wasm SIMD
 *   kernels, threaded Adam) the same way, stopping after the epoch that
 *   passes `budgetSeconds` (at least one timed epoch).
 * - The sgemm reference is the best of five rounds of `sgemmSize`² products
 *   (a ceiling: this 2-core VM's rate drifts by up to 1.7× from minute to
 *   minute), measured at the start of the section.
 * - `cpu-blas` runs a plain `optimizer.minimize` loop on a tfjs CPU backend
 *   (`blasHost`: wasm by default, or the plain-JavaScript cpu) with the BLAS
 *   kernels; past `budgetSeconds` the epoch time is extrapolated from the
 *   batches timed (the row says how many).
 * - `torch` runs `torch_baseline.py` (needs `--allow-run`); its device is CUDA
 *   when available, else the CPU.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { LabelConfig, LossConfig, ModelConfig, TrainConfig } from "../config/schema.ts";
import { buildModel, describeModel } from "../models/registry.ts";
import { bceLoss } from "../models/losses.ts";
import { ShuffleRng } from "../train/trainer.ts";
import {
  type BlasHost,
  blasKernelsInstalled,
  installBlasKernels,
  measureSgemm,
  uninstallBlasKernels,
} from "./blas_cpu.ts";
import { fusedDevice, trainFused } from "./fused_webgpu.ts";
import { trainFusedCpu } from "./fused_cpu.ts";
import type { FusedArgs } from "./fused.ts";
import type { TrainResult } from "../train/trainer.ts";

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

/** The engines the section can time. */
export type BenchEngine = "fused" | "fused-cpu" | "cpu-blas";

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
  /** Side of the square sgemm the cpu-blas rate is compared with. */
  sgemmSize: number;
  /** The tfjs backend the BLAS kernels go into for the cpu-blas rows. */
  blasHost: BlasHost;
  /** Seeds the initial weights, the data and the shuffle. */
  seed: number;
}

/** Defaults: issue 9's workloads, both engines, PyTorch when present. */
export const DEFAULT_ENGINE_BENCH: EngineBenchOptions = {
  workloads: ENGINE_WORKLOADS,
  engines: ["fused", "fused-cpu", "cpu-blas"],
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
  /** CPU engines: `gflops` over the sgemm rate measured in the same run. */
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
  const rng = new ShuffleRng(seed);
  const x = new Float32Array(rows * cols).map(() => rng.next() * 2 - 1);
  const y = new Float32Array(rows).map(() => (rng.next() < 0.5 ? 0 : 1));
  return { x: { data: x, rows, cols }, y };
}

const INPUTS = 60;
const MODEL_LABEL = LabelConfig.parse({ mode: "direction" });

function modelConfig(w: EngineWorkload) {
  return ModelConfig.parse({ family: "vanilla.small", size: w.size, layers: w.layers });
}

async function fusedCell(
  w: EngineWorkload,
  o: EngineBenchOptions,
  engine: "fused" | "fused-cpu",
  device: string,
) {
  const config = modelConfig(w);
  const description = describeModel(config, INPUTS, { label: MODEL_LABEL, batchSize: w.batch });
  const model = buildModel(config, INPUTS, MODEL_LABEL, o.seed);
  const t = syntheticData(w.rows, INPUTS, o.seed);
  const v = syntheticData(64, INPUTS, o.seed + 1);
  const lossConfig = LossConfig.parse({ name: "bce" });
  const budget = new AbortController();
  let spent = 0;
  const args: FusedArgs = {
    model,
    loss: bceLoss,
    lossConfig,
    description,
    train: TrainConfig.parse({
      epochs: 1 + o.epochs,
      batch_size: w.batch,
      learning_rate: 1e-4,
      patience: 1_000_000,
      lr_patience: 1_000_000,
    }),
    seed: o.seed,
    ...t,
    xVal: v.x,
    yVal: v.y,
  };
  try {
    let r: TrainResult;
    if (engine === "fused") {
      r = await trainFused(args);
    } else {
      r = await trainFusedCpu({
        ...args,
        signal: budget.signal,
        onEpoch: (h) => {
          if (h.epoch > 1) spent += h.seconds;
          if (spent > o.budgetSeconds) budget.abort();
        },
      });
    }
    const timed = r.history.slice(1);
    const seconds = median(timed.map((h) => h.seconds));
    const batches = Math.ceil(w.rows / w.batch);
    const note = timed.length < o.epochs ? `${timed.length} timed epoch(s): budget spent` : "";
    const ran = engine === "fused-cpu" && r.engine ? `${r.engine} (${device})` : device;
    return row(w, engine, ran, description.parameters, seconds, batches * timed.length, note);
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
  const config = modelConfig(w);
  const params = describeModel(config, INPUTS, { label: MODEL_LABEL }).parameters;
  let host = o.blasHost;
  let hostNote = "";
  if (host === "wasm" && wasmTrainingBytes(params) > WASM_BUDGET_BYTES) {
    host = "cpu";
    hostNote = `${
      (wasmTrainingBytes(params) / 1024 ** 3).toFixed(1)
    } GiB does not fit the wasm heap: run on the JavaScript cpu backend`;
  }
  await tf.setBackend(host);
  const { library } = installBlasKernels(host);
  const model = buildModel(config, INPUTS, MODEL_LABEL, o.seed);
  const parameters = model.countParams();
  const t = syntheticData(w.rows, INPUTS, o.seed);
  const xT = tf.tensor2d(t.x.data, [w.rows, INPUTS]);
  const yT = tf.tensor2d(t.y, [w.rows, 1]);
  const optimizer = tf.train.adam(1e-4);
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const perm = tf.tensor1d(new ShuffleRng(o.seed).permutation(w.rows), "int32");
  const batches = Math.ceil(w.rows / w.batch);
  const step = (b: number) => {
    const start = (b % batches) * w.batch;
    const size = Math.min(w.batch, w.rows - start);
    const cost = tf.tidy(() => {
      const idx = perm.slice(start, size);
      const xb = tf.gather(xT, idx);
      const yb = tf.gather(yT, idx);
      return optimizer.minimize(
        () => bceLoss(yb, model.apply(xb, { training: true }) as tf.Tensor),
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
    while (timed < batches) {
      step(timed + 1);
      timed++;
      if ((performance.now() - t0) / 1000 > o.budgetSeconds) break;
    }
    const seconds = (performance.now() - t0) / 1000 / timed * batches;
    const notes = [
      hostNote,
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

async function runTorch(
  o: EngineBenchOptions,
): Promise<{ info: EngineBenchResult["torch"]; seconds: Map<string, number> }> {
  const seconds = new Map<string, number>();
  let output: Deno.CommandOutput;
  try {
    const specs = o.workloads.map((w) =>
      `${w.size}:${w.layers}:${w.rows}:${w.batch}:${o.torchEpochs}`
    );
    output = await new Deno.Command("python3", {
      args: [TORCH_SCRIPT.pathname, ...specs],
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
      seconds,
    };
  }
  const text = new TextDecoder().decode(output.stdout);
  let info: EngineBenchResult["torch"] | null = null;
  for (const line of text.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    const j = JSON.parse(line);
    if (j.kind === "info") info = { available: true, version: j.torch, device: j.device };
    if (j.kind === "mlp") {
      seconds.set(
        label({ size: j.size, layers: j.layers, rows: j.rows, batch: j.batch }),
        j.seconds,
      );
    }
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
      seconds,
    };
  }
  return { info, seconds };
}

/**
 * Times the fused engine and the cpu-blas path on the workloads, with the
 * PyTorch and sgemm references. Restores the tfjs backend and the BLAS kernel
 * registration it found.
 *
 * @param options what to run (defaults: {@linkcode DEFAULT_ENGINE_BENCH})
 * @returns rows, the references, and what was skipped
 * @example
 * ```ts
 * console.log(formatEngineBench(await engineBench({ engines: ["cpu-blas"], torch: false })));
 * ```
 */
export async function engineBench(
  options: Partial<EngineBenchOptions> = {},
): Promise<EngineBenchResult> {
  const o: EngineBenchOptions = { ...DEFAULT_ENGINE_BENCH, ...options };
  const rows: EngineBenchRow[] = [];
  const skipped: string[] = [];
  const previousBackend = tf.getBackend();
  const host = o.blasHost;
  const blasBefore = blasKernelsInstalled(host);
  let sgemm: EngineBenchResult["sgemm"];
  try {
    sgemm = measureSgemm(o.sgemmSize);
  } catch (e) {
    sgemm = { gflops: null, reason: (e as Error).message };
  }
  let torch: EngineBenchResult["torch"] = { available: false, reason: "torch not requested" };
  let torchSeconds = new Map<string, number>();
  if (o.torch) {
    const t = await runTorch(o);
    torch = t.info;
    torchSeconds = t.seconds;
  }
  try {
    await tf.setBackend("cpu");
    if (o.engines.includes("fused")) {
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
    if (o.engines.includes("fused-cpu")) {
      if (sgemm.gflops === null) {
        skipped.push(`fused-cpu: ${sgemm.reason}`);
      } else {
        const threads = navigator.hardwareConcurrency ?? 1;
        const device = `${threads} CPUs`;
        for (const w of o.workloads) {
          try {
            const r = await fusedCell(w, o, "fused-cpu", device);
            r.vsSgemm = r.gflops === null ? null : r.gflops / sgemm.gflops;
            rows.push(r);
          } catch (e) {
            skipped.push(`fused-cpu ${label(w)}: ${(e as Error).message}`);
          }
        }
      }
    }
    if (o.engines.includes("cpu-blas")) {
      if (sgemm.gflops === null) {
        skipped.push(`cpu-blas: ${sgemm.reason}`);
      } else {
        const cpuBefore = blasKernelsInstalled("cpu");
        for (const w of o.workloads) {
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
      const parameters = describeModel(modelConfig(w), INPUTS, { label: MODEL_LABEL }).parameters;
      rows.push(row(w, "torch", `PyTorch ${t.version} eager on ${t.device}`, parameters, s, 0, ""));
    }
    for (const r of rows) {
      const s = torchSeconds.get(r.workload);
      if (r.engine !== "torch" && s !== undefined && r.secondsPerEpoch !== null) {
        r.vsTorch = r.secondsPerEpoch / s;
      }
    }
  }
  return { rows, sgemm, torch, skipped };
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
  const lines: string[] = ["Training engines (issue 9 workloads, 60 inputs, BCE, Adam):"];
  lines.push(
    r.sgemm.gflops === null
      ? `  sgemm: n/a (${r.sgemm.reason})`
      : `  cblas_sgemm (${r.sgemm.library}): ${r.sgemm.gflops.toFixed(1)} GFLOP/s`,
  );
  lines.push(
    r.torch.available
      ? `  torch ${r.torch.version} on ${r.torch.device}`
      : `  torch: ${r.torch.reason}`,
  );
  const head = ["workload", "engine", "s/epoch", "GFLOP/s", "vs torch", "% sgemm", "device / note"];
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
