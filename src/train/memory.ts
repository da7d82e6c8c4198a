/**
 * A run's memory: the plan printed before training (what the process will
 * hold at its peak, part by part) and the peak actually reached, measured by
 * the operating system (`getrusage(2)`'s maximum resident set size).
 *
 * The plan is of the whole process, not of the model alone: the runtime and
 * data already resident when training is planned (measured), the tfjs model
 * (and, while the shuffled-label control trains, the first model beside the
 * control's), and what the training engine allocates. Where it is wrong the
 * run record shows both figures side by side.
 *
 * @module
 */
import { fusedCpuBytes, fusedLayout, fusedRnnBytes, type FusedTarget } from "@alfred/engines";
import type { Experiment } from "../config/schema.ts";
import type { Fold } from "../dataset/split.ts";
import { availableMemory, gib, type ModelDescription } from "../models/registry.ts";

/** One part of a {@linkcode MemoryPlan}. */
export interface MemoryPart {
  /** What it is, in words. */
  what: string;
  bytes: number;
}

/** What a run is expected to hold at its peak. */
export interface MemoryPlan {
  /** The expected peak resident memory of the process. */
  bytes: number;
  parts: MemoryPart[];
}

/** The engine a plan is for, and the bytes it allocates beside the tfjs model. */
export type EngineMemory =
  | { engine: "tfjs"; optimizer: "adam" | "sgd" }
  | { engine: "fused-cpu"; bytes: number }
  | { engine: "fused-webgpu" };

/**
 * The expected peak memory of a run that trains `description`.
 *
 * - runtime: what the process holds when training is planned (Deno, tfjs,
 *   Polars, the dataset and features), measured by the caller;
 * - tfjs models: the model's weights, twice when a second model trains while
 *   the first is kept (the shuffled-label control);
 * - training: the tfjs engine's Adam moments, gradients, activations,
 *   workspace and best-weight copy; or the fused CPU engine's arena (its
 *   `fusedCpuBytes`) plus the weights in flight between it and tfjs (read out
 *   at the start, set back at the end: two copies); or for
 *   the WebGPU engine the host copies it reads the weights into and back from
 *   (its buffers live in GPU memory, checked against the adapter's limits).
 *
 * @param description the model
 * @param engine the training engine and what it allocates
 * @param options `runtimeBytes` resident now; `models` alive at once (2 with a control)
 * @returns the plan
 * @example
 * ```ts
 * const plan = memoryPlan(d, { engine: "tfjs" }, { runtimeBytes: Deno.memoryUsage().rss, models: 2 });
 * ```
 */
export function memoryPlan(
  description: ModelDescription,
  engine: EngineMemory,
  options: { runtimeBytes: number; models: number },
): MemoryPlan {
  const w = description.memory.weights;
  const parts: MemoryPart[] = [
    { what: "runtime and data (measured)", bytes: options.runtimeBytes },
    // With a control, the trained model is kept while the control's trains.
    {
      what: options.models > 1 ? `tfjs models x${options.models}` : "tfjs model",
      bytes: options.models * w,
    },
  ];
  const m = description.memory;
  switch (engine.engine) {
    case "tfjs": {
      // tfjs's optimizers update every variable inside one tidy, so each op's output lives until
      // the whole step ends: Adam makes 11 weight-sized temporaries per variable (mul, mul, mul,
      // square, mul, div, div, sqrt, add, div, mul: tfjs-core's AdamOptimizer.applyGradients),
      // SGD 2. The wasm heap then grows by emscripten's 20% geometric step and never shrinks.
      const temps = (engine.optimizer === "adam" ? 11 : 2) * 4 * description.trainableParameters;
      const heap = m.optimizer + m.gradients + m.activations + m.workspace + w + temps;
      parts.push({
        what: "training (moments, gradients, the step's temporaries, activations, best copy; " +
          "wasm heap growth)",
        bytes: Math.round(heap * WASM_HEAP_GROWTH),
      });
      break;
    }
    case "fused-cpu":
      parts.push({
        what: "fused CPU engine (parameters, gradients, moments, best copy, activations)",
        bytes: engine.bytes,
      }, {
        // Measured on the 10 x 4096 model: the peak comes when a training ends, its weights set
        // back into tfjs beside the old ones, while the copies read out at its start may not
        // have been collected yet.
        what: "weights in flight (read out of tfjs, set back)",
        bytes: 2 * w,
      });
      break;
    case "fused-webgpu":
      parts.push({
        what: "host copies of the weights read into and back from the GPU",
        bytes: 2 * w,
      });
      break;
  }
  return { bytes: parts.reduce((s, p) => s + p.bytes, 0), parts };
}

