/**
 * `deno task data import FILE... --out DIR`: import your own CSV or Parquet files (or folders of
 * per-ticker files) as a dataset
 * folder ({@linkcode importDataset} does the work; this file reads the command line and prints).
 *
 * @module
 */
import { importNews } from "../data/news.ts";
import { parse as parseYaml } from "yaml";
import type { TableName } from "../data/dataset.ts";
import {
  type ColumnMapping,
  formatImportReport,
  importDataset,
  type ImportForm,
  type ImportReport,
} from "../data/import.ts";
import { type CommandIo, consoleIo, parseCommandArgs, usageError } from "./args.ts";
import { DATASET_OUT_OPTION, FLAG, repeatedOption, stringOption } from "./options.ts";

const USAGE = `Usage: deno task data import FILE... --out DIR [options]
  --form long|wide        long: date, ticker, columns…; wide: date + one column per ticker (default long)
  --table NAME            prices|fundamentals|insider|sentiment|market|universe (default
                          prices; universe: ticker,from,to membership spells), or
                          news: CSV or JSON Lines (.jsonl) added to the existing dataset at --out
  --map FIELD=COLUMN      source column of a field, repeatable (e.g. --map close="Adj Close")
  --mapping FILE.yaml     a YAML map of FIELD: COLUMN
  --field NAME            wide form: the field the ticker columns hold (default close for prices)
  --name NAME             dataset name (default: the folder name)
  --licence TEXT          licence of the data (default "unknown")
  --description TEXT      description for the manifest
  --index SERIES          benchmark market series; --risk-free SERIES: yield series for Sharpe
  --date-format iso|mdy|dmy  (default iso)
  --max-gap-days N        most missing trading days between two rows of a ticker (default 10)
  --min-history-days N    fewest rows a ticker must have (default 20)
  --ticker SYMBOL         the ticker of a single-ticker file without a ticker column (Yahoo,
                          Stooq, Alpha Vantage downloads); a FOLDER's files take it from their names
  --market-series NAME    a ticker that is an index series, written to the market table
                          (repeatable; tickers starting with ^, e.g. ^GSPC, always are)
  --add                   keep the other tables of the dataset at --out, add or replace this one
                          (a non-price table never changes the dataset's price span)

FILE may be a folder of per-ticker files. Known layouts are detected and reported: Yahoo
(Date,Open,High,Low,Close,Adj Close,Volume), Stooq (Date,Open,High,Low,Close,Volume and
<TICKER>,<PER>,<DATE>,…), Alpha Vantage (timestamp,open,high,low,close,…). Where every price row
has an adjusted close, returns use it (total return); the raw close feeds price-level features.`;

/**
 * The column mapping of `--mapping FILE.yaml` and `--map FIELD=COLUMN` (the `--map`s win).
 *
 * @param mappingFile the YAML file, if given
 * @param maps the `--map` values
 * @returns the mapping
 * @throws {TypeError} when the file cannot be read or is not a map of strings, or a `--map` has
 *   no `=`
 */
async function columnMapping(
  mappingFile: string | undefined,
  maps: string[],
): Promise<ColumnMapping> {
  const mapping: ColumnMapping = {};
  if (mappingFile !== undefined) {
    let doc: unknown;
    try {
      doc = parseYaml(await Deno.readTextFile(mappingFile));
    } catch (e) {
      throw new TypeError(`Cannot read mapping file "${mappingFile}": ${(e as Error).message}`);
    }
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
      throw new TypeError(`Mapping file "${mappingFile}" must be a YAML map of FIELD: COLUMN`);
    }
    for (const [k, c] of Object.entries(doc as Record<string, unknown>)) {
      if (typeof c !== "string") {
        throw new TypeError(
          `Mapping file "${mappingFile}": the column for "${k}" must be a string, got ${
            JSON.stringify(c)
          }`,
        );
      }
      mapping[k] = c;
    }
  }
  for (const m of maps) {
    const eq = m.indexOf("=");
    if (eq <= 0) throw new TypeError(`Invalid --map "${m}": expected FIELD=COLUMN`);
    mapping[m.slice(0, eq).trim()] = m.slice(eq + 1);
  }
  return mapping;
}

/**
 * A count option's value.
 *
 * @throws {TypeError} when it is not an integer ≥ 0
 */
function countArg(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new TypeError(`Invalid --${name} "${value}": expected an integer ≥ 0`);
  }
  return n;
}

/**
 * The `deno task data import` command.
 *
 * @param args command-line arguments after `import`
 * @param io where the report and problems go (default: the console)
 * @returns the exit code: 0 on success, 1 when the data has problems, 2 on a usage error
 * @example
 * ```ts
 * Deno.exit(await importCommand(["prices.csv", "--out", "data/my-set"]));
 * ```
 */
export async function importCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      form: stringOption("long|wide", { default: "long" }),
      table: stringOption("NAME", { default: "prices" }),
      map: repeatedOption("FIELD=COLUMN"),
      mapping: stringOption("FILE.yaml"),
      field: stringOption("NAME"),
      out: DATASET_OUT_OPTION,
      name: stringOption("NAME"),
      licence: stringOption("TEXT"),
      description: stringOption("TEXT"),
      index: stringOption("SERIES"),
      "risk-free": stringOption("SERIES"),
      "date-format": stringOption("iso|mdy|dmy", { default: "iso" }),
      "max-gap-days": stringOption("N", { default: "10" }),
      "min-history-days": stringOption("N", { default: "20" }),
      add: FLAG,
      ticker: stringOption("SYMBOL"),
      "market-series": repeatedOption("NAME"),
    },
    positionals: { min: 1, name: "input files or folders (FILE...)" },
  }, io);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  if (v.out === undefined) return usageError(io, USAGE, "Missing --out DIR");
  if (v.table === "news") {
    // News is text, from CSV or JSON Lines, added to an existing dataset.
    const r = await importNews(parsed.positionals, v.out);
    if (r.problems.length === 0) {
      io.out(`Imported ${r.rows} news rows into the "news" table of ${v.out}`);
      return 0;
    }
    for (const p of r.problems.slice(0, 50)) io.err(p.message);
    if (r.problems.length > 50) io.err(`... and ${r.problems.length - 50} more problems`);
    return 1;
  }
  const dateFormat = v["date-format"];
  let report: ImportReport;
  try {
    const mapping = await columnMapping(v.mapping, v.map);
    const maxGapDays = countArg("max-gap-days", v["max-gap-days"]);
    const minHistoryDays = countArg("min-history-days", v["min-history-days"]);
    if (dateFormat !== "iso" && dateFormat !== "mdy" && dateFormat !== "dmy") {
      throw new TypeError(`Invalid --date-format "${dateFormat}": expected iso, mdy or dmy`);
    }
    report = await importDataset({
      inputs: parsed.positionals,
      form: v.form as ImportForm,
      table: v.table as TableName,
      mapping,
      field: v.field,
      out: v.out,
      name: v.name,
      licence: v.licence,
      description: v.description,
      index: v.index ?? null,
      riskFree: v["risk-free"] ?? null,
      dateFormat,
      maxGapDays,
      minHistoryDays,
      add: v.add,
      ticker: v.ticker,
      marketSeries: v["market-series"],
    });
  } catch (e) {
    if (e instanceof TypeError) return usageError(io, USAGE, e.message);
    throw e;
  }
  if (report.ok) {
    io.out(formatImportReport(report));
    return 0;
  }
  io.err(formatImportReport(report));
  return 1;
}
