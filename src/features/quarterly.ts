/**
 * The quarterly roll-up: one row per (ticker, calendar quarter), keyed at the
 * ticker's last trading day of the quarter, holding the chosen feature
 * families, the label and the date the label becomes known.
 *
 * Leakage rules (tested in `tests/features_quarterly_test.ts`):
 * - every feature of quarter q uses only source rows dated on or before q's
 *   last trading day (reports by their report date, never the fiscal end);
 * - the label of q uses only q's close and the close `horizon` quarters later;
 * - rows whose label is unknown (the last `horizon` quarters) are dropped.
 *
 * Choices the research notes left open:
 * - `Volume` is the quarter's last trading day's volume, like `Close` is its
 *   last close (the notes' roll-up takes each daily column's last value);
 *   `Volume_diff_MA_N` compares it to the mean of the last N daily volumes.
 * - A quarter the ticker's daily data covers only partly (first trading day
 *   more than 7 days after the quarter starts, or last more than 7 days before
 *   it ends, e.g. because of `from`/`to`) is not a row: its close would not be
 *   a quarter-end close and its sums would cover part of a quarter. Its days
 *   still feed the moving averages of later quarters.
 * - Missing (null) source values follow the family's missing-value rule; NaN
 *   or infinite values are invalid data, not missing, and are an error.
 * - With `features.sequence` the features are a window of each row's history
 *   (`./sequence.ts`). A daily window replaces the families (they are not
 *   built). A quarterly window's steps are the families' values after their own
 *   rules; a value a family leaves missing (its `drop` rule, or `ffill` beyond
 *   its limit) is a missing step for `features.sequence.missing`, so the
 *   families' drop counts are not reported and the window's are
 *   (`sequence (daily)`, `sequence (quarterly)`).
 *
 * @module
 */
import pl from "nodejs-polars";
import {
  dayQuarter,
  dayToIso,
  isoToDay,
  quarterEndDay,
  quarterLabel,
  quarterStartDay,
} from "@alfred/core";
import type { FeatureFamilies, FeaturesConfig, LabelConfig } from "../config/schema.ts";
import {
  type Dataset,
  MissingTableError,
  returnsColumn,
  sortedByTickerDay,
} from "../data/dataset.ts";
import type { DigestedNews } from "../news/digest.ts";
import { dateColumnDays, numberColumn } from "./columns.ts";
import {
  type BuildContext,
  buildMarket,
  buildNews,
  buildPrice,
  buildReports,
  buildVolume,
  buildWindowed,
  type ColumnValues,
  type DailySeries,
  FAMILY_ORDER,
  familyBaseColumns,
  familyKey,
  type FamilyName,
  marketSeriesOf,
  MissingColumnError,
  type QuarterRow,
} from "./families.ts";
import { labelColumn, labelValue } from "./labels.ts";
import {
  DAILY_FIELD_COLUMNS,
  dailyFieldsOf,
  dailyWindows,
  quarterlyWindows,
  sequenceColumns,
  type SequenceShape,
  sequenceShape,
  type WindowPolicy,
  type WindowValues,
} from "./sequence.ts";

/** The quarterly frame every later stage reads. */
export interface QuarterlyFrame {
  /**
   * One row per (ticker, quarter), sorted by (ticker, date): `ticker`,
   * `quarter` (`YYYYQn`), `date` (last trading day, ISO), `close` (the
   * quarter's last close of the dataset's returns column, `adj_close` where
   * the manifest says so: what returns and labels use), the
   * feature columns, the label column and `label_date` (ISO date the label
   * is known).
   */
  frame: pl.DataFrame;
  /** Feature column names in model input order. */
  features: string[];
  /** Family -> its feature columns (base then delta), for per-family scalers and ablation. */
  families: Record<string, string[]>;
  /** `"PQ"` (direction) or `"PM"` (magnitude). */
  label: string;
  /** Rows each missing-value rule touched (counted among rows that have a label). */
  missing: { family: string; rule: string; rows: number }[];
  /**
   * Set when `features.sequence` is: `features` are then the window's columns
   * in `sequenceColumns(sequence)` order (see `./sequence.ts`).
   */
  sequence?: SequenceShape;
}

