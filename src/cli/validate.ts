/**
 * `alfred validate FILE... [--set key=value]... [--resolved]`: checks
 * experiment configs, printing every problem as `FILE:LINE:COL key: message`.
 *
 * @module
 */
import { ConfigError, formatIssue } from "../config/errors.ts";
import { configHash } from "../config/hash.ts";
import { loadExperiments } from "../config/load.ts";
import { experimentToYaml } from "../config/yaml.ts";

/** Where a command writes: stdout and stderr lines (replaceable in tests). */
export interface CommandIo {
  /** Writes a line of normal output. */
  out(line: string): void;
  /** Writes a line of diagnostics. */
  err(line: string): void;
}

/** Writes to the console: `out` to stdout, `err` to stderr. */
export const consoleIo: CommandIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

const USAGE = "Usage: alfred validate FILE... [--set key.path=value]... [--resolved]";

/**
 * Validates one or more experiment configs.
 *
 * Prints `FILE: ok (...)` per valid file; with `--resolved`, prints each
 * resolved experiment (one per sweep point) as YAML headed by its config hash,
 * documents separated by `---`. Every problem goes to stderr.
 *
 * @param args Command-line arguments after `validate`.
 * @param io Output streams (default: the console).
 * @returns 0 when every file is valid, 1 on any error (including bad usage).
 * @example
 * ```ts
 * Deno.exit(await validateCommand(["experiments/baseline.yaml", "--resolved"]));
 * ```
 */
export async function validateCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const files: string[] = [];
  const set: string[] = [];
  let resolved = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--resolved") resolved = true;
    else if (a === "--set") {
      if (i + 1 >= args.length) {
        io.err(`Missing value for "--set": expected key.path=value\n${USAGE}`);
        return 1;
      }
      set.push(args[++i]);
    } else if (a.startsWith("--set=")) set.push(a.slice("--set=".length));
    else if (a === "--help" || a === "-h") {
      io.out(USAGE);
      return 0;
    } else if (a.startsWith("-")) {
      io.err(`Unknown option "${a}": expected --set or --resolved\n${USAGE}`);
      return 1;
    } else files.push(a);
  }
  if (files.length === 0) {
    io.err(`No config file given\n${USAGE}`);
    return 1;
  }
  let failed = 0;
  let first = true;
  for (const file of files) {
    try {
      const points = await loadExperiments(file, { set });
      if (!resolved) {
        const what = points.length === 1
          ? `1 experiment, hash ${configHash(points[0]).slice(0, 8)}`
          : `sweep of ${points.length} experiments`;
        io.out(`${file}: ok (${what})`);
        continue;
      }
      points.forEach((e, i) => {
        if (!first) io.out("---");
        first = false;
        const point = points.length > 1 ? ` (sweep point ${i + 1} of ${points.length})` : "";
        io.out(`# ${file}${point}`);
        io.out(`# config hash: ${configHash(e)}`);
        io.out(experimentToYaml(e).trimEnd());
      });
    } catch (e) {
      failed++;
      if (e instanceof ConfigError) {
        for (const issue of e.issues) io.err(formatIssue(issue));
        const n = e.issues.length;
        io.err(`${file}: ${n} problem${n === 1 ? "" : "s"}`);
      } else {
        io.err(`${file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return failed > 0 ? 1 : 0;
}
