/**
 * A record's tables: the parts that grow with the data (a row per day, epoch, trade, quarter,
 * feature column or explained row). In memory they sit inside the {@linkcode RunRecord}; on
 * disk `record.json` holds the rest and lists the tables with their row counts under `tables`,
 * and each table is a Parquet file beside it. {@linkcode splitRecord} and {@linkcode joinRecord}
 * go between the two; the store does the file work.
 *
 * | table        | file                 | one row per                                      |
 * | ------------ | -------------------- | ------------------------------------------------ |
 * | series       | series.parquet       | backtest day: strategy, index and basket equity  |
 * | epochs       | epochs.parquet       | training epoch (the last fold's)                 |
 * | trades       | trades.parquet       | backtest round trip                              |
 * | ic           | ic.parquet           | quarter of a metric set's information coefficient |
 * | correlations | correlations.parquet | feature column: its correlation with the label   |
 * | scaler       | scaler.parquet       | feature column: the last fold's scaler           |
 * | ablation     | ablation.parquet     | ablated feature or family                        |
 * | shap         | shap.parquet         | explained eval row and feature                   |
 *
 * @module
 */
import { z } from "zod";
import { IsoDate, type Parsed } from "../config/schema.ts";
import {
  AblationRecord,
  CorrelationRow,
  EpochRecord,
  EquityPoint,
  type MetricSetPlace,
  metricSets,
  QuarterIc,
  type RunRecord,
  ScalerColumn,
  TradeRecord,
} from "./schema.ts";
import { Count, Float, Num, Quarter } from "./fields.ts";

/** One quarter of one metric set's IC (`ic.parquet`). */
export const IcRow = z.strictObject({
  place: z.enum(["preTrain", "postTrain", "lastEpoch", "perTicker", "baselines"]).describe(
    "which table of the record's metrics holds the set",
  ),
  name: z.string().describe("split name (train, validation, eval), eval ticker or baseline"),
  fold: z.string().nullable().describe("walk-forward fold; null for the run's own sets"),
  ...QuarterIc.shape,
});
/** One quarter of one metric set's IC. */
export type IcRow = z.infer<typeof IcRow>;

/** One scaled column (`scaler.parquet`): the scaler's statistics as nullable columns. */
export const ScalerRow = ScalerColumn.omit({ stats: true }).extend({
  mean: Num.describe("standard: the mean"),
  std: Num.describe("standard: the standard deviation"),
  min: Num.describe("minmax: the minimum"),
  max: Num.describe("minmax: the maximum"),
  median: Num.describe("robust: the median"),
  q1: Num.describe("robust: the first quartile"),
  q3: Num.describe("robust: the third quartile"),
});
/** One scaled column. */
export type ScalerRow = z.infer<typeof ScalerRow>;

/** The statistics a scaler row can hold, in the order `Scaler.toJSON` writes them. */
const SCALER_STATS = ["mean", "std", "min", "max", "median", "q1", "q3"] as const;

/** One explained eval row and feature (`shap.parquet`). */
export const ShapRow = z.strictObject({
  row: Count.describe("index of the explained row"),
  feature: z.string().describe("feature column"),
  shap: Float.describe("its attribution"),
  value: Float.describe("its scaled input"),
});
/** One explained eval row and feature. */
export type ShapRow = z.infer<typeof ShapRow>;

/**
 * One eval prediction (`predictions.parquet`, beside the record but not part of it: the report's
 * predicted-against-actual plot reads it).
 *
 * @ignore zod's inferred schema type cannot be written out or documented; the type is.
 */
export const PredictionRow = z.strictObject({
  ticker: z.string().describe("the row's ticker"),
  quarter: Quarter.describe("its quarter, YYYYQn"),
  date: IsoDate.describe("the quarter's last trading day"),
  split: z.string().describe("the split the row belongs to (eval)"),
  actual: Float.describe("the label"),
  predicted: Float.describe("the model's prediction"),
});
/** One eval prediction. */
export type PredictionRow = Parsed<typeof PredictionRow>;