/** Options of {@linkcode buildQuarterly}. */
export interface QuarterlyOptions {
  /** Tickers to roll up (train and eval together). */
  tickers: string[];
  /** First date of daily data used (inclusive, ISO). */
  from?: string;
  /** Last date of daily data used (inclusive, ISO). */
  to?: string;
  /** Digested articles, needed by the `news` family (`digestNews` in `src/news/digest.ts`). */
  news?: DigestedNews;
  /**
   * Tickers that left a point-in-time universe, and the day number (`isoToDay`) their membership
   * ended. A delisting is not a missing value: where such a ticker's prices end within a week of
   * that day and before the label's quarter, the label uses its last close (dated that day).
   */
  delisted?: ReadonlyMap<string, number>;
}

/** Columns of the quarterly frame that are never feature names. */
export const RESERVED_COLUMNS: readonly string[] = [
  "ticker",
  "quarter",
  "date",
  "close",
  "label_date",
  "PQ",
  "PM",
];

/** Days a quarter's first/last trading day may be from the calendar bounds before it counts as partial. */
const PARTIAL_QUARTER_DAYS = 7;

interface FamilyPlan {
  family: FamilyName;
  cfg: NonNullable<FeatureFamilies[FamilyName]>;
  base: string[];
  deltas: string[];
}

/**
 * Rolls a dataset up to the quarterly frame.
 *
 * @param dataset The dataset.
 * @param features Which feature families and columns (a parsed `features` config).
 * @param label The label config.
 * @param options Tickers and the date range of daily data used.
 * @returns The quarterly frame.
 * @throws {MissingTableError} When a chosen family's table (or `prices`) is absent.
 * @throws {MissingColumnError} When a table lacks a column a family needs, or a market series is absent.
 * @throws {RangeError} For unknown tickers or `exclude` names, NaN/infinite values, or no rows left.
 * @example
 * ```ts
 * const q = buildQuarterly(dataset, FeaturesConfig.parse({}), { mode: "direction", horizon: 1 },
 *   { tickers: ["AA", "IBM"] });
 * q.frame.columns; // ["ticker", "quarter", "date", "close", "Close", "Close_diff_MA_7", ..., "PQ", "label_date"]
 * ```
 */
