/**
 * Datasets: a folder with `manifest.json` and one Parquet file per table.
 * The schema of each table is documented in `data/README.md`.
 *
 * @module
 */
import pl from "nodejs-polars";
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { createHash } from "node:crypto";
import { z } from "zod";
import { dateToIso, dayToIso } from "@alfred/core";
import { IsoDate } from "../config/schema.ts";

/** The tables a dataset may hold; any may be absent. */
export type TableName =
  | "prices"
  | "fundamentals"
  | "insider"
  | "sentiment"
  | "market"
  | "news"
  | "universe";

/** Every table name, in a stable order. */
export const TABLE_NAMES: readonly TableName[] = [
  "prices",
  "fundamentals",
  "insider",
  "sentiment",
  "market",
  "news",
  "universe",
];

/** One market or macro series held in the `market` table. */
export interface SeriesInfo {
  name: string;
  frequency: Frequency;
  description: string;
}

/** How often a series has a row: its median spacing (see `detectFrequency` in `./import.ts`). */
export type Frequency = "daily" | "weekly" | "monthly" | "quarterly";

/**
 * The prices column daily returns are computed from: `adj_close` (adjusted for dividends and
 * splits: total return) or `close` (price return). The raw `close` always feeds price-level
 * features.
 */
export type ReturnsColumn = "close" | "adj_close";

/** What a dataset is, where it came from and what it holds. */
export interface Manifest {
  name: string;
  description: string;
  synthetic: boolean;
  provenance: string;
  licence: string;
  /** Caveats every report using the dataset repeats (survivorship bias, synthetic data, ...). */
  warnings: string[];
  tables: TableName[];
  tickers: string[];
  from: string;
  to: string;
  /** Market series bought and held as the benchmark (e.g. "DJIA"). */
  index: string | null;
  /** Market series holding an annualized percent yield, used as the risk-free rate. */
  riskFree: string | null;
  series: SeriesInfo[];
  /**
   * The prices column returns (labels, ticker selection, the backtest) are computed from; absent:
   * `close`. The importer sets `adj_close` when every price row has an adjusted close.
   */
  returns?: ReturnsColumn;
  /** Synthetic datasets: generator parameters and planted features. */
  generator?: Record<string, unknown>;
}

/** A loaded dataset. */
export interface Dataset {
  name: string;
  dir: string;
  manifest: Manifest;
  has(table: TableName): boolean;
  /**
   * The table, whole; throws {@linkcode MissingTableError} when the dataset lacks it. A table
   * {@linkcode Dataset.release}d is read again.
   */
  table(table: TableName): pl.DataFrame;
  /**
   * The table as a Polars lazy frame: a scan of its file where it is not held in memory, so a
   * reader that selects a few columns or filters rows never holds the whole table (at 10,000
   * tickers the prices table is 65 million rows, about 5 GB). Throws
   * {@linkcode MissingTableError} when the dataset lacks it.
   */
  scan(table: TableName): pl.LazyDataFrame;
  /**
   * Lets go of a table held in memory once no stage needs it whole (the prices after the
   * features are built); a later {@linkcode Dataset.table} reads it again, and
   * {@linkcode Dataset.scan} scans its file. Does nothing where the table is not held or cannot be
   * read again.
   */
  release(table: TableName): void;
  /** sha256 over the manifest and the table files' bytes. */
  fingerprint(): Promise<string>;
}

/**
 * A table a feature or stage needs is absent from the dataset. It carries the config key that
 * asks for the table, where one does (`features.families.insider`), so a command can point at
 * that key in the experiment file.
 */
export class MissingTableError extends Error {
  /** The config key that asks for the table (`features.families.insider`), or null. */
  readonly configKey: string | null;

  /**
   * @param dataset the dataset's name
   * @param tableName the absent table
   * @param neededBy what needs it, for the message (`the "insider" feature family`)
   * @param configKey the config key that asks for it, where one does
   */
  constructor(
    readonly dataset: string,
    readonly tableName: TableName,
    readonly neededBy?: string,
    configKey?: string,
  ) {
    super(
      `Dataset "${dataset}" has no "${tableName}" table${
        neededBy ? `, which ${neededBy} needs` : ""
      }`,
    );
    this.name = "MissingTableError";
    this.configKey = configKey ?? null;
  }
}

/** Polars dtype names a column may have (`String` is Polars' current name for `Utf8`). */
export type ColumnType = "Date" | "String" | "Float64" | "Datetime";

/**
 * What a numeric column's values must be: `positive` finite and > 0 (prices), `nonNegative`
 * finite and ≥ 0 (volumes, share counts), `finite` any finite number.
 */
export type ValueRule = "positive" | "nonNegative" | "finite";

/** One documented column of a table. */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** The column must exist. */
  required: boolean;
  /** Its values may be null (a missing value); keys, dates and `close` may not. */
  nullable: boolean;
  /** What a numeric column's non-null values must be. */
  values?: ValueRule;
}

