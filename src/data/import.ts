/**
 * Import your own data: CSV or Parquet files in long form (date, ticker, columns…) or wide form
 * (date + one column per ticker, for a single field), validated and written as a dataset folder
 * (`manifest.json` + one `<table>.parquet` per table).
 *
 * Every problem is collected and reported at once, located by file and 1-based data row (for CSV
 * the file line is given too: the header is line 1, so data row N is line N + 1). Nothing is
 * half-written: the dataset is built in a temporary sibling folder and renamed into place only when
 * every check passed; an existing dataset at the destination is replaced only then.
 *
 * @module
 */
import pl from "nodejs-polars";
import { dateToIso, dayToIso, isIsoDate, isoToDay } from "@alfred/core";
import { Buffer } from "node:buffer";
import { basename, join, resolve } from "node:path";
import { columnOf, type CsvLayout, scanCsv } from "./csv.ts";
import {
  type Frequency,
  type Manifest,
  type ReturnsColumn,
  type SeriesInfo,
  TABLE_COLUMNS,
  TABLE_KEYS,
  TABLE_NAMES,
  type TableName,
  tablePath,
  VALUE_RULE_TEXT,
  type ValueRule,
  writeDataset,
} from "./dataset.ts";

/** Input layout: long (one row per ticker and date) or wide (one column per ticker). */
export type ImportForm = "long" | "wide";

/** How a source column of one table is checked: its value rule, or a date. */
interface FieldSpec {
  check: ValueRule | "date";
}

/** What each table needs: its key column, its date column and its value columns. */
interface TableSpec {
  key: "ticker" | "series";
  date: "date" | "report_date" | "from";
  /** Fields whose value may not be missing. */
  required: string[];
  fields: Record<string, FieldSpec>;
  /** Daily table: gaps and history length are checked per key. */
  daily: boolean;
  /** The field a wide-form file holds when `--field` is not given. */
  wideField: string;
}

/** The tables this importer writes: every table but `news` (text, imported by `./news.ts`). */
type NumericTable = Exclude<TableName, "news">;
const NUMERIC_TABLES = TABLE_NAMES.filter((t): t is NumericTable => t !== "news");

/** The field a wide-form file holds by default, per table. */
const WIDE_FIELD: Record<NumericTable, string> = {
  prices: "close",
  fundamentals: "reported_eps",
  insider: "acquisition",
  sentiment: "sentiment",
  market: "value",
  universe: "to",
};

/** The import rules of a table: the dataset's own column rules (`TABLE_COLUMNS`), so an import
 * accepts exactly what `loadDataset` accepts. */
function tableSpec(table: NumericTable): TableSpec {
  const { key, date } = TABLE_KEYS[table] as { key: TableSpec["key"]; date: TableSpec["date"] };
  const values = TABLE_COLUMNS[table].filter((c) => c.name !== key && c.name !== date);
  return {
    key,
    date,
    required: values.filter((c) => !c.nullable).map((c) => c.name),
    fields: Object.fromEntries(values.map((c) => [c.name, { check: c.values ?? "date" }])),
    daily: table === "prices",
    wideField: WIDE_FIELD[table],
  };
}

const TABLES: Record<NumericTable, TableSpec> = Object.fromEntries(
  NUMERIC_TABLES.map((t) => [t, tableSpec(t)]),
) as Record<NumericTable, TableSpec>;

/** Names the source column of each target field; unmapped fields are matched by name. */
export type ColumnMapping = Record<string, string>;

/** Options of {@linkcode importDataset}. */
export interface ImportOptions {
  /** Parquet (`.parquet`, `.pq`) or CSV (any other name) files; their rows are concatenated. */
  inputs: string[];
  /** Long form (date, ticker, columns…) or wide form (date + one column per ticker). */
  form: ImportForm;
  /** Target field → source column, e.g. `{ close: "Adj Close", date: "Date" }`. */
  mapping: ColumnMapping;
  /** The dataset folder to write. */
  out: string;
  /** Dataset name (default: the folder's name). */
  name?: string;
  /** Which table the files go to (default `prices`). */
  table?: TableName;
  /** Wide form: the field each ticker column holds (default: the table's main field, e.g. `close`). */
  field?: string;
  /** Daily tables: the most trading days (weekdays) allowed missing between two rows of a ticker. */
  maxGapDays: number;
  /** Daily tables: the fewest rows a ticker must have. */
  minHistoryDays: number;
  /** How dates are written: `iso` (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, optional time), `mdy`, `dmy`. */
  dateFormat?: "iso" | "mdy" | "dmy";
  /** Licence of the data (default "unknown"). */
  licence?: string;
  /** Description for the manifest. */
  description?: string;
  /** Market series bought and held as the benchmark. */
  index?: string | null;
  /** Market series of an annualized percent yield, used as the risk-free rate. */
  riskFree?: string | null;
  /** Keep the other tables of an existing dataset at `out` and add or replace this one. */
  add?: boolean;
  /**
   * The ticker of a single-ticker file that has no ticker column (`--ticker SYMBOL`); a folder's
   * files without one take their ticker from the file name instead.
   */
  ticker?: string;
  /**
   * Prices imports: tickers that are index series, written to the `market` table (their adjusted
   * close, else their close, as the value) instead of `prices`. Tickers starting with `^`
   * (`^GSPC`, Yahoo's index names) always are.
   */
  marketSeries?: string[];
  /** Most problem lines {@linkcode formatImportReport} prints (default 50). */
  maxProblemLines?: number;
}

/** Kinds of problems an import reports. */
export type ImportProblemKind =
  | "read"
  | "encoding"
  | "layout"
  | "empty"
  | "missing-column"
  | "unknown-column"
  | "unknown-field"
  | "date"
  | "ticker"
  | "duplicate"
  | "price"
  | "value"
  | "unsorted"
  | "gap"
  | "history"
  | "frequency"
  | "destination";

/** One problem, located by file and 1-based data row (the header row is not counted). */
export interface ImportProblem {
  kind: ImportProblemKind;
  file: string;
  /** 1-based data row; the header is not counted. */
  row?: number;
  /** 1-based line of a CSV file (the header is line 1; a quoted field may span lines). */
  line?: number;
  /** 0-based byte offset in the file (a byte that is not UTF-8). */
  offset?: number;
  column?: string;
  ticker?: string;
  message: string;
}