export function buildQuarterly(
  dataset: Dataset,
  features: FeaturesConfig,
  label: LabelConfig,
  options: QuarterlyOptions,
): QuarterlyFrame {
  const tickers = [...new Set(options.tickers)].sort();
  if (tickers.length === 0) {
    throw new RangeError("Cannot build quarterly features: no tickers given");
  }
  const fromDay = options.from === undefined ? -Infinity : isoToDay(options.from);
  const toDay = options.to === undefined ? Infinity : isoToDay(options.to);
  if (fromDay > toDay) {
    throw new RangeError(
      `Cannot build quarterly features: from "${options.from}" is after to "${options.to}"`,
    );
  }

  const plans = planFamilies(dataset, features);
  const planned = plans.flatMap((p) => [...p.base, ...p.deltas.map((c) => `delta_${c}`)]);
  const excluded = new Set(features.exclude);
  for (const name of excluded) {
    if (!planned.includes(name)) {
      throw new RangeError(
        `Cannot exclude feature "${name}": not a column of the chosen families: available ${
          planned.map((c) => `"${c}"`).join(", ")
        }`,
      );
    }
  }
  // A daily window replaces the families' columns: they are not built.
  const seq = features.sequence;
  const built = seq?.source === "daily" ? [] : plans;
  const dailyShape = seq?.source === "daily"
    ? sequenceShape(seq, dailyFieldsOf(pricesColumns(dataset)), dataset.name)
    : undefined;
  const dailyFields = dailyShape?.fields ?? [];
  const extra = new Set(
    dailyFields.flatMap((f) => DAILY_FIELD_COLUMNS[f as keyof typeof DAILY_FIELD_COLUMNS]),
  );
  if (built.some((p) => p.family === "volume")) extra.add("volume");
  const daily = loadDaily(dataset, tickers, fromDay, toDay, extra);

  // Quarter rows of every ticker (partial quarters included: they hold days later windows need).
  const all: (QuarterRow & { partial: boolean })[] = [];
  for (const t of tickers) {
    const s = daily.get(t)!;
    let prevEnd = -Infinity;
    for (let i = 0; i < s.days.length; i++) {
      const qn = dayQuarter(s.days[i]);
      const last = i + 1 === s.days.length || dayQuarter(s.days[i + 1]) !== qn;
      if (!last) continue;
      const firstIdx = all.length > 0 && all[all.length - 1].ticker === t
        ? all[all.length - 1].endIndex + 1
        : 0;
      const partial = s.days[firstIdx] - quarterStartDay(qn) > PARTIAL_QUARTER_DAYS ||
        quarterEndDay(qn) - s.days[i] > PARTIAL_QUARTER_DAYS;
      const windowStart = prevEnd === -Infinity ? quarterStartDay(qn) - 1 : prevEnd;
      all.push({ ticker: t, qn, endDay: s.days[i], endIndex: i, windowStart, partial });
      prevEnd = s.days[i];
    }
  }
  const ctx: BuildContext = {
    dataset,
    tickers,
    rows: all,
    daily,
    fromDay,
    toDay,
    ...(options.news ? { news: options.news } : {}),
  };
  const computed = new Map<FamilyName, Map<string, ColumnValues>>();
  for (const p of built) computed.set(p.family, buildFamily(ctx, p));

  // Keep the complete quarters only.
  const keep = all.map((r, i) => (r.partial ? -1 : i)).filter((i) => i >= 0);
  const rows = keep.map((i) => all[i]);
  const n = rows.length;
  const compact = (c: ColumnValues): ColumnValues => ({
    values: Float64Array.from(keep, (i) => c.values[i]),
    missing: Uint8Array.from(keep, (i) => c.missing[i]),
  });
  const prev = new Int32Array(n).fill(-1);
  const at = new Map<string, number>();
  rows.forEach((r, i) => at.set(`${r.ticker}|${r.qn}`, i));
  rows.forEach((r, i) => prev[i] = at.get(`${r.ticker}|${r.qn - 1}`) ?? -1);

  // Labels from the closes of q and q + horizon only (adjusted where returns use adjusted closes).
  const close = Float64Array.from(rows, (r) => daily.get(r.ticker)!.returnsClose[r.endIndex]);
  const labelName = labelColumn(label);
  const labelValues = new Float64Array(n);
  const labelDay = new Int32Array(n);
  const labelled = new Uint8Array(n);
  rows.forEach((r, i) => {
    const j = at.get(`${r.ticker}|${r.qn + label.horizon}`);
    if (j === undefined) {
      const end = options.delisted?.get(r.ticker);
      if (end === undefined || end > toDay) return;
      const s = daily.get(r.ticker)!;
      const k = s.days.length - 1;
      const lastQuarter = dayQuarter(s.days[k]);
      if (
        s.days[k] <= end && end - s.days[k] <= 7 && lastQuarter > r.qn &&
        lastQuarter <= r.qn + label.horizon
      ) {
        labelValues[i] = labelValue(label.mode, close[i], s.returnsClose[k]);
        labelDay[i] = s.days[k];
        labelled[i] = 1;
      }
      return;
    }
    labelValues[i] = labelValue(label.mode, close[i], close[j]);
    labelDay[i] = rows[j].endDay;
    labelled[i] = 1;
  });

  const missing: QuarterlyFrame["missing"] = [];
  const partialCount = all.length - n;
  if (partialCount > 0) {
    missing.push({ family: "quarters", rule: "partial quarter dropped", rows: partialCount });
  }
  missing.push({ family: "label", rule: "drop", rows: n - labelled.reduce((a, b) => a + b, 0) });

  let dropped: Uint8Array = new Uint8Array(n);
  let output = new Map<string, Float64Array>();
  const outputMissing = new Map<string, Uint8Array>();
  let familyColumns: Record<string, string[]> = {};
  for (const p of built) {
    const raw = computed.get(p.family)!;
    const base = new Map<string, ColumnValues>();
    for (const c of p.base) base.set(c, compact(raw.get(c)!));
    const result = applyPolicy(p, base, rows, prev, labelled, excluded);
    // In a window, a value a family leaves missing is a missing step: features.sequence.missing
    // decides, so the family's own drop counts do not apply.
    missing.push(
      ...result.counts.filter((c) => !seq || !c.rule.endsWith("dropped") && c.rule !== "drop"),
    );
    for (let i = 0; i < n; i++) if (result.drop[i]) dropped[i] = 1;
    const cols = [...p.base, ...p.deltas.map((c) => `delta_${c}`)].filter((c) => !excluded.has(c));
    for (const c of cols) {
      output.set(c, result.columns.get(c)!);
      outputMissing.set(c, result.missing.get(c)!);
    }
    familyColumns[p.family] = cols;
  }
  let sequence: SequenceShape | undefined;
  if (seq) {
    const policy: WindowPolicy = { missing: seq.missing, ffillLimit: seq.ffill_limit };
    let windows: WindowValues;
    if (dailyShape) {
      sequence = dailyShape;
      windows = dailyWindows(rows, labelled, daily, sequence, policy);
      familyColumns = {};
    } else {
      sequence = sequenceShape(seq, [...output.keys()], dataset.name);
      const fields = sequence.fields;
      windows = quarterlyWindows(
        rows,
        labelled,
        fields.map((f) => output.get(f)!),
        fields.map((f) => outputMissing.get(f)!),
        sequence,
        policy,
      );
      const all = sequenceColumns(sequence);
      const familyOf = new Map<string, string>();
      for (const [family, cols] of Object.entries(familyColumns)) {
        for (const c of cols) familyOf.set(c, family);
      }
      const grouped: Record<string, string[]> = {};
      all.forEach((c, k) => {
        const family = familyOf.get(fields[k % fields.length])!;
        (grouped[family] ??= []).push(c);
      });
      familyColumns = grouped;
    }
    missing.push(...windowCounts(seq, windows, labelled));
    dropped = windows.unfilled;
    output = new Map(sequenceColumns(sequence).map((c, k) => [c, windows.columns[k]]));
  }
  const featureNames = [...output.keys()];
  if (featureNames.length === 0) {
    throw new RangeError(
      `Cannot build quarterly features for dataset "${dataset.name}": no feature columns are chosen (features.families and features.exclude leave none)`,
    );
  }

  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (labelled[i] && !dropped[i]) kept.push(i);
  if (kept.length === 0) {
    const counts = missing.map((m) => `${m.family} ${m.rule}: ${m.rows}`).join(", ");
    throw new RangeError(
      `No quarterly rows left for dataset "${dataset.name}" and tickers ${
        tickers.map((t) => `"${t}"`).join(", ")
      }: ${n} complete quarters, rows removed by ${counts}`,
    );
  }
  for (const [name, values] of [...output, [labelName, labelValues] as const]) {
    for (const i of kept) {
      if (!Number.isFinite(values[i])) {
        throw new RangeError(
          `${name === labelName ? "Label" : "Feature"} "${name}" is ${values[i]} for ticker "${
            rows[i].ticker
          }" in quarter ${quarterLabel(rows[i].qn)} (${
            dayToIso(rows[i].endDay)
          }) of dataset "${dataset.name}": the source data holds a NaN, infinite or zero value there (missing values must be null)`,
        );
      }
    }
  }

  // One typed gather per column (a window has hundreds of columns).
  const keptAt = Int32Array.from(kept);
  const gather = (values: Float64Array) => {
    const out = new Float64Array(keptAt.length);
    for (let k = 0; k < keptAt.length; k++) out[k] = values[keptAt[k]];
    return out;
  };
  const frameColumns: pl.Series[] = [
    pl.Series("ticker", kept.map((i) => rows[i].ticker), pl.Utf8),
    pl.Series("quarter", kept.map((i) => quarterLabel(rows[i].qn)), pl.Utf8),
    pl.Series("date", kept.map((i) => dayToIso(rows[i].endDay)), pl.Utf8),
    pl.Series("close", gather(close)),
    ...[...output].map(([c, values]) => pl.Series(c, gather(values))),
    pl.Series(labelName, gather(labelValues)),
    pl.Series("label_date", kept.map((i) => dayToIso(labelDay[i])), pl.Utf8),
  ];
  return {
    frame: pl.DataFrame(frameColumns),
    features: featureNames,
    families: familyColumns,
    label: labelName,
    missing,
    ...(sequence ? { sequence } : {}),
  };
}

