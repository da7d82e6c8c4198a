/**
 * Per-column scalers fitted on training rows only, saved with the model and
 * applied to every later matrix. The research notes lost a day to a scaler
 * that silently skipped a column; this one refuses missing, extra or
 * reordered columns, non-finite values and columns that were constant in
 * training, naming the column.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type pl from "nodejs-polars";
import type { FeaturesConfig, ScalerKind, ScalingConfig } from "../config/schema.ts";
import type { QuarterlyFrame } from "../features/quarterly.ts";
import { constantWindowColumns } from "../features/sequence.ts";

/** Fitted statistics of one column. */
export interface ColumnStats {
  column: string;
  kind: ScalerKind;
  /** Subtracted before dividing: mean (standard), min (minmax), median (robust), 0 (none). */
  center: number;
  /** Divisor: std (standard), max - min (minmax), IQR (robust), 1 (none). */
  scale: number;
  /** Kind-specific statistics for the run record (mean/std, min/max, median/q1/q3). */
  stats: Record<string, number>;
}

/** The JSON form of a fitted scaler (model store, run record). */
export interface ScalerJSON {
  version: 1;
  columns: ColumnStats[];
  /** How many training rows the scaler was fitted on. */
  fittedRows: number;
  /** sha256 of the sorted fitted row indices ({@linkcode rowSetHash}). */
  rowsHash: string;
}

/** Relative size below which a column's spread counts as zero (a constant column). */
const CONSTANT_TOLERANCE = 1e-12;

/**
 * sha256 (hex) of a set of row indices, independent of their order.
 *
 * @param rows Row indices.
 * @returns The hash.
 */
export function rowSetHash(rows: number[]): string {
  const sorted = Int32Array.from(rows).sort();
  return createHash("sha256").update(new Uint8Array(sorted.buffer)).digest("hex");
}

/**
 * The scaler kind of each feature: `scaling.columns[col]`, else `none` for a window column that
 * is constant by construction (`constantWindowColumns`: the last step's close), else the
 * family's `scaler`, else `scaling.default`.
 *
 * @param q The quarterly frame (its features, families and window shape).
 * @param features The features config (family `scaler` settings).
 * @param scaling The scaling config.
 * @returns Feature -> scaler kind, in feature order.
 * @throws {RangeError} When `scaling.columns` names a column that is not a feature.
 */
export function scalerKinds(
  q: Pick<QuarterlyFrame, "features" | "families" | "sequence">,
  features: FeaturesConfig,
  scaling: ScalingConfig,
): Record<string, ScalerKind> {
  for (const c of Object.keys(scaling.columns)) {
    if (!q.features.includes(c)) {
      throw new RangeError(
        `scaling.columns names "${c}", which is not a feature: features are ${
          q.features.map((f) => `"${f}"`).join(", ")
        }`,
      );
    }
  }
  const familyOf = new Map<string, string>();
  for (const [family, cols] of Object.entries(q.families)) {
    for (const c of cols) familyOf.set(c, family);
  }
  const constant = new Set(q.sequence ? constantWindowColumns(q.sequence) : []);
  const out: Record<string, ScalerKind> = {};
  for (const c of q.features) {
    const family = familyOf.get(c) as keyof FeaturesConfig["families"] | undefined;
    const familyKind = family ? features.families[family]?.scaler : undefined;
    out[c] = scaling.columns[c] ?? (constant.has(c) ? "none" : familyKind ?? scaling.default);
  }
  return out;
}

function tableOf(frame: pl.DataFrame | QuarterlyFrame): pl.DataFrame {
  return "features" in frame && "label" in frame && "missing" in frame
    ? (frame as QuarterlyFrame).frame
    : frame as pl.DataFrame;
}