/** The result of an import: what was written, or every problem that prevented it. */
export interface ImportReport {
  ok: boolean;
  out: string;
  table: TableName;
  rows: number;
  tickers: string[];
  from: string | null;
  to: string | null;
  problems: ImportProblem[];
  manifest: Manifest | null;
  /** The layout detected in each file read. */
  layouts: { file: string; layout: ImportLayout }[];
  /** The frequency detected for each ticker or series. */
  frequencies: Record<string, Frequency>;
  /** Prices imports: the column returns are computed from (recorded in the manifest). */
  returns: ReturnsColumn | null;
  /** Index series written to the `market` table by a prices import. */
  marketSeries: string[];
}

/**
 * A file's layout: a known download (`yahoo`, `stooq`, `stooq-tagged`, `alpha-vantage`), or the
 * generic `long` or `wide` form.
 */
export type ImportLayout = "yahoo" | "stooq" | "stooq-tagged" | "alpha-vantage" | ImportForm;

/** Each layout in words, as the report names it. */
export const LAYOUT_TEXT: Readonly<Record<ImportLayout, string>> = {
  yahoo: "Yahoo (Date,Open,High,Low,Close,Adj Close,Volume)",
  stooq: "Stooq (Date,Open,High,Low,Close,Volume)",
  "stooq-tagged": "Stooq (<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,…)",
  "alpha-vantage": "Alpha Vantage (timestamp,open,high,low,close,[adjusted_close,…],volume)",
  long: "long (date, ticker, columns…)",
  wide: "wide (date + one column per ticker)",
};

/** Normalized names of OHLCV fields: a wide file's columns must not be these. */
const OHLCV_NAMES = new Set([
  "open",
  "high",
  "low",
  "close",
  "adjclose",
  "adjustedclose",
  "volume",
  "vol",
]);

/**
 * Detects a file's layout from its header.
 *
 * @param columns the file's column names
 * @param form the form asked for, the answer when no known layout matches
 * @returns the layout
 * @example
 * ```ts
 * detectLayout(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"], "long"); // "yahoo"
 * ```
 */
export function detectLayout(columns: string[], form: ImportForm): ImportLayout {
  const names = columns.map(norm);
  const has = (...want: string[]) => want.every((w) => names.includes(w));
  if (has("ticker", "per", "date", "open", "high", "low", "close")) return "stooq-tagged";
  if (names[0] === "timestamp" && has("open", "high", "low", "close", "volume")) {
    return "alpha-vantage";
  }
  if (has("date", "open", "high", "low", "close", "adjclose", "volume")) return "yahoo";
  if (has("date", "open", "high", "low", "close", "volume")) return "stooq";
  return form;
}

/**
 * Detects how often a series has a row from the median spacing of its dates: up to 5 days
 * daily, up to 10 weekly, up to 45 monthly, else quarterly.
 *
 * @param days its day numbers, ascending
 * @returns the frequency (`daily` for fewer than two rows)
 * @example
 * ```ts
 * detectFrequency([0, 31, 59, 90]); // "monthly"
 * ```
 */
export function detectFrequency(days: ArrayLike<number>): Frequency {
  if (days.length < 2) return "daily";
  const gaps = Array.from({ length: days.length - 1 }, (_, i) => days[i + 1] - days[i])
    .sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  return median <= 5 ? "daily" : median <= 10 ? "weekly" : median <= 45 ? "monthly" : "quarterly";
}

/** The median spacing in days of ascending day numbers (0 for fewer than two). */
function medianGap(days: number[]): number {
  if (days.length < 2) return 0;
  const gaps = days.slice(1).map((d, i) => d - days[i]).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)];
}

/** A validated row before it becomes a table row. */
interface Row {
  file: string;
  row: number;
  /** The CSV file line the row starts on. */
  line?: number;
  key: string;
  date: string;
  day: number;
  values: Record<string, number | string | null>;
}

const PARQUET_EXT = /\.(parquet|pq)$/i;

/** Whether a file is read as CSV (anything not named `.parquet` or `.pq`). */
const csvFile = (file: string) => !PARQUET_EXT.test(file);

