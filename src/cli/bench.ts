/**
 * `deno task bench`: how fast each available backend trains the research notes'
 * MLPs, against the machine's matmul throughput measured in the same run.
 *
 * Workload (the notes'): 60 inputs, `vanilla.small` (10 × 256)
 * and `vanilla.medium` (10 × 1024) ReLU MLPs with a sigmoid output, BCE, Adam,
 * 1000 rows, batch 64. A plain custom loop (`optimizer.minimize` per batch,
 * one host read per epoch), independent of the trainer.
 *
 * Arithmetic counted per epoch: `6 · parameters · rows` floating-point
 * operations (forward 2·P per row, backward 4·P per row: the two products of
 * each Dense layer's gradient), ignoring the elementwise work and Adam.
 *
 * Then the sequence section (`sequenceBench`: LSTM, GRU and transformer seconds per epoch at
 * 1,000 windows × 60 days × 5 fields, hidden 64, batch 64, on the cpu and wasm backends: the
 * tfjs engine's rows, the fused recurrent engine's (lstm, gru) and PyTorch eager's), the
 * portfolio manager's section (`portfolioBench`: EIIE and PPO seconds per epoch on a
 * fixed synthetic shape), the engines section (`engineBench` of `@alfred/engines/bench`), and a
 * closing line comparing the BLAS-free fused CPU engine with stock tfjs-wasm on the same
 * workload. Progress goes to stderr as each cell and epoch runs; the default
 * run takes a few minutes on two cores.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { LabelConfig, LossConfig, ModelConfig, TrainConfig } from "../config/schema.ts";
import { buildModel, describeModel } from "../models/registry.ts";
import type { SequenceShape } from "../features/sequence.ts";
import { bceLoss } from "../models/losses.ts";
import { probeWebGpu, selectBackend } from "../train/backend.ts";
import {
  installWasmMatMulFix,
  isWasmMatMulFixInstalled,
  loadBlas,
  trainFusedRnn,
  uninstallWasmMatMulFix,
} from "@alfred/engines";
import {
  BENCH_ENGINES,
  type BenchEngine,
  ENGINE_WORKLOADS,
  engineBench,
  type EngineBenchOptions,
  type EngineBenchResult,
  type EngineWorkload,
  formatEngineBench,
  torchSequenceBaseline,
} from "@alfred/engines/bench";
import {
  DEFAULT_PORTFOLIO_BENCH,
  formatPortfolioBench,
  portfolioBench,
  portfolioBenchSummary,
  QUICK_PORTFOLIO_BENCH,
} from "../portfolio/bench.ts";
import { DEFAULT_PIPELINE_BENCH, formatPipelineBench, pipelineBench } from "../pipeline_bench.ts";
import { type CommandIo, consoleIo, parseCommandArgs, usageError } from "./args.ts";
import { FLAG, stringOption } from "./options.ts";

/** Backends the bench knows; `wasm-stock` is wasm without the transposed-matmul fix. */
export const BENCH_BACKENDS = ["wasm-stock", "wasm", "cpu-blas", "cpu", "webgpu"] as const;
/** One of {@linkcode BENCH_BACKENDS}. */
export type BenchBackend = typeof BENCH_BACKENDS[number];

/** Options of {@linkcode runBench}. */
export interface BenchOptions {
  /** Hidden widths × layers to train, e.g. `[{ size: 256, layers: 10 }]`. */
  models: { size: number; layers: number }[];
  inputs: number;
  rows: number;
  batchSize: number;
  /** Timed epochs per (model, backend), after one untimed warm-up step. */
  epochs: number;
  /** Seconds one (model, backend) cell may take; past it the epoch time is extrapolated. */
  budgetSeconds: number;
  /** Side of the square reference matmul. */
  matmulSize: number;
  backends: BenchBackend[];
  /** Time webgpu even when the only adapter is a software one (llvmpipe). */
  softwareGpu: boolean;
  seed: number;
}

/** One measured (model, backend) cell. */
export interface BenchRow {
  model: string;
  backend: BenchBackend;
  device: string;
  parameters: number;
  secondsPerEpoch: number;
  /** `6 · parameters · rows / secondsPerEpoch / 1e9`. */
  gflops: number;
  /** Batches actually timed (fewer than an epoch's when the budget ran out). */
  batchesTimed: number;
  batchesPerEpoch: number;
  finalLoss: number;
}

/** Everything one bench run measured. */
export interface BenchResult {
  options: BenchOptions;
  /** wasm (XNNPACK) `matMul` of two `matmulSize²` matrices, GFLOP/s. */
  matmulGflops: number;
  /** A system BLAS `cblas_sgemm` of the same size, when one loads through FFI. */
  sgemm: { gflops: number; library: string } | { gflops: null; reason: string };
  rows: BenchRow[];
  skipped: string[];
}

/** Defaults: the notes' workload. */
export const DEFAULT_BENCH: BenchOptions = {
  models: [{ size: 256, layers: 10 }, { size: 1024, layers: 10 }],
  inputs: 60,
  rows: 1000,
  batchSize: 64,
  epochs: 3,
  budgetSeconds: 20,
  matmulSize: 1024,
  backends: ["wasm-stock", "wasm", "cpu-blas", "cpu", "webgpu"],
  softwareGpu: false,
  seed: 42,
};

