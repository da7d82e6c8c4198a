/**
 * `deno task bench --pipeline`: how the whole pipeline grows with the number of tickers.
 *
 * For each size it synthesises a universe (25 years by default) into a temporary folder, then
 * runs the planted-signal experiment (`experiments/synth-planted-signal.yaml`: 14 uncorrelated
 * training tickers, the rest for evaluation) on it with short training and no Shapley values or
 * ablation. The synthesis and the run each happen in a child process of their own, so each peak
 * resident memory (`getrusage`'s, {@linkcode peakRssBytes}) is that step's alone. It reports the
 * run's per-stage seconds (the run record's `timings.stages`), its wall time and peak memory, and
 * the growth exponent between consecutive sizes, `log(t₂ / t₁) / log(n₂ / n₁)`: 1 for linear
 * growth, 2 for quadratic.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { writeSynthetic } from "./data/synth.ts";
import { loadExperiment } from "./config/load.ts";
import { runExperiment } from "./pipeline.ts";
import { FileModelStore } from "./store/model_store.ts";
import { peakRssBytes } from "./train/memory.ts";

/** Options of {@linkcode pipelineBench}. */
export interface PipelineBenchOptions {
  /** Ticker counts, in increasing order. */
  sizes: number[];
  /** First synthetic date. */
  from: string;
  /** Last synthetic date. */
  to: string;
  /** Training epochs of the experiment (short: the bench times the stages, not the model). */
  epochs: number;
  /** Folder the temporary folder (datasets, models, runs; removed afterwards) is made in. */
  workDir: string;
  /** Synthetic seed. */
  seed: number;
}

/**
 * Defaults: 100, 1,000 and 10,000 tickers over 25 years, 20 epochs (about 10 minutes on 2 cores;
 * the 10,000-ticker run peaks near 11 GiB and its dataset takes 1.2 GB of disk).
 */
export const DEFAULT_PIPELINE_BENCH: PipelineBenchOptions = {
  sizes: [100, 1000, 10000],
  from: "2000-01-01",
  to: "2024-12-31",
  epochs: 20,
  workDir: ".alfred",
  seed: 1,
};

/** One size's measurements. */
export interface PipelineBenchRow {
  tickers: number;
  /** Seconds the synthesis took, and its child's peak resident memory (bytes, null if unknown). */
  synth: { seconds: number; peakRss: number | null };
  /** Seconds the run took in its child, synthesis and process start excluded. */
  runSeconds: number;
  /** The run child's peak resident memory, bytes (null if unknown). */
  runPeakRss: number | null;
  /** Seconds per stage, from the run record. */
  stages: Record<string, number>;
}

/** What a child process is asked to do. */
type ChildTask =
  | { kind: "synth"; dir: string; tickers: number; from: string; to: string; seed: number }
  | { kind: "run"; dataDir: string; tickers: number; workDir: string; epochs: number };

/** What a child prints as its last line. */
interface ChildResult {
  seconds: number;
  peakRss: number | null;
  stages?: Record<string, number>;
}

const EXPERIMENT = fromFileUrl(
  new URL("../experiments/synth-planted-signal.yaml", import.meta.url),
);
const DATASET = "bench";

/** The synthetic generator's first ticker name for `n` tickers (`SYN01`, `SYN0001`, ...). */
function firstTicker(n: number): string {
  return `SYN${"1".padStart(Math.max(2, String(n).length), "0")}`;
}

/** Runs one child task in this process. */
async function childMain(task: ChildTask): Promise<ChildResult> {
  const t0 = performance.now();
  if (task.kind === "synth") {
    await writeSynthetic(task.dir, {
      seed: task.seed,
      tickers: task.tickers,
      from: task.from,
      to: task.to,
      signal: 1,
      name: DATASET,
    });
    return { seconds: (performance.now() - t0) / 1000, peakRss: peakRssBytes() };
  }
  Deno.env.set("ALFRED_DATA_PATH", task.dataDir);
  const experiment = await loadExperiment(EXPERIMENT, {
    set: [
      `data.dataset=${DATASET}`,
      `data.train_tickers.start=${firstTicker(task.tickers)}`,
      `train.epochs=${task.epochs}`,
      "analysis.ablation.enabled=false",
      "analysis.shap.enabled=false",
    ],
  });
  const t1 = performance.now();
  const { record } = await runExperiment(experiment, {
    resultsDir: join(task.workDir, "results"),
    store: new FileModelStore(join(task.workDir, "models")),
    checkpointDir: join(task.workDir, "checkpoints"),
    log: () => {},
    write: () => {},
    tty: false,
  });
  return {
    seconds: (performance.now() - t1) / 1000,
    peakRss: peakRssBytes(),
    stages: record.timings.stages,
  };
}

/**
 * Runs one task in a child Deno process with only the permissions it needs. The child is `deno` on
 * the PATH, as `deno task` runs (the bench task may run only that, not `Deno.execPath()`, which is
 * the resolved binary).
 */
async function inChild(task: ChildTask): Promise<ChildResult> {
  // A dataset is written beside its folder first, then renamed into place.
  const write = task.kind === "synth" ? dirname(task.dir) : task.workDir;
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-read",
      `--allow-write=${write}`,
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      // Lets the data stages free Polars frames as they go (`freeUnreferencedFrames`).
      "--v8-flags=--expose-gc",
      fromFileUrl(import.meta.url),
      JSON.stringify(task),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-20).join("\n");
    throw new Error(`Pipeline bench child (${task.kind}, ${task.tickers} tickers) failed: ${err}`);
  }
  return JSON.parse(text.split("\n").at(-1)!) as ChildResult;
}

