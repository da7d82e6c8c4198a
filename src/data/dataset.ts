/**
 * Datasets: a folder with `manifest.json` and one Parquet file per table.
 * The schema of each table is documented in `data/README.md`.
 *
 * @module
 */
import type pl from "nodejs-polars";

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