/** `--quick`: tiny sizes so a test can run the whole bench in seconds. */
export const QUICK_BENCH: BenchOptions = {
  ...DEFAULT_BENCH,
  models: [{ size: 16, layers: 2 }, { size: 32, layers: 2 }],
  rows: 128,
  batchSize: 32,
  epochs: 1,
  budgetSeconds: 5,
  matmulSize: 128,
  backends: ["wasm-stock", "wasm", "cpu-blas", "cpu"],
};

async function timedMatMul(n: number): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
  const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
  const once = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await once();
  const reps = 3;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await once();
  const seconds = (performance.now() - t0) / 1000 / reps;
  tf.dispose([a, b]);
  return 2 * n ** 3 / seconds / 1e9;
}

/**
 * `cblas_sgemm` throughput of the system BLAS through Deno FFI: the CPU's
 * practical float32 ceiling, for comparison. Needs `--allow-ffi`.
 *
 * @param n side of the square matrices
 * @returns GFLOP/s and the library, or why there is no figure
 */
export function sgemmReference(
  n: number,
): { gflops: number; library: string } | { gflops: null; reason: string } {
  let blas;
  try {
    blas = loadBlas();
  } catch (e) {
    return { gflops: null, reason: (e as Error).message };
  }
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const c = new Float32Array(n * n);
  const run = () => blas.sgemm(false, false, n, n, n, a, b, c);
  run();
  const reps = 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  const seconds = (performance.now() - t0) / 1000 / reps;
  return {
    gflops: 2 * n ** 3 / seconds / 1e9,
    library: blas.library,
  };
}

async function benchCell(
  spec: { size: number; layers: number },
  o: BenchOptions,
  progress: (line: string) => void,
): Promise<Omit<BenchRow, "device" | "backend">> {
  const label = LabelConfig.parse({ mode: "direction" });
  const config = ModelConfig.parse({
    family: "vanilla.small",
    size: spec.size,
    layers: spec.layers,
  });
  const parameters = describeModel(config, o.inputs).parameters;
  const model = buildModel(config, o.inputs, label, o.seed);
  const timed = await timeTraining(model, o, progress);
  model.dispose();
  return {
    model: `${spec.layers}x${spec.size}`,
    parameters,
    secondsPerEpoch: timed.secondsPerEpoch,
    gflops: 6 * parameters * o.rows / timed.secondsPerEpoch / 1e9,
    batchesTimed: timed.batchesTimed,
    batchesPerEpoch: timed.batchesPerEpoch,
    finalLoss: timed.finalLoss,
  };
}

/**
 * Times BCE + Adam training of `model` on random rows (a planted linear label), one untimed
 * warm-up step first, up to `o.epochs` epochs or `o.budgetSeconds`; the model is trained in
 * place (the caller disposes of it).
 */
async function timeTraining(
  model: tf.LayersModel,
  o: Pick<BenchOptions, "inputs" | "rows" | "batchSize" | "epochs" | "budgetSeconds" | "seed">,
  progress: (line: string) => void,
): Promise<
  { secondsPerEpoch: number; batchesTimed: number; batchesPerEpoch: number; finalLoss: number }