/** The rows the window's policy touched, counted among rows that have a label. */
function windowCounts(
  seq: NonNullable<FeaturesConfig["sequence"]>,
  windows: WindowValues,
  labelled: Uint8Array,
): QuarterlyFrame["missing"] {
  const count = (mask: Uint8Array) => {
    let k = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] && labelled[i]) k++;
    return k;
  };
  const family = `sequence (${seq.source})`;
  if (seq.missing === "drop") return [{ family, rule: "drop", rows: count(windows.unfilled) }];
  if (seq.missing === "zero") return [{ family, rule: "zero", rows: count(windows.filled) }];
  const rule = `ffill (limit ${seq.ffill_limit})`;
  return [
    { family, rule, rows: count(windows.filled) },
    { family, rule: `${rule}: unfilled, dropped`, rows: count(windows.unfilled) },
  ];
}

/** The columns of the dataset's prices table. */
function pricesColumns(dataset: Dataset): string[] {
  if (!dataset.has("prices")) {
    throw new MissingTableError(
      dataset.name,
      "prices",
      "the quarterly roll-up (quarter keys, closes and labels)",
    );
  }
  return dataset.table("prices").columns;
}

/**
 * The feature columns the chosen families give on a dataset, in model input order, after
 * `features.exclude`: what a `source: quarterly` window's fields may name.
 *
 * @param dataset the dataset (its market series, where the market family names none)
 * @param features the `features` config
 * @returns the column names
 * @throws {RangeError} for a delta or excluded name that is not a family column, or a clash
 * @throws {MissingTableError} when the market family needs a market table the dataset lacks
 */
