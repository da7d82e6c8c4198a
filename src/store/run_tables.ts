/**
 * Parquet files of a run: the record's tables (`src/record/tables.ts`) and the eval predictions,
 * written column by column with the dtype each column holds, and read back as rows.
 *
 * Polars, a native addon, is loaded on the first table read or written, not when the store is
 * imported: a command that only compares configs never loads native code.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type pl from "nodejs-polars";
import {
  type ColumnKind,
  jsonData,
  parseTable,
  PREDICTION_COLUMNS,
  PredictionRow,
  RecordError,
  type RunTables,
  TABLE_COLUMNS,
  TABLE_NAMES,
  tableFile,
  type TableName,
} from "../record/mod.ts";

type Polars = typeof pl;

let polars: Polars | undefined;

async function loadPolars(): Promise<Polars> {
  polars ??= (await import("nodejs-polars")).default;
  return polars;
}

function dtype(pl: Polars, kind: ColumnKind) {
  switch (kind) {
    case "string":
    case "date":
      return pl.Utf8;
    case "float":
      return pl.Float64;
    case "int":
      return pl.Int32;
    case "bool":
      return pl.Bool;
    case "strings":
      return pl.List(pl.Utf8);
  }
}

/**
 * Rows as Parquet bytes (zstd), one typed column per entry of `columns`: a column never depends
 * on what its first rows hold (an all-null column is still Float64).
 *
 * @param columns column name → kind, in file order
 * @param rows the rows (non-finite numbers are written as null)
 * @param path where the bytes go (the file is written here)
 */
export async function writeRows(
  columns: Readonly<Record<string, ColumnKind>>,
  rows: readonly Readonly<Record<string, unknown>>[],
  path: string,
): Promise<void> {
  const pl = await loadPolars();
  const frame = pl.DataFrame(
    Object.entries(columns).map(([name, kind]) =>
      pl.Series(name, rows.map((r) => jsonData(r[name])), dtype(pl, kind))
    ),
  );
  frame.writeParquet(path, { compression: "zstd" });
}

/**
 * The rows of a Parquet file.
 *
 * @param bytes the file's bytes
 * @returns one object per row, keyed by column
 */
export async function readRows(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  return (await loadPolars()).readParquet(Buffer.from(bytes)).toRecords();
}

/**
 * Write each table that has rows to `<dir>/<table>.parquet`.
 *
 * @param dir the run folder
 * @param tables the record's tables
 */
export async function writeTables(dir: string, tables: RunTables): Promise<void> {
  for (const name of TABLE_NAMES) {
    const rows: readonly Readonly<Record<string, unknown>>[] = tables[name];
    if (rows.length > 0) await writeRows(TABLE_COLUMNS[name], rows, `${dir}/${tableFile(name)}`);
  }
}

/**
 * Read and check one table.
 *
 * @param name the table
 * @param bytes its file's bytes
 * @param file its path, for errors
 * @param expected the rows `record.json` lists for it
 * @returns its rows
 * @throws {RecordError} naming the file and the row and column that is wrong, or the count
 */
export async function readTable(
  name: TableName,
  bytes: Uint8Array,
  file: string,
  expected: number,
): Promise<unknown[]> {
  const rows: unknown[] = parseTable(name, await readRows(bytes), file);
  if (rows.length !== expected) {
    throw new RecordError(file, [{
      path: [],
      message: `expected ${expected} rows, as record.json lists, got ${rows.length}`,
    }], "run record table");
  }
  return rows;
}

/**
 * Write eval predictions as `predictions.parquet`.
 *
 * @param path the file
 * @param rows the predictions
 */
export async function writePredictions(
  path: string,
  rows: readonly PredictionRow[],
): Promise<void> {
  await writeRows(PREDICTION_COLUMNS, rows, path);
}

/**
 * Read a run's eval predictions.
 *
 * @param bytes the bytes of `predictions.parquet`
 * @param file its path, for errors
 * @returns the rows
 * @throws {RecordError} when a row is not a prediction (naming the row and column)
 */
export async function readPredictions(
  bytes: Uint8Array,
  file: string,
): Promise<PredictionRow[]> {
  const rows = (await readRows(bytes)).map(jsonData);
  const result = PredictionRow.array().safeParse(rows);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RecordError(file, [{
      path: issue.path.map((p) => (typeof p === "number" ? p : String(p))),
      message: issue.message,
    }], "predictions file");
  }
  return result.data;
}
