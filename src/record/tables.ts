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
 * | tickerMetrics | ticker-metrics.parquet | eval ticker: its eval metrics (`metrics.perTicker`) |
 * | tickerBacktest | ticker-backtest.parquet | eval ticker: its backtest row (`backtest.perTicker`) |
 * | tickers      | tickers.parquet      | ticker of a list longer than {@linkcode TICKERS_INLINE_MAX} |
 *
 * Ticker lists (`data.tickers.train`, `data.tickers.eval`, `backtest.benchmarks.basket`) stay in
 * `record.json` while they are short (a Dow 30 run reads the same by eye); a longer one leaves
 * the head for `tickers.parquet`, one row per ticker in list order, and comes back on read. The
 * dataset's fingerprint already pins the data, but not which of its tickers the run trained on
 * and evaluated, so the lists are kept whole, not as a count and hash: a run is rerun, and its
 * per-ticker rows read, from its own files.
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
  type MetricSet,
  type MetricSetPlace,
  metricSets,
  QuarterIc,
  type RunRecord,
  ScalerColumn,
  TickerSummary,
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

/**
 * One eval ticker's eval metrics (`ticker-metrics.parquet`): a metric set flat, the columns of
 * the run's mode set and the other mode's null; an IC summary as `ic*` columns (all null when
 * the set has no IC; its quarters are rows of `ic.parquet`, place `perTicker`). Counts that may
 * be null are Float64 columns: an Int32 column writes null as 0.
 */
export const TickerMetricsRow = z.strictObject({
  ticker: z.string().describe("the eval ticker"),
  n: Count.describe("rows"),
  loss: Num.describe("the experiment's own loss"),
  threshold: Num.describe("direction: the probability threshold"),
  accuracy: Num.describe("direction: share of rows predicted right"),
  precision: Num.describe("direction: tp / (tp + fp)"),
  recall: Num.describe("direction: tp / (tp + fn)"),
  f1: Num.describe("direction: harmonic mean of precision and recall"),
  tp: Count.nullable().describe("direction: true positives"),
  fp: Count.nullable().describe("direction: false positives"),
  tn: Count.nullable().describe("direction: true negatives"),
  fn: Count.nullable().describe("direction: false negatives"),
  positiveRate: Num.describe("direction: share of rows whose label is up"),
  mse: Num.describe("magnitude: mean squared error"),
  mae: Num.describe("magnitude: mean absolute error"),
  r2: Num.describe("magnitude: R²"),
  pearson: Num.describe("magnitude: Pearson of predictions and labels"),
  signAccuracy: Num.describe("magnitude: share of rows whose predicted sign is the label's"),
  icMean: Num.describe("magnitude: mean per-quarter IC"),
  icStd: Num.describe("magnitude: its standard deviation"),
  icIcir: Num.describe("magnitude: ICIR"),
  icQuarters: Count.nullable().describe("magnitude: quarters with an IC; null without an IC"),
  icSkipped: Count.nullable().describe("magnitude: quarters skipped for too few names"),
  rankIcMean: Num.describe("magnitude: mean per-quarter rank IC"),
  rankIcStd: Num.describe("magnitude: its standard deviation"),
  rankIcIcir: Num.describe("magnitude: rank ICIR"),
  rankIcQuarters: Count.nullable().describe("magnitude: quarters with a rank IC; null without"),
  notes: z.array(z.string()).describe("why a metric is null"),
});
/** One eval ticker's eval metrics, flat. */
export type TickerMetricsRow = z.infer<typeof TickerMetricsRow>;

/** Which ticker list a row of `tickers.parquet` belongs to. */
export const TICKER_LISTS = ["train", "eval", "basket"] as const;

/** One ticker of a long ticker list (`tickers.parquet`). */
export const TickerListRow = z.strictObject({
  list: z.enum(TICKER_LISTS).describe(
    "data.tickers.train, data.tickers.eval or backtest.benchmarks.basket",
  ),
  ticker: z.string().describe("the ticker, in the list's order"),
});
/** One ticker of a long ticker list. */
export type TickerListRow = z.infer<typeof TickerListRow>;