export function familyFeatureColumns(dataset: Dataset, features: FeaturesConfig): string[] {
  const excluded = new Set(features.exclude);
  return planFamilies(dataset, features)
    .flatMap((p) => [...p.base, ...p.deltas.map((c) => `delta_${c}`)])
    .filter((c) => !excluded.has(c));
}

/** Resolves the chosen families to their base and delta columns, checking names. */
function planFamilies(dataset: Dataset, features: FeaturesConfig): FamilyPlan[] {
  const plans: FamilyPlan[] = [];
  const seen = new Map<string, FamilyName>();
  for (const family of FAMILY_ORDER) {
    const cfg = features.families[family];
    if (cfg === undefined) continue;
    const market = family === "market" && !(cfg as { series?: string[] }).series
      ? marketSeriesOf(dataset)
      : [];
    const base = familyBaseColumns(family, cfg, market);
    let deltas: string[] = [];
    if (cfg.deltas === true) deltas = [...base];
    else if (Array.isArray(cfg.deltas)) {
      for (const d of cfg.deltas) {
        const name = d.startsWith("delta_") ? d.slice(6) : d;
        if (!base.includes(name)) {
          throw new RangeError(
            `Cannot add delta of "${d}" to the "${family}" family: not one of its columns: ${
              base.map((c) => `"${c}"`).join(", ")
            }`,
          );
        }
        if (!deltas.includes(name)) deltas.push(name);
      }
    }
    for (const c of [...base, ...deltas.map((d) => `delta_${d}`)]) {
      if (RESERVED_COLUMNS.includes(c)) {
        throw new RangeError(
          `Feature column "${c}" of the "${family}" family clashes with a reserved column of the quarterly frame`,
        );
      }
      const other = seen.get(c);
      if (other) {
        throw new RangeError(
          `Feature column "${c}" is produced by both the "${other}" and the "${family}" family`,
        );
      }
      seen.set(c, family);
    }
    plans.push({ family, cfg, base, deltas });
  }
  return plans;
}

