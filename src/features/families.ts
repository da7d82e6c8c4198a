/**
 * Feature families: which table each reads, the columns each produces (the
 * research notes' names) and how each column is computed for a quarter row.
 *
 * Every builder sees a quarter row only through its last trading day
 * (`endDay`) and the previous quarter's last trading day (`windowStart`), and
 * reads only source rows dated on or before `endDay`, so a quarter's features
 * never depend on later data.
 *
 * @module
 */
import pl from "nodejs-polars";
import { countAtOrBelow } from "@alfred/core";
import { type FeatureFamilies, NEWS_EVENT_TYPES } from "../config/schema.ts";
import { type Dataset, MissingTableError, type TableName } from "../data/dataset.ts";
import type { DigestedNews } from "../news/digest.ts";
import { quarterNewsWindow } from "../news/point_in_time.ts";
import { dateColumnDays, numberColumn, stringColumn } from "./columns.ts";

/** The feature families in the order their columns appear in the model input. */
export const FAMILY_ORDER = [
  "price",
  "volume",
  "fundamentals",
  "earnings",
  "insider",
  "sentiment",
  "market",
  "news",
] as const;

/** A feature family name (a key of `features.families`). */
export type FamilyName = typeof FAMILY_ORDER[number];

/** The table each family reads. */
export const FAMILY_TABLE: Readonly<Record<FamilyName, TableName>> = {
  price: "prices",
  volume: "prices",
  fundamentals: "fundamentals",
  earnings: "fundamentals",
  insider: "insider",
  sentiment: "sentiment",
  market: "market",
  news: "news",
};

/** Feature column -> source column of the `fundamentals` table, for the fundamentals family. */
export const FUNDAMENTAL_COLUMNS: Readonly<Record<string, string>> = {
  Margin_Gross: "margin_gross",
  Margin_Operating: "margin_operating",
  Margin_Net_Profit: "margin_net_profit",
};

/** Feature column -> source column of the `fundamentals` table, for the earnings family. */
export const EARNINGS_COLUMNS: Readonly<Record<string, string>> = {
  reportedEPS: "reported_eps",
  estimatedEPS: "estimated_eps",
  surprise: "surprise",
  surprisePercentage: "surprise_percentage",
};

/** Feature column -> source column of the `insider` table (summed over the quarter). */
export const INSIDER_COLUMNS: Readonly<Record<string, string>> = {
  insider_acquisition: "acquisition",
  insider_disposal: "disposal",
};

/** Feature column -> source column of the `sentiment` table (averaged over the quarter). */
export const SENTIMENT_COLUMNS: Readonly<Record<string, string>> = {
  mean_sentiment: "sentiment",
  mean_outlook: "outlook",
};

/** One quarter row of one ticker, as the builders see it. */
export interface QuarterRow {
  ticker: string;
  /** Calendar quarter number (`year * 4 + quarter - 1`). */
  qn: number;
  /** Epoch day of the ticker's last trading day in the quarter. */
  endDay: number;
  /** Index of that day in the ticker's daily series. */
  endIndex: number;
  /** Source rows dated after this epoch day (and up to `endDay`) belong to the quarter. */
  windowStart: number;
}

/** A ticker's daily price series, sorted by date, one entry per trading day. */
export interface DailySeries {
  days: Int32Array;
  /** The raw close: price-level features use it. */
  close: Float64Array;
  /**
   * The close returns and labels are computed from: the adjusted close where the manifest's
   * `returns` says `adj_close` (`returnsColumn`), else the raw close itself.
   */
  returnsClose: Float64Array;
  /** Daily volume, `null` where the table has none; absent when the table has no volume column. */
  volume?: (number | null)[];
  /** Raw open, high and low, `null` where the table has none; loaded only for a daily window. */
  open?: (number | null)[];
  high?: (number | null)[];
  low?: (number | null)[];
}

/** What a builder needs: the dataset, the quarter rows and the daily price series. */
export interface BuildContext {
  dataset: Dataset;
  tickers: string[];
  rows: QuarterRow[];
  daily: Map<string, DailySeries>;
  /** Epoch-day bounds of the daily data used (inclusive). */
  fromDay: number;
  toDay: number;
  /** The digested articles, for the `news` family (`src/news/digest.ts` digests them first). */
  news?: DigestedNews;
}

/** A computed feature column: values, and a mask of the rows where the value is missing. */
export interface ColumnValues {
  values: Float64Array;
  missing: Uint8Array;
}

