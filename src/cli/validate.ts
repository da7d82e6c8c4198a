/**
 * `deno task validate FILE... [--set key=value]... [--resolved]`: checks experiment configs,
 * printing every problem as `FILE:LINE:COL key: message`, then checks them against their datasets
 * (the dataset reference, tickers, tables, market series, benchmark, risk-free series, dates) and
 * this machine's memory, as a run does before any long work.
 *
 * @module
 */
import { ConfigError, formatIssue } from "../config/errors.ts";
import { configHash } from "../config/hash.ts";
import { loadExperiments } from "../config/load.ts";
import { experimentToYaml } from "../config/yaml.ts";
import { type CommandIo, consoleIo, parseCommandArgs, usageError } from "./args.ts";
import { FLAG, repeatedOption } from "./options.ts";
import { checkAgainstData } from "./data_checks.ts";

const USAGE = `Usage: deno task validate FILE... [--set key.path=value]... [--resolved]

Checks experiment files: the YAML (at most 64 KiB; aliases, nesting and extends bounded; extends
only inside the file's folder), the schema, cross-field rules, that data.dataset is a dataset
name or a folder inside data/ or the file's folder, and, when the dataset is present, what the
run needs from it (tickers, each feature family's table, the market series the features name, the
backtest's benchmark, the risk-free series, dates inside the dataset's) and that the model fits
this machine's memory. Every problem is printed as FILE:LINE:COL key: message. --set overrides a key
as deno task run does; --resolved prints each resolved experiment (one per sweep point) as YAML
with every default and its config hash.`;

/**
 * Validates one or more experiment configs.
 *
 * Prints `FILE: ok (...)` per valid file, with the dataset checks it made or could not make;
 * with `--resolved`, prints each resolved experiment (one per sweep point) as YAML headed by its
 * config hash, documents separated by `---`, and the dataset checks on stderr. Every problem
 * goes to stderr.
 *
 * @param args Command-line arguments after `validate`.
 * @param io Output streams (default: the console).
 * @returns 0 when every file is valid, 1 on any problem, 2 on bad usage.
 * @example
 * ```ts
 * Deno.exit(await validateCommand(["experiments/baseline.yaml", "--resolved"]));
 * ```
 */
export async function validateCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      set: repeatedOption("key.path=value"),
      resolved: FLAG,
    },
    positionals: { name: "experiment files (FILE.yaml)" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const { set, resolved } = parsed.values;
  const files = parsed.positionals;
  if (files.length === 0) {
    return usageError(
      io,
      USAGE,
      "No experiment file given: pass the files to check, e.g. " +
        `deno task validate${resolved ? " --resolved" : ""} experiments/quick-direction.yaml`,
    );
  }
  let failed = 0;
  let first = true;
  for (const file of files) {
    try {
      const points = await loadExperiments(file, { set });
      const data = await checkAgainstData(file, points, { set });
      const notes = [
        ...data.checked.map((c) => `checked against ${c}`),
        ...data.notChecked.map((c) => `not checked: ${c}`),
      ];
      if (!resolved) {
        const what = points.length === 1
          ? `1 experiment, hash ${configHash(points[0]).slice(0, 8)}`
          : `sweep of ${points.length} experiments`;
        if (data.problems.length === 0) io.out(`${file}: ok (${what})`);
        for (const note of notes) io.out(`  ${note}`);
      } else {
        points.forEach((e, i) => {
          if (!first) io.out("---");
          first = false;
          const point = points.length > 1 ? ` (sweep point ${i + 1} of ${points.length})` : "";
          io.out(`# ${file}${point}`);
          io.out(`# config hash: ${configHash(e)}`);
          io.out(experimentToYaml(e).trimEnd());
        });
        for (const note of notes) io.err(`${file}: ${note}`);
      }
      if (data.problems.length > 0) {
        failed++;
        for (const line of data.problems) io.err(line);
        io.err(`${file}: ${count(data.problems.length)}`);
      }
    } catch (e) {
      failed++;
      if (e instanceof ConfigError) {
        for (const issue of e.issues) io.err(formatIssue(issue));
        io.err(`${file}: ${count(e.issues.length)}`);
      } else {
        io.err(`${file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

function count(n: number): string {
  return `${n} problem${n === 1 ? "" : "s"}`;
}