function quantile(sorted: Float64Array, p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function readColumn(
  frame: pl.DataFrame,
  column: string,
  rows: number[],
  what: string,
): Float64Array {
  if (!frame.columns.includes(column)) {
    throw new RangeError(`Cannot ${what}: column "${column}" is missing from the frame`);
  }
  const all = frame.getColumn(column).toArray() as (number | null)[];
  const tickers = frame.columns.includes("ticker")
    ? frame.getColumn("ticker").toArray() as string[]
    : null;
  const quarters = frame.columns.includes("quarter")
    ? frame.getColumn("quarter").toArray() as string[]
    : null;
  const out = new Float64Array(rows.length);
  rows.forEach((row, k) => {
    if (!Number.isInteger(row) || row < 0 || row >= all.length) {
      throw new RangeError(`Cannot ${what}: row ${row} is outside the frame's ${all.length} rows`);
    }
    const v = all[row];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      const at = tickers && quarters ? ` (ticker "${tickers[row]}", quarter ${quarters[row]})` : "";
      throw new RangeError(
        `Cannot ${what}: column "${column}" holds ${v} at row ${row}${at}, expected a finite number`,
      );
    }
    out[k] = v;
  });
  return out;
}

/** Per-column scaler; see the module doc. */
export class Scaler {
  private constructor(
    /** Fitted statistics, in column order. */
    readonly columns: readonly ColumnStats[],
    /** How many rows it was fitted on. */
    readonly fittedRows: number,
    /** {@linkcode rowSetHash} of the fitted rows. */
    readonly rowsHash: string,
  ) {}

  /** The column names, in the order `transform` writes them. */
  get names(): string[] {
    return this.columns.map((c) => c.column);
  }