/**
 * The error a feature family (or a stage) raises when its table lacks a column, or the market
 * table a series, it needs. It carries the config key that asks for it, where one does
 * (`features.families.volume`, `backtest.benchmark`), so a command can point at that key.
 */
export class MissingColumnError extends TypeError {
  /** The config key that asks for the column or series, or null. */
  readonly configKey: string | null;

  /**
   * @param dataset the dataset's name
   * @param tableName the table that lacks it
   * @param column the absent column or series
   * @param available what the table has instead
   * @param neededBy what needs it, for the message (`the "volume" feature family`)
   * @param kind a `column`, or a `series` of the market table
   * @param configKey the config key that asks for it, where one does
   */
  constructor(
    readonly dataset: string,
    readonly tableName: TableName,
    readonly column: string,
    readonly available: string[],
    readonly neededBy: string,
    readonly kind: "column" | "series" = "column",
    configKey?: string,
  ) {
    super(
      `Dataset "${dataset}" table "${tableName}" has no ${kind} "${column}", which ${neededBy} needs: it has ${
        available.map((a) => `"${a}"`).join(", ") || "none"
      }`,
    );
    this.name = "MissingColumnError";
    this.configKey = configKey ?? null;
  }
}

/**
 * The base (non-delta) columns a family produces under its config.
 *
 * @param family The family.
 * @param cfg The family's config from `features.families`.
 * @param marketSeries For `market`: the series the dataset's market table holds (used when `cfg.series` is absent).
 * @returns The column names, in model input order.
 */
export function familyBaseColumns(
  family: FamilyName,
  cfg: NonNullable<FeatureFamilies[FamilyName]>,
  marketSeries: string[] = [],
): string[] {
  switch (family) {
    case "price": {
      const c = cfg as NonNullable<FeatureFamilies["price"]>;
      return [...(c.close ? ["Close"] : []), ...c.ma_windows.map((n) => `Close_diff_MA_${n}`)];
    }
    case "volume": {
      const c = cfg as NonNullable<FeatureFamilies["volume"]>;
      return [...(c.volume ? ["Volume"] : []), ...c.ma_windows.map((n) => `Volume_diff_MA_${n}`)];
    }
    case "fundamentals":
      return Object.keys(FUNDAMENTAL_COLUMNS);
    case "earnings":
      return Object.keys(EARNINGS_COLUMNS);
    case "insider":
      return Object.keys(INSIDER_COLUMNS);
    case "sentiment":
      return Object.keys(SENTIMENT_COLUMNS);
    case "market": {
      const c = cfg as NonNullable<FeatureFamilies["market"]>;
      return c.series ?? marketSeries;
    }
    case "news": {
      const c = cfg as NonNullable<FeatureFamilies["news"]>;
      return [...NEWS_COLUMNS, ...(c.events ? NEWS_EVENT_TYPES.map((t) => `news_event_${t}`) : [])];
    }
  }
}

/**
 * The config key of a feature family.
 *
 * @param family the family
 * @returns `features.families.<family>`
 * @example
 * ```ts
 * familyKey("volume"); // "features.families.volume"
 * ```
 */
export function familyKey(family: FamilyName): string {
  return `features.families.${family}`;
}

/** The `news` family's columns (before the optional event counts). */
export const NEWS_COLUMNS: readonly string[] = [
  "news_count",
  "news_sentiment",
  "news_sentiment_weighted",
];

/**
 * The `news` family: the digested articles that count for each quarter row (published at or after
 * the previous quarter's last close and before this quarter's, in the exchange's time zone; see
 * `src/news/point_in_time.ts`) rolled up as `news_count`, `news_sentiment` (mean digest
 * sentiment), `news_sentiment_weighted` (relevance-weighted mean) and, with `events`, one
 * `news_event_<type>` count per event type. A quarter without articles is missing (the family's
 * missing-value rule decides), as is the weighted mean where every relevance is zero.
 *
 * @param ctx The build context (its `news` holds the digests).
 * @param cfg The family config.
 * @returns Column name -> values.
 * @throws {TypeError} When the articles were not digested first.
 */
