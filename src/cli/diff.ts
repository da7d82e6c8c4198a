/**
 * `deno task diff A.yaml B.yaml`: the differences between two resolved
 * experiment configs, as Markdown for a code review; `deno task diff RUN_A RUN_B`:
 * two runs' config changes and metrics.
 *
 * @module
 */
import { diffConfigs, formatConfigDiff } from "../config/diff.ts";
import { ConfigError, formatIssue } from "../config/errors.ts";
import { loadExperiment } from "../config/load.ts";
import { type CommandIo, consoleIo, parseCommandArgs } from "./args.ts";
import { stringOption } from "./options.ts";
import { diffStoredRuns } from "../report/run_diff.ts";
import { RESULTS_DIR } from "../paths.ts";

const USAGE = `Usage: deno task diff A.yaml B.yaml
       deno task diff RUN_A RUN_B [--results DIR]

With two experiment files: the differences between their resolved configs, as Markdown for a
code review. With two runs (run ids or id prefixes, looked up under --results, default ${RESULTS_DIR}/,
or run folders): what changed in their configs and how each metric moved.`;

const isConfig = (arg: string) => /\.ya?ml$/i.test(arg);

/**
 * Loads two configs (each must describe one experiment, not a sweep), and
 * prints their resolved differences (`model.size: 1024 → 2048`); given two runs
 * instead, prints their comparison.
 *
 * @param args Command-line arguments after `diff`: exactly two files or runs.
 * @param io Output streams (default: the console).
 * @returns 0 when both load (whether or not they differ), 1 on any error, 2 on bad usage.
 * @example
 * ```ts
 * Deno.exit(await diffCommand(["experiments/a.yaml", "experiments/b.yaml"]));
 * ```
 */
export async function diffCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: { results: stringOption("DIR", { default: RESULTS_DIR }) },
    positionals: { min: 2, max: 2, name: "two config files or two runs" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const [fileA, fileB] = parsed.positionals;
  if (!isConfig(fileA) && !isConfig(fileB)) {
    try {
      io.out((await diffStoredRuns(fileA, fileB, parsed.values.results)).trimEnd());
      return 0;
    } catch (e) {
      io.err(e instanceof Error ? e.message : String(e));
      return 1;
    }
  }
  const loaded = [];
  let failed = false;
  for (const file of [fileA, fileB]) {
    try {
      loaded.push(await loadExperiment(file));
    } catch (e) {
      failed = true;
      if (e instanceof ConfigError) { for (const issue of e.issues) io.err(formatIssue(issue)); }
      else io.err(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (failed) return 1;
  io.out(formatConfigDiff(diffConfigs(loaded[0], loaded[1]), fileA, fileB).trimEnd());
  return 0;
}
