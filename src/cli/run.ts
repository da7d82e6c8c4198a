/**
 * `deno task run FILE.yaml`: validate, check every resolved config against its dataset, then run
 * each (one, or one per sweep point), each with its own run record; a sweep ends with one table
 * of its points ranked by the main eval metric.
 *
 * @module
 */
import { loadSweepPoints } from "../config/load.ts";
import { runExperiment } from "../pipeline.ts";
import { FileModelStore } from "../store/model_store.ts";
import { type CommandIo, consoleIo, parseCommandArgs } from "./args.ts";
import { checkAgainstData, locatedMessage } from "./data_checks.ts";
import { type SweepResult, sweepStartLine, sweepTable } from "./sweep.ts";
import { formatDuration } from "../train/progress.ts";
import { gib } from "../models/registry.ts";

const USAGE =
  `Usage: deno task run FILE.yaml [--set key=value]... [--retrain] [--resume] [--results DIR]
         [--store DIR]
       deno task run FILE.yaml --queue redis://HOST:6379 [--wait]   (enqueue for workers)

Runs the experiment (each sweep point in turn) and writes its record and report under --results
(default results/). Models are stored under --store (default .alfred/models) by the hash of what
determines them and restored on the next run; --retrain trains again, --resume continues an
interrupted training from its checkpoint. Ctrl-C stops cleanly and keeps the best weights.
deno task run may write only under results/ and .alfred/: --results or --store elsewhere is refused
before the run starts.`;

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
    return (await import("../distributed/submit.ts")).queueRunCommand(args);
  }
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      set: { type: "string", value: "key=value", multiple: true },
      retrain: { type: "boolean" },
      resume: { type: "boolean" },
      results: { type: "string", value: "DIR", default: "results", writes: "folder" },
      store: { type: "string", value: "DIR", default: ".alfred/models", writes: "folder" },
    },
    positionals: { min: 1, max: 1, name: "one experiment file (FILE.yaml)" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const { set, retrain, resume, results, store: storeDir } = parsed.values;
  const file = parsed.positionals[0];
  const points = await loadSweepPoints(file, { set });
  const experiments = points.map((p) => p.experiment);
  const data = await checkAgainstData(file, experiments, { set });
  if (data.problems.length > 0) {
    for (const line of data.problems) io.err(line);
    const n = data.problems.length;
    io.err(`${file}: ${n} problem${n === 1 ? "" : "s"} in the data: nothing was run`);
    return 1;
  }

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) Deno.exit(130);
    io.err("\nInterrupted: finishing the epoch, keeping the best weights (Ctrl-C again to quit)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const encoder = new TextEncoder();
  const tty = Deno.stdout.isTerminal();
  const store = new FileModelStore(storeDir);
  const sweep = points.length > 1;
  const finished: SweepResult[] = [];
  try {
    for (const [i, { experiment, values }] of points.entries()) {
      if (sweep) io.out(`\n${sweepStartLine(i, points.length, values)}`);
      const { record, dir } = await runExperiment(experiment, {
        resultsDir: results,
        store,
        retrain,
        resume,
        signal: controller.signal,
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
      if (record.status === "interrupted") break;
    }
    if (sweep) io.out(`\n${sweepTable(finished, points.length).trimEnd()}`);
    return finished.some((r) => r.record.status === "interrupted") ? 130 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}