/** Normalizes a column name for matching: lower case, letters and digits only. */
function norm(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

const ALIASES: Record<string, string[]> = {
  ticker: ["ticker", "symbol", "name", "code"],
  series: ["series", "symbol", "ticker", "name"],
  date: ["date", "day", "timestamp", "datetime"],
  report_date: ["reportdate", "reporteddate", "date"],
  adj_close: ["adjclose", "adjustedclose"],
  volume: ["volume", "vol"],
  reported_eps: ["reportedeps"],
  estimated_eps: ["estimatedeps"],
  surprise_percentage: ["surprisepercentage", "surprisepct"],
  fiscal_date_ending: ["fiscaldateending"],
};

/** Days since 1970-01-01 of a valid calendar date from year 1000 to 9999, or null. */
function dayNumber(y: number, m: number, d: number): number | null {
  const iso = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  return y >= 1000 && y <= 9999 && isIsoDate(iso) ? isoToDay(iso) : null;
}

/**
 * Parses a date cell into a day number (days since 1970-01-01), or null when it is not a date.
 *
 * @param value The cell: a string, a JS `Date` (Parquet Date/Datetime) or null.
 * @param format `iso` accepts YYYY-MM-DD, YYYY/MM/DD and YYYYMMDD with an optional time part;
 *   `mdy` and `dmy` accept M/D/YYYY and D/M/YYYY (also with `-` or `.`).
 * @returns The day number, or null.
 */
export function parseDateCell(
  value: unknown,
  format: "iso" | "mdy" | "dmy" = "iso",
): number | null {
  if (value instanceof Date) {
    // Its UTC day; a date outside years 0000..9999 is not one.
    const iso = Number.isNaN(value.getTime()) ? "" : dateToIso(value);
    return isIsoDate(iso) ? isoToDay(iso) : null;
  }
  if (typeof value !== "string") return null;
  const s = value.trim();
  if (format === "iso") {
    const m =
      /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(s) ??
        /^(\d{4})(\d{2})(\d{2})$/.exec(s);
    return m ? dayNumber(+m[1], +m[2], +m[3]) : null;
  }
  const m = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(s);
  if (!m) return null;
  return format === "mdy" ? dayNumber(+m[3], +m[1], +m[2]) : dayNumber(+m[3], +m[2], +m[1]);
}

/** Parses a numeric cell: null/empty → null; otherwise a number (maybe NaN). */
function numberCell(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  const s = String(value).trim();
  if (s === "") return null;
  return Number(s);
}

/** Weekdays strictly between two day numbers (trading days missing, holidays counted). */
function weekdaysBetween(a: number, b: number): number {
  let n = 0;
  for (let d = a + 1; d < b; d++) {
    const wd = (d + 4) % 7; // 1970-01-01 was a Thursday (4)
    if (wd !== 0 && wd !== 6) n++;
  }
  return n;
}

/** The columns of a file as JS values; for CSV, the file line each data row starts on. */
/** A file's columns as JS values (exported for the news importer, `./news.ts`). */
export interface FileColumns {
  columns: string[];
  data: Record<string, unknown[]>;
  height: number;
  /** CSV: the line of data row `row` (1-based). */
  lineOf?: (row: number) => number;
}

/** Most layout problems (ragged lines) reported per file; the rest are counted. */
const MAX_LAYOUT_PROBLEMS = 20;

/** The problems that make a CSV file's layout unreadable, located by line, field and byte. */
function layoutProblems(file: string, bytes: Uint8Array, layout: CsvLayout): ImportProblem[] {
  const { header, fault } = layout;
  const fieldName = (f: number) => header[f] !== undefined ? ` ("${header[f]}")` : "";
  if (fault) {
    const at = `${file}: line ${fault.line}, field ${fault.field + 1}${fieldName(fault.field)}`;
    const base = { file, line: fault.line, offset: fault.offset, column: header[fault.field] };
    if (fault.kind === "encoding") {
      const hex = fault.bytes.map((b) => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`);
      return [{
        ...base,
        kind: "encoding",
        message: `${at}, column ${columnOf(bytes, fault.offset)} (byte offset ${fault.offset}): ` +
          `invalid UTF-8 ${hex.length > 1 ? "sequence" : "byte"} ${hex.join(" ")}: the file ` +
          "must be UTF-8 text (convert it, e.g. iconv -f latin1 -t utf-8)",
      }];
    }
    return [{
      ...base,
      kind: "layout",
      message: fault.kind === "unclosed-quote"
        ? `${at}: a quoted field opened here is never closed`
        : `${at}, column ${columnOf(bytes, fault.offset)}: text after a closing quote ` +
          '(a quote inside a quoted field is written "")',
    }];
  }
  if (layout.fieldCounts[0] === 0) {
    return [{
      kind: "layout",
      file,
      line: 1,
      message: `${file}: line 1 is blank: the first line must be the header`,
    }];
  }
  const want = layout.fieldCounts[0];
  const names = header.map((h) => `"${h}"`).join(", ");
  const problems: ImportProblem[] = layout.ragged.slice(0, MAX_LAYOUT_PROBLEMS).map((r) => ({
    kind: "layout",
    file,
    line: r.line,
    message: r.fields === 0
      ? `${file}: line ${r.line} is blank: every line needs the header's ${want} fields (${names})`
      : `${file}: line ${r.line} has ${r.fields} field${r.fields === 1 ? "" : "s"}: the header ` +
        `has ${want} (${names})`,
  }));
  const rest = layout.ragged.length - MAX_LAYOUT_PROBLEMS;
  if (rest > 0) {
    problems.push({
      kind: "layout",
      file,
      message: `${file}: ${rest} more lines do not have the header's ${want} fields`,
    });
  }
  return problems;
}

/**
 * Reads a CSV or Parquet file into named columns of JS values, or the located problems that
 * prevent it.
 *
 * @param file the file
 * @returns its columns, or its problems
 */
export function readColumns(file: string): FileColumns | ImportProblem[] {
  let df: pl.DataFrame;
  const csv = csvFile(file);
  let bytes = new Uint8Array(0);
  try {
    if (csv) bytes = Deno.readFileSync(file);
    else Deno.statSync(file);
  } catch (e) {
    return [{ kind: "read", file, message: `Cannot read "${file}": ${(e as Error).message}` }];
  }
  let layout: CsvLayout | null = null;
  if (csv) {
    if (bytes.length === 0) {
      return [{
        kind: "empty",
        file,
        message: `${file}: the file is empty: expected a header line (e.g. "date,ticker,close")`,
      }];
    }
    layout = scanCsv(bytes);
    if (layout.fault === null && layout.recordLines.length === 0) {
      return [{
        kind: "empty",
        file,
        message: `${file}: only blank lines: expected a header line`,
      }];
    }
    const problems = layoutProblems(file, bytes, layout);
    if (problems.length > 0) return problems;
  }
  try {
    df = csv
      ? pl.readCSV(Buffer.from(bytes.buffer, bytes.byteOffset, layout!.end), {
        inferSchemaLength: 0,
      })
      : pl.readParquet(file);
  } catch (e) {
    return [{
      kind: "read",
      file,
      message: `Cannot parse "${file}" as ${csv ? "CSV" : "Parquet"}: ${
        String((e as Error).message).split("\n")[0]
      }`,
    }];
  }
  const data: Record<string, unknown[]> = {};
  for (const name of df.columns) data[name] = df.getColumn(name).toArray() as unknown[];
  const lines = layout?.recordLines;
  // The layout and the parser agree on the records (checked), so data row N is record N.
  const lineOf = lines && lines.length === df.height + 1 ? (row: number) => lines[row] : undefined;
  return { columns: df.columns, data, height: df.height, lineOf };
}

/** Describes where a row is: `row 3 (line 4)` when its CSV line is known, else `row 3`. */
function where(row: number, line?: number): string {
  return line !== undefined ? `row ${row} (line ${line})` : `row ${row}`;
}

/** Finds the source column of a target field: the mapping, else a name or alias match. */
function findColumn(field: string, columns: string[], mapping: ColumnMapping): string | undefined {
  if (mapping[field] !== undefined) {
    return columns.includes(mapping[field]) ? mapping[field] : undefined;
  }
  const names = [norm(field), ...(ALIASES[field] ?? [])];
  const mappedSources = new Set(Object.values(mapping));
  for (const n of names) {
    const hit = columns.find((c) => norm(c) === n && !mappedSources.has(c));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** One file to read, with the ticker its rows have when it has no ticker column. */
interface Source {
  file: string;
  /** From `--ticker`, or the file's name inside a folder. */
  key?: string;
  /** Where `key` came from, for messages. */
  keyFrom?: string;
}

/** A folder file's ticker: its name without the extension (`AAPL.csv` → `AAPL`). */
function tickerOfFile(name: string): string {
  return name.replace(/\.(csv|txt|tsv|parquet|pq)$/i, "");
}

/**
 * The files to read: each input file, and each visible file of an input folder (its ticker from
 * the file name), in name order.
 */
function sourcesOf(options: ImportOptions, problems: ImportProblem[]): Source[] {
  const sources: Source[] = [];
  for (const input of options.inputs) {
    let dir = false;
    try {
      dir = Deno.statSync(input).isDirectory;
    } catch {
      // readColumns reports the missing file
    }
    if (!dir) {
      sources.push({ file: input });
      continue;
    }
    const names = [...Deno.readDirSync(input)]
      .filter((e) => e.isFile && !e.name.startsWith("."))
      .map((e) => e.name).sort();
    if (names.length === 0) {
      problems.push({ kind: "empty", file: input, message: `${input}: the folder has no files` });
    }
    for (const name of names) {
      sources.push({ file: join(input, name), key: tickerOfFile(name), keyFrom: "its file name" });
    }
  }
  if (options.ticker !== undefined) {
    const ticker = options.ticker.trim();
    if (ticker === "") throw new TypeError("Invalid --ticker: the symbol is empty");
    if (sources.length !== 1) {
      throw new TypeError(
        `--ticker "${ticker}" names the ticker of one file, but ${sources.length} files were given: ` +
          "put per-ticker files in a folder instead (each ticker is its file name)",
      );
    }
    sources[0] = { file: sources[0].file, key: ticker, keyFrom: "--ticker" };
  }
  return sources;
}

/** Parses the rows of one file into {@linkcode Row}s, adding problems as it goes. */
function parseFile(
  source: Source,
  options: ImportOptions,
  spec: TableSpec,
  problems: ImportProblem[],
  lines: Map<string, ((row: number) => number) | undefined>,
  layouts: ImportReport["layouts"],
): Row[] {
  const file = source.file;
  const read = readColumns(file);
  if (Array.isArray(read)) {
    problems.push(...read);
    return [];
  }
  const { columns, data, height, lineOf } = read;
  lines.set(file, lineOf);
  const layout = detectLayout(columns, options.form);
  layouts.push({ file, layout });
  const mapping = options.mapping;
  const format = options.dateFormat ?? "iso";
  const colList = columns.map((c) => `"${c}"`).join(", ");
  // Mapped source columns must exist.
  let broken = false;
  for (const [field, source] of Object.entries(mapping)) {
    if (!columns.includes(source)) {
      problems.push({
        kind: "unknown-column",
        file,
        column: source,
        message:
          `${file}: mapped column "${source}" (for "${field}") is not in the file: it has ${colList}`,
      });
      broken = true;
    }
  }
  if (broken) return [];
  if (height === 0) {
    problems.push({
      kind: "empty",
      file,
      line: csvFile(file) ? 1 : undefined,
      message: `${file}: no data rows${csvFile(file) ? " after the header (line 1)" : ""}`,
    });
    return [];
  }
  const dateCol = findColumn(spec.date, columns, mapping);
  const rows: Row[] = [];
  const missing: string[] = [];
  if (dateCol === undefined) missing.push(spec.date);
  // Data row i's number, where it is for messages, and its date's day (null after a problem).
  const rowAt = (i: number) => {
    const r = i + 1;
    const at = `${file}: ${where(r, lineOf?.(r))}`;
    const place = { at, file, row: r, column: dateCol! };
    return { r, at, day: dayOrProblem(data[dateCol!][i], format, place, problems, true) };
  };

  if (options.form === "long") {
    const keyCol = findColumn(spec.key, columns, mapping);
    if (keyCol !== undefined && source.keyFrom === "--ticker") {
      problems.push({
        kind: "ticker",
        file,
        column: keyCol,
        message: `${file}: --ticker "${source.key}" is for a file without a ${spec.key} column, ` +
          `but this one has "${keyCol}": drop --ticker`,
      });
      return [];
    }
    if (keyCol === undefined && source.key === undefined) {
      problems.push({
        kind: "missing-column",
        file,
        line: csvFile(file) ? 1 : undefined,
        message:
          `${file}${
            csvFile(file) ? ": header (line 1)" : ""
          }: no ${spec.key} column (the file has ${colList}; layout ${LAYOUT_TEXT[layout]}): ` +
          `a single-${spec.key} file takes --ticker SYMBOL, and a folder of per-${spec.key} files ` +
          "takes each one from its file name",
      });
      return [];
    }
    const fieldCols: Record<string, string> = {};
    const ohlcv = layout !== "long" && layout !== "wide";
    for (const field of Object.keys(spec.fields)) {
      // A downloaded index file read as a market series: its value is the (adjusted) close.
      const c = findColumn(field, columns, mapping) ??
        (field === "value" && ohlcv
          ? findColumn("adj_close", columns, mapping) ?? findColumn("close", columns, mapping)
          : undefined);
      if (c !== undefined) fieldCols[field] = c;
      else if (spec.required.includes(field)) missing.push(field);
    }
    if (missing.length === 0 && Object.keys(fieldCols).length === 0) {
      missing.push(`one of ${Object.keys(spec.fields).map((f) => `"${f}"`).join(", ")}`);
    }
    if (missing.length > 0) {
      const required = [spec.date, spec.key, ...spec.required].map((c) => `"${c}"`).join(", ");
      problems.push({
        kind: "missing-column",
        file,
        line: csvFile(file) ? 1 : undefined,
        message:
          `${file}${csvFile(file) ? ": header (line 1)" : ""}: missing required column${
            missing.length > 1 ? "s" : ""
          } ${missing.map((c) => c.startsWith("one of") ? c : `"${c}"`).join(", ")}: the "${
            options.table ?? "prices"
          }" table needs ${required}; the file has ${colList} ` +
          `(map other names with --map FIELD=COLUMN)`,
      });
      return [];
    }
    const keys = keyCol === undefined ? null : data[keyCol];
    for (let i = 0; i < height; i++) {
      const { r, at, day } = rowAt(i);
      const key = keys === null
        ? source.key!
        : keys[i] === null || keys[i] === undefined
        ? ""
        : String(keys[i]).trim();
      let ok = day !== null;
      if (key === "") {
        problems.push({
          kind: "ticker",
          file,
          row: r,
          column: keyCol,
          message: `${at}: empty ${spec.key} in column "${keyCol}"`,
        });
        ok = false;
      }
      const values: Record<string, number | string | null> = {};
      for (const [field, col] of Object.entries(fieldCols)) {
        const v = checkValue(field, col, data[col][i], spec, format, at, key, file, r, problems);
        if (v === undefined) ok = false;
        else values[field] = v;
      }
      if (ok) {
        rows.push({
          file,
          row: r,
          line: lineOf?.(r),
          key,
          date: dayToIso(day!),
          day: day!,
          values,
        });
      }
    }
    // Alpha Vantage writes the newest row first: its rows are read oldest first.
    if (layout === "alpha-vantage" && rows.length > 1 && rows[0].day > rows[rows.length - 1].day) {
      rows.reverse();
    }
    return rows;
  }

  // Wide form: date + one column per ticker (or series), all holding one field.
  const field = options.field ?? spec.wideField;
  for (const f of Object.keys(mapping)) {
    if (f !== spec.date && f !== "date") {
      problems.push({
        kind: "unknown-field",
        file,
        message: `${file}: wide form maps only the date column; "${f}" cannot be mapped ` +
          `(every other column is a ${spec.key}, holding "${field}")`,
      });
      return [];
    }
  }
  if (missing.length > 0) {
    problems.push({
      kind: "missing-column",
      file,
      message:
        `${file}: missing required column "${spec.date}" (wide form needs a date column and ` +
        `one column per ${spec.key}); the file has ${colList}`,
    });
    return [];
  }
  const keyCols = columns.filter((c) => c !== dateCol);
  const fieldNamed = keyCols.filter((c) => OHLCV_NAMES.has(norm(c)));
  if (layout !== "wide" || fieldNamed.length >= 2) {
    problems.push({
      kind: "layout",
      file,
      line: csvFile(file) ? 1 : undefined,
      column: fieldNamed[0],
      message: `${file}${csvFile(file) ? ": header (line 1)" : ""}: columns ${
        fieldNamed.map((c) => `"${c}"`).join(", ")
      } are price fields, not ${spec.key}s (layout ${LAYOUT_TEXT[layout]}): a wide file holds ` +
        `one column per ${spec.key}; import one ${spec.key}'s file in long form with ` +
        `--ticker SYMBOL, or a folder of per-${spec.key} files`,
    });
    return [];
  }
  if (keyCols.length === 0) {
    problems.push({
      kind: "missing-column",
      file,
      message:
        `${file}: wide form needs one column per ${spec.key} besides "${dateCol}"; the file has ${colList}`,
    });
    return [];
  }
  for (let i = 0; i < height; i++) {
    const { r, at, day } = rowAt(i);
    if (day === null) continue;
    for (const col of keyCols) {
      const cell = data[col][i];
      if (numberCell(cell) === null) continue; // not traded that day
      const v = checkValue(field, col, cell, spec, format, at, col.trim(), file, r, problems);
      if (v === undefined) continue;
      rows.push({
        file,
        row: r,
        line: lineOf?.(r),
        key: col.trim(),
        date: dayToIso(day),
        day,
        values: { [field]: v },
      });
    }
  }
  return rows;
}

/**
 * Parses a date cell; returns its day, or null after recording a problem where the cell is. A
 * row's own date names the format expected (`withFormat`); a date-valued field does not.
 */
function dayOrProblem(
  cell: unknown,
  format: "iso" | "mdy" | "dmy",
  place: { at: string; file: string; row: number; column: string; ticker?: string },
  problems: ImportProblem[],
  withFormat = false,
): number | null {
  const day = parseDateCell(cell, format);
  if (day !== null) return day;
  const { at, file, row, column, ticker } = place;
  const expected = withFormat
    ? `: expected ${format === "iso" ? "YYYY-MM-DD" : format === "mdy" ? "M/D/YYYY" : "D/M/YYYY"}`
    : "";
  problems.push({
    kind: "date",
    file,
    row,
    column,
    ...(ticker === undefined ? {} : { ticker }),
    message: `${at}: unparseable date ${JSON.stringify(cell)} in column "${column}"${expected}`,
  });
  return null;
}

/** Checks one value cell; returns the value, or undefined after recording a problem. */
function checkValue(
  field: string,
  col: string,
  cell: unknown,
  spec: TableSpec,
  format: "iso" | "mdy" | "dmy",
  at: string,
  key: string,
  file: string,
  row: number,
  problems: ImportProblem[],
): number | string | null | undefined {
  const check = spec.fields[field].check;
  if (check === "date") {
    if (cell === null || cell === undefined || String(cell).trim() === "") return null;
    const d = dayOrProblem(cell, format, { at, file, row, column: col, ticker: key }, problems);
    return d === null ? undefined : dayToIso(d);
  }
  const v = numberCell(cell);
  if (v === null) {
    if (spec.required.includes(field)) {
      problems.push({
        kind: field === "close" ? "price" : "value",
        file,
        row,
        column: col,
        ticker: key,
        message: `${at}: missing "${field}" for "${key}" in column "${col}"`,
      });
      return undefined;
    }
    return null;
  }
  const isPrice = spec.key === "ticker" && check === "positive";
  const bad = !Number.isFinite(v)
    ? "not a finite number"
    : check === "positive" && v <= 0
    ? "not positive"
    : check === "nonNegative" && v < 0
    ? "negative"
    : null;
  if (bad) {
    problems.push({
      kind: isPrice ? "price" : "value",
      file,
      row,
      column: col,
      ticker: key,
      message:
        `${at}: ${isPrice ? "price" : "value"} ${
          JSON.stringify(cell)
        } for "${key}" in column "${col}" ` +
        `is ${bad}: "${field}" must be ${VALUE_RULE_TEXT[check]}`,
    });
    return undefined;
  }
  return v;
}

/** How a duplicate row compares with the first: the same values, or the first that differs. */
function sameOrNot(a: Row, b: Row): string {
  for (const f of new Set([...Object.keys(a.values), ...Object.keys(b.values)])) {
    const x = a.values[f] ?? null;
    const y = b.values[f] ?? null;
    if (x !== y) return ` with "${f}" ${JSON.stringify(x)} there and ${JSON.stringify(y)} here`;
  }
  return " with the same values";
}

/**
 * Cross-row checks: duplicates, order, gaps, history length, and (daily tables) that each key's
 * rows are daily. Records each key's detected frequency in `frequencies`.
 */
function checkRows(
  rows: Row[],
  spec: TableSpec,
  options: ImportOptions,
  problems: ImportProblem[],
  frequencies: Record<string, Frequency>,
) {
  const byKey = new Map<string, Row[]>();
  for (const r of rows) {
    const list = byKey.get(r.key);
    if (list) list.push(r);
    else byKey.set(r.key, [r]);
  }
  const loc = (r: Row) => `${r.file}: ${where(r.row, r.line)}`;
  for (const [key, list] of byKey) {
    // Unsorted: within each file, dates of a key must ascend in file order.
    const lastInFile = new Map<string, Row>();
    const firstUnsorted = new Map<string, ImportProblem>();
    const outOfOrder = new Map<string, number>();
    for (const r of list) {
      const prev = lastInFile.get(r.file);
      if (prev && r.day < prev.day) {
        outOfOrder.set(r.file, (outOfOrder.get(r.file) ?? 0) + 1);
        if (!firstUnsorted.has(r.file)) {
          const p: ImportProblem = {
            kind: "unsorted",
            file: r.file,
            row: r.row,
            ticker: key,
            message:
              `${loc(r)}: dates of "${key}" are not in ascending order: ${r.date} comes after ` +
              `${prev.date} at ${where(prev.row, prev.line)}`,
          };
          firstUnsorted.set(r.file, p);
          problems.push(p);
        }
      }
      if (!prev || r.day > prev.day) lastInFile.set(r.file, r);
    }
    for (const [file, p] of firstUnsorted) {
      const n = outOfOrder.get(file) ?? 0;
      if (n > 1) p.message += ` (${n} rows out of order in this file)`;
    }
    const sorted = [...list].sort((a, b) => a.day - b.day);
    const days = sorted.map((r) => r.day);
    const frequency = detectFrequency(days);
    frequencies[key] = frequency;
    const daily = spec.daily && frequency === "daily";
    if (spec.daily && !daily) {
      const first = sorted[0];
      const last = sorted[sorted.length - 1];
      problems.push({
        kind: "frequency",
        file: first.file,
        row: first.row,
        ticker: key,
        message: `${loc(first)}: "${key}" is ${frequency}, not daily: its rows are a median of ` +
          `${medianGap(days)} days apart (${sorted.length} rows, ${first.date} to ${last.date}); ` +
          `the "prices" table needs daily rows (daily returns, the quarterly roll-up and the ` +
          `backtest use them), so a ${frequency} series goes to the "market" table (--table market)`,
      });
    }
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1];
      const b = sorted[i];
      if (a.day === b.day) {
        problems.push({
          kind: "duplicate",
          file: b.file,
          row: b.row,
          ticker: key,
          message:
            `${loc(b)}: duplicate (${spec.key}, ${spec.date}) ("${key}", ${b.date}): already at ` +
            `${a.file === b.file ? where(a.row, a.line) : loc(a)}${sameOrNot(a, b)}`,
        });
      } else if (daily) {
        const missingDays = weekdaysBetween(a.day, b.day);
        if (missingDays > options.maxGapDays) {
          problems.push({
            kind: "gap",
            file: b.file,
            row: b.row,
            ticker: key,
            message:
              `${loc(b)}: gap in "${key}" from ${a.date} to ${b.date}: ${missingDays} trading ` +
              `days missing (more than --max-gap-days ${options.maxGapDays})`,
          });
        }
      }
    }
    if (daily && list.length < options.minHistoryDays) {
      problems.push({
        kind: "history",
        file: list[0].file,
        ticker: key,
        message: `${list[0].file}: "${key}" has ${list.length} rows (${sorted[0].date} to ${
          sorted[sorted.length - 1].date
        }), fewer than --min-history-days ${options.minHistoryDays}`,
      });
    }
  }
}

/** Builds the table's dataframe with the documented dtypes, sorted by key and date. */
function toFrame(rows: Row[], spec: TableSpec, table: TableName): pl.DataFrame {
  const sorted = [...rows].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : a.day - b.day);
  const present = new Set<string>();
  for (const r of sorted) for (const f of Object.keys(r.values)) present.add(f);
  const cols: pl.Series[] = [];
  const dateSeries = (name: string, values: (string | null)[]) =>
    pl.Series(name, values, pl.Utf8).str.strptime(pl.Date, "%Y-%m-%d").alias(name);
  if (table === "market") {
    cols.push(dateSeries("date", sorted.map((r) => r.date)));
    cols.push(pl.Series("series", sorted.map((r) => r.key), pl.Utf8));
  } else {
    cols.push(pl.Series("ticker", sorted.map((r) => r.key), pl.Utf8));
    cols.push(dateSeries(spec.date, sorted.map((r) => r.date)));
  }
  for (const [field, f] of Object.entries(spec.fields)) {
    // prices: optional columns only when given; the other tables always have every column
    if (!present.has(field) && !spec.required.includes(field) && table === "prices") continue;
    const values = sorted.map((r) => r.values[field] ?? null);
    cols.push(
      f.check === "date"
        ? dateSeries(field, values as (string | null)[])
        : pl.Series(field, values as (number | null)[], pl.Float64),
    );
  }
  return pl.DataFrame(cols);
}