const col = (
  name: string,
  type: ColumnType,
  required: boolean,
  nullable: boolean,
  values?: ValueRule,
): ColumnSpec => (values ? { name, type, required, nullable, values } : {
  name,
  type,
  required,
  nullable,
});
const key = (name: string, type: ColumnType) => col(name, type, true, false);
const num = (name: string, values: ValueRule, required = true, nullable = true) =>
  col(name, "Float64", required, nullable, values);

/**
 * The documented columns of every table (see `data/README.md`) and the rules their values follow;
 * {@linkcode loadDataset}, {@linkcode writeDataset} and the importer check both. Extra columns are
 * allowed.
 */
export const TABLE_COLUMNS: Readonly<Record<TableName, readonly ColumnSpec[]>> = {
  prices: [
    key("date", "Date"),
    key("ticker", "String"),
    num("close", "positive", true, false),
    num("open", "positive", false),
    num("high", "positive", false),
    num("low", "positive", false),
    num("adj_close", "positive", false),
    num("volume", "nonNegative", false),
  ],
  fundamentals: [
    key("ticker", "String"),
    key("report_date", "Date"),
    col("fiscal_date_ending", "Date", true, true),
    num("margin_gross", "finite"),
    num("margin_operating", "finite"),
    num("margin_net_profit", "finite"),
    num("reported_eps", "finite"),
    num("estimated_eps", "finite"),
    num("surprise", "finite"),
    num("surprise_percentage", "finite"),
  ],
  insider: [
    key("ticker", "String"),
    key("date", "Date"),
    num("acquisition", "nonNegative"),
    num("disposal", "nonNegative"),
  ],
  sentiment: [
    key("ticker", "String"),
    key("date", "Date"),
    num("sentiment", "finite"),
    num("outlook", "finite"),
  ],
  market: [key("date", "Date"), key("series", "String"), num("value", "finite", true, false)],
  // One row per (article, ticker): an article about several tickers appears once for each.
  news: [
    key("ticker", "String"),
    key("published_at", "Datetime"),
    key("article_id", "String"),
    key("headline", "String"),
    col("summary", "String", true, true),
    col("source", "String", true, true),
    col("url", "String", true, true),
    num("provider_sentiment", "finite", false),
    num("provider_relevance", "finite", false),
  ],
  // One row per membership spell: listed (or joined the index) on `from`, delisted (or left it)
  // after `to`; `to` missing: still a member at the data's end.
  universe: [key("ticker", "String"), key("from", "Date"), col("to", "Date", true, true)],
};

/**
 * The key column (ticker or series) and the date column whose dates ascend per key: strictly,
 * unless the table names an `item` column, in which case dates may tie and (key, item) is unique
 * (news: several articles of a ticker may share a time stamp).
 */
export const TABLE_KEYS: Readonly<
  Record<
    TableName,
    {
      key: "ticker" | "series";
      date: "date" | "report_date" | "published_at" | "from";
      item?: string;
    }
  >
> = {
  prices: { key: "ticker", date: "date" },
  fundamentals: { key: "ticker", date: "report_date" },
  insider: { key: "ticker", date: "date" },
  sentiment: { key: "ticker", date: "date" },
  market: { key: "series", date: "date" },
  news: { key: "ticker", date: "published_at", item: "article_id" },
  universe: { key: "ticker", date: "from" },
};

/** What a {@linkcode ValueRule} asks for, in words. */
export const VALUE_RULE_TEXT: Readonly<Record<ValueRule, string>> = {
  positive: "a finite number > 0",
  nonNegative: "a finite number ≥ 0",
  finite: "a finite number",
};

const TableNameSchema = z.enum(TABLE_NAMES);

/** The zod schema of `manifest.json`; {@linkcode loadDataset} and {@linkcode writeDataset} check it. */
export const ManifestSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string(),
  synthetic: z.boolean(),
  provenance: z.string(),
  licence: z.string(),
  warnings: z.array(z.string()),
  tables: z.array(TableNameSchema).refine((t) => new Set(t).size === t.length, {
    message: "lists a table twice",
  }),
  tickers: z.array(z.string().min(1)),
  from: IsoDate,
  to: IsoDate,
  index: z.string().min(1).nullable(),
  riskFree: z.string().min(1).nullable(),
  series: z.array(z.strictObject({
    name: z.string().min(1),
    frequency: z.enum(["daily", "weekly", "monthly", "quarterly"]),
    description: z.string(),
  })),
  returns: z.enum(["close", "adj_close"]).optional(),
  generator: z.record(z.string(), z.unknown()).optional(),
});

/** A dataset folder, its manifest or one of its tables is not as documented. */
export class DatasetError extends Error {
  constructor(
    message: string,
    readonly dataset: string,
    readonly tableName?: TableName,
    readonly column?: string,
  ) {
    super(message);
    this.name = "DatasetError";
  }
}