export function buildNews(
  ctx: BuildContext,
  cfg: NonNullable<FeatureFamilies["news"]>,
): Map<string, ColumnValues> {
  familyTable(ctx, "news");
  const news = ctx.news;
  if (!news) {
    throw new TypeError(
      'The "news" feature family needs digested articles: digest them with digestNews (src/news/digest.ts) and pass them as the news option',
    );
  }
  const byTicker = new Map<string, number[]>();
  news.articles.forEach((a, i) => {
    let g = byTicker.get(a.ticker);
    if (!g) byTicker.set(a.ticker, g = []);
    g.push(i);
  });
  for (const g of byTicker.values()) {
    g.sort((a, b) => news.articles[a].publishedMs - news.articles[b].publishedMs || a - b);
  }
  const n = ctx.rows.length;
  const columns = familyBaseColumns("news", cfg);
  const cols = new Map(columns.map((c) => [c, emptyColumn(n)]));
  const set = (c: string, i: number, v: number) => {
    const col = cols.get(c)!;
    col.values[i] = v;
    col.missing[i] = 0;
  };
  ctx.rows.forEach((r, i) => {
    const g = byTicker.get(r.ticker);
    if (!g) return;
    const w = quarterNewsWindow(r.windowStart, r.endDay, cfg.market_close);
    let count = 0, sum = 0, wsum = 0, rsum = 0;
    const events = new Map<string, number>();
    for (const k of g) {
      const t = news.articles[k].publishedMs;
      if (t < w.from) continue;
      if (t >= w.to) break;
      const d = news.digests[k];
      count++;
      sum += d.sentiment;
      wsum += d.relevance * d.sentiment;
      rsum += d.relevance;
      if (d.event_type) events.set(d.event_type, (events.get(d.event_type) ?? 0) + 1);
    }
    if (count === 0) return;
    set("news_count", i, count);
    set("news_sentiment", i, sum / count);
    if (rsum > 0) set("news_sentiment_weighted", i, wsum / rsum);
    if (cfg.events) {
      for (const t of NEWS_EVENT_TYPES) set(`news_event_${t}`, i, events.get(t) ?? 0);
    }
  });
  return cols;
}

/** Returns the family's table, or throws {@linkcode MissingTableError} naming the family. */
function familyTable(ctx: BuildContext, family: FamilyName): pl.DataFrame {
  const table = FAMILY_TABLE[family];
  if (!ctx.dataset.has(table)) {
    throw new MissingTableError(
      ctx.dataset.name,
      table,
      `the "${family}" feature family`,
      familyKey(family),
    );
  }
  return ctx.dataset.table(table);
}

function requireColumns(
  ctx: BuildContext,
  df: pl.DataFrame,
  family: FamilyName,
  columns: string[],
): void {
  for (const c of columns) {
    if (!df.columns.includes(c)) {
      throw new MissingColumnError(
        ctx.dataset.name,
        FAMILY_TABLE[family],
        c,
        df.columns,
        `the "${family}" feature family`,
        "column",
        familyKey(family),
      );
    }
  }
}

function emptyColumn(n: number): ColumnValues {
  const values = new Float64Array(n);
  const missing = new Uint8Array(n).fill(1);
  return { values, missing };
}

/** Rows of a ticker-keyed table for the requested tickers. */
function tickerRows(ctx: BuildContext, df: pl.DataFrame): pl.DataFrame {
  return df.filter(pl.col("ticker").cast(pl.Utf8).isIn(ctx.tickers));
}

/**
 * The `price` family: `Close` (the quarter's last close) and `Close_diff_MA_N`
 * (that close over the mean of the last N daily closes, minus one; missing
 * when fewer than N days of history exist).
 *
 * @param ctx The build context.
 * @param cfg The family config.
 * @returns Column name -> values.
 */
export function buildPrice(
  ctx: BuildContext,
  cfg: NonNullable<FeatureFamilies["price"]>,
): Map<string, ColumnValues> {
  const n = ctx.rows.length;
  const out = new Map<string, ColumnValues>();
  const closeCol = emptyColumn(n);
  const mas = cfg.ma_windows.map((w) => ({ w, col: emptyColumn(n) }));
  const prefix = new Map<string, Float64Array>();
  for (const [t, s] of ctx.daily) prefix.set(t, prefixSum(s.close));
  ctx.rows.forEach((r, i) => {
    const s = ctx.daily.get(r.ticker)!;
    const p = prefix.get(r.ticker)!;
    const c = s.close[r.endIndex];
    closeCol.values[i] = c;
    closeCol.missing[i] = 0;
    for (const { w, col } of mas) {
      if (r.endIndex + 1 < w) continue;
      const mean = (p[r.endIndex + 1] - p[r.endIndex + 1 - w]) / w;
      col.values[i] = c / mean - 1;
      col.missing[i] = 0;
    }
  });
  out.set("Close", closeCol);
  for (const { w, col } of mas) out.set(`Close_diff_MA_${w}`, col);
  return out;
}