> {
  const x = tf.randomNormal([o.rows, o.inputs], 0, 1, "float32", o.seed);
  const w = tf.randomNormal([o.inputs, 1], 0, 1, "float32", o.seed + 1);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.matMul(x, w), 0), "float32"));
  const batches: [tf.Tensor, tf.Tensor][] = [];
  for (let start = 0; start < o.rows; start += o.batchSize) {
    const size = Math.min(o.batchSize, o.rows - start);
    batches.push([tf.slice(x, [start, 0], [size, o.inputs]), tf.slice(y, [start, 0], [size, 1])]);
  }
  const optimizer = tf.train.adam(1e-3);
  const step = (xb: tf.Tensor, yb: tf.Tensor, returnCost: boolean) =>
    optimizer.minimize(
      () => bceLoss(yb, model.apply(xb, { training: true }) as tf.Tensor),
      returnCost,
    );
  // Untimed warm-up: kernel setup, shader compilation, XNNPACK packing.
  const warm = step(batches[0][0], batches[0][1], true)!;
  await warm.data();
  warm.dispose();

  let timedBatches = 0;
  let finalLoss = NaN;
  const t0 = performance.now();
  const budgetMs = o.budgetSeconds * 1000;
  outer: for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = 0; i < batches.length; i++) {
      const last = i === batches.length - 1;
      const cost = step(batches[i][0], batches[i][1], last);
      timedBatches++;
      if (last && cost) {
        finalLoss = (await cost.data())[0];
        cost.dispose();
        progress(
          `epoch ${epoch + 1}/${o.epochs} done, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
      }
      if (performance.now() - t0 > budgetMs) {
        if (!last) {
          // Make sure queued (GPU) work is done before the clock stops.
          await model.getWeights()[0].data();
        }
        progress(
          `${o.budgetSeconds} s budget spent after ${timedBatches} batches: extrapolating`,
        );
        break outer;
      }
    }
  }
  const elapsed = (performance.now() - t0) / 1000;
  const secondsPerEpoch = elapsed / timedBatches * batches.length;
  tf.dispose([x, w, y, ...batches.flat()]);
  optimizer.dispose();
  return {
    secondsPerEpoch,
    batchesTimed: timedBatches,
    batchesPerEpoch: batches.length,
    finalLoss,
  };
}

// --- sequence models (issue 19) ------------------------------------------------------------------

/** The sequence families the bench times. */
export const SEQUENCE_BENCH_FAMILIES = ["lstm", "gru", "transformer"] as const;

/** Options of {@linkcode sequenceBench}: the window shape, the model and the training. */
export interface SequenceBenchOptions {
  families: (typeof SEQUENCE_BENCH_FAMILIES[number])[];
  /** Windows (rows) per epoch. */
  windows: number;
  /** Steps per window. */
  length: number;
  /** Fields per step. */
  fields: number;
  /** Recurrent units, or the transformer's width. */
  size: number;
  batchSize: number;
  /** Timed epochs per cell, after one untimed warm-up step. */
  epochs: number;
  /** Seconds one cell may take; past it the epoch time is extrapolated. */
  budgetSeconds: number;
  /** tfjs backends to time (the ones with recurrent kernels: cpu and wasm). */
  backends: ("cpu" | "wasm")[];
  /**
   * Time the fused CPU recurrent engine (`trainFusedRnn`) on lstm and gru too: with its wasm SIMD
   * sgemm (backend `wasm`) and, when a BLAS loads, the BLAS one (backend `cpu-blas`).
   */
  fused: boolean;
  /**
   * Run the PyTorch eager baseline (`torch_baseline.py`) at the same shapes, with as many
   * intra-op threads as CPUs and with one (on a loaded machine the first can be many times
   * slower); missing torch is a note, not an error.
   */
  torch: boolean;
  seed: number;
}

/**
 * One measured (family, engine, backend) cell. The tfjs rows come from {@linkcode sequenceBench};
 * the hook for the others: the PyTorch baseline (`packages/engines/bench/torch_baseline.py`, at
 * the same shapes) and a fused recurrent engine add rows of this type with their own `engine`
 * name (`torch`, `fused-recurrent`, …) to {@linkcode SequenceBenchResult.rows}, and
 * {@linkcode formatSequenceBench} prints them side by side.
 */
export interface SequenceBenchRow {
  family: string;
  /**
   * The shapes it ran at, so rows from other engines are compared only at the same ones (the
   * formatter marks a row whose shapes differ from the section's).
   */
  sequence: {
    windows: number;
    length: number;
    fields: number;
    size: number;
    batchSize: number;
  };
  /** What trained it: `tfjs` (stock `optimizer.minimize` on the model), or another engine's name. */
  engine: string;
  backend: string;
  device: string;
  parameters: number;
  secondsPerEpoch: number;
  /** Batches actually timed (fewer than an epoch's when the budget ran out). */
  batchesTimed: number;
  batchesPerEpoch: number;
  finalLoss: number;
}

/** The sequence section of a bench run. */
export interface SequenceBenchResult {
  options: SequenceBenchOptions;
  rows: SequenceBenchRow[];
  skipped: string[];
}

/** The issue's shapes: 1,000 windows × 60 days × 5 fields, hidden 64, batch 64. */
export const DEFAULT_SEQUENCE_BENCH: SequenceBenchOptions = {
  families: ["lstm", "gru", "transformer"],
  windows: 1000,
  length: 60,
  fields: 5,
  size: 64,
  batchSize: 64,
  epochs: 2,
  budgetSeconds: 30,
  backends: ["wasm", "cpu"],
  fused: true,
  torch: true,
  seed: 42,
};

/** `--quick`: tiny windows, seconds. */
export const QUICK_SEQUENCE_BENCH: SequenceBenchOptions = {
  ...DEFAULT_SEQUENCE_BENCH,
  windows: 64,
  length: 8,
  fields: 2,
  size: 8,
  batchSize: 32,
  epochs: 1,
  budgetSeconds: 5,
  torch: false,
};

/**
 * Times the fused recurrent engine on one family: `o.epochs` epochs after one untimed warm-up
 * epoch, each with a validation pass over one batch of rows (about 1/30 of an epoch's work at the
 * default shapes), BCE, Adam(1e-3), the tfjs rows' data.
 */
async function timeFusedRnn(
  family: "lstm" | "gru",
  sgemm: "wasm" | "blas",
  o: SequenceBenchOptions,
  sequence: SequenceShape,
  log: (line: string) => void,
): Promise<Omit<SequenceBenchRow, "family" | "sequence" | "backend" | "parameters">> {
  const inputs = o.length * o.fields;
  const label = LabelConfig.parse({ mode: "direction" });
  const config = ModelConfig.parse({ family, size: o.size });
  const description = describeModel(config, inputs, { label, sequence, batchSize: o.batchSize });
  const [x, y] = tf.tidy(() => {
    const x = tf.randomNormal([o.windows, inputs], 0, 1, "float32", o.seed);
    const w = tf.randomNormal([inputs, 1], 0, 1, "float32", o.seed + 1);
    return [
      x.dataSync() as Float32Array,
      tf.greater(tf.matMul(x, w), 0).cast("float32").dataSync() as Float32Array,
    ];
  });
  const valRows = Math.min(o.batchSize, o.windows);
  const model = buildModel(config, inputs, label, o.seed, sequence);
  const lossConfig = LossConfig.parse({ name: "bce" });
  try {
    const result = await trainFusedRnn({
      model,
      loss: bceLoss,
      lossConfig,
      description,
      train: TrainConfig.parse({
        epochs: o.epochs + 1,
        batch_size: o.batchSize,
        learning_rate: 1e-3,
        patience: o.epochs + 1,
        lr_patience: o.epochs + 1,
      }),
      seed: o.seed,
      x: { data: x, rows: o.windows, cols: inputs },
      y,
      xVal: { data: x.subarray(0, valRows * inputs), rows: valRows, cols: inputs },
      yVal: y.subarray(0, valRows),
      sgemm,
      onEpoch: (h) => log(`epoch ${h.epoch}/${o.epochs + 1} ${h.seconds.toFixed(2)} s`),
    });
    const timed = result.history.slice(1);
    const batchesPerEpoch = Math.ceil(o.windows / o.batchSize);
    return {
      engine: "fused-rnn",
      // The family is in the row already; the device line names what multiplies.
      device: (result.engine ?? "").replace(
        /^fused CPU (LSTM|GRU) engine/,
        "fused CPU recurrent engine",
      ),
      secondsPerEpoch: timed.reduce((a, h) => a + h.seconds, 0) / timed.length,
      batchesTimed: batchesPerEpoch * timed.length,
      batchesPerEpoch,
      finalLoss: timed[timed.length - 1].loss,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Times the sequence families (stock tfjs, BCE, Adam) on each backend; then, as asked, the fused
 * recurrent engine on lstm and gru and the PyTorch baseline. Leaves the wasm backend active.
 *
 * @param o the shapes, families and backends
 * @param log progress lines (default: none)
 * @returns one row per (family, engine, backend)
 */
export async function sequenceBench(
  o: SequenceBenchOptions,
  log: (line: string) => void = () => {},
): Promise<SequenceBenchResult> {
  const rows: SequenceBenchRow[] = [];
  const sequence: SequenceShape = {
    length: o.length,
    fields: Array.from({ length: o.fields }, (_, i) => `f${i}`),
  };
  const inputs = o.length * o.fields;
  const label = LabelConfig.parse({ mode: "direction" });
  try {
    for (const family of o.families) {
      const config = ModelConfig.parse({ family, size: o.size });
      const parameters = describeModel(config, inputs, { sequence }).parameters;
      for (const backend of o.backends) {
        const info = await selectBackend(backend);
        const name = `${family} on ${backend}`;
        log(
          `training ${name}: 1 warm-up step + up to ${o.epochs} epochs (budget ${o.budgetSeconds} s)`,
        );
        const model = buildModel(config, inputs, label, o.seed, sequence);
        const timed = await timeTraining(
          model,
          { ...o, inputs, rows: o.windows },
          (line) => log(`  ${name}: ${line}`),
        );
        model.dispose();
        rows.push({
          family,
          sequence: {
            windows: o.windows,
            length: o.length,
            fields: o.fields,
            size: o.size,
            batchSize: o.batchSize,
          },
          engine: "tfjs",
          backend,
          device: info.device,
          parameters,
          ...timed,
        });
      }
    }
    const skipped: string[] = [];
    const shapes = {
      windows: o.windows,
      length: o.length,
      fields: o.fields,
      size: o.size,
      batchSize: o.batchSize,
    };
    if (o.fused) {
      let blas: string | null = null;
      try {
        blas = loadBlas().library;
      } catch (e) {
        skipped.push(`fused-rnn on cpu-blas: ${(e as Error).message.split(":")[0]}`);
      }
      for (const family of o.families) {
        if (family === "transformer") continue;
        const parameters = describeModel(ModelConfig.parse({ family, size: o.size }), inputs, {
          sequence,
        }).parameters;
        for (const sgemm of blas ? ["wasm", "blas"] as const : ["wasm"] as const) {
          const backend = sgemm === "blas" ? "cpu-blas" : "wasm";
          log(`training ${family} with the fused recurrent engine (${sgemm} sgemm)`);
          const timed = await timeFusedRnn(
            family,
            sgemm,
            o,
            sequence,
            (line) => log(`  ${family} fused-rnn ${backend}: ${line}`),
          );
          rows.push({ family, sequence: shapes, backend, parameters, ...timed });
        }
      }
    }
    if (o.torch) {
      const cpus = Math.max(1, navigator.hardwareConcurrency ?? 1);
      const specs = o.families.map((family) => ({
        family,
        windows: o.windows,
        length: o.length,
        fields: o.fields,
        size: o.size,
        batch: o.batchSize,
        epochs: o.epochs,
      }));
      for (const threads of cpus > 1 ? [cpus, 1] : [1]) {
        log(`running the PyTorch baseline on ${threads} thread(s) (python3 torch_baseline.py)`);
        const t = await torchSequenceBaseline(specs, threads);
        if (!t.info.available) {
          skipped.push(`torch rows: ${t.info.reason}`);
          break;
        }
        for (const r of t.rows) {
          rows.push({
            family: r.family,
            sequence: {
              windows: r.windows,
              length: r.length,
              fields: r.fields,
              size: r.size,
              batchSize: r.batch,
            },
            engine: threads === 1 && cpus > 1 ? "torch-1thread" : "torch",
            backend: "cpu",
            device: `PyTorch ${t.info.version} eager on ${threads} thread(s)`,
            parameters: r.parameters,
            secondsPerEpoch: r.seconds,
            batchesTimed: Math.ceil(r.windows / r.batch) * o.epochs,
            batchesPerEpoch: Math.ceil(r.windows / r.batch),
            finalLoss: NaN,
          });
        }
      }
    }
    return { options: o, rows, skipped };
  } finally {
    await selectBackend("wasm");
  }
}

/**
 * The sequence section as a plain-text table.
 *
 * @param r the section's result
 * @returns printable lines
 */
export function formatSequenceBench(r: SequenceBenchResult): string[] {
  const o = r.options;
  const lines = [
    `Sequence models: ${o.windows} windows x ${o.length} steps x ${o.fields} fields, ` +
    `size ${o.size}, batch ${o.batchSize}, BCE, Adam; up to ${o.epochs} timed epoch(s) after 1 warm-up step`,
  ];
  const header = [
    pad("family", 12),
    pad("engine", 16),
    pad("backend", 8),
    pad("params", 9, true),
    pad("s/epoch", 10, true),
    pad("vs torch", 9, true),
    pad("loss", 8, true),
  ].join("  ");
  lines.push("", header, "-".repeat(header.length));
  // The ratio is to the fastest PyTorch row of the family at the section's shapes.
  const isTorch = (row: SequenceBenchRow) => row.engine.startsWith("torch");
  const sameShapes = (row: SequenceBenchRow) =>
    row.sequence.windows === o.windows && row.sequence.length === o.length &&
    row.sequence.fields === o.fields && row.sequence.size === o.size &&
    row.sequence.batchSize === o.batchSize;
  for (const row of r.rows) {
    const partial = row.batchesTimed < row.batchesPerEpoch * o.epochs;
    lines.push([
      pad(`${row.family}${sameShapes(row) ? "" : "*"}`, 12),
      pad(row.engine, 16),
      pad(row.backend, 8),
      pad(row.parameters.toLocaleString("en-US"), 9, true),
      pad(`${partial ? "~" : ""}${row.secondsPerEpoch.toFixed(3)}`, 10, true),
      pad(torchRatio(row), 9, true),
      pad(Number.isFinite(row.finalLoss) ? row.finalLoss.toFixed(4) : "-", 8, true),
    ].join("  "));
  }
  function torchRatio(row: SequenceBenchRow): string {
    const torch = r.rows.filter((t) => isTorch(t) && t.family === row.family && sameShapes(t))
      .map((t) => t.secondsPerEpoch);
    if (!torch.length || !sameShapes(row)) return "";
    return `${(row.secondsPerEpoch / Math.min(...torch)).toFixed(2)}x`;
  }
  const devices = new Map(r.rows.map((row) => [`${row.engine} ${row.backend}`, row.device]));
  for (const [b, d] of devices) lines.push(`  ${b}: ${d}`);
  if (r.rows.some(isTorch)) {
    lines.push(
      "vs torch: seconds per epoch over the fastest PyTorch row of the family (torch's LSTM and GRU keep a second bias vector, hence their parameter counts)",
    );
  }
  if (r.rows.some((row) => row.batchesTimed < row.batchesPerEpoch * o.epochs)) {
    lines.push(
      `~: the ${o.budgetSeconds} s budget per cell ran out; s/epoch extrapolated from the batches timed`,
    );
  }
  const other = r.rows.find((row) => !sameShapes(row));
  if (other) {
    lines.push(
      `*: timed at other shapes (${other.sequence.windows} x ${other.sequence.length} x ${other.sequence.fields}, size ${other.sequence.size}, batch ${other.sequence.batchSize}): not comparable`,
    );
  }
  for (const s of r.skipped) lines.push(`skipped ${s}`);
  return lines;
}

/**
 * Runs the benchmark and returns the measurements (the table is printed by
 * {@linkcode benchCommand}). Leaves the wasm matmul fix as it found it and the
 * wasm backend active.
 *
 * @param o workload and backends
 * @param log progress lines (default: none)
 * @returns the matmul reference figures and one row per (model, backend)
 */
export async function runBench(
  o: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const fixWas = isWasmMatMulFixInstalled();
  const skipped: string[] = [];
  const rows: BenchRow[] = [];
  const devices = new Map<BenchBackend, string>();
  let backends = [...o.backends];
  if (backends.includes("webgpu")) {
    const probe = await probeWebGpu();
    if (!probe.available) {
      skipped.push(`webgpu: no adapter (${probe.description})`);
      backends = backends.filter((b) => b !== "webgpu");
    } else if (!probe.hardware && !o.softwareGpu) {
      skipped.push(
        `webgpu: software adapter "${probe.description}" only (pass --backends webgpu to time it anyway)`,
      );
      backends = backends.filter((b) => b !== "webgpu");
    }
  }
  if (backends.includes("cpu-blas")) {
    try {
      loadBlas();
    } catch (e) {
      skipped.push(`cpu-blas: ${(e as Error).message}`);
      backends = backends.filter((b) => b !== "cpu-blas");
    }
  }
  try {
    const wasmInfo = await selectBackend("wasm");
    uninstallWasmMatMulFix();
    log(`measuring the reference matmul (${o.matmulSize}^3 on ${wasmInfo.device})`);
    const matmulGflops = await timedMatMul(o.matmulSize);
    const sgemm = sgemmReference(o.matmulSize);
    for (const spec of o.models) {
      for (const backend of backends) {
        if (!devices.has(backend)) {
          const info = await selectBackend(backend === "wasm-stock" ? "wasm" : backend);
          devices.set(backend, info.device);
        } else {
          await selectBackend(backend === "wasm-stock" ? "wasm" : backend);
        }
        if (backend === "wasm-stock") uninstallWasmMatMulFix();
        const name = `${spec.layers}x${spec.size} on ${backend}`;
        log(
          `training ${name}: 1 warm-up step + up to ${o.epochs} epochs (budget ${o.budgetSeconds} s)`,
        );
        const cell = await benchCell(spec, o, (line) => log(`  ${name}: ${line}`));
        rows.push({ ...cell, backend, device: devices.get(backend)! });
      }
    }
    return { options: o, matmulGflops, sgemm, rows, skipped };
  } finally {
    await selectBackend("wasm");
    if (!fixWas) uninstallWasmMatMulFix();
    else installWasmMatMulFix();
  }
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/**
 * The bench result as a plain-text table with the reference figures above it.
 *
 * @param r a bench result
 * @returns printable lines
 */
export function formatBench(r: BenchResult): string[] {
  const o = r.options;
  const lines = [
    `Alfred bench: MLP ${o.inputs} inputs -> hidden ReLU layers -> 1 sigmoid, BCE, Adam; ` +
    `${o.rows} rows, batch ${o.batchSize}, up to ${o.epochs} timed epoch(s) after 1 warm-up step`,
    `GFLOP/s counts 6 x parameters x rows per epoch (forward 2P, backward 4P per row).`,
    `Reference matmul: wasm XNNPACK ${o.matmulSize}^3: ${r.matmulGflops.toFixed(2)} GFLOP/s` +
    (r.sgemm.gflops === null
      ? `; sgemm: n/a (${r.sgemm.reason})`
      : `; cblas_sgemm (${r.sgemm.library}) ${o.matmulSize}^3: ${
        r.sgemm.gflops.toFixed(2)
      } GFLOP/s`),
  ];
  const devices = new Map(r.rows.map((row) => [row.backend, row.device]));
  for (const [b, d] of devices) lines.push(`  ${b}: ${d}`);
  const header = [
    pad("model", 9),
    pad("backend", 11),
    pad("params", 11, true),
    pad("s/epoch", 10, true),
    pad("GFLOP/s", 9, true),
    pad("% matmul", 9, true),
    ...(r.sgemm.gflops === null ? [] : [pad("% sgemm", 8, true)]),
    pad("vs stock", 9, true),
    pad("loss", 8, true),
  ].join("  ");
  lines.push("", header, "-".repeat(header.length));
  for (const row of r.rows) {
    const stock = r.rows.find((s) => s.model === row.model && s.backend === "wasm-stock");
    const partial = row.batchesTimed < row.batchesPerEpoch * o.epochs;
    lines.push([
      pad(row.model, 9),
      pad(row.backend, 11),
      pad(row.parameters.toLocaleString("en-US"), 11, true),
      pad(`${partial ? "~" : ""}${row.secondsPerEpoch.toFixed(3)}`, 10, true),
      pad(row.gflops.toFixed(2), 9, true),
      pad(`${(100 * row.gflops / r.matmulGflops).toFixed(1)}%`, 9, true),
      ...(r.sgemm.gflops === null
        ? []
        : [pad(`${(100 * row.gflops / r.sgemm.gflops).toFixed(1)}%`, 8, true)]),
      pad(stock ? `${(stock.secondsPerEpoch / row.secondsPerEpoch).toFixed(2)}x` : "", 9, true),
      pad(Number.isFinite(row.finalLoss) ? row.finalLoss.toFixed(4) : "-", 8, true),
    ].join("  "));
  }
  if (r.rows.some((row) => row.batchesTimed < row.batchesPerEpoch * o.epochs)) {
    lines.push(
      `~: the ${o.budgetSeconds} s budget per cell ran out; s/epoch extrapolated from the batches timed`,
    );
  }
  for (const s of r.skipped) lines.push(`skipped ${s}`);
  return lines;
}

/** Text broken into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}

const workloadName = (w: EngineWorkload) => `${w.layers}x${w.size}@${w.batch}`;
const WORKLOAD_NAMES = ENGINE_WORKLOADS.map(workloadName);

const USAGE =
  `Usage: deno task bench [--quick] [--no-engines] [--epochs N] [--backends LIST] [--budget SECONDS]
                         [--no-backends] [--no-portfolio] [--engines LIST] [--workloads LIST]
                         [--blas-host wasm|cpu]
       deno task bench --pipeline [--sizes LIST] [--epochs N]

Trains the notes' 10x256 and 10x1024 MLPs (60 inputs, 1000 rows, batch 64) on
each available backend and prints seconds per epoch, GFLOP/s and the ratio to
the matmul throughput measured in the same run; then the portfolio manager's
training time per epoch; then the engines section; then the BLAS-free fused CPU
engine against stock tfjs-wasm. Progress goes to stderr.
A default run takes a few minutes on two cores.

  --quick           tiny sizes (seconds; used by the tests)
  --epochs N        timed epochs per cell, engines section included (default ${DEFAULT_BENCH.epochs})
  --backends LIST   comma-separated from ${BENCH_BACKENDS.join(", ")}
                    (default: all; webgpu only on a hardware adapter unless listed)
  --budget SECONDS  time limit per cell, both sections: a backend cell extrapolates
                    its epoch, an engine cell stops after that epoch (default ${DEFAULT_BENCH.budgetSeconds})
  --no-backends     skip this table

The sequence section: LSTM, GRU and transformer at ${DEFAULT_SEQUENCE_BENCH.windows} windows x ${DEFAULT_SEQUENCE_BENCH.length} days x ${DEFAULT_SEQUENCE_BENCH.fields} fields,
size ${DEFAULT_SEQUENCE_BENCH.size}, batch ${DEFAULT_SEQUENCE_BENCH.batchSize}, on the cpu and wasm backends (those of --backends, when given); then the
fused recurrent engine (lstm, gru; wasm sgemm, and BLAS when it loads) and PyTorch eager
(python3 with torch, as many threads as CPUs and one), with each row's ratio to torch.
  --no-sequence     skip it

${wrap(`The portfolio section: ${portfolioBenchSummary(DEFAULT_PORTFOLIO_BENCH)}.`, 80)}
  --no-portfolio    skip it

The engines section (the notes' large MLPs, after the backends table):
  --engines LIST    comma-separated from ${BENCH_ENGINES.join(", ")}
                    (default: fused, fused-wasm, fused-blas, cpu-blas; fused-cpu is the
                    fused CPU engine with whichever sgemm it picks: OpenBLAS when it loads)
  --workloads LIST  comma-separated from ${WORKLOAD_NAMES.join(", ")}
                    (default: all; the CPU engines skip 10x4096@512 unless it is listed)
  --blas-host HOST  the tfjs backend under cpu-blas: wasm (default; models past its
                    4 GiB heap are skipped) or cpu (JavaScript; minutes per step on 10x4096)

--pipeline runs only the pipeline's scaling bench: for each size, a synthetic universe
over ${DEFAULT_PIPELINE_BENCH.from}..${DEFAULT_PIPELINE_BENCH.to} and the planted-signal experiment on it (short training, no
SHAP or ablation), each in a child process of its own under a temporary folder in
${DEFAULT_PIPELINE_BENCH.workDir}/ (removed afterwards). It prints seconds per stage, peak memory and the
growth exponent log(t2/t1) / log(n2/n1) between consecutive sizes. A size that fails
ends it: the sizes before it are printed with the failure, and the exit code is 1.
  --sizes LIST      comma-separated ticker counts, increasing (default ${
    DEFAULT_PIPELINE_BENCH.sizes.join(",")
  };
                    add 10000 for the large size: tens of minutes and GBs)
  --epochs N        training epochs of the experiment (default ${DEFAULT_PIPELINE_BENCH.epochs})`;

/**
 * One line comparing the BLAS-free fused CPU engine (`fused-wasm`, else a
 * `fused-cpu` row that ran the wasm sgemm) with the stock and fixed tfjs-wasm
 * backends on the same workload (10 × 1024 or 10 × 256, 1000 rows, batch 64).
 *
 * @param backends the backends table
 * @param engines the engines section
 * @returns the line, or null when one side is missing
 */
export function blasFreeSummary(backends: BenchResult, engines: EngineBenchResult): string | null {
  const o = backends.options;
  for (const size of [1024, 256]) {
    const workload = `10x${size} rows=${o.rows} batch=${o.batchSize}`;
    const fused = engines.rows.find((r) =>
      r.workload === workload && r.secondsPerEpoch !== null &&
      (r.engine === "fused-wasm" || (r.engine === "fused-cpu" && r.device.includes("wasm SIMD")))
    );
    const stock = backends.rows.find((r) => r.model === `10x${size}` && r.backend === "wasm-stock");
    if (!fused || !stock || o.inputs !== 60) continue;
    const fixed = backends.rows.find((r) => r.model === `10x${size}` && r.backend === "wasm");
    const s = fused.secondsPerEpoch!;
    return `BLAS-free fused CPU engine on ${workload}: ${s.toFixed(3)} s/epoch, ${
      (stock.secondsPerEpoch / s).toFixed(1)
    }x stock tfjs-wasm (${stock.secondsPerEpoch.toFixed(3)} s/epoch)${
      fixed
        ? `, ${(fixed.secondsPerEpoch / s).toFixed(1)}x tfjs-wasm with the matmul fix (${
          fixed.secondsPerEpoch.toFixed(3)
        } s/epoch)`
        : ""
    }`;
  }
  return null;
}

/** A comma-separated list's items, each one of `allowed`. */
function listArg(name: string, value: string, allowed: readonly string[]): string[] {
  const items = value.split(",").map((x) => x.trim()).filter(Boolean);
  const bad = items.filter((x) => !allowed.includes(x));
  if (!items.length || bad.length) {
    throw new RangeError(
      `Invalid --${name} "${items.join(",")}": expected a comma-separated list from ${
        allowed.join(", ")
      }`,
    );
  }
  return items;
}

/** A positive number (or integer) option's value. */
function positiveArg(name: string, value: string, integer: boolean): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(
      `Invalid value "${value}" for --${name}: expected a positive ${
        integer ? "integer" : "number"
      }`,
    );
  }
  return v;
}

/**
 * The `bench` command: parses its flags with the command line's one helper, then runs the
 * backends table ({@linkcode runBench}) and the engines section (`engineBench` of
 * `@alfred/engines/bench`, given plain options).
 *
 * @param args command-line arguments after `bench`
 * @param io where the tables and problems go (default: the console; progress goes to stderr)
 * @returns the exit code: 0 on success, 1 when a `--pipeline` size failed, 2 on a usage error
 * @example
 * ```ts
 * Deno.exit(await benchCommand(["--quick"]));
 * ```
 */
export async function benchCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      quick: FLAG,
      "no-engines": FLAG,
      "no-backends": FLAG,
      "no-portfolio": FLAG,
      "no-sequence": FLAG,
      epochs: stringOption("N"),
      budget: stringOption("SECONDS"),
      backends: stringOption("LIST"),
      engines: stringOption("LIST"),
      workloads: stringOption("LIST"),
      "blas-host": stringOption("wasm|cpu"),
      pipeline: FLAG,
      sizes: stringOption("LIST"),
    },
  }, io);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const overrides: Partial<BenchOptions> = {};
  const engineOptions: Partial<EngineBenchOptions> = {};
  try {
    if (v.epochs !== undefined) {
      overrides.epochs = engineOptions.epochs = positiveArg("epochs", v.epochs, true);
    }
    if (v.budget !== undefined) {
      overrides.budgetSeconds = engineOptions.budgetSeconds = positiveArg(
        "budget",
        v.budget,
        false,
      );
    }
    if (v.backends !== undefined) {
      const backends = listArg("backends", v.backends, BENCH_BACKENDS) as BenchBackend[];
      overrides.backends = backends;
      overrides.softwareGpu = backends.includes("webgpu");
    }
    if (v.engines !== undefined) {
      engineOptions.engines = listArg("engines", v.engines, BENCH_ENGINES) as BenchEngine[];
    }
    if (v["blas-host"] !== undefined) {
      const host = v["blas-host"];
      if (host !== "wasm" && host !== "cpu") {
        throw new RangeError(`Invalid --blas-host "${host}": expected wasm or cpu`);
      }
      engineOptions.blasHost = host;
    }
    if (v.workloads !== undefined) {
      const names = listArg("workloads", v.workloads, WORKLOAD_NAMES);
      engineOptions.workloads = ENGINE_WORKLOADS.filter((w) => names.includes(workloadName(w)));
      engineOptions.cpuMaxRows = Infinity;
    }
  } catch (e) {
    return usageError(io, USAGE, (e as Error).message);
  }
  if (v.pipeline) return await pipelineCommand(v.sizes, overrides.epochs, io);
  if (v.sizes !== undefined) return usageError(io, USAGE, "--sizes needs --pipeline");
  const options: BenchOptions = { ...(v.quick ? QUICK_BENCH : DEFAULT_BENCH), ...overrides };
  const backends = !v["no-backends"];
  const engines = !v.quick && !v["no-engines"];
  const progress = (line: string) => io.err(`bench: ${line}`);
  let table: BenchResult | null = null;
  if (backends) {
    table = await runBench(options, progress);
    for (const line of formatBench(table)) io.out(line);
  }
  if (!v["no-sequence"]) {
    const base = v.quick ? QUICK_SEQUENCE_BENCH : DEFAULT_SEQUENCE_BENCH;
    const chosen = overrides.backends;
    const seqOptions: SequenceBenchOptions = {
      ...base,
      ...(overrides.epochs === undefined ? {} : { epochs: overrides.epochs }),
      ...(overrides.budgetSeconds === undefined ? {} : { budgetSeconds: overrides.budgetSeconds }),
      backends: chosen ? base.backends.filter((b) => chosen.includes(b)) : base.backends,
    };
    if (seqOptions.backends.length) {
      if (backends) io.out("");
      const section = await sequenceBench(seqOptions, progress);
      for (const line of formatSequenceBench(section)) io.out(line);
    }
  }
  if (!v["no-portfolio"]) {
    if (backends || !v["no-sequence"]) io.out("");
    const section = await portfolioBench(
      v.quick ? QUICK_PORTFOLIO_BENCH : DEFAULT_PORTFOLIO_BENCH,
      progress,
    );
    for (const line of formatPortfolioBench(section)) io.out(line);
  }
  if (engines) {
    // The issue-9 workloads: the fused engines and cpu-blas, against sgemm and PyTorch eager.
    if (backends || !v["no-portfolio"]) io.out("");
    const section = await engineBench({ ...engineOptions, log: progress });
    io.out(formatEngineBench(section));
    const summary = table ? blasFreeSummary(table, section) : null;
    if (summary) io.out(`\n${summary}`);
  }
  return 0;
}

/** `bench --pipeline`: the sizes checked, then the scaling bench and its table. */
async function pipelineCommand(
  sizes: string | undefined,
  epochs: number | undefined,
  io: CommandIo,
): Promise<number> {
  const options = { ...DEFAULT_PIPELINE_BENCH, ...(epochs === undefined ? {} : { epochs }) };
  if (sizes !== undefined) {
    const list = sizes.split(",").map((x) => x.trim());
    const values = list.map(Number);
    if (
      !values.length || values.some((n) => !Number.isInteger(n) || n < 15) ||
      values.some((n, i) => i > 0 && n <= values[i - 1])
    ) {
      return usageError(
        io,
        USAGE,
        `Invalid --sizes "${sizes}": expected increasing ticker counts of at least 15 (the experiment trains on 14)`,
      );
    }
    options.sizes = values;
  }
  const { rows, failed } = await pipelineBench(options, (line) => io.err(`bench: ${line}`));
  for (const line of formatPipelineBench(rows, failed)) io.out(line);
  return failed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await benchCommand(Deno.args));
}