/**
 * A dataset is not there: no folder by its name under the data roots, or its path is not a
 * folder (rather than a folder that is broken, a plain {@linkcode DatasetError}).
 */
export class DatasetNotFoundError extends DatasetError {
  /**
   * @param message what was looked for, and where
   * @param dataset the dataset reference
   */
  constructor(message: string, dataset: string) {
    super(message, dataset);
    this.name = "DatasetNotFoundError";
  }
}

/**
 * The prices column a dataset's returns are computed from.
 *
 * @param manifest the dataset's manifest
 * @returns `adj_close` where the manifest says so, else `close`
 * @example
 * ```ts
 * returnsColumn(dataset.manifest); // "close" for a dataset without adjusted closes
 * ```
 */
export function returnsColumn(manifest: Manifest): ReturnsColumn {
  return manifest.returns ?? "close";
}

/** The file holding a table inside a dataset folder. */
export function tablePath(dir: string, table: TableName): string {
  return join(dir, `${table}.parquet`);
}

function dtypeName(dtype: unknown): string {
  const variant = (dtype as { variant?: string }).variant;
  const name = variant ?? String(dtype).replace(/^DataType\((.*)\)$/, "$1");
  return name === "Utf8" ? "String" : name;
}

/**
 * Check a table's columns against {@linkcode TABLE_COLUMNS}.
 *
 * @param dataset the dataset name, for the message
 * @param table the table name
 * @param schema column name to Polars dtype
 * @throws {DatasetError} naming dataset, table, column and the expected dtype
 */
export function checkTableSchema(
  dataset: string,
  table: TableName,
  schema: Record<string, unknown>,
): void {
  for (const spec of TABLE_COLUMNS[table]) {
    if (!(spec.name in schema)) {
      if (!spec.required) continue;
      throw new DatasetError(
        `Dataset "${dataset}" table "${table}" has no column "${spec.name}": expected ${spec.type}; it has ${
          Object.keys(schema).map((c) => `"${c}"`).join(", ")
        }`,
        dataset,
        table,
        spec.name,
      );
    }
    const got = dtypeName(schema[spec.name]);
    if (
      got === "Datetime" && spec.type === "Datetime" && !/Datetime\(\w+,\s*[^)\s]+\)/.test(
        String(schema[spec.name]),
      )
    ) {
      throw new DatasetError(
        `Dataset "${dataset}" table "${table}" column "${spec.name}" has no time zone: expected a Datetime with a time zone (e.g. UTC)`,
        dataset,
        table,
        spec.name,
      );
    }
    if (got !== spec.type) {
      throw new DatasetError(
        `Dataset "${dataset}" table "${table}" column "${spec.name}" has dtype "${got}": expected ${spec.type}`,
        dataset,
        table,
        spec.name,
      );
    }
  }
}

/** A value as a message shows it: `-3.5`, `NaN`, `Infinity`, `missing (null)`. */
function shownValue(v: unknown): string {
  if (v === null || v === undefined) return "missing (null)";
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return "an invalid date";
    return v.getTime() % 86_400_000 === 0 ? dateToIso(v) : v.toISOString();
  }
  return String(v);
}

/**
 * Check a table's values: keys and dates present, dates strictly ascending per key (sorted, no
 * duplicates), every numeric column's values following its {@linkcode ValueRule} (prices finite
 * and > 0, `close` never missing). Polars expressions over whole columns: linear in the rows.
 *
 * @param dataset the dataset name, for the message
 * @param table the table name
 * @param df the table, with the documented columns and dtypes ({@linkcode checkTableSchema})
 * @param file the table's file, for the message
 * @throws {DatasetError} naming the dataset, the table file, the column, the ticker (or series)
 *   and the date of the first wrong row, and how many rows are wrong
 */