function prefixSum(values: ArrayLike<number>): Float64Array {
  const p = new Float64Array(values.length + 1);
  for (let i = 0; i < values.length; i++) p[i + 1] = p[i] + values[i];
  return p;
}

/**
 * The `volume` family: `Volume` (the quarter's last trading day's volume, like
 * `Close` is its last close) and `Volume_diff_MA_N` (that volume over the mean
 * of the last N daily volumes, minus one). Missing where the day's volume is
 * null or a window holds a null or has fewer than N days.
 *
 * @param ctx The build context.
 * @param cfg The family config.
 * @returns Column name -> values.
 * @throws {MissingColumnError} When the prices table has no `volume` column.
 */
export function buildVolume(
  ctx: BuildContext,
  cfg: NonNullable<FeatureFamilies["volume"]>,
): Map<string, ColumnValues> {
  const df = familyTable(ctx, "volume");
  requireColumns(ctx, df, "volume", ["volume"]);
  const n = ctx.rows.length;
  const volCol = emptyColumn(n);
  const mas = cfg.ma_windows.map((w) => ({ w, col: emptyColumn(n) }));
  const sums = new Map<string, { sum: Float64Array; nulls: Int32Array }>();
  for (const [t, s] of ctx.daily) {
    const v = s.volume!;
    const sum = new Float64Array(v.length + 1);
    const nulls = new Int32Array(v.length + 1);
    for (let i = 0; i < v.length; i++) {
      sum[i + 1] = sum[i] + (v[i] ?? 0);
      nulls[i + 1] = nulls[i] + (v[i] === null ? 1 : 0);
    }
    sums.set(t, { sum, nulls });
  }
  ctx.rows.forEach((r, i) => {
    const v = ctx.daily.get(r.ticker)!.volume!;
    const { sum, nulls } = sums.get(r.ticker)!;
    const last = v[r.endIndex];
    if (last === null) return;
    volCol.values[i] = last;
    volCol.missing[i] = 0;
    const e = r.endIndex + 1;
    for (const { w, col } of mas) {
      if (e < w || nulls[e] - nulls[e - w] > 0) continue;
      col.values[i] = last / ((sum[e] - sum[e - w]) / w) - 1;
      col.missing[i] = 0;
    }
  });
  const out = new Map<string, ColumnValues>();
  out.set("Volume", volCol);
  for (const { w, col } of mas) out.set(`Volume_diff_MA_${w}`, col);
  return out;
}

/**
 * The `fundamentals` and `earnings` families: for each quarter row, the latest
 * report of the ticker whose `report_date` (the day the market learned it) is
 * on or before the quarter's last trading day. The fiscal period end is never
 * used for timing, only to order reports published on the same day.
 *
 * @param ctx The build context.
 * @param family `"fundamentals"` or `"earnings"`.
 * @returns Column name -> values; missing where no report was out yet or the report's value is null.
 * @throws {MissingTableError} When the dataset has no fundamentals table.
 * @throws {MissingColumnError} When the table lacks a needed column.
 */
export function buildReports(
  ctx: BuildContext,
  family: "fundamentals" | "earnings",
): Map<string, ColumnValues> {
  const mapping = family === "fundamentals" ? FUNDAMENTAL_COLUMNS : EARNINGS_COLUMNS;
  const source = {
    date: "report_date",
    also: ["fiscal_date_ending"],
    sort: ["ticker", "report_date", "fiscal_date_ending"],
  };
  return pointInTime(ctx, family, mapping, source, (g, r, column) => {
    const k = lastAtOrBefore(g.days, r.endDay);
    return k < 0 ? null : column[g.rows[k]];
  });
}

/** A ticker's rows of a source table: their indices and days, ascending by day. */
interface TickerRows {
  rows: number[];
  days: number[];
}