/**
 * The memory plan of an experiment's run: the process as it is now (runtime, data, features)
 * plus its models (two with the shuffled-label control) and what its training engine will
 * allocate for the largest fold (its batch and validation chunk).
 *
 * @param e the experiment
 * @param description its model, described for the run's input width
 * @param fused the fused engine's target, or null for the tfjs engine
 * @param folds the run's folds
 * @returns the plan
 * @example
 * ```ts
 * checkPlanFits(runMemoryPlan(e, description, null, p.folds), `model ${e.model.family}`);
 * ```
 */
export function runMemoryPlan(
  e: Experiment,
  description: ModelDescription,
  fused: FusedTarget | null,
  folds: Fold[],
): MemoryPlan {
  const models = e.analysis.shuffled_control?.enabled ? 2 : 1;
  let engine: EngineMemory = { engine: "tfjs", optimizer: e.train.optimizer };
  if (fused === "webgpu") engine = { engine: "fused-webgpu" };
  if ((fused === "blas" || fused === "wasm") && description.sequence) {
    // The fused recurrent engine: every step's gates and states for the batch or validation chunk.
    const threads = fused === "wasm" ? navigator.hardwareConcurrency ?? 1 : 0;
    engine = {
      engine: "fused-cpu",
      bytes: fusedRnnBytes(description, {
        batchSize: e.train.batch_size,
        optimizer: e.train.optimizer,
        rows: Math.max(...folds.map((f) => f.train.length)),
        valRows: Math.max(...folds.map((f) => f.validation.length)),
      }, threads),
    };
  } else if (fused === "blas" || fused === "wasm") {
    const { layers, params } = fusedLayout(description);
    const rows = Math.max(
      ...folds.map((f) =>
        Math.max(Math.min(e.train.batch_size, f.train.length), Math.min(f.validation.length, 1024))
      ),
    );
    // The wasm sgemm gives each engine thread (one per CPU at most) a packing scratch.
    const threads = fused === "wasm" ? navigator.hardwareConcurrency ?? 1 : 0;
    engine = {
      engine: "fused-cpu",
      bytes: fusedCpuBytes(layers, params, rows, e.train.optimizer, threads),
    };
  }
  return memoryPlan(description, engine, { runtimeBytes: currentRssBytes(), models });
}

/**
 * Refuses, before any training, a run whose memory plan exceeds what the
 * machine has free, naming the parts of the plan.
 *
 * @param plan the run's plan
 * @param what what is being planned, for the message (e.g. the model)
 * @param availableBytes bytes available (default: the system's free memory)
 * @throws {RangeError} when the plan does not fit
 */
export function checkPlanFits(plan: MemoryPlan, what: string, availableBytes?: number): void {
  const avail = availableBytes === undefined
    ? availableMemory()
    : { bytes: availableBytes, source: "given" };
  if (plan.bytes <= avail.bytes) return;
  throw new RangeError(
    `The run does not fit in memory: ${what} needs about ${gib(plan.bytes)} (${
      plan.parts.map((p) => `${p.what} ${gib(p.bytes)}`).join(", ")
    }) but ${gib(avail.bytes)} is available (${avail.source}): lower model.size or model.layers, ` +
      `or disable analysis.shuffled_control`,
  );
}

/** Emscripten's geometric heap growth (tfjs-backend-wasm grows its heap by 20% at a time). */
export const WASM_HEAP_GROWTH = 1.2;

type Libc = Deno.DynamicLibrary<{ getrusage: { parameters: ["i32", "buffer"]; result: "i32" } }>;
let libc: Libc | null | undefined;

function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  const names = Deno.build.os === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6"];
  libc = null;
  for (const name of names) {
    try {
      libc = Deno.dlopen(name, { getrusage: { parameters: ["i32", "buffer"], result: "i32" } });
      break;
    } catch {
      // no --allow-ffi, or another platform: the peak stays unknown
    }
  }
  return libc;
}

/**
 * The peak resident memory of this process so far (threads included), from
 * `getrusage(RUSAGE_SELF)`: `ru_maxrss`, kilobytes on Linux, bytes on macOS.
 * Deno allows reading `/proc/self/status` only with `--allow-all`, so this
 * goes through FFI.
 *
 * @returns bytes, or null without `--allow-ffi` or on another platform
 */
export function peakRssBytes(): number | null {
  if (Deno.build.os !== "linux" && Deno.build.os !== "darwin") return null;
  const lib = openLibc();
  if (!lib) return null;
  // struct rusage: two struct timeval (16 bytes each on 64-bit), then long ru_maxrss.
  const buf = new BigInt64Array(18);
  if (lib.symbols.getrusage(0, buf) !== 0) return null;
  const maxrss = Number(buf[4]);
  return Deno.build.os === "darwin" ? maxrss : maxrss * 1024;
}

/**
 * The resident memory of this process now.
 *
 * @returns bytes
 */
export function currentRssBytes(): number {
  return Deno.memoryUsage().rss;
}
