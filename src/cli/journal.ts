/**
 * `deno task journal`: regenerate `JOURNAL.md` from every run under `results/`.
 *
 * ```
 * deno task journal [--results DIR] [--out FILE] [--check]
 * ```
 *
 * `--check` writes nothing and exits 1 when the journal on disk differs from what the runs give
 * (CI uses it to keep the committed journal fresh). A run whose `record.json` cannot be read
 * (truncated, not JSON, not a run record) is left out with a warning naming it.
 *
 * @module
 */
import { dirname, relative } from "node:path";
import { FileRunStore } from "../store/shared_file.ts";
import type { UnreadableRecord } from "../store/stores.ts";
import { renderJournal } from "../report/journal.ts";
import { type OptionValues, parseArguments, parseCommandArgs } from "./args.ts";
import { FLAG, stringOption } from "./options.ts";
import { JOURNAL_FILE, RESULTS_DIR } from "../paths.ts";

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

const USAGE = `Usage: deno task journal [--results DIR | --store SPEC] [--out FILE] [--check]

Regenerates ${JOURNAL_FILE} (--out) from every run under ${RESULTS_DIR}/ (--results), or from a shared store
(--store file:ROOT or mongodb://HOST/DB). --check writes nothing and exits 1 when the journal on
disk differs from what the runs give.`;

const OPTIONS = {
  results: stringOption("DIR", { default: RESULTS_DIR }),
  store: stringOption("SPEC"),
  out: stringOption("FILE", { default: JOURNAL_FILE, writes: "file" }),
  check: FLAG,
} as const;

function journalArgs(values: OptionValues<typeof OPTIONS>): JournalArgs {
  const { results, store, out, check } = values;
  return store === undefined ? { results, out, check } : { results, store, out, check };
}

/**
 * Parse the `journal` command's arguments.
 *
 * @param args command-line arguments after `journal`
 * @returns the options, defaults filled in (`results`, `JOURNAL.md`)
 * @throws {TypeError} on an unknown option or a missing value (the message lists what is allowed)
 */
export function parseJournalArgs(args: string[]): JournalArgs {
  return journalArgs(parseArguments(args, OPTIONS).values);
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
  const parsed = parseCommandArgs(args, { usage: USAGE, options: OPTIONS });
  if (typeof parsed === "number") return parsed;
  const options = journalArgs(parsed.values);
  let skipped = 0;
  const skip: UnreadableRecord = (location, error) => {
    skipped++;
    const why = error.message.split("\n")[0];
    // Errors of run records name their file; others get the location in front.
    console.error(
      `Warning: a run is left out of the journal: ${
        why.includes(location) ? why : `${location}: ${why}`
      }`,
    );
  };
  const all = options.store
    ? await (await import("../store/shared_file.ts")).loadStoreRecords(options.store, skip)
    : await new FileRunStore(options.results).records(skip);
  const records = all.filter((r) => r.status !== "failed");
  const left = skipped ? ` (${skipped} unreadable run${skipped > 1 ? "s" : ""} left out)` : "";
  const resultsPath = relative(dirname(options.out), options.results) || ".";
  // Portfolio runs (results/<name>/<run-id>/portfolio.json) get their own section.
  const { loadPortfolioRecords, portfolioJournalSection } = await import(
    "../portfolio/report.ts"
  );
  const portfolios = options.store ? [] : await loadPortfolioRecords(options.results);
  const section = portfolioJournalSection(portfolios, resultsPath);
  const text = renderJournal(records, { resultsPath }) + (section ? `\n${section}` : "");
  let current: string | null = null;
  try {
    current = await Deno.readTextFile(options.out);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (options.check) {
    if (current === text) {
      console.log(`${options.out} is up to date (${records.length} runs)${left}`);
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
    } ${options.out}: ${records.length} runs in ${experiments} experiments${left}`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await journalCommand(Deno.args));
