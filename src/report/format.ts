/**
 * Formatting and metric helpers shared by the run report, the journal and the run diff:
 * deterministic number formatting, Markdown tables, and metric lookup by name in the record's
 * metric sets and statistics (whose one snake_case family, the backtest's flat costs
 * `costs_commission`, reads as `costsCommission`).
 *
 * One number format throughout: metrics (losses, accuracies, correlations, Sharpe and other
 * ratios) to 4 significant digits; returns, rates and drawdowns as percentages with 2 decimals;
 * money with thousands separators and 2 decimals; counts (rows, trades, trading days) as whole
 * numbers with separators. Units that are not in the value (trading days, annualized) are in
 * the label.
 *
 * @module
 */
import { compareStrings } from "@alfred/core";

/** A metric set or statistics row of the record, read by metric name. */
export type MetricTable = Readonly<Record<string, unknown>>;

/**
 * How a metric's value is written:
 * - `metric`: 4 significant digits (losses, accuracies, correlations, ratios such as Sharpe);
 * - `percent`: a fraction shown as a percentage with 2 decimals (`0.1234` → `12.34%`);
 * - `money`: currency with thousands separators and 2 decimals (`1234.5` → `1,234.50`);
 * - `count`: a whole number with thousands separators (rows, trades, trading days).
 */
export type MetricKind = "metric" | "percent" | "money" | "count";

/**
 * Which way a metric improves: a larger value, a smaller value, or a smaller magnitude
 * (drawdowns may be stored negative or positive).
 */
export type MetricDirection = "higher" | "lower" | "smaller-magnitude";

/** What the report knows of one canonical metric. */
interface MetricInfo {
  /** The label tables show, with its unit where the value has one. */
  label: string;
  /** Which way it improves; null when neither way is better. */
  better: MetricDirection | null;
  /** How its value is written. */
  kind: MetricKind;
}

function metric(
  label: string,
  better: MetricDirection | null = null,
  kind: MetricKind = "metric",
): MetricInfo {
  return { label, better, kind };
}

/** Every canonical metric, in the order tables show them: label, better direction, kind. */
const METRICS: Readonly<Record<string, MetricInfo>> = {
  loss: metric("loss", "lower"),
  accuracy: metric("accuracy", "higher"),
  precision: metric("precision", "higher"),
  recall: metric("recall", "higher"),
  f1: metric("F1", "higher"),
  mae: metric("MAE", "lower"),
  mse: metric("MSE", "lower"),
  rmse: metric("RMSE", "lower"),
  r2: metric("R²", "higher"),
  pearson: metric("Pearson", "higher"),
  spearman: metric("Spearman", "higher"),
  signAccuracy: metric("sign accuracy", "higher"),
  ic: metric("IC", "higher"),
  rankIc: metric("rank IC", "higher"),
  icir: metric("ICIR", "higher"),
  rankIcir: metric("rank ICIR", "higher"),
  startEquity: metric("start equity", "higher", "money"),
  endEquity: metric("end equity", "higher", "money"),
  totalReturn: metric("total return", "higher", "percent"),
  cagr: metric("CAGR", "higher", "percent"),
  volatility: metric("volatility (annualized)", "lower", "percent"),
  sharpe: metric("Sharpe", "higher"),
  sortino: metric("Sortino", "higher"),
  calmar: metric("Calmar", "higher"),
  maxDrawdown: metric("max drawdown", "smaller-magnitude", "percent"),
  maxDrawdownTradingDays: metric("max drawdown duration (trading days)", "lower", "count"),
  maxDrawdownCalendarDays: metric(
    "max drawdown duration (calendar days, as runs before trading days recorded it)",
    "lower",
    "count",
  ),
  trades: metric("trades", null, "count"),
  wins: metric("winning trades", null, "count"),
  winRate: metric("win rate", "higher", "percent"),
  avgWin: metric("average win", null, "percent"),
  avgLoss: metric("average loss", null, "percent"),
  profitFactor: metric("profit factor", "higher"),
  exposure: metric("exposure (share of days invested)", null, "percent"),
  turnover: metric("turnover (traded value a year / mean equity)"),
  pnl: metric("profit and loss", null, "money"),
  buyHoldReturn: metric("buy-and-hold return", null, "percent"),
  costs: metric("costs paid", null, "money"),
  costsTotal: metric("costs paid", null, "money"),
  costsCommission: metric("commission paid", null, "money"),
  costsSlippage: metric("slippage paid", null, "money"),
  costsBorrow: metric("short borrow paid", null, "money"),
  alpha: metric("alpha (annualized)", "higher", "percent"),
  beta: metric("beta"),
  positiveRate: metric("actual up rate"),
  threshold: metric("threshold"),
  n: metric("rows", null, "count"),
};