/** The columns of `predictions.parquet`. */
export const PREDICTION_COLUMNS: Readonly<Record<keyof PredictionRow, ColumnKind>> = {
  ticker: "string",
  quarter: "string",
  date: "date",
  split: "string",
  actual: "float",
  predicted: "float",
};

/** The row schema of each table. */
export const TABLE_ROWS = {
  series: EquityPoint,
  epochs: EpochRecord,
  trades: TradeRecord,
  ic: IcRow,
  correlations: CorrelationRow,
  scaler: ScalerRow,
  ablation: AblationRecord,
  shap: ShapRow,
} as const;

/** A table's name. */
export type TableName = keyof typeof TABLE_ROWS;

/** Every table's name, in the order they are written. */
export const TABLE_NAMES: readonly TableName[] = [
  "series",
  "epochs",
  "trades",
  "ic",
  "correlations",
  "scaler",
  "ablation",
  "shap",
];

/**
 * Whether a name is a table's.
 *
 * @param name a name, e.g. a key of `record.json`'s `tables`
 * @returns true for one of {@linkcode TABLE_NAMES}
 */
export function isTableName(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

/** What a Parquet column holds. */
export type ColumnKind = "string" | "date" | "float" | "int" | "bool" | "strings";

/** Each table's columns and what they hold, in file order (the row schema's order). */
export const TABLE_COLUMNS: Readonly<Record<TableName, Readonly<Record<string, ColumnKind>>>> = {
  series: { date: "date", strategy: "float", index: "float", basket: "float" },
  epochs: { epoch: "int", loss: "float", valLoss: "float", lr: "float", seconds: "float" },
  trades: {
    ticker: "string",
    side: "string",
    entryDate: "date",
    entryPrice: "float",
    entryNotional: "float",
    exitDate: "date",
    exitPrice: "float",
    open: "bool",
    pnl: "float",
    return: "float",
    costs: "float",
    bars: "int",
  },
  ic: {
    place: "string",
    name: "string",
    fold: "string",
    quarter: "string",
    ic: "float",
    rankIc: "float",
    n: "int",
  },
  correlations: { feature: "string", pearson: "float", spearman: "float", strength: "string" },
  scaler: {
    column: "string",
    kind: "string",
    center: "float",
    scale: "float",
    mean: "float",
    std: "float",
    min: "float",
    max: "float",
    median: "float",
    q1: "float",
    q3: "float",
  },
  ablation: {
    name: "string",
    kind: "string",
    columns: "strings",
    loss: "float",
    metric: "float",
    deltaLoss: "float",
    deltaMetric: "float",
    verdict: "string",
  },
  shap: { row: "int", feature: "string", shap: "float", value: "float" },
};

/**
 * The file a table is stored in, beside `record.json`.
 *
 * @param name the table
 * @returns e.g. `series.parquet`
 */
export function tableFile(name: TableName): string {
  return `${name}.parquet`;
}

/** Every table of a record, as rows. */
export interface RunTables {
  /** Daily equity of the strategy and its benchmarks. */
  series: EquityPoint[];
  /** The training history. */
  epochs: EpochRecord[];
  /** The backtest's round trips. */
  trades: TradeRecord[];
  /** Every metric set's per-quarter IC. */
  ic: IcRow[];
  /** Feature-label correlations. */
  correlations: CorrelationRow[];
  /** The scaler's columns. */
  scaler: ScalerRow[];
  /** The ablation rows. */
  ablation: AblationRecord[];
  /** The SHAP values, long. */
  shap: ShapRow[];
}

/** `record.json` as written: the record without its tables, and the tables' row counts. */
export type RecordHead = Record<string, unknown> & {
  /** Table name → rows in its file; a table without rows has no file and no entry. */
  tables: Partial<Record<TableName, number>>;
};

function emptyTables(): RunTables {
  return {
    series: [],
    epochs: [],
    trades: [],
    ic: [],
    correlations: [],
    scaler: [],
    ablation: [],
    shap: [],
  };
}

/**
 * Split a record into what `record.json` holds and its tables. The head keeps the record's key
 * order and ends with `tables`, the row count of each table that has rows.
 *
 * @param record a valid record
 * @returns the head (plain JSON data) and the tables
 * @example
 * ```ts
 * const { head, tables } = splitRecord(record);
 * tables.series.length; // the backtest's days
 * ```
 */
export function splitRecord(record: RunRecord): { head: RecordHead; tables: RunTables } {
  const tables = emptyTables();
  const { correlations, ...rest } = record;
  const head: Record<string, unknown> = { ...rest };
  tables.correlations = correlations;
  if (record.scaler) {
    const { columns, ...scaler } = record.scaler;
    head.scaler = scaler;
    tables.scaler = columns.map(scalerRow);
  }
  if (record.training) {
    const { history, ...training } = record.training;
    head.training = training;
    tables.epochs = history;
  }
  if (record.metrics) {
    for (const { place, name, fold, set } of metricSets(record.metrics)) {
      if (!("ic" in set) || set.ic === null) continue;
      for (const q of set.ic.perQuarter) tables.ic.push({ place, name, fold, ...q });
    }
    // The head's ICs hold their summaries only: their quarters are rows of ic.parquet.
    const metrics: Record<string, unknown> = structuredClone(record.metrics);
    forEachSet(metrics, (_place, _name, _fold, set) => {
      if (!isObject(set.ic)) return;
      const { perQuarter: _quarters, ...summary } = set.ic;
      set.ic = summary;
    });
    head.metrics = metrics;
  }
  if (record.backtest) {
    const { equity, trades, ...backtest } = record.backtest;
    head.backtest = backtest;
    tables.series = equity;
    tables.trades = trades;
  }
  if (record.analysis) {
    const analysis: Record<string, unknown> = { ...record.analysis };
    if (record.analysis.ablation) {
      const { rows, ...ablation } = record.analysis.ablation;
      analysis.ablation = ablation;
      tables.ablation = rows;
    }
    if (record.analysis.shap) {
      const { values, featureValues, ...shap } = record.analysis.shap;
      analysis.shap = shap;
      values.forEach((row, i) =>
        shap.features.forEach((feature, j) =>
          tables.shap.push({ row: i, feature, shap: row[j], value: featureValues[i]?.[j] ?? null })
        )
      );
    }
    head.analysis = analysis;
  }
  const counts: Partial<Record<TableName, number>> = {};
  for (const name of TABLE_NAMES) if (tables[name].length > 0) counts[name] = tables[name].length;
  return { head: { ...head, tables: counts }, tables };
}

function scalerRow(c: ScalerColumn): ScalerRow {
  const row: ScalerRow = {
    column: c.column,
    kind: c.kind,
    center: c.center,
    scale: c.scale,
    mean: null,
    std: null,
    min: null,
    max: null,
    median: null,
    q1: null,
    q3: null,
  };
  for (const stat of SCALER_STATS) if (stat in c.stats) row[stat] = c.stats[stat];
  return row;
}

function scalerColumn(r: ScalerRow): ScalerColumn {
  const stats: Record<string, number> = {};
  for (const stat of SCALER_STATS) {
    const v = r[stat];
    if (v !== null) stats[stat] = v;
  }
  return { column: r.column, kind: r.kind, center: r.center, scale: r.scale, stats };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Put a record's tables back into what `record.json` held: the inverse of
 * {@linkcode splitRecord}. The result is not validated (the caller parses it); a part the head
 * does not have (a null backtest) takes no rows.
 *
 * @param head the parsed `record.json`
 * @param tables the rows read from the table files (missing tables have no rows)
 * @returns the record as plain data, without `tables`
 */
export function joinRecord(head: Record<string, unknown>, tables: Partial<RunTables>): unknown {
  const { tables: _counts, ...out } = structuredClone(head);
  out.correlations = tables.correlations ?? [];
  if (isObject(out.scaler)) {
    out.scaler = { ...out.scaler, columns: rows(tables.scaler, scalerColumn) };
  }
  if (isObject(out.training)) out.training = { ...out.training, history: tables.epochs ?? [] };
  if (isObject(out.metrics)) joinIc(out.metrics, tables.ic ?? []);
  if (isObject(out.backtest)) {
    out.backtest = { ...out.backtest, equity: tables.series ?? [], trades: tables.trades ?? [] };
  }
  if (isObject(out.analysis)) {
    const analysis = out.analysis;
    if (isObject(analysis.ablation)) {
      analysis.ablation = { ...analysis.ablation, rows: tables.ablation ?? [] };
    }
    if (isObject(analysis.shap)) analysis.shap = joinShap(analysis.shap, tables.shap ?? []);
  }
  return out;
}

function rows<R, T>(list: R[] | undefined, f: (r: R) => T): T[] {
  return (list ?? []).map(f);
}

/** Calls `f` with each metric set of plain (unvalidated) metrics data and where it sits. */
function forEachSet(
  metrics: Record<string, unknown>,
  f: (
    place: MetricSetPlace,
    name: string,
    fold: string | null,
    set: Record<string, unknown>,
  ) => void,
): void {
  const splits = ["train", "validation", "eval"];
  for (const place of ["preTrain", "postTrain", "lastEpoch"] as const) {
    const split = metrics[place];
    if (!isObject(split)) continue;
    for (const name of splits) if (isObject(split[name])) f(place, name, null, split[name]);
    if (!isObject(split.folds)) continue;
    for (const [fold, sets] of Object.entries(split.folds)) {
      if (!isObject(sets)) continue;
      for (const name of splits) if (isObject(sets[name])) f(place, name, fold, sets[name]);
    }
  }
  for (const place of ["perTicker", "baselines"] as const) {
    const table = metrics[place];
    if (!isObject(table)) continue;
    for (const [name, set] of Object.entries(table)) if (isObject(set)) f(place, name, null, set);
  }
}

/** Each metric set's IC gets its quarters back, in file order. */
function joinIc(metrics: Record<string, unknown>, ic: IcRow[]): void {
  const key = (place: string, name: string, fold: string | null) =>
    JSON.stringify([place, name, fold]);
  const byKey = new Map<string, IcRow[]>();
  for (const row of ic) {
    const k = key(row.place, row.name, row.fold);
    byKey.set(k, [...(byKey.get(k) ?? []), row]);
  }
  forEachSet(metrics, (place, name, fold, set) => {
    if (!isObject(set.ic)) return;
    const quarters = (byKey.get(key(place, name, fold)) ?? []).map((r) => ({
      quarter: r.quarter,
      ic: r.ic,
      rankIc: r.rankIc,
      n: r.n,
    }));
    set.ic = { ...set.ic, perQuarter: quarters };
  });
}

/** The SHAP matrices back from long rows: one row per explained row, columns in feature order. */
function joinShap(shap: Record<string, unknown>, long: ShapRow[]): Record<string, unknown> {
  const features = Array.isArray(shap.features) ? shap.features.map(String) : [];
  const column = new Map(features.map((f, j) => [f, j]));
  const count = long.reduce((n, r) => Math.max(n, r.row + 1), 0);
  const values = Array.from({ length: count }, () => features.map((): number | null => null));
  const featureValues = Array.from(
    { length: count },
    () => features.map((): number | null => null),
  );
  for (const r of long) {
    const j = column.get(r.feature);
    if (j === undefined) continue;
    values[r.row][j] = r.shap;
    featureValues[r.row][j] = r.value;
  }
  return { ...shap, values, featureValues };
}
