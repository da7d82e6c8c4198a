/**
 * `alfred diff A.yaml B.yaml`: the differences between two resolved
 * experiment configs, as Markdown for a code review.
 *
 * @module
 */
import { diffConfigs, formatConfigDiff } from "../config/diff.ts";
import { ConfigError, formatIssue } from "../config/errors.ts";
import { loadExperiment } from "../config/load.ts";
import { type CommandIo, consoleIo } from "./validate.ts";
import { diffStoredRuns } from "../report/run_diff.ts";

const USAGE =
  "Usage: alfred diff A.yaml B.yaml | alfred diff RUN_A RUN_B (run ids, id prefixes or run folders)";

const isConfig = (arg: string) => /\.ya?ml$/i.test(arg);

/**
 * Loads two configs (each must describe one experiment, not a sweep), and
 * prints their resolved differences (`model.size: 1024 → 2048`).
 *
 * @param args Command-line arguments after `diff`: exactly two files.
 * @param io Output streams (default: the console).
 * @returns 0 when both configs load (whether or not they differ), 1 on any error.
 * @example
 * ```ts
 * Deno.exit(await diffCommand(["experiments/a.yaml", "experiments/b.yaml"]));
 * ```
 */
export async function diffCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(USAGE);
    return 0;
  }
  const option = args.find((a) => a.startsWith("-"));
  if (option !== undefined) {
    io.err(`Unknown option "${option}"\n${USAGE}`);
    return 1;
  }
  if (args.length !== 2) {
    io.err(`Expected two config files, got ${args.length}\n${USAGE}`);
    return 1;
  }
  const [fileA, fileB] = args;
  if (!isConfig(fileA) && !isConfig(fileB)) {
    try {
      io.out((await diffStoredRuns(fileA, fileB)).trimEnd());
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
