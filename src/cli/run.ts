/**
 * `deno task run FILE.yaml`: validate, check every resolved config against its dataset, then run
 * each (one, or one per sweep point), each with its own run record; a sweep ends with one table
 * of its points ranked by the main eval metric.
 *
 * @module
 */
import { type LoadOptions, loadSweepPoints, locateConfigPath } from "../config/load.ts";
import type { Experiment } from "../config/schema.ts";
import { ensureSynthDataset, synthSource, synthSpanProblem } from "../data/synth_cache.ts";
import { runSeeds } from "../seeds.ts";
import { FileModelStore, type ModelStore } from "../store/model_store.ts";
import { removeStaleRunTemps } from "../store/run_record.ts";
import { removeStaleTemps } from "../store/temp.ts";
import { interruptOnSignals } from "../train/interrupt.ts";
import { type CommandIo, consoleIo, parseCommandArgs, usageError } from "./args.ts";
import {
  CHECKPOINTS_OPTION,
  FLAG,
  MODELS_OPTION,
  repeatedOption,
  RESULTS_OPTION,
  stringOption,
} from "./options.ts";
import { checkAgainstData, locatedMessage } from "./data_checks.ts";
import { type SweepResult, sweepStartLine, sweepTable } from "./sweep.ts";
import { formatDuration } from "../train/progress.ts";
import { gib } from "../models/registry.ts";
import { redact } from "../redact.ts";
import { CHECKPOINTS_DIR, MODELS_DIR, RESULTS_DIR } from "../paths.ts";

const USAGE =
  `Usage: deno task run FILE.yaml [--set key=value]... [--retrain] [--resume | --resume-if-any]
         [--results DIR] [--store DIR] [--checkpoints DIR]
       deno task run FILE.yaml --queue redis://HOST:6379 [--wait]   (enqueue for workers)

Runs the experiment (each sweep point in turn) and writes its record and report under --results
(default ${RESULTS_DIR}/). Models are stored under --store (default ${MODELS_DIR}) by the hash of what
determines them and restored on the next run; --retrain trains again.

Ctrl-C stops cleanly: training finishes (or abandons) the running epoch, saves a checkpoint under
--checkpoints (default ${CHECKPOINTS_DIR}) and the run is written with status "interrupted"
(exit 130); a second Ctrl-C quits at once without writing the run. --resume continues the
interrupted training from its checkpoint and fails, naming the file it looked for, when there is
none; --resume-if-any resumes where a checkpoint exists and otherwise trains from the start.
deno task run may write only under results/ and .alfred/: --results, --store or --checkpoints
elsewhere is refused before the run starts.`;

/**
 * Remove what killed processes left behind (temporary folders of run records, model-store saves
 * and checkpoint files whose owning process has ended), saying what was removed.
 *
 * @param where the results folder, the model store and the checkpoint folder
 * @param log told about each removal
 * @returns how many were removed
 */
export async function removeStaleTemporaries(
  where: { results: string; store: ModelStore; checkpoints: string },
  log: (line: string) => void,
): Promise<number> {
  const removed = [
    ...await removeStaleRunTemps(where.results, log),
    ...(where.store instanceof FileModelStore ? await where.store.sweep(undefined, log) : []),
    ...await removeStaleTemps(where.checkpoints, { log }),
  ];
  return removed.length;
}

/**
 * Run the experiments of one YAML file.
 *
 * @param args command-line arguments after `run`
 * @param io where progress and problems go (default: the console)
 * @returns 0 when every run completed, 130 when interrupted, 1 when the data fails a check, 2 on
 *   bad usage
 * @throws {Error} when a run fails; an error that names its config key (an unknown ticker, a
 *   feature the dataset cannot provide) has its message located `FILE:LINE:COL key: message`
 */