export function checkTableValues(
  dataset: string,
  table: TableName,
  df: pl.DataFrame,
  file: string,
): void {
  const { key, date, item } = TABLE_KEYS[table];
  const at = `Dataset "${dataset}" table "${table}" in "${file}"`;
  const ROW = "__alfred_row";
  const rows = df.withRowIndex(ROW);
  const firstOf = (bad: pl.Expr) => {
    const hits = rows.filter(bad);
    if (hits.height === 0) return null;
    return { n: hits.height, row: hits.head(1).toRecords()[0] as Record<string, unknown> };
  };
  const more = (n: number) => (n > 1 ? ` (${n} rows are wrong)` : "");
  const fail = (message: string, column: string): never => {
    throw new DatasetError(message, dataset, table, column);
  };
  const rowOf = (r: Record<string, unknown>) => Number(r[ROW]) + 1;

  const present = TABLE_COLUMNS[table].filter((s) =>
    !s.nullable && !s.values && df.columns.includes(s.name)
  );
  for (
    const c of [
      key,
      date,
      ...present.map((s) => s.name).filter((n) => n !== key && n !== date),
    ]
  ) {
    const hit = firstOf(pl.col(c).isNull());
    if (hit) {
      fail(
        `${at}: row ${rowOf(hit.row)} has no ${c}${
          c === date && hit.row[key] != null ? ` for "${hit.row[key]}"` : ""
        }: every row needs a ${key} and a ${date}${more(hit.n)}`,
        c,
      );
    }
  }

  for (const spec of TABLE_COLUMNS[table]) {
    if (!spec.values || !df.columns.includes(spec.name)) continue;
    const v = pl.col(spec.name);
    const wrong = spec.values === "positive"
      ? v.isFinite().not().or(v.ltEq(0))
      : spec.values === "nonNegative"
      ? v.isFinite().not().or(v.lt(0))
      : v.isFinite().not();
    const bad = spec.nullable ? v.isNotNull().and(wrong) : v.isNull().or(wrong);
    const hit = firstOf(bad);
    if (hit) {
      fail(
        `${at}: ${spec.name} of "${hit.row[key]}" on ${shownValue(hit.row[date])} (row ${
          rowOf(hit.row)
        }) is ${shownValue(hit.row[spec.name])}: expected ${VALUE_RULE_TEXT[spec.values]}${
          more(hit.n)
        }`,
        spec.name,
      );
    }
  }

  if (item) {
    const dup = firstOf(pl.concatString([pl.col(key), pl.col(item)], "\u0000").isDuplicated());
    if (dup) {
      fail(
        `${at}: ${item} "${dup.row[item]}" appears twice for "${dup.row[key]}" (row ${
          rowOf(dup.row)
        }): each (${key}, ${item}) pair must be unique${more(dup.n)}`,
        item,
      );
    }
  }
  const step = pl.col(date).cast(pl.Int64).diff(1, "ignore").over(key);
  const previous = pl.col(date).shift(1).over(key).alias("__alfred_previous");
  const hits = rows.withColumns(step.alias("__alfred_step"), previous).filter(
    item ? pl.col("__alfred_step").lt(0) : pl.col("__alfred_step").ltEq(0),
  );
  if (hits.height > 0) {
    const r = hits.head(1).toRecords()[0] as Record<string, unknown>;
    const day = shownValue(r[date]);
    const before = shownValue(r.__alfred_previous);
    fail(
      `${at}: ${date}s of "${r[key]}" are not ${item ? "" : "strictly "}ascending: ${
        day === before
          ? `${day} appears twice (row ${rowOf(r)} repeats an earlier row)`
          : `${day} (row ${rowOf(r)}) comes after ${before}`
      }${more(hits.height)}`,
      date,
    );
  }
  if (table === "universe") {
    // A spell ends on or after it starts, and the next spell of a ticker starts after it ends.
    const backwards = firstOf(pl.col("to").isNotNull().and(pl.col("to").lt(pl.col("from"))));
    if (backwards) {
      fail(
        `${at}: the membership of "${backwards.row.ticker}" from ${
          shownValue(backwards.row.from)
        } (row ${rowOf(backwards.row)}) ends before it starts, on ${shownValue(backwards.row.to)}${
          more(backwards.n)
        }`,
        "to",
      );
    }
    const spells = rows.withColumns(
      pl.col("to").shift(1).over(key).alias("__alfred_to"),
      pl.col("from").shift(1).over(key).isNotNull().alias("__alfred_after"),
    );
    const open = spells.filter(
      pl.col("__alfred_after").and(
        pl.col("__alfred_to").isNull().or(pl.col("__alfred_to").gtEq(pl.col("from"))),
      ),
    );
    if (open.height > 0) {
      const r = open.head(1).toRecords()[0] as Record<string, unknown>;
      fail(
        `${at}: the membership of "${r.ticker}" from ${shownValue(r.from)} (row ${
          rowOf(r)
        }) starts before the previous one ends${
          r.__alfred_to == null ? " (it has no end)" : `, on ${shownValue(r.__alfred_to)}`
        }: a ticker's spells may not overlap${more(open.height)}`,
        "from",
      );
    }
  }
}