function buildFamily(ctx: BuildContext, p: FamilyPlan): Map<string, ColumnValues> {
  switch (p.family) {
    case "price":
      return buildPrice(ctx, p.cfg as NonNullable<FeatureFamilies["price"]>);
    case "volume":
      return buildVolume(ctx, p.cfg as NonNullable<FeatureFamilies["volume"]>);
    case "fundamentals":
    case "earnings":
      return buildReports(ctx, p.family);
    case "insider":
    case "sentiment":
      return buildWindowed(ctx, p.family);
    case "market":
      return buildMarket(ctx, p.base);
    case "news":
      return buildNews(ctx, p.cfg as NonNullable<FeatureFamilies["news"]>);
  }
}

/** Reads the daily prices of the tickers within [fromDay, toDay], one series per ticker. */
function loadDaily(
  dataset: Dataset,
  tickers: string[],
  fromDay: number,
  toDay: number,
  extra: ReadonlySet<string>,
): Map<string, DailySeries> {
  if (!dataset.has("prices")) {
    throw new MissingTableError(
      dataset.name,
      "prices",
      "the quarterly roll-up (quarter keys, closes and labels)",
    );
  }
  const table = dataset.table("prices");
  const returns = returnsColumn(dataset.manifest);
  const adjusted = returns !== "close";
  const needVolume = extra.has("volume");
  const ohl = (["open", "high", "low"] as const).filter((c) => extra.has(c));
  for (
    const c of [
      "date",
      "ticker",
      "close",
      ...(adjusted ? [returns] : []),
      ...(needVolume ? ["volume"] : []),
      ...ohl,
    ]
  ) {
    if (!table.columns.includes(c)) {
      throw new MissingColumnError(
        dataset.name,
        "prices",
        c,
        table.columns,
        ohl.includes(c as typeof ohl[number])
          ? `the sequence window's "${c}" field`
          : c === "volume"
          ? 'the "volume" feature family or the window\'s "log_volume_change" field'
          : c === returns
          ? 'the returns (the manifest\'s "returns" names it)'
          : "the quarterly roll-up",
        "column",
        c === "volume" ? familyKey("volume") : undefined,
      );
    }
  }
  const where = `Dataset "${dataset.name}" table "prices"`;
  const available =
    (table.getColumn("ticker").cast(pl.Utf8).unique().toArray() as (string | null)[])
      .filter((t): t is string => t !== null).sort();
  const availableSet = new Set(available);
  const unknown = tickers.filter((t) => !availableSet.has(t));
  if (unknown.length > 0) {
    throw new RangeError(
      `Dataset "${dataset.name}" has no prices for ticker${unknown.length > 1 ? "s" : ""} ${
        unknown.map((t) => `"${t}"`).join(", ")
      }: it has ${available.map((t) => `"${t}"`).join(", ")}`,
    );
  }
  // The columns' types, checked as the row-by-row reads checked them (a TypeError naming it).
  const head = table.head(0);
  for (const c of ["close", ...(adjusted ? [returns] : []), ...(needVolume ? ["volume"] : [])]) {
    numberColumn(head, c, where);
  }
  for (const c of ohl) numberColumn(head, c, where);
  // Every ticker's rows in the window at once, in Polars: filtered, sorted by (ticker, day), then
  // read as typed columns and cut into each ticker's run. Nothing is read row by row into boxed
  // values or strings (at 10,000 tickers the table has 65 million rows).
  const dateType = String(table.getColumn("date").dtype);
  const day = dateType.includes("Date")
    ? pl.col("date").cast(pl.Date).cast(pl.Int32)
    : pl.lit(pl.Series("__alfred_day", dateColumnDays(table, "date", where), pl.Int32));
  const numbers = [
    "close",
    ...(adjusted ? [returns] : []),
    ...(needVolume ? ["volume"] : []),
    ...ohl,
  ].map((c) => pl.col(c).cast(pl.Float64));
  let keep = pl.col("ticker").cast(pl.Utf8).isIn(tickers)
    .and(pl.col("__alfred_day").isNotNull())
    .and(pl.col("close").isNotNull());
  if (Number.isFinite(fromDay)) keep = keep.and(pl.col("__alfred_day").gtEq(fromDay));
  if (Number.isFinite(toDay)) keep = keep.and(pl.col("__alfred_day").ltEq(toDay));
  const inWindow = table.select(
    pl.col("ticker").cast(pl.Utf8),
    day.alias("__alfred_day"),
    ...numbers,
  ).filter(keep);
  if (adjusted) {
    const missing = inWindow.filter(pl.col(returns).isNull()).head(1);
    if (missing.height > 0) {
      const r = missing.toRecords()[0] as Record<string, unknown>;
      throw new RangeError(
        `${where} has no ${returns} for ticker "${r.ticker}" on "${
          dayToIso(Number(r.__alfred_day))
        }": the manifest's "returns" says returns use ${returns}, so every row with a close needs one`,
      );
    }
  }
  const df = sortedByTickerDay(inWindow, "__alfred_day");
  const days = df.getColumn("__alfred_day").toTypedArray() as Int32Array;
  const close = df.getColumn("close").toTypedArray() as Float64Array;
  const returnsClose = adjusted ? df.getColumn(returns).toTypedArray() as Float64Array : close;
  const volume = needVolume ? df.getColumn("volume").toArray() as (number | null)[] : undefined;
  const prices = ohl.map((c) => [c, df.getColumn(c).toArray() as (number | null)[]] as const);
  const counts = df.getColumn("ticker").valueCounts().sort("ticker");
  const names = counts.getColumn("ticker").toArray() as string[];
  const sizes = counts.getColumn("count").toArray() as number[];
  const runs = new Map<string, [number, number]>();
  let a = 0;
  names.forEach((t, k) => {
    runs.set(t, [a, a + Number(sizes[k])]);
    a += Number(sizes[k]);
  });
  const out = new Map<string, DailySeries>();
  for (const t of tickers) {
    const [from, to] = runs.get(t) ?? [0, 0];
    if (to === from) {
      throw new RangeError(
        `Dataset "${dataset.name}" has no prices for ticker "${t}" between ${
          fromDay === -Infinity ? "its start" : `"${dayToIso(fromDay)}"`
        } and ${toDay === Infinity ? "its end" : `"${dayToIso(toDay)}"`}`,
      );
    }
    const s: DailySeries = {
      days: days.slice(from, to),
      close: close.slice(from, to),
      returnsClose: returnsClose.slice(from, to),
    };
    for (let k = 1; k < s.days.length; k++) {
      if (s.days[k] === s.days[k - 1]) {
        throw new RangeError(
          `${where} has two rows for ticker "${t}" on "${
            dayToIso(s.days[k])
          }": expected one per day`,
        );
      }
    }
    if (volume) s.volume = volume.slice(from, to);
    for (const [c, values] of prices) s[c] = values.slice(from, to);
    out.set(t, s);
  }
  return out;
}