/**
 * Checks that a dataset may be written at `dir`: it is absent, an empty folder or a dataset folder
 * (has `manifest.json`), so a folder holding anything else is never replaced.
 *
 * @param dir The destination.
 * @throws {Error} When `dir` exists, is not empty and is not a dataset folder.
 */
export async function assertReplaceable(dir: string): Promise<void> {
  if ((await existingDataset(dir)) === "other") {
    throw new Error(
      `Refusing to replace "${dir}": it exists, is not empty and has no manifest.json (not a dataset folder)`,
    );
  }
}

/** Whether `dir` is absent, an empty folder, a dataset folder or something else. */
async function existingDataset(dir: string): Promise<"none" | "empty" | "dataset" | "other"> {
  try {
    const st = await Deno.stat(dir);
    if (!st.isDirectory) return "other";
  } catch {
    return "none";
  }
  let empty = true;
  for await (const e of Deno.readDir(dir)) {
    if (e.name === "manifest.json") return "dataset";
    empty = false;
  }
  return empty ? "empty" : "other";
}

/**
 * Imports CSV or Parquet files into a dataset folder, validating everything first.
 *
 * @param options What to read, how, and where to write; see {@linkcode ImportOptions}.
 * @returns A report: `ok` with the manifest written, or every problem found (nothing written).
 * @throws {TypeError} When the options themselves are invalid (unknown form, table or field).
 * @example
 * ```ts
 * const report = await importDataset({
 *   inputs: ["prices.csv"], form: "long", mapping: { close: "Adj Close" },
 *   out: "data/my-set", maxGapDays: 10, minHistoryDays: 20,
 * });
 * if (!report.ok) console.error(formatImportReport(report));
 * ```
 */