/** Canonical metric names, in the order tables show them. */
export const METRIC_ORDER: readonly string[] = Object.keys(METRICS);

function normalize(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, "");
}

const CANONICAL_BY_NORMALIZED: ReadonlyMap<string, string> = new Map(
  METRIC_ORDER.map((name) => [normalize(name), name]),
);

/**
 * The canonical name of a metric key, or the key itself when it is not a known metric.
 *
 * @param key a metric key as the record writes it
 * @returns e.g. `"costsCommission"` for `"costs_commission"`
 * @example
 * ```ts
 * canonicalMetric("costs_total"); // "costsTotal"
 * ```
 */
export function canonicalMetric(key: string): string {
  return CANONICAL_BY_NORMALIZED.get(normalize(key)) ?? key;
}

/**
 * A metric's display label.
 *
 * @param key any spelling of the metric
 * @returns the label tables show
 */
export function metricLabel(key: string): string {
  const canonical = canonicalMetric(key);
  return METRICS[canonical]?.label ?? humanize(key);
}

/** `endEquity` → `end equity`, `costs_commission` → `costs commission`; acronyms kept. */
function humanize(key: string): string {
  return key
    .replace(/_/g, " ")
    .replace(/([a-z0-9])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`)
    .trim();
}

/**
 * A numeric metric by canonical name, whatever spelling the table used.
 *
 * @param metrics a metric table (may be undefined or null)
 * @param name a canonical name from {@linkcode METRIC_ORDER} (or any key)
 * @returns the finite number, or null when absent or not a finite number
 */
export function metricValue(
  metrics: MetricTable | null | undefined,
  name: string,
): number | null {
  if (!metrics) return null;
  const want = canonicalMetric(name);
  for (const [key, value] of Object.entries(metrics)) {
    if (canonicalMetric(key) === want) return numberOf(value);
  }
  // ICIR lives inside the IC summaries the trainer records: { mean, std, icir }.
  const parent = want === "icir" ? "ic" : want === "rankIcir" ? "rankIc" : null;
  if (parent) {
    for (const [key, value] of Object.entries(metrics)) {
      if (canonicalMetric(key) === parent && value && typeof value === "object") {
        return "icir" in value ? numberOf(value.icir) : null;
      }
    }
  }
  return null;
}

/** The number a metric entry stands for: the number itself, or an IC summary's `mean`. */
function numberOf(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (value && typeof value === "object" && "mean" in value) return numberOf(value.mean);
  return null;
}

/**
 * Whether a metric entry has a number {@linkcode metricValue} can read.
 *
 * @param value a metric entry
 * @returns true for numbers, null, and IC summaries (a `mean`, possibly null)
 */
export function isNumericEntry(value: unknown): boolean {
  if (value === null || typeof value === "number") return true;
  return typeof value === "object" && !Array.isArray(value) && "mean" in value;
}

/**
 * The numeric metric names present in any of the tables, canonical, known metrics first in
 * {@linkcode METRIC_ORDER} and the rest alphabetically.
 *
 * @param tables metric tables
 * @returns canonical names
 */
export function numericMetricNames(tables: (MetricTable | null | undefined)[]): string[] {
  const names = new Set<string>();
  for (const table of tables) {
    if (!table) continue;
    for (const [key, value] of Object.entries(table)) {
      if (!isNumericEntry(value)) continue;
      const name = canonicalMetric(key);
      // An unknown key with no value anywhere (e.g. a date that was not reached) is not a row.
      if (value === null && !METRIC_ORDER.includes(name) && !names.has(name)) {
        if (!tables.some((t) => t && metricValue(t, name) !== null)) continue;
      }
      names.add(name);
      const icir = value !== null && typeof value === "object" && "icir" in value
        ? value.icir
        : null;
      if (typeof icir === "number" && (name === "ic" || name === "rankIc")) {
        names.add(name === "ic" ? "icir" : "rankIcir");
      }
    }
  }
  return orderMetricNames([...names]);
}

/**
 * Sort canonical metric names: known ones in {@linkcode METRIC_ORDER}, then the rest by name.
 *
 * @param names canonical names
 * @returns a new sorted array
 */
export function orderMetricNames(names: string[]): string[] {
  return [...names].sort((a, b) => metricRank(a) - metricRank(b) || compareStrings(a, b));
}

/**
 * Where a metric stands in the order tables show them.
 *
 * @param name any spelling of the metric
 * @returns its index in {@linkcode METRIC_ORDER}, or that list's length for an unknown metric
 */
export function metricRank(name: string): number {
  const i = METRIC_ORDER.indexOf(canonicalMetric(name));
  return i < 0 ? METRIC_ORDER.length : i;
}

/**
 * Which way a metric improves.
 *
 * @param name any spelling of the metric
 * @returns "higher", "lower", "smaller-magnitude", or null when it has no better direction
 */
export function metricDirection(name: string): MetricDirection | null {
  return METRICS[canonicalMetric(name)]?.better ?? null;
}

/**
 * Whether `a` is strictly better than `b` on a metric.
 *
 * @param name the metric
 * @param a a value
 * @param b another value
 * @returns true when `a` beats `b`; false when the metric has no direction
 */
export function isBetter(name: string, a: number, b: number): boolean {
  switch (metricDirection(name)) {
    case "higher":
      return a > b;
    case "lower":
      return a < b;
    case "smaller-magnitude":
      return Math.abs(a) < Math.abs(b);
    default:
      return false;
  }
}

/**
 * The best of several named values on a metric.
 *
 * @param name the metric
 * @param candidates name → value (null values are skipped)
 * @returns the best entry, ties going to the first in name order, or null when none has a value
 */
export function bestOf(
  name: string,
  candidates: Record<string, number | null>,
): { name: string; value: number } | null {
  let best: { name: string; value: number } | null = null;
  for (const key of Object.keys(candidates).sort(compareStrings)) {
    const value = candidates[key];
    if (value === null || value === undefined) continue;
    if (best === null || isBetter(name, value, best.value)) best = { name: key, value };
  }
  return best;
}

/**
 * The kind of a metric, which decides how its value is written.
 *
 * @param name any spelling of the metric
 * @returns its kind; unknown metrics are `metric`
 */
export function metricKind(name: string): MetricKind {
  return METRICS[canonicalMetric(name)]?.kind ?? "metric";
}

/** Fixed decimals with thousands separators, the same on every machine; no negative zero. */
function fixed(value: number, decimals: number): string {
  const text = value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
  return /^-[0.,]*$/.test(text) ? text.slice(1) : text;
}

/** An em dash for a missing value; text for values that are not numbers. */
function notANumber(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return "—"; // NaN or infinite
  if (typeof value === "string" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * A number to 4 significant digits, the same way on every machine: `0.5357`, `12.35`,
 * `0.002100`, `1.000`, `0.000`; magnitudes of 10 000 and above as whole numbers with separators
 * (`12,346`), below 0.0001 in exponent form (`3.100e-7`). Null, undefined and non-finite values
 * are an em dash.
 *
 * @param value the number
 * @returns the text
 * @example
 * ```ts
 * formatNumber(0.53571); // "0.5357"
 * ```
 */
export function formatNumber(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return notANumber(value);
  if (value === 0) return "0.000";
  const magnitude = Math.abs(value);
  if (magnitude >= 10_000) return fixed(value, 0);
  if (magnitude < 1e-4) return value.toExponential(3);
  const text = value.toPrecision(4);
  // 9999.7 rounds to "1.000e+4": write it whole, like every magnitude from 10 000 up.
  return text.includes("e") ? fixed(value, 0) : text;
}

/**
 * A fraction as a percentage with 2 decimals and a % sign.
 *
 * @param value the fraction (0.1234 is 12.34%)
 * @returns the text, or an em dash for a missing value
 * @example
 * ```ts
 * formatPercent(-1.0165); // "-101.65%"
 * ```
 */
export function formatPercent(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return notANumber(value);
  return `${fixed(value * 100, 2)}%`;
}

/**
 * Money with thousands separators and 2 decimals (in the data's currency).
 *
 * @param value the amount
 * @returns the text, or an em dash for a missing value
 * @example
 * ```ts
 * formatMoney(-1651.836); // "-1,651.84"
 * ```
 */
export function formatMoney(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return notANumber(value);
  return fixed(value, 2);
}

/**
 * A count with thousands separators (a non-integer is rounded to the nearest whole number).
 *
 * @param value the count
 * @returns the text, or an em dash for a missing value
 * @example
 * ```ts
 * formatCount(37799937); // "37,799,937"
 * ```
 */
export function formatCount(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return notANumber(value);
  return fixed(Math.round(value), 0);
}

/**
 * A metric's value in the format of its kind ({@linkcode metricKind}).
 *
 * @param name any spelling of the metric
 * @param value the value
 * @returns the text
 * @example
 * ```ts
 * formatValue("cagr", 0.46094); // "46.09%"
 * formatValue("sharpe", 0.97801); // "0.9780"
 * ```
 */
export function formatValue(name: string, value: unknown): string {
  switch (metricKind(name)) {
    case "percent":
      return formatPercent(value);
    case "money":
      return formatMoney(value);
    case "count":
      return formatCount(value);
    default:
      return formatNumber(value);
  }
}

/**
 * A change of a metric, signed, in its kind's format; percentages change by percentage points.
 *
 * @param name any spelling of the metric
 * @param delta the change (b − a)
 * @returns e.g. `+1.25 pp`, `-3`, `+0.01200`, or an em dash
 */
export function formatDelta(name: string, delta: number | null): string {
  if (delta === null || !Number.isFinite(delta)) return "—";
  const kind = metricKind(name);
  const text = kind === "percent"
    ? `${fixed(delta * 100, 2)} pp`
    : kind === "money"
    ? formatMoney(delta)
    : kind === "count"
    ? formatCount(delta)
    : formatNumber(delta);
  return delta > 0 && !text.startsWith("+") ? `+${text}` : text;
}

/**
 * Escape text for a Markdown table cell.
 *
 * @param text cell text
 * @returns text with `|` escaped and line breaks replaced by spaces
 */
export function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/**
 * A GitHub Markdown table.
 *
 * @param header column headers
 * @param rows cell texts (already formatted; escaped here)
 * @param align per column: "l" or "r" (default: first column left, the rest right)
 * @returns the table, ending with a newline
 */
export function markdownTable(header: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const aligns = align ?? header.map((_, i) => (i === 0 ? "l" : "r"));
  const lines = [
    `| ${header.map(cell).join(" | ")} |`,
    `| ${aligns.map((a) => (a === "r" ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
  ];
  return lines.join("\n") + "\n";
}

/**
 * A GitHub heading anchor for a heading text.
 *
 * @param heading the heading text
 * @returns the anchor without `#`
 */
export function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}