function parseManifest(dataset: string, file: string, text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(
      `Dataset "${dataset}" manifest "${file}" is not valid JSON: ${(e as Error).message}`,
      dataset,
    );
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`
    );
    throw new DatasetError(
      `Dataset "${dataset}" manifest "${file}" is invalid: ${issues.join("; ")}`,
      dataset,
    );
  }
  return parsed.data as Manifest;
}

/** The repository's `data/` folder, wherever the process runs from. */
export function defaultDataRoot(): string {
  return fromFileUrl(new URL("../../data/", import.meta.url));
}

/** Environment variable naming more folders datasets live in, separated by `:` (`;` on Windows). */
export const DATA_PATH_ENV = "ALFRED_DATA_PATH";

/**
 * The folders a config's `data.dataset` may name a dataset in: `root` (default: the repository's
 * `data/`), then each folder of `ALFRED_DATA_PATH`.
 *
 * @param root the first root (default {@linkcode defaultDataRoot})
 * @returns absolute folders, without duplicates
 */
export function dataRoots(root?: string): string[] {
  let extra: string[] = [];
  try {
    extra = (Deno.env.get(DATA_PATH_ENV) ?? "").split(delimiter).filter((p) => p.trim() !== "");
  } catch { /* no env permission: the default root only */ }
  return [...new Set([root ?? defaultDataRoot(), ...extra].map((r) => resolve(r)))];
}

/**
 * A `data.dataset` that is neither a dataset name nor a path inside a data root (`../../etc`,
 * `/etc`): refused before anything is read. The message starts with
 * `Dataset "REF" is outside the data roots` (stable, for locating it in a config).
 */
export class DatasetRefError extends RangeError {
  /**
   * @param ref the reference as written
   * @param roots the data roots it had to be inside
   */
  constructor(readonly ref: string, readonly roots: readonly string[]) {
    super(
      `Dataset "${ref}" is outside the data roots: name a dataset folder in ${
        roots.map((r) => `"${r}"`).join(", ")
      } or give a path inside one (${DATA_PATH_ENV} adds roots)`,
    );
    this.name = "DatasetRefError";
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/**
 * The folders a dataset reference may be, in the order they are tried: a name (`dow30-1991-2000`)
 * is a folder in each root; a path (`data/x`, `./x`, `/abs/x`) is taken from the working folder,
 * and a relative one also from each root. Paths are resolved lexically (`..` removed) and only
 * those inside a root are kept. Nothing is read: configs can be checked with it.
 *
 * @param ref `data.dataset` as written
 * @param roots the data roots ({@linkcode dataRoots})
 * @returns absolute candidate folders, each inside a root
 * @throws {DatasetRefError} when no candidate is inside a root
 * @example
 * ```ts
 * datasetCandidates("dow30-1991-2000", ["/repo/data"]); // ["/repo/data/dow30-1991-2000"]
 * datasetCandidates("../../etc", ["/repo/data"]); // throws DatasetRefError
 * ```
 */
export function datasetCandidates(ref: string, roots: readonly string[]): string[] {
  const isPath = /[\\/]/.test(ref) || ref === "." || ref === "..";
  let candidates: string[];
  if (ref === "" || ref.includes("\0")) candidates = [];
  else if (!isPath) candidates = roots.map((r) => join(r, ref));
  else if (isAbsolute(ref)) candidates = [resolve(ref)];
  else candidates = [resolve(ref), ...roots.map((r) => resolve(r, ref))];
  const kept = [...new Set(candidates)].filter((c) => roots.some((r) => inside(r, c)));
  if (kept.length === 0) throw new DatasetRefError(ref, roots);
  return kept;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Load the dataset a config names (`data.dataset`): a dataset folder's name in a data root
 * (`dow30-1991-2000`), or a path to a dataset folder inside one (`data/dow30-1991-2000`); a
 * reference outside every root (`../../etc`, `/etc`) is refused before anything is read. Then as
 * {@linkcode loadDatasetFolder}: the manifest, every table's columns and values are checked.
 *
 * @param ref `data.dataset`: a dataset name or a path inside a data root
 * @param options `root`: the first data root (default: the repository's `data/`; more roots come
 *   from `ALFRED_DATA_PATH`)
 * @returns the dataset
 * @throws {DatasetRefError} when `ref` is outside every data root
 * @throws {DatasetError} when the folder, the manifest or a table is missing or malformed
 * @example
 * ```ts
 * const ds = await loadDataset("dow30-1991-2000");
 * const prices = ds.table("prices");
 * ```
 */
export async function loadDataset(ref: string, options: { root?: string } = {}): Promise<Dataset> {
  const roots = dataRoots(options.root);
  const candidates = datasetCandidates(ref, roots);
  let dir: string | undefined;
  for (const c of candidates) {
    if (await isDir(c)) {
      dir = c;
      break;
    }
  }
  if (dir === undefined) {
    const known = new Set<string>();
    for (const root of roots) {
      try {
        for await (const e of Deno.readDir(root)) {
          if (e.isDirectory && await exists(join(root, e.name, "manifest.json"))) known.add(e.name);
        }
      } catch { /* root unreadable: list nothing */ }
    }
    const names = [...known].sort();
    throw new DatasetNotFoundError(
      `Dataset "${ref}" not found: no folder "${candidates[0]}"; datasets in ${
        roots.map((r) => `"${r}"`).join(", ")
      }: ${names.length ? names.map((k) => `"${k}"`).join(", ") : "none"}`,
      ref,
    );
  }
  return await loadDatasetFolder(dir, ref);
}

/**
 * Load the dataset a command-line argument names: a dataset name in the data roots, like a
 * config's, or a path to a dataset folder anywhere (the user typed it).
 *
 * @param arg the argument (`--dataset D`)
 * @param options `root`: the first data root
 * @returns the dataset
 * @throws {DatasetError} when the folder, the manifest or a table is missing or malformed
 */
export async function loadDatasetArgument(
  arg: string,
  options: { root?: string } = {},
): Promise<Dataset> {
  const isPath = /[\\/]/.test(arg) || arg.startsWith(".");
  return isPath ? await loadDatasetFolder(arg) : await loadDataset(arg, options);
}

/**
 * Load a dataset folder given by the user or the program (a command-line argument, an import's
 * output), wherever it is: check its manifest, that every listed table exists, is readable, has
 * the documented columns and dtypes, and values that follow the table's rules
 * ({@linkcode checkTableValues}). Tables are read once, here, and kept.
 *
 * @param dir the dataset folder
 * @param label how messages name it before its manifest is read (default: `dir`)
 * @returns the dataset
 * @throws {DatasetError} naming the dataset and the file when a file is missing, unreadable or
 *   malformed, and the ticker and date of the first wrong value
 * @example
 * ```ts
 * const ds = await loadDatasetFolder("/mnt/share/my-set");
 * ```
 */
export async function loadDatasetFolder(dir: string, label = dir): Promise<Dataset> {
  const ref = label;
  if (!(await isDir(dir))) {
    throw new DatasetNotFoundError(`Dataset "${ref}" not found: "${dir}" is not a folder`, ref);
  }
  dir = resolve(dir);
  const manifestFile = join(dir, "manifest.json");
  let text: string;
  try {
    text = await Deno.readTextFile(manifestFile);
  } catch {
    throw new DatasetError(`Dataset "${ref}" has no manifest: "${manifestFile}" is missing`, ref);
  }
  const manifest = parseManifest(ref, manifestFile, text);
  const name = manifest.name;
  const tables = new Map<TableName, pl.DataFrame>();
  for (const t of manifest.tables) {
    const file = tablePath(dir, t);
    if (!await exists(file)) {
      throw new DatasetError(
        `Dataset "${name}" lists table "${t}" but "${file}" is missing`,
        name,
        t,
      );
    }
    tables.set(t, readTable(name, t, file));
  }
  return new FolderDataset(name, dir, manifest, tables);
}

/** Read one table file and check its schema and values; errors name the dataset and the file. */
function readTable(dataset: string, table: TableName, file: string): pl.DataFrame {
  let df: pl.DataFrame;
  try {
    df = pl.readParquet(file);
  } catch (e) {
    throw new DatasetError(
      `Dataset "${dataset}" table "${table}" cannot be read from "${file}": ${
        String((e as Error).message ?? e).split("\n")[0]
      }`,
      dataset,
      table,
    );
  }
  checkTableSchema(dataset, table, df.schema);
  checkTableValues(dataset, table, df, file);
  return df;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

class FolderDataset implements Dataset {
  constructor(
    readonly name: string,
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly tables: Map<TableName, pl.DataFrame>,
  ) {}

  has(table: TableName): boolean {
    return this.manifest.tables.includes(table);
  }

  table(table: TableName): pl.DataFrame {
    if (!this.has(table)) throw new MissingTableError(this.name, table);
    let df = this.tables.get(table);
    if (df === undefined) {
      // Released: read again (checked when the dataset was loaded; its file is the same one the
      // fingerprint covers).
      df = pl.readParquet(tablePath(this.dir, table));
      this.tables.set(table, df);
    }
    return df;
  }

  scan(table: TableName): pl.LazyDataFrame {
    if (!this.has(table)) throw new MissingTableError(this.name, table);
    const df = this.tables.get(table);
    return df === undefined
      ? pl.scanParquet(tablePath(this.dir, table), { glob: false })
      : df.lazy();
  }

  release(table: TableName): void {
    this.tables.delete(table);
  }

  fingerprint(): Promise<string> {
    return fingerprintFolder(this.dir, this.manifest.tables);
  }
}

/**
 * sha256 (hex) over `manifest.json` and the listed table files, each framed by its name and length.
 *
 * @param dir the dataset folder
 * @param tables the tables to include, hashed in {@linkcode TABLE_NAMES} order
 * @returns the hex digest
 */
export async function fingerprintFolder(
  dir: string,
  tables: readonly TableName[],
): Promise<string> {
  // Streamed file by file: a dataset of 10,000 tickers has a gigabyte of prices.
  const hash = createHash("sha256");
  const enc = new TextEncoder();
  const add = async (label: string, file: string) => {
    const f = await Deno.open(file);
    try {
      hash.update(enc.encode(`${label}\n${(await f.stat()).size}\n`));
      for await (const chunk of f.readable) hash.update(chunk);
    } finally {
      try {
        f.close();
      } catch { /* closed by the stream */ }
    }
  };
  await add("manifest.json", join(dir, "manifest.json"));
  for (const t of TABLE_NAMES) {
    if (tables.includes(t)) await add(`${t}.parquet`, tablePath(dir, t));
  }
  return hash.digest("hex");
}

/** The JSON text a manifest is written as (stable key order, two-space indent, final newline). */
export function manifestJson(manifest: Manifest): string {
  return JSON.stringify(ManifestSchema.parse(manifest), null, 2) + "\n";
}

/**
 * Write a dataset folder atomically: everything goes to a temporary sibling folder, which is renamed
 * into place when complete (an existing folder is replaced). Nothing half-written is left on failure.
 *
 * @param dir the dataset folder to create or replace
 * @param manifest the manifest; its `tables` must be exactly the keys of `tables`
 * @param tables one dataframe per table, with the documented columns and dtypes, or its
 *   {@linkcode TableBatches} (a large table, checked and written a batch at a time)
 * @throws {DatasetError} when the manifest is invalid or a table does not match it or its schema
 */
export async function writeDataset(
  dir: string,
  manifest: Manifest,
  tables: Partial<Record<TableName, pl.DataFrame | TableBatches>>,
): Promise<void> {
  const name = manifest.name;
  const parsed = parseManifest(name, join(dir, "manifest.json"), JSON.stringify(manifest));
  const given = TABLE_NAMES.filter((t) => tables[t] !== undefined);
  const listed = TABLE_NAMES.filter((t) => parsed.tables.includes(t));
  if (given.join(",") !== listed.join(",")) {
    throw new DatasetError(
      `Dataset "${name}" manifest lists tables ${JSON.stringify(listed)} but ${
        JSON.stringify(given)
      } were given`,
      name,
    );
  }
  for (const t of given) {
    const table = tables[t]!;
    if (typeof table === "function") continue; // checked batch by batch as it is written
    checkTableSchema(name, t, table.schema);
    checkTableValues(name, t, table, tablePath(dir, t));
  }
  const target = resolve(dir);
  const parent = dirname(target);
  await Deno.mkdir(parent, { recursive: true });
  const suffix = crypto.randomUUID().slice(0, 8);
  const tmp = join(parent, `.tmp-${basename(target)}-${suffix}`);
  await Deno.mkdir(tmp);
  try {
    await Deno.writeTextFile(join(tmp, "manifest.json"), manifestJson(parsed));
    for (const t of given) {
      const table = tables[t]!;
      if (typeof table === "function") {
        await writeBatches(name, t, table, tmp, tablePath(dir, t));
        continue;
      }
      const bytes = table.writeParquet({ compression: "zstd" });
      await Deno.writeFile(tablePath(tmp, t), new Uint8Array(bytes));
    }
    if (await exists(target)) {
      const old = join(parent, `.old-${basename(target)}-${suffix}`);
      await Deno.rename(target, old);
      try {
        await Deno.rename(tmp, target);
      } catch (e) {
        await Deno.rename(old, target);
        throw e;
      }
      await Deno.remove(old, { recursive: true });
    } else {
      await Deno.rename(tmp, target);
    }
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/**
 * A table given to {@linkcode writeDataset} in batches: frames in file order, each holding every
 * row of its tickers (or series), so each is checked on its own as it is written. Only one batch
 * is in memory at a time.
 */
export type TableBatches = () => Iterable<pl.DataFrame>;

/**
 * Lets Polars frames that nothing references any more give back their memory now. A frame's
 * memory lives outside the JavaScript heap, so the garbage collector does not see it, and is
 * freed by a finalizer that runs only after a collection and a turn of the event loop: a loop
 * that makes large frames keeps every one resident until a collection happens to run. This runs a
 * full collection where the runtime exposes one (`deno run --v8-flags=--expose-gc`, as the
 * pipeline bench's children do; otherwise the collector runs when it decides), then turns the
 * event loop.
 *
 * @returns when the finalizers have run
 * @example
 * ```ts
 * dataset.release("prices");
 * await freeUnreferencedFrames();
 * ```
 */
export async function freeUnreferencedFrames(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((done) => setTimeout(done, 0));
}

/**
 * Writes a table's batches into the folder `tmp`: each batch checked and written as a part file,
 * then the parts streamed into the table's one Parquet file by a Polars lazy scan, in order.
 */
async function writeBatches(
  dataset: string,
  table: TableName,
  batches: TableBatches,
  tmp: string,
  shownFile: string,
): Promise<void> {
  const parts = join(tmp, `.parts-${table}`);
  await Deno.mkdir(parts);
  const files: string[] = [];
  for (const df of batches()) {
    checkTableSchema(dataset, table, df.schema);
    checkTableValues(dataset, table, df, shownFile);
    const file = join(parts, `${String(files.length).padStart(6, "0")}.parquet`);
    df.writeParquet(file, { compression: "zstd" });
    files.push(file);
    // Without this, the frames of every batch written (and those its checks made) stay resident
    // until the garbage collector happens to run: at 10,000 tickers, 0.4 GB a batch.
    await freeUnreferencedFrames();
  }
  if (files.length === 0) {
    throw new RangeError(`Table "${table}" of dataset "${dataset}" was given no batches`);
  }
  await pl.concat(files.map((f) => pl.scanParquet(f, { glob: false })))
    .sinkParquet(tablePath(tmp, table), { compression: "zstd" })
    .collect();
  await Deno.remove(parts, { recursive: true });
}

/**
 * A frame in (ticker, day) order, as `df.sort([ticker, day])` gives it. A frame already in that
 * order (a dataset's table as written: each ticker's rows together, dates strictly ascending) is
 * returned as it is, after one pass that checks it: sorting 65 million rows by a string column
 * takes about 20 s on 2 cores, the check 2. A frame with a null key, a repeated key or rows out of
 * order is sorted.
 *
 * @param df the frame
 * @param day its day or date column
 * @param ticker its ticker column (default `ticker`)
 * @returns the frame in (ticker, day) order
 * @example
 * ```ts
 * const rows = sortedByTickerDay(dataset.table("prices").select("ticker", "date", "close"), "date");
 * ```
 */
export function sortedByTickerDay(df: pl.DataFrame, day: string, ticker = "ticker"): pl.DataFrame {
  if (df.getColumn(ticker).nullCount() > 0 || df.getColumn(day).nullCount() > 0) {
    return df.sort([ticker, day]);
  }
  const t = pl.col(ticker), d = pl.col(day);
  const before = t.lt(t.shift(1)).or(t.eq(t.shift(1)).and(d.ltEq(d.shift(1))));
  const outOfOrder = Number(df.select(before.sum().alias("n")).getColumn("n").get(0) ?? 0);
  return outOfOrder === 0 ? df : df.sort([ticker, day]);
}

/**
 * Turn ISO date strings into a Polars `Date` series.
 *
 * @param name the series name
 * @param dates `YYYY-MM-DD` strings
 * @returns a series of dtype Date
 */
export function dateSeries(name: string, dates: readonly string[]): pl.Series {
  return pl.Series(name, dates as string[], pl.Utf8).str.strptime(pl.Date, "%Y-%m-%d");
}

/**
 * A table's frame from rows, each column typed as {@linkcode TABLE_COLUMNS} says: a `Date` from
 * ISO date strings, a `Datetime` from epoch milliseconds (UTC), `String` and `Float64` as they are.
 *
 * @param table the table the rows belong to
 * @param rows the rows
 * @param columns the columns to write, in file order, each one the table documents (default:
 *   every column it documents, in {@linkcode TABLE_COLUMNS} order)
 * @returns the frame, rows in the order given
 * @throws {RangeError} when a column is not one the table documents
 * @example
 * ```ts
 * tableFrame("market", [{ date: "2020-01-02", series: "SPY", value: 324.87 }]);
 * ```
 */
export function tableFrame<R>(
  table: TableName,
  rows: readonly R[],
  columns: readonly (keyof R & string)[] = TABLE_COLUMNS[table].map((c) =>
    c.name as keyof R & string
  ),
): pl.DataFrame {
  return pl.DataFrame(columns.map((name) => {
    const spec = TABLE_COLUMNS[table].find((c) => c.name === name);
    if (!spec) throw new RangeError(`Table "${table}" has no column "${name}"`);
    const values = rows.map((r) => r[name]) as unknown[];
    switch (spec.type) {
      case "Date":
        return dateSeries(name, values as string[]);
      case "Datetime":
        return pl.Series(name, values as number[], pl.Int64).cast(pl.Datetime("ms", "UTC"));
      case "String":
        return pl.Series(name, values as (string | null)[], pl.Utf8);
      case "Float64":
        return pl.Series(name, values as (number | null)[], pl.Float64);
    }
  }));
}

/**
 * ISO date strings of a Date (or Datetime) column.
 *
 * @param series a Polars Date series
 * @returns `YYYY-MM-DD` strings (null stays null)
 * @throws {TypeError} when a value is not a date (the column is not a Date column)
 */
export function isoDates(series: pl.Series): (string | null)[] {
  if (series.dtype.equals(pl.Date)) {
    // A Date column is days since 1970-01-01: read them as integers and format each distinct day
    // once (a JavaScript Date per row costs seconds on millions of rows, and a table of many
    // tickers repeats the same few thousand days).
    const days = series.cast(pl.Int32);
    const values: ArrayLike<number | null> = series.nullCount() === 0
      ? days.toTypedArray()
      : days.toArray();
    const formatted = new Map<number, string>();
    return Array.from(values, (d) => {
      if (d === null) return null;
      let iso = formatted.get(d);
      if (iso === undefined) formatted.set(d, iso = dayToIso(d));
      return iso;
    });
  }
  // nodejs-polars types `toArray` without a Date case: widen, then check each value.
  const values: unknown[] = series.toArray();
  return values.map((d) => {
    if (d === null) return null;
    if (d instanceof Date) return dateToIso(d);
    throw new TypeError(`Cannot read column "${series.name}" as dates: got ${typeof d} "${d}"`);
  });
}