export async function runCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  if (args.some((a) => a === "--queue" || a.startsWith("--queue="))) {
    return await enqueueCommand(args, io);
  }
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      set: repeatedOption("key=value"),
      retrain: FLAG,
      resume: FLAG,
      "resume-if-any": FLAG,
      results: RESULTS_OPTION,
      store: MODELS_OPTION,
      checkpoints: CHECKPOINTS_OPTION,
    },
    positionals: { min: 1, max: 1, name: "one experiment file (FILE.yaml)" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const { set, retrain, results, store: storeDir, checkpoints } = parsed.values;
  if (parsed.values.resume && parsed.values["resume-if-any"]) {
    return usageError(io, USAGE, "Use --resume or --resume-if-any, not both");
  }
  const resume = parsed.values.resume ? true : parsed.values["resume-if-any"] ? "if-any" : false;
  const file = parsed.positionals[0];
  // Listening from the start: a Ctrl-C at any point is handled here, never by the default action.
  const ctrlC = interruptOnSignals({
    onInterrupt: () =>
      io.err(
        "\nInterrupted: stopping after this epoch, saving a checkpoint and writing the run as " +
          "interrupted (Ctrl-C again to quit at once)",
      ),
    onQuit: () =>
      io.err(
        "\nQuitting at once (second Ctrl-C): this run is not written; its last checkpoint, if " +
          "any, is kept",
      ),
  });
  try {
    const points = await loadSweepPoints(file, { set });
    const experiments = points.map((p) => p.experiment);
    // Datasets the experiments generate (data.synth) are made first, so they are checked too.
    const generated = await generateSynthDatasets(file, experiments, io, { set });
    if (generated !== 0) return generated;
    const data = await checkAgainstData(file, experiments, { set });
    if (data.problems.length > 0) {
      for (const line of data.problems) io.err(line);
      const n = data.problems.length;
      io.err(`${file}: ${n} problem${n === 1 ? "" : "s"} in the data: nothing was run`);
      return 1;
    }
    if (ctrlC.signal.aborted) {
      io.err("Interrupted before any run started: nothing was written");
      return 130;
    }
    const store = new FileModelStore(storeDir);
    await removeStaleTemporaries(
      { results, store, checkpoints },
      (line) => io.err(`cleanup: ${line}`),
    );
    return await runPoints(file, points, {
      set,
      retrain,
      resume,
      results,
      store,
      checkpoints,
      signal: ctrlC.signal,
    }, io);
  } finally {
    ctrlC.dispose();
  }
}

/**
 * Generates the datasets of the experiments' `data.synth` blocks that are not cached yet (each
 * once, however many points ask for it), saying so; a span too short for the generator is a
 * located problem and nothing is generated.
 *
 * @returns 0 when every dataset is there, 1 when a block cannot be generated
 */
async function generateSynthDatasets(
  file: string,
  experiments: Experiment[],
  io: CommandIo,
  options: LoadOptions,
): Promise<number> {
  const done = new Set<string>();
  for (const [point, e] of experiments.entries()) {
    if (!e.data.synth) continue;
    const problem = synthSpanProblem(e.data.synth);
    if (problem !== null) {
      const loc = await locateConfigPath(file, "data.synth.to", { ...options, point });
      io.err(loc ? `${loc.file}:${loc.line}:${loc.col} data.synth.to: ${problem}` : problem);
      io.err(`${file}: 1 problem in the data: nothing was run`);
      return 1;
    }
    const source = await synthSource(e.data.synth, e.data.dataset);
    if (done.has(source.dir)) continue;
    done.add(source.dir);
    await ensureSynthDataset(source, (line) => io.out(line));
  }
  return 0;
}

const QUEUE_USAGE =
  "Usage: deno task run FILE.yaml --queue redis://HOST:PORT [--queue-name NAME] " +
  "[--set key=value]... [--attempts N] [--wait] [--timeout SECONDS]";

/**
 * `run FILE.yaml --queue URL`: enqueue every resolved config of the file as one job each instead
 * of running it here (a config of several seeds also as one seed job per later seed), after the
 * same checks against the data as a local run; with `--wait`, show the live job table until all
 * are done.
 *
 * @param args the `run` command's arguments (including `--queue`)
 * @param io where the job lines and problems go
 * @returns 0 when enqueued (with `--wait`: when every job completed), 1 when the data has
 *   problems (nothing is enqueued), a job failed or the wait timed out, 2 on bad usage
 */