export async function importDataset(options: ImportOptions): Promise<ImportReport> {
  const table = options.table ?? "prices";
  if (table === "news") {
    throw new TypeError(
      'The "news" table is text, imported from CSV or JSON Lines by importNews (src/data/news.ts): deno task data import --table news --out DIR FILE',
    );
  }
  if (!TABLE_NAMES.includes(table)) {
    throw new TypeError(`Unknown table "${table}": expected one of ${TABLE_NAMES.join(", ")}`);
  }
  if (options.form !== "long" && options.form !== "wide") {
    throw new TypeError(`Unknown form "${options.form}": expected "long" or "wide"`);
  }
  if (options.inputs.length === 0) throw new TypeError("No input files given");
  const spec = TABLES[table];
  const allowed = [spec.key, spec.date, ...Object.keys(spec.fields)];
  if (spec.date !== "date") allowed.push("date");
  const problems: ImportProblem[] = [];
  const unknownFields = Object.keys(options.mapping).filter((f) => !allowed.includes(f));
  if (options.field !== undefined && !(options.field in spec.fields)) {
    unknownFields.push(options.field);
  }
  if (unknownFields.length > 0) {
    problems.push({
      kind: "unknown-field",
      file: "(mapping)",
      message: `Unknown field${unknownFields.length > 1 ? "s" : ""} ${
        unknownFields.map((f) => `"${f}"`).join(", ")
      } for the "${table}" table: allowed fields are ${allowed.map((f) => `"${f}"`).join(", ")}`,
    });
  }
  const mapping = { ...options.mapping };
  if (spec.date !== "date" && mapping.date !== undefined && mapping[spec.date] === undefined) {
    mapping[spec.date] = mapping.date;
    delete mapping.date;
  }
  const opts = { ...options, table, mapping };
  const rows: Row[] = [];
  const lines = new Map<string, ((row: number) => number) | undefined>();
  const layouts: ImportReport["layouts"] = [];
  const frequencies: Record<string, Frequency> = {};
  let indexRows: Row[] = [];
  if (problems.length === 0) {
    for (const source of sourcesOf(options, problems)) {
      for (const r of parseFile(source, opts, spec, problems, lines, layouts)) rows.push(r);
    }
    if (table === "prices") indexRows = takeIndexRows(rows, options, problems);
    checkRows(rows, spec, opts, problems, frequencies);
    checkRows(indexRows, TABLES.market, opts, problems, frequencies);
    for (const p of problems) {
      if (p.row !== undefined && p.line === undefined) p.line = lines.get(p.file)?.(p.row);
    }
  }
  const keys = [...new Set(rows.map((r) => r.key))].sort();
  const seriesNames = [...new Set(indexRows.map((r) => r.key))].sort();
  let minDay = Infinity;
  let maxDay = -Infinity;
  for (const r of rows) {
    if (r.day < minDay) minDay = r.day;
    if (r.day > maxDay) maxDay = r.day;
  }
  const from = rows.length ? dayToIso(minDay) : null;
  const to = rows.length ? dayToIso(maxDay) : null;
  const withAdjusted = new Set(rows.filter((r) => r.values.adj_close != null).map((r) => r.key));
  const lacking = new Set(rows.filter((r) => r.values.adj_close == null).map((r) => r.key));
  const returns: ReturnsColumn | null = table !== "prices"
    ? null
    : rows.length > 0 && rows.every((r) => r.values.adj_close != null)
    ? "adj_close"
    : "close";
  const report: ImportReport = {
    ok: false,
    out: options.out,
    table,
    rows: rows.length,
    tickers: table === "market" ? [] : keys,
    from,
    to,
    problems,
    manifest: null,
    layouts,
    frequencies,
    returns,
    marketSeries: seriesNames,
  };
  if (problems.length > 0 || rows.length === 0) {
    if (problems.length === 0) {
      problems.push({
        kind: "empty",
        file: options.inputs.join(", "),
        message: "No data rows in the input",
      });
    }
    return report;
  }

  let keep: TableName[] = [];
  let previous: Manifest | null = null;
  if (options.add) {
    try {
      previous = JSON.parse(
        await Deno.readTextFile(join(options.out, "manifest.json")),
      ) as Manifest;
      keep = previous.tables.filter((t) => t !== table);
    } catch {
      previous = null;
    }
  }
  const seriesInfo = (list: Row[], names: string[]): SeriesInfo[] =>
    names.map((name) => ({
      name,
      frequency: frequencies[name],
      description: `imported from ${
        [...new Set(list.filter((r) => r.key === name).map((r) => r.file))].join(", ")
      }`,
    }));
  // The series this import writes: a market import's, or the index series of a prices import.
  const series = table === "market" ? seriesInfo(rows, keys) : seriesInfo(indexRows, seriesNames);
  const written = new Set(series.map((x) => x.name));
  const files = options.inputs.join(", ");
  const tickers = table === "market" ? [] : keys;
  // `from`/`to` are the span of the daily prices: only a prices import sets them.
  const span = table !== "prices" && previous?.tables.includes("prices")
    ? { from: previous.from, to: previous.to }
    : { from: from!, to: to! };
  const warnings = (previous?.warnings ?? []).filter((w) => !ADJUSTED_WARNING.test(w));
  if (returns === "close" && withAdjusted.size > 0) {
    const without = keys.filter((k) => lacking.has(k));
    warnings.push(
      `Returns use raw closes: adjusted closes are missing for ${
        without.length > 5 ? `${without.length} tickers` : without.map((k) => `"${k}"`).join(", ")
      }, so dividends are left out for every ticker`,
    );
  }
  const manifest: Manifest = {
    name: options.name ?? previous?.name ?? basename(resolve(options.out)),
    description: options.description ?? previous?.description ?? `Imported from ${files}`,
    synthetic: false,
    provenance: previous
      ? `${previous.provenance}; ${table} imported from ${files}`
      : `imported from ${files}`,
    licence: options.licence ?? previous?.licence ?? "unknown",
    warnings: table === "prices" ? warnings : previous?.warnings ?? [],
    tables: TABLE_NAMES.filter((t) =>
      t === table || keep.includes(t) || (t === "market" && indexRows.length > 0)
    ),
    tickers: previous ? [...new Set([...previous.tickers, ...tickers])].sort() : tickers,
    from: span.from,
    to: span.to,
    index: options.index ?? previous?.index ?? null,
    riskFree: options.riskFree ?? previous?.riskFree ?? null,
    series: [
      ...(previous?.series ?? []).filter((x) => table !== "market" && !written.has(x.name)),
      ...series,
    ],
  };
  const returnsOf = returns ?? previous?.returns;
  if (returnsOf) manifest.returns = returnsOf;
  try {
    await assertReplaceable(options.out);
    const tables: Partial<Record<TableName, pl.DataFrame>> = {};
    for (const t of keep) tables[t] = pl.readParquet(tablePath(options.out, t));
    tables[table] = toFrame(rows, spec, table);
    if (indexRows.length > 0) {
      const fresh = toFrame(indexRows, TABLES.market, "market");
      const old = tables.market?.filter(pl.col("series").isIn(seriesNames).not());
      tables.market = old && old.height > 0
        ? pl.concat([old.select(...fresh.columns), fresh]).sort(["series", "date"])
        : fresh;
    }
    await writeDataset(options.out, manifest, tables);
  } catch (e) {
    problems.push({ kind: "destination", file: options.out, message: (e as Error).message });
    return report;
  }
  report.ok = true;
  report.manifest = manifest;
  return report;
}