/**
 * The longest ticker list `record.json` holds itself; a longer one is stored in `tickers.parquet`
 * (100 tickers are about 1 KB of JSON: a few thousand would take most of the record).
 */
export const TICKERS_INLINE_MAX = 100;

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
  tickerMetrics: TickerMetricsRow,
  tickerBacktest: TickerSummary,
  tickers: TickerListRow,
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
  "tickerMetrics",
  "tickerBacktest",
  "tickers",
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
  tickerMetrics: {
    ticker: "string",
    n: "int",
    loss: "float",
    threshold: "float",
    accuracy: "float",
    precision: "float",
    recall: "float",
    f1: "float",
    tp: "float",
    fp: "float",
    tn: "float",
    fn: "float",
    positiveRate: "float",
    mse: "float",
    mae: "float",
    r2: "float",
    pearson: "float",
    signAccuracy: "float",
    icMean: "float",
    icStd: "float",
    icIcir: "float",
    icQuarters: "float",
    icSkipped: "float",
    rankIcMean: "float",
    rankIcStd: "float",
    rankIcIcir: "float",
    rankIcQuarters: "float",
    notes: "strings",
  },
  tickerBacktest: {
    ticker: "string",
    trades: "int",
    wins: "int",
    winRate: "float",
    avgWin: "float",
    avgLoss: "float",
    profitFactor: "float",
    pnl: "float",
    totalReturn: "float",
    buyHoldReturn: "float",
    exposure: "float",
    costs: "float",
    maxDrawdown: "float",
  },
  tickers: { list: "string", ticker: "string" },
};

/**
 * The file a table is stored in, beside `record.json`.
 *
 * @param name the table
 * @returns e.g. `series.parquet`, `ticker-metrics.parquet` for `tickerMetrics`
 */