/**
 * Applies a family's missing-value rule and computes its delta columns.
 * Counts are over rows that have a label.
 */
function applyPolicy(
  p: FamilyPlan,
  base: Map<string, ColumnValues>,
  rows: QuarterRow[],
  prev: Int32Array,
  labelled: Uint8Array,
  excluded: Set<string>,
): {
  columns: Map<string, Float64Array>;
  /** Per output column: 1 where its value is still missing after the rule. */
  missing: Map<string, Uint8Array>;
  drop: Uint8Array;
  counts: QuarterlyFrame["missing"];
} {
  const n = rows.length;
  const rule = p.cfg.missing;
  const limit = p.cfg.ffill_limit;
  const activeBase = p.base.filter((c) => !excluded.has(c));
  const activeDelta = p.deltas.filter((c) => !excluded.has(`delta_${c}`));
  const filled = new Uint8Array(n);
  const unfilled = new Uint8Array(n);

  // 1. Fill the base columns (all of them: deltas of excluded columns still need them).
  for (const c of p.base) {
    const col = base.get(c)!;
    const active = activeBase.includes(c);
    if (rule === "zero") {
      for (let i = 0; i < n; i++) {
        if (!col.missing[i]) continue;
        col.values[i] = 0;
        col.missing[i] = 0;
        if (active) filled[i] = 1;
      }
    } else if (rule === "ffill") {
      // Rows are sorted by (ticker, quarter): carry the last observed value forward.
      let lastValue = 0;
      let lastQn = -Infinity;
      let lastTicker = "";
      for (let i = 0; i < n; i++) {
        const r = rows[i];
        if (r.ticker !== lastTicker) {
          lastTicker = r.ticker;
          lastQn = -Infinity;
        }
        if (!col.missing[i]) {
          lastValue = col.values[i];
          lastQn = r.qn;
        } else if (r.qn - lastQn <= limit) {
          col.values[i] = lastValue;
          col.missing[i] = 0;
          if (active) filled[i] = 1;
        } else if (active) unfilled[i] = 1;
      }
    } else if (active) {
      for (let i = 0; i < n; i++) if (col.missing[i]) unfilled[i] = 1;
    }
  }
  // 2. Deltas: change from the same ticker's previous quarter.
  const columns = new Map<string, Float64Array>();
  const missing = new Map<string, Uint8Array>();
  for (const c of activeBase) {
    columns.set(c, base.get(c)!.values);
    missing.set(c, base.get(c)!.missing);
  }
  for (const c of activeDelta) {
    const b = base.get(c)!;
    const d = new Float64Array(n);
    const m = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const j = prev[i];
      if (j >= 0 && !b.missing[i] && !b.missing[j]) d[i] = b.values[i] - b.values[j];
      else if (rule === "zero") {
        d[i] = 0;
        filled[i] = 1;
      } else {
        unfilled[i] = 1;
        m[i] = 1;
      }
    }
    columns.set(`delta_${c}`, d);
    missing.set(`delta_${c}`, m);
  }
  const count = (mask: Uint8Array) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (mask[i] && labelled[i]) k++;
    return k;
  };
  const counts: QuarterlyFrame["missing"] = [];
  if (rule === "drop") counts.push({ family: p.family, rule: "drop", rows: count(unfilled) });
  else if (rule === "zero") counts.push({ family: p.family, rule: "zero", rows: count(filled) });
  else {
    counts.push({ family: p.family, rule: `ffill (limit ${limit})`, rows: count(filled) });
    counts.push({
      family: p.family,
      rule: `ffill (limit ${limit}): unfilled, dropped`,
      rows: count(unfilled),
    });
  }
  return { columns, missing, drop: unfilled, counts };
}