  /**
   * Fits one scaler per column on the given (training) rows.
   *
   * @param frame The quarterly frame, or its table.
   * @param rows Training row indices (no duplicates).
   * @param columns Feature columns, in model input order.
   * @param kinds Column -> scaler kind; every column must have one.
   * @returns The fitted scaler.
   * @throws {RangeError} On empty or duplicate rows, a column without a kind, a
   *   missing column, a non-finite value, or a column constant on the rows
   *   (std, range or IQR zero) under a scaler other than `none`.
   * @example
   * ```ts
   * const scaler = Scaler.fit(q.frame, fold.train, q.features, scalerKinds(q, cfg.features, cfg.scaling));
   * ```
   */
  static fit(
    frame: pl.DataFrame | QuarterlyFrame,
    rows: number[],
    columns: string[],
    kinds: Record<string, ScalerKind>,
  ): Scaler {
    const table = tableOf(frame);
    if (rows.length === 0) throw new RangeError("Cannot fit a scaler on zero rows");
    if (new Set(rows).size !== rows.length) {
      throw new RangeError("Cannot fit a scaler: the rows hold duplicates");
    }
    if (new Set(columns).size !== columns.length) {
      throw new RangeError(`Cannot fit a scaler: columns repeat: ${columns.join(", ")}`);
    }
    for (const k of Object.keys(kinds)) {
      if (!columns.includes(k)) {
        throw new RangeError(
          `Cannot fit a scaler: kinds names "${k}", which is not among the columns`,
        );
      }
    }
    const stats = columns.map((column): ColumnStats => {
      const kind = kinds[column];
      if (kind === undefined) {
        throw new RangeError(`Cannot fit a scaler: column "${column}" has no scaler kind`);
      }
      const x = readColumn(table, column, rows, "fit the scaler");
      const constant = (spread: number, size: number, name: string) => {
        if (spread <= CONSTANT_TOLERANCE * Math.max(size, Number.MIN_VALUE)) {
          throw new RangeError(
            `Cannot fit a ${kind} scaler for column "${column}": its ${name} on the ${rows.length} training rows is 0 (constant in training); add it to features.exclude or set scaling.columns.${column}: none`,
          );
        }
      };
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of x) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const size = Math.max(Math.abs(lo), Math.abs(hi));
      switch (kind) {
        case "standard": {
          let mean = 0;
          for (const v of x) mean += v;
          mean /= x.length;
          let ss = 0;
          for (const v of x) ss += (v - mean) ** 2;
          const std = Math.sqrt(ss / x.length);
          constant(hi - lo === 0 ? 0 : std, size, "standard deviation");
          return { column, kind, center: mean, scale: std, stats: { mean, std } };
        }
        case "minmax":
          constant(hi - lo, size, "range (max - min)");
          return { column, kind, center: lo, scale: hi - lo, stats: { min: lo, max: hi } };
        case "robust": {
          const sorted = Float64Array.from(x).sort();
          const median = quantile(sorted, 0.5);
          const q1 = quantile(sorted, 0.25);
          const q3 = quantile(sorted, 0.75);
          constant(q3 - q1, size, "interquartile range");
          return { column, kind, center: median, scale: q3 - q1, stats: { median, q1, q3 } };
        }
        case "none":
          return { column, kind, center: 0, scale: 1, stats: {} };
      }
    });
    return new Scaler(stats, rows.length, rowSetHash(rows));
  }

  /**
   * Checks that a feature list is exactly the fitted columns, in order.
   *
   * @param columns The feature columns of the data to transform.
   * @throws {RangeError} Naming the first missing, extra or reordered column.
   */
  checkColumns(columns: string[]): void {
    const names = this.names;
    const missing = names.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new RangeError(
        `Scaler column "${
          missing[0]
        }" is missing from the data (fitted on ${names.length} columns)`,
      );
    }
    const extra = columns.filter((c) => !names.includes(c));
    if (extra.length > 0) {
      throw new RangeError(
        `Column "${extra[0]}" was not seen when the scaler was fitted: retrain or exclude it`,
      );
    }
    for (let i = 0; i < names.length; i++) {
      if (columns[i] !== names[i]) {
        throw new RangeError(
          `Column "${columns[i]}" is at position ${i}, where the scaler was fitted with "${
            names[i]
          }": columns are reordered`,
        );
      }
    }
  }

  /**
   * Scales the given rows.
   *
   * @param frame The quarterly frame, or its table.
   * @param rows Row indices.
   * @param columns The data's feature list; it must equal the fitted columns exactly (see
   *   {@linkcode Scaler.checkColumns}). Defaults to `frame.features` when a quarterly frame is given.
   * @returns Row-major `rows.length x columns` values.
   * @throws {RangeError} Naming the column for missing, extra or reordered columns and non-finite values.
   */
  transform(
    frame: pl.DataFrame | QuarterlyFrame,
    rows: number[],
    columns?: string[],
  ): Float32Array {
    const table = tableOf(frame);
    const list = columns ?? (table === frame ? undefined : (frame as QuarterlyFrame).features);
    if (list) this.checkColumns(list);
    const width = this.columns.length;
    const out = new Float32Array(rows.length * width);
    this.columns.forEach((c, j) => {
      const x = readColumn(table, c.column, rows, "scale the data");
      for (let i = 0; i < x.length; i++) out[i * width + j] = (x[i] - c.center) / c.scale;
    });
    return out;
  }

  /** The JSON form for the model store and the run record. */
  toJSON(): ScalerJSON {
    return {
      version: 1,
      columns: this.columns.map((c) => ({ ...c, stats: { ...c.stats } })),
      fittedRows: this.fittedRows,
      rowsHash: this.rowsHash,
    };
  }

  /**
   * Restores a scaler saved with {@linkcode Scaler.toJSON}.
   *
   * @param json The saved form.
   * @returns The scaler.
   * @throws {TypeError} When the form is not a version-1 scaler or a column's statistics are invalid.
   */
  static fromJSON(json: unknown): Scaler {
    const j = json as Partial<ScalerJSON> | null;
    if (!j || j.version !== 1 || !Array.isArray(j.columns)) {
      throw new TypeError("Cannot restore a scaler: expected an object with version 1 and columns");
    }
    const kinds = ["standard", "minmax", "robust", "none"];
    const columns = j.columns.map((c, i) => {
      if (
        !c || typeof c.column !== "string" || !kinds.includes(c.kind) ||
        !Number.isFinite(c.center) ||
        !Number.isFinite(c.scale) || !(c.scale > 0)
      ) {
        throw new TypeError(
          `Cannot restore a scaler: column ${i} (${
            JSON.stringify(c?.column)
          }) has invalid statistics`,
        );
      }
      return {
        column: c.column,
        kind: c.kind,
        center: c.center,
        scale: c.scale,
        stats: { ...(c.stats ?? {}) },
      };
    });
    if (typeof j.fittedRows !== "number" || typeof j.rowsHash !== "string") {
      throw new TypeError("Cannot restore a scaler: fittedRows and rowsHash are required");
    }
    return new Scaler(columns, j.fittedRows, j.rowsHash);
  }
}
