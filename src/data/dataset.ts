/**
 * Datasets: a folder with `manifest.json` and one Parquet file per table.
 * The schema of each table is documented in `data/README.md`.
 *
 * @module
 */
import pl from "nodejs-polars";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { z } from "zod";
import { IsoDate } from "../config/schema.ts";

/** The tables a dataset may hold; any may be absent. */
export type TableName = "prices" | "fundamentals" | "insider" | "sentiment" | "market";

/** Every table name, in a stable order. */
export const TABLE_NAMES: readonly TableName[] = [
  "prices",
  "fundamentals",
  "insider",
  "sentiment",
  "market",
];

/** One market or macro series held in the `market` table. */
export interface SeriesInfo {
  name: string;
  frequency: "daily" | "monthly" | "quarterly";
  description: string;
}

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
  /** Synthetic datasets: generator parameters and planted features. */
  generator?: Record<string, unknown>;
}

/** A loaded dataset. */
export interface Dataset {
  name: string;
  dir: string;
  manifest: Manifest;
  has(table: TableName): boolean;
  /** The table; throws {@linkcode MissingTableError} when the dataset lacks it. */
  table(table: TableName): pl.DataFrame;
  /** sha256 over the manifest and the table files' bytes. */
  fingerprint(): Promise<string>;
}

/** A table a feature or stage needs is absent from the dataset. */
export class MissingTableError extends Error {
  constructor(readonly dataset: string, readonly tableName: TableName, readonly neededBy?: string) {
    super(
      `Dataset "${dataset}" has no "${tableName}" table${
        neededBy ? `, which ${neededBy} needs` : ""
      }`,
    );
    this.name = "MissingTableError";
  }
}

/** Polars dtype names a column may have (`String` is Polars' current name for `Utf8`). */
export type ColumnType = "Date" | "String" | "Float64";

/** One documented column of a table. */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  required: boolean;
}

const req = (name: string, type: ColumnType): ColumnSpec => ({ name, type, required: true });
const opt = (name: string, type: ColumnType): ColumnSpec => ({ name, type, required: false });

/** The documented columns of every table (see `data/README.md`). Extra columns are allowed. */
export const TABLE_COLUMNS: Readonly<Record<TableName, readonly ColumnSpec[]>> = {
  prices: [
    req("date", "Date"),
    req("ticker", "String"),
    req("close", "Float64"),
    opt("open", "Float64"),
    opt("high", "Float64"),
    opt("low", "Float64"),
    opt("adj_close", "Float64"),
    opt("volume", "Float64"),
  ],
  fundamentals: [
    req("ticker", "String"),
    req("report_date", "Date"),
    req("fiscal_date_ending", "Date"),
    req("margin_gross", "Float64"),
    req("margin_operating", "Float64"),
    req("margin_net_profit", "Float64"),
    req("reported_eps", "Float64"),
    req("estimated_eps", "Float64"),
    req("surprise", "Float64"),
    req("surprise_percentage", "Float64"),
  ],
  insider: [
    req("ticker", "String"),
    req("date", "Date"),
    req("acquisition", "Float64"),
    req("disposal", "Float64"),
  ],
  sentiment: [
    req("ticker", "String"),
    req("date", "Date"),
    req("sentiment", "Float64"),
    req("outlook", "Float64"),
  ],
  market: [req("date", "Date"), req("series", "String"), req("value", "Float64")],
};