async function enqueueCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: QUEUE_USAGE,
    options: {
      queue: stringOption("redis://HOST:PORT"),
      "queue-name": stringOption("NAME"),
      set: repeatedOption("key=value"),
      attempts: stringOption("N", { default: "3" }),
      wait: FLAG,
      timeout: stringOption("SECONDS"),
    },
    positionals: { min: 1, max: 1, name: "one experiment file (FILE.yaml)" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const queue = v.queue;
  if (queue === undefined) return usageError(io, QUEUE_USAGE, "Missing --queue redis://HOST:PORT");
  const attempts = Number(v.attempts);
  const timeout = v.timeout === undefined ? undefined : Number(v.timeout);
  if (!Number.isInteger(attempts) || attempts < 1) {
    return usageError(
      io,
      QUEUE_USAGE,
      `Invalid --attempts "${v.attempts}": expected an integer >= 1`,
    );
  }
  if (timeout !== undefined && !(timeout > 0)) {
    return usageError(io, QUEUE_USAGE, `Invalid --timeout "${v.timeout}": expected seconds > 0`);
  }
  // The URL first: it registers the URL's password as a secret, so the lines below (a ticker
  // named like the password, say) print it redacted, as a worker's log does.
  const { checkQueueUrl, enqueueExperiments, shortJobId } = await import(
    "../distributed/queue.ts"
  );
  checkQueueUrl(queue);
  // The same checks against the data as a local run, before anything is enqueued: a worker
  // would otherwise find an unknown ticker only after taking the job.
  const file = parsed.positionals[0];
  const points = await loadSweepPoints(file, { set: v.set });
  const data = await checkAgainstData(file, points.map((p) => p.experiment), { set: v.set });
  if (data.problems.length > 0) {
    for (const line of data.problems) io.err(line);
    const n = data.problems.length;
    io.err(`${file}: ${n} problem${n === 1 ? "" : "s"} in the data: nothing was enqueued`);
    return 1;
  }
  const jobs = await enqueueExperiments(file, {
    queue,
    queueName: v["queue-name"],
    set: v.set,
    attempts,
  });
  for (const j of jobs) {
    io.out(`${j.outcome.padEnd(7)} ${shortJobId(j.id)} ${j.experiment} (${j.state})`);
  }
  io.out(`${jobs.length} jobs on ${redact(queue)}`);
  if (!v.wait) return 0;
  const { waitForJobs } = await import("../distributed/wait_table.ts");
  const encoder = new TextEncoder();
  const outcome = await waitForJobs({
    queue,
    queueName: v["queue-name"],
    ids: jobs.map((j) => j.id),
    tty: Deno.stdout.isTerminal(),
    write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
  });
  if (outcome.timedOut) io.err(`Gave up waiting after ${timeout} s; the jobs go on`);
  return outcome.failed > 0 || outcome.timedOut ? 1 : 0;
}

async function runPoints(
  file: string,
  points: Awaited<ReturnType<typeof loadSweepPoints>>,
  o: {
    set: string[];
    retrain: boolean;
    resume: boolean | "if-any";
    results: string;
    store: ModelStore;
    checkpoints: string;
    signal: AbortSignal;
  },
  io: CommandIo,
): Promise<number> {
  const { set, retrain, results, store } = o;
  // --resume needs a checkpoint for the first point that trains (the one interrupted); the
  // points after it were never started, so they resume only where a checkpoint exists.
  let resume = o.resume;
  const encoder = new TextEncoder();
  const tty = Deno.stdout.isTerminal();
  const sweep = points.length > 1;
  const finished: SweepResult[] = [];
  for (const [i, { experiment, values }] of points.entries()) {
    if (sweep) io.out(`\n${sweepStartLine(i, points.length, values)}`);
    const { record, dir } = await runSeeds(experiment, {
      resultsDir: results,
      store,
      retrain,
      resume,
      checkpointDir: o.checkpoints,
      signal: o.signal,
      log: (line) => io.out(line),
      write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
      tty,
    }).catch(async (error: unknown) => {
      const located = error instanceof Error
        ? await locatedMessage(file, error, { set, point: i })
        : null;
      if (located !== null) (error as Error).message = located;
      throw error;
    });
    const took = (Date.parse(record.timings.end) - Date.parse(record.timings.start)) / 1000;
    const mem = record.memory;
    io.out(
      `took ${formatDuration(took)}` +
        (mem
          ? `; peak memory ${mem.peak === null ? "not measured" : gib(mem.peak)} (planned ${
            gib(mem.planned)
          })`
          : ""),
    );
    io.out(`report: ${dir}/report.md`);
    finished.push({ index: i, values, record, dir });
    if (resume === true && record.model?.restoredFromStore === false) resume = "if-any";
    if (record.status === "interrupted") break;
  }
  if (sweep) io.out(`\n${sweepTable(finished, points.length).trimEnd()}`);
  return finished.some((r) => r.record.status === "interrupted") ? 130 : 0;
}