export function tableFile(name: TableName): string {
  return `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.parquet`;
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
  /** Each eval ticker's eval metrics. */
  tickerMetrics: TickerMetricsRow[];
  /** Each eval ticker's backtest row. */
  tickerBacktest: TickerSummary[];
  /** The tickers of the lists too long for `record.json`. */
  tickers: TickerListRow[];
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
    tickerMetrics: [],
    tickerBacktest: [],
    tickers: [],
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
  const long = (list: TickerListRow["list"], tickers: string[]): boolean => {
    if (tickers.length <= TICKERS_INLINE_MAX) return false;
    for (const ticker of tickers) tables.tickers.push({ list, ticker });
    return true;
  };
  {
    const { train, eval: evalTickers, ...tickers } = record.data.tickers;
    const kept: Record<string, unknown> = {};
    if (!long("train", train)) kept.train = train;
    if (!long("eval", evalTickers)) kept.eval = evalTickers;
    head.data = { ...record.data, tickers: { ...kept, ...tickers } };
  }
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
    // Per-ticker sets are rows of ticker-metrics.parquet.
    const { perTicker, ...rest } = record.metrics;
    tables.tickerMetrics = Object.entries(perTicker).map(([t, set]) => tickerMetricsRow(t, set));
    const metrics: Record<string, unknown> = structuredClone(rest);
    forEachSet(metrics, (_place, _name, _fold, set) => {
      if (!isObject(set.ic)) return;
      const { perQuarter: _quarters, ...summary } = set.ic;
      set.ic = summary;
    });
    head.metrics = metrics;
  }
  if (record.backtest) {
    const { equity, trades, perTicker, ...backtest } = record.backtest;
    const { basket, ...benchmarks } = backtest.benchmarks;
    head.backtest = {
      ...backtest,
      benchmarks: long("basket", basket) ? benchmarks : backtest.benchmarks,
    };
    tables.series = equity;
    tables.trades = trades;
    tables.tickerBacktest = perTicker;
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

function tickerMetricsRow(ticker: string, set: MetricSet): TickerMetricsRow {
  const row: TickerMetricsRow = {
    ticker,
    n: set.n,
    loss: set.loss,
    threshold: null,
    accuracy: null,
    precision: null,
    recall: null,
    f1: null,
    tp: null,
    fp: null,
    tn: null,
    fn: null,
    positiveRate: null,
    mse: null,
    mae: null,
    r2: null,
    pearson: null,
    signAccuracy: null,
    icMean: null,
    icStd: null,
    icIcir: null,
    icQuarters: null,
    icSkipped: null,
    rankIcMean: null,
    rankIcStd: null,
    rankIcIcir: null,
    rankIcQuarters: null,
    notes: set.notes,
  };
  if ("confusion" in set) {
    const { threshold, accuracy, precision, recall, f1, positiveRate } = set;
    return { ...row, threshold, accuracy, precision, recall, f1, positiveRate, ...set.confusion };
  }
  const { mse, mae, r2, pearson, signAccuracy, ic, rankIc } = set;
  Object.assign(row, { mse, mae, r2, pearson, signAccuracy });
  if (ic) {
    Object.assign(row, {
      icMean: ic.mean,
      icStd: ic.std,
      icIcir: ic.icir,
      icQuarters: ic.quarters,
      icSkipped: ic.skipped,
    });
  }
  if (rankIc) {
    Object.assign(row, {
      rankIcMean: rankIc.mean,
      rankIcStd: rankIc.std,
      rankIcIcir: rankIc.icir,
      rankIcQuarters: rankIc.quarters,
    });
  }
  return row;
}

/** A metric set back from its flat row, in the run's mode (plain data: the caller parses it). */
function metricSetOf(r: TickerMetricsRow, mode: unknown): Record<string, unknown> {
  if (mode === "direction") {
    return {
      n: r.n,
      threshold: r.threshold,
      loss: r.loss,
      accuracy: r.accuracy,
      precision: r.precision,
      recall: r.recall,
      f1: r.f1,
      confusion: { tp: r.tp, fp: r.fp, tn: r.tn, fn: r.fn },
      positiveRate: r.positiveRate,
      notes: r.notes,
    };
  }
  return {
    n: r.n,
    loss: r.loss,
    mse: r.mse,
    mae: r.mae,
    r2: r.r2,
    pearson: r.pearson,
    signAccuracy: r.signAccuracy,
    ic: r.icQuarters === null ? null : {
      mean: r.icMean,
      std: r.icStd,
      icir: r.icIcir,
      quarters: r.icQuarters,
      perQuarter: [],
      skipped: r.icSkipped,
    },
    rankIc: r.rankIcQuarters === null
      ? null
      : { mean: r.rankIcMean, std: r.rankIcStd, icir: r.rankIcIcir, quarters: r.rankIcQuarters },
    notes: r.notes,
  };
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
  const list = (name: TickerListRow["list"]) =>
    (tables.tickers ?? []).filter((r) => r.list === name).map((r) => r.ticker);
  if (isObject(out.data) && isObject(out.data.tickers)) {
    const t = out.data.tickers;
    out.data = {
      ...out.data,
      tickers: { train: t.train ?? list("train"), eval: t.eval ?? list("eval"), ...t },
    };
  }
  if (isObject(out.scaler)) {
    out.scaler = { ...out.scaler, columns: rows(tables.scaler, scalerColumn) };
  }
  if (isObject(out.training)) out.training = { ...out.training, history: tables.epochs ?? [] };
  if (isObject(out.metrics)) {
    // A record of version 3 or older holds its per-ticker sets itself.
    if (!("perTicker" in out.metrics)) {
      const mode = out.metrics.mode;
      out.metrics = {
        ...out.metrics,
        perTicker: Object.fromEntries(
          (tables.tickerMetrics ?? []).map((r) => [r.ticker, metricSetOf(r, mode)]),
        ),
      };
    }
    joinIc(out.metrics as Record<string, unknown>, tables.ic ?? []);
  }
  if (isObject(out.backtest)) {
    const b = out.backtest;
    out.backtest = {
      ...b,
      benchmarks: isObject(b.benchmarks)
        ? { ...b.benchmarks, basket: b.benchmarks.basket ?? list("basket") }
        : b.benchmarks,
      equity: tables.series ?? [],
      perTicker: b.perTicker ?? tables.tickerBacktest ?? [],
      trades: tables.trades ?? [],
    };
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