const TableNameSchema = z.enum(["prices", "fundamentals", "insider", "sentiment", "market"]);

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
    frequency: z.enum(["daily", "monthly", "quarterly"]),
    description: z.string(),
  })),
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

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Load a dataset folder: check its manifest, that every listed table exists and has the documented
 * columns and dtypes. Table rows are read on first use.
 *
 * @param ref a dataset name under the data root (`dow30-1991-2000`) or a path to a dataset folder
 * @param options `root`: the folder names are resolved in (default: the repository's `data/`)
 * @returns the dataset
 * @throws {DatasetError} when the folder, the manifest or a table is missing or malformed
 * @example
 * ```ts
 * const ds = await loadDataset("dow30-1991-2000");
 * const prices = ds.table("prices");
 * ```
 */
export async function loadDataset(ref: string, options: { root?: string } = {}): Promise<Dataset> {
  const root = options.root ?? defaultDataRoot();
  const looksLikePath = ref.includes("/") || ref.includes("\\") || ref.startsWith(".");
  const candidates = looksLikePath ? [resolve(ref)] : [join(root, ref), resolve(ref)];
  let dir: string | undefined;
  for (const c of candidates) {
    if (await isDir(c)) {
      dir = c;
      break;
    }
  }
  if (dir === undefined) {
    let known: string[] = [];
    try {
      for await (const e of Deno.readDir(root)) {
        if (e.isDirectory && await exists(join(root, e.name, "manifest.json"))) known.push(e.name);
      }
    } catch { /* root unreadable: list nothing */ }
    known = known.sort();
    throw new DatasetError(
      `Dataset "${ref}" not found: no folder "${candidates[0]}"; datasets in "${root}": ${
        known.length ? known.map((k) => `"${k}"`).join(", ") : "none"
      }`,
      ref,
    );
  }
  const manifestFile = join(dir, "manifest.json");
  let text: string;
  try {
    text = await Deno.readTextFile(manifestFile);
  } catch {
    throw new DatasetError(`Dataset "${ref}" has no manifest: "${manifestFile}" is missing`, ref);
  }
  const manifest = parseManifest(ref, manifestFile, text);
  const name = manifest.name;
  for (const t of manifest.tables) {
    const file = tablePath(dir, t);
    if (!await exists(file)) {
      throw new DatasetError(
        `Dataset "${name}" lists table "${t}" but "${file}" is missing`,
        name,
        t,
      );
    }
    let head: pl.DataFrame;
    try {
      head = pl.readParquet(file, { nRows: 0 });
    } catch (e) {
      throw new DatasetError(
        `Dataset "${name}" table "${t}" cannot be read from "${file}": ${(e as Error).message}`,
        name,
        t,
      );
    }
    checkTableSchema(name, t, head.schema);
  }
  return new FolderDataset(name, dir, manifest);
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
  #cache = new Map<TableName, pl.DataFrame>();
  constructor(readonly name: string, readonly dir: string, readonly manifest: Manifest) {}

  has(table: TableName): boolean {
    return this.manifest.tables.includes(table);
  }

  table(table: TableName): pl.DataFrame {
    if (!this.has(table)) throw new MissingTableError(this.name, table);
    let df = this.#cache.get(table);
    if (df === undefined) {
      df = pl.readParquet(tablePath(this.dir, table));
      checkTableSchema(this.name, table, df.schema);
      this.#cache.set(table, df);
    }
    return df;
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
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const add = (label: string, bytes: Uint8Array) => {
    parts.push(enc.encode(`${label}\n${bytes.length}\n`), bytes);
  };
  add("manifest.json", await Deno.readFile(join(dir, "manifest.json")));
  for (const t of TABLE_NAMES) {
    if (tables.includes(t)) add(`${t}.parquet`, await Deno.readFile(tablePath(dir, t)));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
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
 * @param tables one dataframe per table, with the documented columns and dtypes
 * @throws {DatasetError} when the manifest is invalid or a table does not match it or its schema
 */
export async function writeDataset(
  dir: string,
  manifest: Manifest,
  tables: Partial<Record<TableName, pl.DataFrame>>,
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
  for (const t of given) checkTableSchema(name, t, tables[t]!.schema);
  const target = resolve(dir);
  const parent = dirname(target);
  await Deno.mkdir(parent, { recursive: true });
  const suffix = crypto.randomUUID().slice(0, 8);
  const tmp = join(parent, `.tmp-${basename(target)}-${suffix}`);
  await Deno.mkdir(tmp);
  try {
    await Deno.writeTextFile(join(tmp, "manifest.json"), manifestJson(parsed));
    for (const t of given) {
      const bytes = tables[t]!.writeParquet({ compression: "zstd" });
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
 * ISO date strings of a Date (or Datetime) column.
 *
 * @param series a Polars Date series
 * @returns `YYYY-MM-DD` strings (null stays null)
 */
export function isoDates(series: pl.Series): (string | null)[] {
  return (series.toArray() as unknown as (Date | null)[]).map((d) =>
    d === null ? null : d.toISOString().slice(0, 10)
  );
}
