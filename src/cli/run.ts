/**
 * `deno task run FILE.yaml`: validate, then run every resolved config of the
 * file (one, or one per sweep point), each with its own run record.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadExperiments, locateConfigPath } from "../config/load.ts";
import { MissingTableError } from "../data/dataset.ts";
import { TickerSelectionError } from "../data/select.ts";
import { MissingColumnError } from "../features/families.ts";
import { runExperiment } from "../pipeline.ts";
import { FileModelStore } from "../store/model_store.ts";

const USAGE =
  "Usage: deno task run FILE.yaml [--set key=value]... [--retrain] [--resume] [--results DIR] [--store DIR]\n" +
  "       deno task run FILE.yaml --queue redis://HOST:6379 [--wait]   (enqueue for workers)";

/**
 * Run the experiments of one YAML file.
 *
 * @param args command-line arguments after `run`
 * @returns 0 when every run completed, 130 when interrupted, 1 on an error, 2 on bad usage
 */
export async function runCommand(args: string[]): Promise<number> {
  if (args.some((a) => a === "--queue" || a.startsWith("--queue="))) {
    return (await import("../distributed/submit.ts")).queueRunCommand(args);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        set: { type: "string", multiple: true },
        retrain: { type: "boolean", default: false },
        resume: { type: "boolean", default: false },
        results: { type: "string", default: "results" },
        store: { type: "string", default: ".alfred/models" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  const file = parsed.positionals[0];
  const experiments = await loadExperiments(file, { set: parsed.values.set });

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) Deno.exit(130);
    console.error(
      "\nInterrupted: finishing the epoch, keeping the best weights (Ctrl-C again to quit)",
    );
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const located = async (error: unknown): Promise<never> => {
    const path = configPathOf(error);
    const loc = path ? await locateConfigPath(file, path, { set: parsed.values.set }) : null;
    if (loc && error instanceof Error) {
      error.message = `${loc.file}:${loc.line}:${loc.col} ${path}: ${error.message}`;
    }
    throw error;
  };
  const encoder = new TextEncoder();
  const tty = Deno.stdout.isTerminal();
  const store = new FileModelStore(parsed.values.store);
  try {
    for (const [i, experiment] of experiments.entries()) {
      if (experiments.length > 1) {
        console.log(`\n== sweep point ${i + 1}/${experiments.length}`);
      }
      const { record, dir } = await runExperiment(experiment, {
        resultsDir: parsed.values.results,
        store,
        retrain: parsed.values.retrain,
        resume: parsed.values.resume,
        signal: controller.signal,
        log: (line) => console.log(line),
        write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
        tty,
      }).catch(located);
      console.log(`report: ${dir}/report.md`);
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