/**
 * What the point-in-time families share: read the family's source columns (the values of its
 * `mapping`) with each row's day, group the rows by ticker, and fill each quarter row's feature
 * columns with what `pick` makes of the ticker's rows (null: missing).
 *
 * @param ctx The build context.
 * @param family The family.
 * @param mapping Feature column -> source column.
 * @param source The date column, other columns it needs, and the order to read rows in.
 * @param pick A quarter row's value of one source column, from the ticker's rows.
 * @returns Column name -> values.
 */
function pointInTime(
  ctx: BuildContext,
  family: "fundamentals" | "earnings" | "insider" | "sentiment",
  mapping: Readonly<Record<string, string>>,
  source: { date: string; also?: string[]; sort?: string[] },
  pick: (g: TickerRows, r: QuarterRow, column: (number | null)[]) => number | null,
): Map<string, ColumnValues> {
  const df = familyTable(ctx, family);
  const sources = Object.values(mapping);
  requireColumns(ctx, df, family, ["ticker", source.date, ...(source.also ?? []), ...sources]);
  const where = `Dataset "${ctx.dataset.name}" table "${FAMILY_TABLE[family]}"`;
  const rows = source.sort ? tickerRows(ctx, df).sort(source.sort) : tickerRows(ctx, df);
  const tick = stringColumn(rows, "ticker", where);
  const days = dateColumnDays(rows, source.date, where);
  const values = sources.map((c) => numberColumn(rows, c, where));
  const byTicker = groupIndices(tick, days);
  const cols = sources.map(() => emptyColumn(ctx.rows.length));
  ctx.rows.forEach((r, i) => {
    const g = byTicker.get(r.ticker);
    if (!g) return;
    values.forEach((v, j) => {
      const x = pick(g, r, v);
      if (x === null) return;
      cols[j].values[i] = x;
      cols[j].missing[i] = 0;
    });
  });
  const out = new Map<string, ColumnValues>();
  Object.keys(mapping).forEach((name, j) => out.set(name, cols[j]));
  return out;
}

/** Row indices per key with their (sorted) days; rows with a null key or day are skipped. */
function groupIndices(
  keys: (string | null)[],
  days: (number | null)[],
): Map<string, TickerRows> {
  const out = new Map<string, TickerRows>();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const d = days[i];
    if (k === null || d === null) continue;
    let g = out.get(k);
    if (!g) out.set(k, g = { rows: [], days: [] });
    g.rows.push(i);
    g.days.push(d);
  }
  for (const g of out.values()) {
    // Stable sort by day, keeping the table's order among equal days.
    const order = g.rows.map((_, j) => j).sort((a, b) => g.days[a] - g.days[b] || a - b);
    g.rows = order.map((j) => g.rows[j]);
    g.days = order.map((j) => g.days[j]);
  }
  return out;
}

/** Index of the last element `<= day` in ascending `days`, or -1. */
function lastAtOrBefore(days: number[], day: number): number {
  return countAtOrBelow(days, day) - 1;
}

/**
 * The `insider` (sum) and `sentiment` (mean) families: source rows dated after
 * the previous quarter's last trading day and on or before this quarter's are
 * aggregated. A quarter without source rows is missing (not zero: the table
 * may not cover that period), and the family's missing-value rule decides.
 *
 * @param ctx The build context.
 * @param family `"insider"` or `"sentiment"`.
 * @returns Column name -> values.
 * @throws {MissingTableError} When the dataset has no such table.
 * @throws {MissingColumnError} When the table lacks a needed column.
 */
export function buildWindowed(
  ctx: BuildContext,
  family: "insider" | "sentiment",
): Map<string, ColumnValues> {
  const mapping = family === "insider" ? INSIDER_COLUMNS : SENTIMENT_COLUMNS;
  return pointInTime(ctx, family, mapping, { date: "date" }, (g, r, column) => {
    const hi = lastAtOrBefore(g.days, r.endDay);
    const lo = lastAtOrBefore(g.days, r.windowStart) + 1;
    let sum = 0;
    let count = 0;
    for (let k = lo; k <= hi; k++) {
      const x = column[g.rows[k]];
      if (x === null) continue;
      sum += x;
      count++;
    }
    if (count === 0) return null;
    return family === "insider" ? sum : sum / count;
  });
}

/** What needs the market table unless a caller says otherwise: the `market` feature family. */
const MARKET_FAMILY = 'the "market" feature family';

/** The config keys that name market series; a caller passes one as `neededBy` to be located. */
export const MARKET_SERIES_KEYS = [
  "features.families.market.series",
  "backtest.benchmark",
] as const;