/** What {@linkcode pipelineBench} measured, and the size that failed, if one did. */
export interface PipelineBenchResult {
  /** One row per size that completed, in increasing size. */
  rows: PipelineBenchRow[];
  /** The first size whose synthesis or run failed (larger sizes are not tried), and why. */
  failed: { tickers: number; step: "synth" | "run"; message: string } | null;
}

/**
 * Synthesises and runs each size, each step in a child process, and returns the measurements.
 * A failing size ends the bench with the sizes before it measured. The temporary folder is
 * removed afterwards, also on failure.
 *
 * @param o sizes, dates, epochs and where the temporary folder goes
 * @param log a progress line per step (default: none)
 * @returns one row per completed size, and the failure that stopped it, if any
 */
export async function pipelineBench(
  o: PipelineBenchOptions,
  log: (line: string) => void = () => {},
): Promise<PipelineBenchResult> {
  await Deno.mkdir(o.workDir, { recursive: true });
  const tmp = resolve(await Deno.makeTempDir({ dir: o.workDir, prefix: "bench-pipeline-" }));
  const rows: PipelineBenchRow[] = [];
  let failed: PipelineBenchResult["failed"] = null;
  try {
    for (const n of o.sizes) {
      let step: "synth" | "run" = "synth";
      try {
        const dataDir = join(tmp, `data-${n}`);
        await Deno.mkdir(dataDir);
        log(`synthesising ${n} tickers, ${o.from}..${o.to}`);
        const synth = await inChild({
          kind: "synth",
          dir: join(dataDir, DATASET),
          tickers: n,
          from: o.from,
          to: o.to,
          seed: o.seed,
        });
        log(`  ${synth.seconds.toFixed(1)} s; running the planted-signal experiment`);
        step = "run";
        const run = await inChild({
          kind: "run",
          dataDir,
          tickers: n,
          workDir: join(tmp, `run-${n}`),
          epochs: o.epochs,
        });
        log(`  ${run.seconds.toFixed(1)} s`);
        rows.push({
          tickers: n,
          synth: { seconds: synth.seconds, peakRss: synth.peakRss },
          runSeconds: run.seconds,
          runPeakRss: run.peakRss,
          stages: run.stages ?? {},
        });
        await Deno.remove(dataDir, { recursive: true });
      } catch (e) {
        failed = { tickers: n, step, message: (e as Error).message };
        log(`  failed: ${failed.message}`);
        break;
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  return { rows, failed };
}

/**
 * The growth exponent of a cost between two sizes: `log(t₂ / t₁) / log(n₂ / n₁)`.
 *
 * @param n1 the smaller size
 * @param t1 its cost
 * @param n2 the larger size
 * @param t2 its cost
 * @returns the exponent (1 linear, 2 quadratic), or NaN when a cost is not positive
 * @example
 * ```ts
 * growthExponent(100, 1, 1000, 100); // 2
 * ```
 */
export function growthExponent(n1: number, t1: number, n2: number, t2: number): number {
  if (!(t1 > 0 && t2 > 0 && n1 > 0 && n2 > n1)) return NaN;
  return Math.log(t2 / t1) / Math.log(n2 / n1);
}

const gb = (b: number | null) => (b === null ? "-" : `${(b / 2 ** 30).toFixed(2)} GiB`);

/**
 * The bench's rows as a table: one column per size, then one growth-exponent column per pair of
 * consecutive sizes; a row per stage, then the run's total, its peak memory and the synthesis.
 *
 * @param rows the measurements, sizes increasing
 * @returns printable lines
 */
export function formatPipelineBench(
  rows: PipelineBenchRow[],
  failed: PipelineBenchResult["failed"] = null,
): string[] {
  const stages = [...new Set(rows.flatMap((r) => Object.keys(r.stages)))];
  const pairs = rows.slice(1).map((r, i) => [rows[i], r] as const);
  const header = [
    "stage".padEnd(14),
    ...rows.map((r) => `${r.tickers} tickers`.padStart(14)),
    ...pairs.map(([a, b]) => `exp ${a.tickers}->${b.tickers}`.padStart(16)),
  ].join("");
  const line = (
    name: string,
    value: (r: PipelineBenchRow) => number,
    show: (v: number) => string,
  ) =>
    [
      name.padEnd(14),
      ...rows.map((r) => show(value(r)).padStart(14)),
      ...pairs.map(([a, b]) => {
        const e = growthExponent(a.tickers, value(a), b.tickers, value(b));
        return (Number.isFinite(e) ? e.toFixed(2) : "-").padStart(16);
      }),
    ].join("");
  const s = (v: number) => `${v.toFixed(2)} s`;
  return [
    "Pipeline bench: synth-planted-signal (short training, no SHAP or ablation); " +
    "seconds per stage from the run record; exp = log(t2/t1) / log(n2/n1)",
    "",
    header,
    "-".repeat(header.length),
    ...stages.map((st) => line(st, (r) => r.stages[st] ?? 0, s)),
    "-".repeat(header.length),
    line("run (wall)", (r) => r.runSeconds, s),
    line("run peak RSS", (r) => r.runPeakRss ?? NaN, (v) => gb(Number.isFinite(v) ? v : null)),
    line("synth", (r) => r.synth.seconds, s),
    line("synth peak RSS", (r) => r.synth.peakRss ?? NaN, (v) => gb(Number.isFinite(v) ? v : null)),
    ...(failed
      ? [
        "",
        `${failed.tickers} tickers: the ${failed.step} failed (larger sizes not tried): ${
          failed.message.split("\n").slice(0, 3).join(" ")
        }`,
      ]
      : []),
  ];
}

if (import.meta.main) {
  const result = await childMain(JSON.parse(Deno.args[0]) as ChildTask);
  console.log(JSON.stringify(result));
}
