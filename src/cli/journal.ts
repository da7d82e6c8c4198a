/**
 * `deno task journal`: regenerate `JOURNAL.md` from every run under `results/`.
 *
 * ```
 * deno task journal [--results DIR] [--out FILE] [--check]
 * ```
 *
 * `--check` writes nothing and exits 1 when the journal on disk differs from what the runs give
 * (CI uses it to keep the committed journal fresh).
 *
 * @module
 */
import { dirname, relative } from "node:path";
import { loadRuns } from "../store/run_record.ts";
import { renderJournal } from "../report/journal.ts";

/** Parsed `journal` arguments. */
export interface JournalArgs {
  /** Results folder (`--results`, default `results`). */
  results: string;
  /** A shared store to read the runs from instead (`--store file:ROOT` or `mongodb://…`). */
  store?: string;
  /** Journal file (`--out`, default `JOURNAL.md`). */
  out: string;
  /** `--check`: compare instead of writing. */
  check: boolean;
}

const USAGE = "Usage: deno task journal [--results DIR | --store SPEC] [--out FILE] [--check]";

/**
 * Parse the `journal` command's arguments.
 *
 * @param args command-line arguments after `journal`
 * @returns the options, defaults filled in (`results`, `JOURNAL.md`)
 * @throws {TypeError} on an unknown option or a missing value (the message lists what is allowed)
 */
export function parseJournalArgs(args: string[]): JournalArgs {
  const parsed: JournalArgs = { results: "results", out: "JOURNAL.md", check: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if (flag === "--check") {
      if (inline !== undefined) throw new TypeError(`Option "--check" takes no value: ${USAGE}`);
      parsed.check = true;
    } else if (flag === "--results" || flag === "--out" || flag === "--store") {
      const value = inline ?? args[++i];
      if (value === undefined || value === "" || (inline === undefined && value.startsWith("--"))) {
        throw new TypeError(`Option "${flag}" needs a value: ${USAGE}`);
      }
      if (flag === "--results") parsed.results = value;
      else if (flag === "--store") parsed.store = value;
      else parsed.out = value;
    } else {
      throw new TypeError(
        `Unknown argument "${arg}": allowed are --results DIR, --store SPEC, --out FILE, --check`,
      );
    }
  }
  return parsed;
}

/**
 * Where two texts first differ, as a short hint for a stale journal.
 *
 * @param current the text on disk
 * @param expected the text the runs give
 * @returns a few lines naming the first differing line
 */
export function diffHint(current: string, expected: string): string {
  const a = current.split("\n");
  const b = expected.split("\n");
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line++;
  const clip = (s: string | undefined) =>
    s === undefined ? "(end of file)" : s.length > 160 ? s.slice(0, 157) + "..." : s;
  return [
    `first difference at line ${line + 1}:`,
    `- ${clip(a[line])}`,
    `+ ${clip(b[line])}`,
  ].join("\n");
}

/**
 * Run the `journal` command.
 *
 * @param args command-line arguments after `journal`
 * @returns the exit code: 0 done (or fresh with `--check`), 1 stale with `--check`, 2 bad usage
 */
export async function journalCommand(args: string[]): Promise<number> {
  let options: JournalArgs;
  try {
    options = parseJournalArgs(args);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const all = options.store
    ? await (await import("../store/shared_file.ts")).loadStoreRecords(options.store)
    : await loadRuns(options.results);
  const records = all.filter((r) => r.status !== "failed");
  const resultsPath = relative(dirname(options.out), options.results) || ".";
  const text = renderJournal(records, { resultsPath });
  let current: string | null = null;
  try {
    current = await Deno.readTextFile(options.out);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (options.check) {
    if (current === text) {
      console.log(`${options.out} is up to date (${records.length} runs)`);
      return 0;
    }
    console.error(
      current === null
        ? `${options.out} does not exist; run \`deno task journal\` to write it`
        : `${options.out} is stale: ${
          diffHint(current, text)
        }\nRun \`deno task journal\` to regenerate it.`,
    );
    return 1;
  }
  if (current !== text) await Deno.writeTextFile(options.out, text);
  const experiments = new Set(records.map((r) => r.experiment)).size;
  console.log(
    `${
      current === text ? "Unchanged" : "Wrote"
    } ${options.out}: ${records.length} runs in ${experiments} experiments`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await journalCommand(Deno.args));