/**
 * The config key behind what needs the market table: the `market` family's key by default, the
 * key itself when `neededBy` is one of {@linkcode MARKET_SERIES_KEYS}, else none.
 */
function marketKey(neededBy: string): string | undefined {
  if (neededBy === MARKET_FAMILY) return familyKey("market");
  return (MARKET_SERIES_KEYS as readonly string[]).includes(neededBy) ? neededBy : undefined;
}

/**
 * The series the dataset's market table holds, in the manifest's order, then
 * any the manifest does not list, sorted.
 *
 * @param dataset The dataset.
 * @param neededBy What needs the table, for the error (default: the market feature family); one
 *   of {@linkcode MARKET_SERIES_KEYS} is also the error's `configKey`.
 * @returns Series names.
 * @throws {MissingTableError} When the dataset has no market table.
 * @throws {MissingColumnError} When the market table has no `series` column.
 */
export function marketSeriesOf(dataset: Dataset, neededBy: string = MARKET_FAMILY): string[] {
  if (!dataset.has("market")) {
    throw new MissingTableError(dataset.name, "market", neededBy, marketKey(neededBy));
  }
  const df = dataset.table("market");
  if (!df.columns.includes("series")) {
    throw new MissingColumnError(
      dataset.name,
      "market",
      "series",
      df.columns,
      neededBy,
      "column",
      marketKey(neededBy),
    );
  }
  const present = new Set(
    (df.getColumn("series").cast(pl.Utf8).unique().toArray() as (string | null)[])
      .filter((s): s is string => s !== null),
  );
  const ordered = dataset.manifest.series.map((s) => s.name).filter((s) => present.has(s));
  const rest = [...present].filter((s) => !ordered.includes(s)).sort();
  return [...ordered, ...rest];
}

/**
 * Checks that the dataset's market table holds every named series: what the `market` feature
 * family, the backtest's benchmark and the risk-free rate need, checked before a run's long work.
 *
 * @param dataset The dataset.
 * @param series The series needed.
 * @param neededBy What needs them, for the error (default: the market feature family); one of
 *   {@linkcode MARKET_SERIES_KEYS} (`backtest.benchmark`) is also the error's `configKey`.
 * @throws {MissingTableError} When the dataset has no market table.
 * @throws {MissingColumnError} Of kind `series`, naming the first absent series and those present.
 * @example
 * ```ts
 * requireMarketSeries(dataset, ["DJIA", "10year"]);
 * ```
 */
export function requireMarketSeries(
  dataset: Dataset,
  series: readonly string[],
  neededBy: string = MARKET_FAMILY,
): void {
  const available = marketSeriesOf(dataset, neededBy);
  for (const s of series) {
    if (!available.includes(s)) {
      throw new MissingColumnError(
        dataset.name,
        "market",
        s,
        available,
        neededBy,
        "series",
        marketKey(neededBy),
      );
    }
  }
}

/**
 * The `market` family: one column per series, named as the series, holding
 * the latest non-null value dated on or before the quarter's last trading day
 * (market dates are the day the value was known).
 *
 * @param ctx The build context.
 * @param series The series to build.
 * @returns Column name -> values.
 * @throws {MissingColumnError} When a requested series is not in the market table.
 */
export function buildMarket(ctx: BuildContext, series: string[]): Map<string, ColumnValues> {
  const df = familyTable(ctx, "market");
  requireColumns(ctx, df, "market", ["date", "series", "value"]);
  requireMarketSeries(ctx.dataset, series);
  const where = `Dataset "${ctx.dataset.name}" table "market"`;
  const rows = df.filter(
    pl.col("series").cast(pl.Utf8).isIn(series).and(pl.col("value").isNotNull()),
  );
  const names = stringColumn(rows, "series", where);
  const days = dateColumnDays(rows, "date", where);
  const vals = numberColumn(rows, "value", where);
  const bySeries = groupIndices(names, days);
  const n = ctx.rows.length;
  const out = new Map<string, ColumnValues>();
  for (const s of series) {
    const col = emptyColumn(n);
    const g = bySeries.get(s);
    if (g) {
      ctx.rows.forEach((r, i) => {
        const k = lastAtOrBefore(g.days, r.endDay);
        if (k < 0) return;
        col.values[i] = vals[g.rows[k]]!;
        col.missing[i] = 0;
      });
    }
    out.set(s, col);
  }
  return out;
}
