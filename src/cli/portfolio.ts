/**
 * `deno task portfolio FILE.yaml`: run a portfolio experiment (`kind: portfolio`): the analysts'
 * out-of-sample signals (reused from the signal store when present), every manager walked
 * forward, the record and report under `results/<name>/<run-id>/`.
 *
 * @module
 */
import { FileModelStore } from "../store/model_store.ts";
import { FileSignalStore } from "../portfolio/signals.ts";
import { runPortfolio } from "../portfolio/run.ts";
import { type CommandIo, consoleIo, parseCommandArgs } from "./args.ts";
import { MODELS_DIR, RESULTS_DIR, SIGNALS_DIR } from "../paths.ts";

const USAGE = `Usage: deno task portfolio FILE.yaml [--results DIR] [--store DIR] [--signals DIR]

Runs a portfolio experiment: each analyst's walk-forward signals come from the signal store
(--signals, default .alfred/signals) by the analyst's config hash, or are computed by running the
analyst (its run is recorded under --results like any run, its models go to --store); then every
manager is walked forward over the rebalances and traded by the backtest's book.`;

/**
 * Run the `portfolio` command.
 *
 * @param args command-line arguments after `portfolio`
 * @param io where progress goes
 * @returns 0 when the run was written, 2 on bad usage
 */
export async function portfolioCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      results: { type: "string", value: "DIR", default: RESULTS_DIR, writes: "folder" },
      store: { type: "string", value: "DIR", default: MODELS_DIR, writes: "folder" },
      signals: { type: "string", value: "DIR", default: SIGNALS_DIR, writes: "folder" },
    },
    positionals: { min: 1, max: 1, name: "one portfolio experiment file (FILE.yaml)" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const encoder = new TextEncoder();
  const { record, dir } = await runPortfolio(parsed.positionals[0], {
    resultsDir: parsed.values.results,
    store: new FileModelStore(parsed.values.store),
    signals: new FileSignalStore(parsed.values.signals),
    log: (line) => io.out(line),
    write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    tty: Deno.stdout.isTerminal(),
  });
  const trained = record.analysts.filter((a) => !a.reused).map((a) => a.name);
  io.out(`analysts trained by this run: ${trained.length ? trained.join(", ") : "none"}`);
  io.out(`report: ${dir}/report.md`);
  return 0;
}