/** The manifest warning of a prices import whose returns could not use adjusted closes. */
const ADJUSTED_WARNING = /^Returns use raw closes: adjusted closes are missing/;

/**
 * Moves the rows of index series (`marketSeries`, and tickers starting with `^`) out of a prices
 * import's rows and returns them as market rows, valued at their adjusted close, else their close.
 */
function takeIndexRows(rows: Row[], options: ImportOptions, problems: ImportProblem[]): Row[] {
  const named = new Set(options.marketSeries ?? []);
  const isIndex = (key: string) => key.startsWith("^") || named.has(key);
  const index: Row[] = [];
  let kept = 0;
  for (const r of rows) {
    if (!isIndex(r.key)) {
      rows[kept++] = r;
      continue;
    }
    const value = r.values.adj_close ?? r.values.close;
    index.push({ ...r, values: { value } });
  }
  rows.length = kept;
  const seen = new Set(index.map((r) => r.key));
  for (const name of named) {
    if (!seen.has(name)) {
      problems.push({
        kind: "ticker",
        file: options.inputs.join(", "),
        ticker: name,
        message: `--market-series "${name}" is not among the imported tickers`,
      });
    }
  }
  return index;
}

/**
 * Formats a report for the terminal: a summary line, then at most `maxLines` problems and a count
 * of the rest.
 *
 * @param report The import report.
 * @param maxLines Most problem lines to print (default 50).
 * @returns The text.
 */
