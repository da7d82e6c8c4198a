/**
 * `deno task run FILE.yaml`: validate, then run every resolved config of the
 * file (one, or one per sweep point), each with its own run record.
 *
 * @module
 */
import { loadExperiments, locateConfigPath } from "../config/load.ts";
import { MissingTableError } from "../data/dataset.ts";
import { TickerSelectionError } from "../data/select.ts";
import { MissingColumnError } from "../features/families.ts";
import { runExperiment } from "../pipeline.ts";
import { FileModelStore } from "../store/model_store.ts";
import { type CommandIo, consoleIo, parseCommandArgs } from "./args.ts";

const USAGE =
  `Usage: deno task run FILE.yaml [--set key=value]... [--retrain] [--resume] [--results DIR]
         [--store DIR]
       deno task run FILE.yaml --queue redis://HOST:6379 [--wait]   (enqueue for workers)

Runs the experiment (each sweep point in turn) and writes its record and report under --results
(default results/). Models are stored under --store (default .alfred/models) by the hash of what
determines them and restored on the next run; --retrain trains again, --resume continues an
interrupted training from its checkpoint. Ctrl-C stops cleanly and keeps the best weights.`;

/**
 * Run the experiments of one YAML file.
 *
 * @param args command-line arguments after `run`
 * @param io where progress and problems go (default: the console)
 * @returns 0 when every run completed, 130 when interrupted, 2 on bad usage
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
      results: { type: "string", value: "DIR", default: "results" },
      store: { type: "string", value: "DIR", default: ".alfred/models" },
    },
    positionals: { min: 1, max: 1, name: "one experiment file (FILE.yaml)" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const { set, retrain, resume, results, store: storeDir } = parsed.values;
  const file = parsed.positionals[0];
  const experiments = await loadExperiments(file, { set });

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) Deno.exit(130);
    io.err("\nInterrupted: finishing the epoch, keeping the best weights (Ctrl-C again to quit)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const located = async (error: unknown): Promise<never> => {
    const path = configPathOf(error);
    const loc = path ? await locateConfigPath(file, path, { set }) : null;
    if (loc && error instanceof Error) {
      error.message = `${loc.file}:${loc.line}:${loc.col} ${path}: ${error.message}`;
    }
    throw error;
  };
  const encoder = new TextEncoder();
  const tty = Deno.stdout.isTerminal();
  const store = new FileModelStore(storeDir);
  try {
    for (const [i, experiment] of experiments.entries()) {
      if (experiments.length > 1) io.out(`\n== sweep point ${i + 1}/${experiments.length}`);
      const { record, dir } = await runExperiment(experiment, {
        resultsDir: results,
        store,
        retrain,
        resume,
        signal: controller.signal,
        log: (line) => io.out(line),
        write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
        tty,
      }).catch(located);
      io.out(`report: ${dir}/report.md`);
      if (record.status === "interrupted") return 130;
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

/**
 * The config key an error found during a run comes from, where it says: the ticker list of a
 * selection error, the feature family that needs a missing table or column.
 *
 * @param error the error
 * @returns a path such as `data.train_tickers[1]`, or null
 */
export function configPathOf(error: unknown): string | null {
  if (error instanceof TickerSelectionError) return error.path;
  if (error instanceof MissingColumnError || error instanceof MissingTableError) {
    const family = error.neededBy?.match(/"(\w+)" feature family/)?.[1];
    return family ? `features.families.${family}` : null;
  }
  return null;
}