export function formatImportReport(report: ImportReport, maxLines = 50): string {
  if (report.ok) {
    const keys = report.table === "market" ? "series" : "tickers";
    const lines = [
      `Imported ${report.rows} rows into the "${report.table}" table of ${report.out}: ` +
      `${
        report.table === "market" ? report.manifest?.series.length ?? 0 : report.tickers.length
      } ` +
      `${keys}, ${report.from} to ${report.to}`,
    ];
    const byLayout = new Map<ImportLayout, number>();
    for (const l of report.layouts) byLayout.set(l.layout, (byLayout.get(l.layout) ?? 0) + 1);
    lines.push(
      `  layout: ${
        [...byLayout].map(([l, n]) => `${LAYOUT_TEXT[l]}${n > 1 ? ` in ${n} files` : ""}`)
          .join("; ")
      }`,
    );
    const byFrequency = new Map<Frequency, string[]>();
    for (const [k, f] of Object.entries(report.frequencies)) {
      byFrequency.set(f, [...byFrequency.get(f) ?? [], k]);
    }
    lines.push(
      `  frequency: ${
        [...byFrequency].map(([f, ks]) =>
          byFrequency.size === 1 ? f : `${f} (${ks.map((k) => `"${k}"`).join(", ")})`
        ).join(", ")
      }`,
    );
    if (report.returns === "adj_close") {
      lines.push(
        "  returns: from adjusted closes (adj_close: total return, dividends and splits " +
          "included); the raw close stays for price-level features",
      );
    } else if (report.returns === "close") {
      lines.push(
        "  returns: from raw closes (no adjusted closes for every row: price return, " +
          "dividends left out)",
      );
    }
    if (report.marketSeries.length > 0) {
      lines.push(
        `  market series: ${
          report.marketSeries.map((s) => `"${s}"`).join(", ")
        } (index series go to the "market" table; --index SERIES makes one the benchmark)`,
      );
    }
    return lines.join("\n");
  }
  const n = report.problems.length;
  const lines = [
    `Import failed with ${n} problem${n === 1 ? "" : "s"}; nothing was written to ${report.out}` +
    (report.problems.some((p) => p.row !== undefined)
      ? ` (row N is the Nth data row, the header not counted; a CSV row's file line is beside it):`
      : ":"),
  ];
  for (const p of report.problems.slice(0, maxLines)) lines.push(`  ${p.message}`);
  if (n > maxLines) lines.push(`  … and ${n - maxLines} more problems`);
  return lines.join("\n");
}
