/**
 * The run report's plots: Vega-Lite specs built from a run record, compiled by `vega-lite` and
 * rendered to SVG by `vega` (headless view, renderer "none"). The same record always gives
 * byte-identical SVG: data are ordered explicitly, dates use UTC scales, and no timestamps or
 * random ids enter the output.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";
import type {
  BacktestSummary,
  CorrelationRow,
  EpochRecord,
  EquityPoint,
  RunRecord,
} from "../store/run_record.ts";
import { compareStrings, metricEntry, metricValue } from "./format.ts";

/** One prediction as the scatter plot reads it. */
export interface PredictionPoint {
  /** The label. */
  actual: number;
  /** The model's prediction. */
  predicted: number;
  /** Split the row belongs to (`eval` when absent). */
  split?: string;
  /** Ticker of the row. */
  ticker?: string;
}

/** Most points a time series plot draws; longer series are thinned deterministically. */
export const MAX_SERIES_POINTS = 800;

const WIDTH = 560;
const HEIGHT = 260;
const SERIES_COLORS: Record<string, string> = {
  strategy: "#1f77b4",
  index: "#ff7f0e",
  basket: "#2ca02c",
};
const FALLBACK_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/**
 * Compile a Vega-Lite spec and render it to an SVG string.
 *
 * @param spec a Vega-Lite spec with inline data
 * @returns the SVG document
 * @throws {Error} when Vega-Lite or Vega reject the spec
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return renumberIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Vega names gradients and clip paths from process-wide counters (`gradient_3`, `clip7`), so the
 * same spec rendered twice would differ. Renumber them per document, in order of appearance.
 */
function renumberIds(svg: string): string {
  const seen = new Map<string, string>();
  return svg.replace(
    /(id="|url\(#)(gradient_|clip|pattern_)(\d+)/g,
    (_whole, context: string, prefix: string, n: string) => {
      const key = prefix + n;
      let id = seen.get(key);
      if (id === undefined) {
        const count = [...seen.keys()].filter((k) => k.startsWith(prefix)).length;
        id = `${prefix}${count}`;
        seen.set(key, id);
      }
      return context + id;
    },
  );
}

function seriesNames(equity: EquityPoint[]): string[] {
  const names = new Set<string>();
  for (const point of equity) {
    for (const [key, value] of Object.entries(point)) {
      if (key !== "date" && typeof value === "number" && Number.isFinite(value)) names.add(key);
    }
  }
  const known = ["strategy", "index", "basket"].filter((n) => names.has(n));
  const others = [...names].filter((n) => !known.includes(n)).sort(compareStrings);
  return [...known, ...others];
}

function colorScale(names: string[]): { domain: string[]; range: string[] } {
  let fallback = 0;
  return {
    domain: names,
    range: names.map((n) =>
      SERIES_COLORS[n] ?? FALLBACK_COLORS[fallback++ % FALLBACK_COLORS.length]
    ),
  };
}

/** Bucket size that thins `n` points to at most {@linkcode MAX_SERIES_POINTS}. */
function bucketSize(n: number): number {
  return Math.max(1, Math.ceil(n / MAX_SERIES_POINTS));
}

/**
 * The Vega-Lite spec of training and validation loss per epoch, with the learning rate on a
 * second (log) axis.
 *
 * @param history the training history
 * @returns the spec
 */
export function trainingSpec(history: EpochRecord[]): TopLevelSpec {
  const lossRows = history.flatMap((e) => [
    { epoch: e.epoch, series: "training loss", value: e.loss },
    { epoch: e.epoch, series: "validation loss", value: e.valLoss },
  ]).filter((r) => Number.isFinite(r.value));
  const lrRows = history
    .filter((e) => Number.isFinite(e.lr))
    .map((e) => ({ epoch: e.epoch, series: "learning rate", value: e.lr }));
  const logLr = lrRows.length > 0 && lrRows.every((r) => r.value > 0);
  const color = {
    field: "series",
    type: "nominal" as const,
    title: null,
    scale: {
      domain: ["training loss", "validation loss", "learning rate"],
      range: ["#1f77b4", "#ff7f0e", "#7f7f7f"],
    },
  };
  const x = { field: "epoch", type: "quantitative" as const, title: "epoch" };
  return {
    title: "Training and validation loss, learning rate",
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: lossRows },
        mark: { type: "line", point: history.length <= 40 },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: "loss", scale: { zero: false } },
          color,
        },
      },
      {
        data: { values: lrRows },
        mark: { type: "line", strokeDash: [4, 3] },
        encoding: {
          x,
          y: {
            field: "value",
            type: "quantitative",
            title: "learning rate",
            scale: logLr ? { type: "log" } : { zero: true },
            axis: { orient: "right", format: ".1e" },
          },
          color,
        },
      },
    ],
    resolve: { scale: { y: "independent" } },
  };
}

/**
 * The Vega-Lite spec of equity curves: the strategy against its benchmarks.
 *
 * @param equity the daily equity series
 * @returns the spec
 */
export function equitySpec(equity: EquityPoint[]): TopLevelSpec {
  const names = seriesNames(equity);
  const k = bucketSize(equity.length);
  const values: { date: string; series: string; value: number }[] = [];
  equity.forEach((point, i) => {
    if (i % k !== 0 && i !== equity.length - 1) return;
    for (const name of names) {
      const v = (point as unknown as Record<string, unknown>)[name];
      if (typeof v === "number" && Number.isFinite(v)) {
        values.push({ date: point.date, series: name, value: v });
      }
    }
  });
  return {
    title: "Equity: strategy against benchmarks",
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: {
        field: "date",
        type: "temporal",
        title: null,
        scale: { type: "utc" },
        axis: { format: "%Y-%m", labelAngle: 0 },
      },
      y: { field: "value", type: "quantitative", title: "equity", scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null, scale: colorScale(names) },
    },
  };
}

/**
 * Drawdown series (value / running peak − 1) of each equity series, on every point.
 *
 * @param equity the daily equity series
 * @returns series name → drawdowns aligned with `equity` (null where the value is missing)
 */
export function drawdowns(equity: EquityPoint[]): Record<string, (number | null)[]> {
  const out: Record<string, (number | null)[]> = {};
  for (const name of seriesNames(equity)) {
    let peak = -Infinity;
    out[name] = equity.map((point) => {
      const v = (point as unknown as Record<string, unknown>)[name];
      if (typeof v !== "number" || !Number.isFinite(v)) return null;
      peak = Math.max(peak, v);
      return peak > 0 ? v / peak - 1 : 0;
    });
  }
  return out;
}

/**
 * The Vega-Lite spec of drawdowns of the strategy and its benchmarks, drawn below zero. Uses the
 * backtest stage's own drawdown series when the record has them (positive fractions below the
 * running peak, the same numbers as the statistics table), else computes them from the equity.
 * When the series is thinned, each bucket keeps its deepest drawdown, so the maximum stays
 * visible.
 *
 * @param equity the daily equity series
 * @param recorded the stage's drawdown points `{ date, strategy, index?, basket? }`, if any
 * @returns the spec
 */
export function drawdownSpec(equity: EquityPoint[], recorded?: EquityPoint[]): TopLevelSpec {
  const points = recorded && recorded.length ? recorded : equity;
  let series: Record<string, (number | null)[]>;
  if (recorded && recorded.length) {
    series = {};
    for (const name of seriesNames(recorded)) {
      series[name] = recorded.map((p) => {
        const v = (p as unknown as Record<string, unknown>)[name];
        return typeof v === "number" && Number.isFinite(v) ? -Math.abs(v) : null;
      });
    }
  } else {
    series = drawdowns(equity);
  }
  const names = Object.keys(series);
  const k = bucketSize(points.length);
  const values: { date: string; series: string; drawdown: number }[] = [];
  for (let start = 0; start < points.length; start += k) {
    for (const name of names) {
      let deepest: number | null = null;
      for (let i = start; i < Math.min(start + k, points.length); i++) {
        const d = series[name][i];
        if (d !== null && (deepest === null || d < deepest)) deepest = d;
      }
      if (deepest !== null) {
        values.push({ date: points[start].date, series: name, drawdown: deepest });
      }
    }
  }
  return {
    title: "Drawdown",
    width: WIDTH,
    height: 200,
    data: { values },
    mark: { type: "line", strokeWidth: 1.2 },
    encoding: {
      x: {
        field: "date",
        type: "temporal",
        title: null,
        scale: { type: "utc" },
        axis: { format: "%Y-%m", labelAngle: 0 },
      },
      y: { field: "drawdown", type: "quantitative", title: "drawdown", axis: { format: ".0%" } },
      color: { field: "series", type: "nominal", title: null, scale: colorScale(names) },
    },
  };
}

/** One bar of the per-ticker plot. */
export interface TickerReturn {
  /** Eval ticker. */
  ticker: string;
  /** `strategy` (the ticker's book or contribution) or `buy and hold` (its own price move). */
  series: "strategy" | "buy and hold";
  /** Total return as a fraction. */
  totalReturn: number;
}

/**
 * Per-ticker total returns from the backtest's per-ticker table: the strategy's and, when the
 * table has it (`buyHoldReturn`), the ticker's own buy-and-hold return beside it.
 *
 * @param perTicker the backtest's per-ticker rows
 * @returns bars in ticker order, strategy first (rows without a ticker and a return are skipped)
 */
export function perTickerReturns(perTicker: BacktestSummary["perTicker"]): TickerReturn[] {
  const rows: TickerReturn[] = [];
  const sorted = [...perTicker].sort((a, b) =>
    compareStrings(String(a.ticker ?? ""), String(b.ticker ?? ""))
  );
  for (const row of sorted) {
    const ticker = row.ticker;
    const m = row as Record<string, number | null | object>;
    const value = metricValue(m, "totalReturn") ?? metricValue(m, "return");
    if (typeof ticker !== "string" || value === null) continue;
    rows.push({ ticker, series: "strategy", totalReturn: value });
    const hold = metricValue(m, "buyHoldReturn");
    if (hold !== null) rows.push({ ticker, series: "buy and hold", totalReturn: hold });
  }
  return rows;
}

/**
 * The Vega-Lite spec of per-ticker total returns: bars per ticker, the strategy beside the
 * ticker's buy-and-hold when known.
 *
 * @param rows bars from {@linkcode perTickerReturns}
 * @returns the spec
 */
export function perTickerSpec(rows: TickerReturn[]): TopLevelSpec {
  const tickers = [...new Set(rows.map((r) => r.ticker))];
  const series = [...new Set(rows.map((r) => r.series))];
  return {
    title: "Total return per eval ticker",
    width: Math.max(200, Math.min(WIDTH, tickers.length * 14 * (series.length + 1))),
    height: 220,
    data: { values: rows },
    mark: { type: "bar" },
    encoding: {
      x: {
        field: "ticker",
        type: "nominal",
        title: null,
        sort: tickers,
        axis: { labelAngle: tickers.length > 20 ? -90 : 0 },
      },
      xOffset: { field: "series", type: "nominal", sort: series },
      y: {
        field: "totalReturn",
        type: "quantitative",
        title: "total return",
        axis: { format: ".0%" },
      },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain: series, range: ["#1f77b4", "#bdbdbd"].slice(0, series.length) },
        legend: series.length > 1 ? {} : null,
      },
    },
  };
}

/**
 * The Vega-Lite spec of feature–label correlations (Pearson, bars in the record's order).
 *
 * @param rows the correlation table
 * @returns the spec
 */
export function correlationSpec(rows: CorrelationRow[]): TopLevelSpec {
  const values = rows
    .filter((r) => r.pearson !== null && Number.isFinite(r.pearson))
    .map((r) => ({ feature: r.feature, pearson: r.pearson as number, strength: r.strength }));
  return {
    title: "Feature correlation with the label (Pearson, training rows)",
    width: 400,
    height: Math.max(60, values.length * 16),
    data: { values },
    mark: { type: "bar" },
    encoding: {
      y: { field: "feature", type: "nominal", title: null, sort: values.map((v) => v.feature) },
      x: { field: "pearson", type: "quantitative", title: "Pearson r" },
      color: {
        condition: { test: "datum.pearson < 0", value: "#d62728" },
        value: "#1f77b4",
      },
    },
  };
}

/**
 * Read a 2×2 confusion matrix in any of the shapes stages write: `[[tn, fp], [fn, tp]]`
 * (rows actual, columns predicted) or an object with `tp`, `fp`, `tn`, `fn` (any spelling such as
 * `truePositives`).
 *
 * @param value the recorded matrix
 * @returns the four counts, or null when the value is not a recognizable matrix
 */
export function readConfusion(
  value: unknown,
): { tp: number; fp: number; tn: number; fn: number } | null {
  if (Array.isArray(value)) {
    if (
      value.length === 2 && value.every((r) => Array.isArray(r) && r.length === 2) &&
      value.flat().every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      const [[tn, fp], [fn, tp]] = value as number[][];
      return { tp, fp, tn, fn };
    }
    return null;
  }
  if (value && typeof value === "object") {
    const m = value as Record<string, number | null | object>;
    const get = (names: string[]) => {
      for (const n of names) {
        const v = metricEntry(m, [n]);
        if (typeof v === "number" && Number.isFinite(v)) return v;
      }
      return null;
    };
    const tp = get(["tp", "truePositive", "truePositives"]);
    const fp = get(["fp", "falsePositive", "falsePositives"]);
    const tn = get(["tn", "trueNegative", "trueNegatives"]);
    const fn = get(["fn", "falseNegative", "falseNegatives"]);
    if (tp !== null && fp !== null && tn !== null && fn !== null) return { tp, fp, tn, fn };
    const matrix = metricEntry(m, ["matrix", "values"]);
    if (matrix !== undefined) return readConfusion(matrix);
  }
  return null;
}

/**
 * The Vega-Lite spec of a direction model's eval confusion matrix.
 *
 * @param c the four counts
 * @returns the spec
 */
export function confusionSpec(c: { tp: number; fp: number; tn: number; fn: number }): TopLevelSpec {
  const values = [
    { actual: "up", predicted: "up", count: c.tp },
    { actual: "up", predicted: "down", count: c.fn },
    { actual: "down", predicted: "up", count: c.fp },
    { actual: "down", predicted: "down", count: c.tn },
  ];
  const max = Math.max(1, c.tp, c.fp, c.tn, c.fn);
  const axis = {
    field: "",
    type: "nominal" as const,
    sort: ["up", "down"],
    axis: { labelAngle: 0 },
  };
  return {
    title: "Confusion matrix (eval)",
    width: 220,
    height: 220,
    data: { values },
    encoding: {
      x: { ...axis, field: "predicted", title: "predicted" },
      y: { ...axis, field: "actual", title: "actual" },
    },
    layer: [
      {
        mark: { type: "rect" },
        encoding: {
          color: {
            field: "count",
            type: "quantitative",
            legend: null,
            scale: { scheme: "blues", domain: [0, max] },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 16 },
        encoding: {
          text: { field: "count", type: "quantitative" },
          color: {
            condition: { test: `datum.count > ${max / 2}`, value: "white" },
            value: "black",
          },
        },
      },
    ],
  };
}

/**
 * The Vega-Lite spec of predicted against actual values (magnitude models), with the y = x line.
 *
 * @param points predictions
 * @returns the spec
 */
export function scatterSpec(points: PredictionPoint[]): TopLevelSpec {
  const values = points
    .filter((p) => Number.isFinite(p.actual) && Number.isFinite(p.predicted))
    .map((p) => ({ actual: p.actual, predicted: p.predicted, split: p.split ?? "eval" }));
  const all = values.flatMap((v) => [v.actual, v.predicted]);
  const lo = all.length ? Math.min(...all) : 0;
  const hi = all.length ? Math.max(...all) : 1;
  const splits = [...new Set(values.map((v) => v.split))].sort(compareStrings);
  return {
    title: "Predicted against actual",
    width: 320,
    height: 320,
    layer: [
      {
        data: { values: [{ actual: lo, predicted: lo }, { actual: hi, predicted: hi }] },
        mark: { type: "line", color: "#7f7f7f", strokeDash: [4, 3] },
        encoding: {
          x: { field: "actual", type: "quantitative" },
          y: { field: "predicted", type: "quantitative" },
        },
      },
      {
        data: { values },
        mark: { type: "point", filled: true, opacity: 0.5, size: 18 },
        encoding: {
          x: { field: "actual", type: "quantitative", title: "actual" },
          y: { field: "predicted", type: "quantitative", title: "predicted" },
          color: {
            field: "split",
            type: "nominal",
            title: null,
            scale: { domain: splits },
            legend: splits.length > 1 ? {} : null,
          },
        },
      },
    ],
  };
}

/**
 * The Vega-Lite spec of the global mean |SHAP| ranking.
 *
 * @param meanAbs feature → mean |SHAP|
 * @returns the spec
 */
export function shapSpec(meanAbs: Record<string, number>): TopLevelSpec {
  const values = Object.entries(meanAbs)
    .filter(([, v]) => Number.isFinite(v))
    .map(([feature, value]) => ({ feature, value }))
    .sort((a, b) => b.value - a.value || compareStrings(a.feature, b.feature));
  return {
    title: "Mean |SHAP| per feature (eval)",
    width: 400,
    height: Math.max(60, values.length * 16),
    data: { values },
    mark: { type: "bar", color: "#9467bd" },
    encoding: {
      y: { field: "feature", type: "nominal", title: null, sort: values.map((v) => v.feature) },
      x: { field: "value", type: "quantitative", title: "mean |SHAP|" },
    },
  };
}

/**
 * The Vega-Lite spec of a beeswarm-style SHAP summary: one dot per explained row and feature,
 * placed by its attribution, coloured by the feature's (scaled) value, features ranked by mean
 * |SHAP|. Vertical spread within a feature is a fixed function of the row, not random.
 *
 * @param features feature names, in the column order of `values`
 * @param values attributions, one array per explained row
 * @param featureValues the explained rows' inputs, same shape as `values` (optional)
 * @returns the spec
 */
export function beeswarmSpec(
  features: string[],
  values: number[][],
  featureValues?: number[][],
): TopLevelSpec {
  const meanAbs = features.map((_, j) =>
    values.reduce((sum, row) => sum + Math.abs(row[j] ?? 0), 0) / Math.max(1, values.length)
  );
  const order = features
    .map((feature, j) => ({ feature, m: meanAbs[j] }))
    .sort((a, b) => b.m - a.m || compareStrings(a.feature, b.feature))
    .map((f) => f.feature);
  const ranges = features.map((_, j) => {
    const column = (featureValues ?? []).map((row) => row[j]).filter(Number.isFinite);
    return column.length ? { lo: Math.min(...column), hi: Math.max(...column) } : { lo: 0, hi: 0 };
  });
  const points: { feature: string; shap: number; value: number | null; jitter: number }[] = [];
  values.forEach((row, i) => {
    features.forEach((feature, j) => {
      const v = row[j];
      if (!Number.isFinite(v)) return;
      const x = featureValues?.[i]?.[j];
      const { lo, hi } = ranges[j];
      const scaled = x !== undefined && Number.isFinite(x)
        ? (hi > lo ? (x - lo) / (hi - lo) : 0.5)
        : null;
      points.push({ feature, shap: v, value: scaled, jitter: ((i * 7919) % 101) / 100 - 0.5 });
    });
  });
  return {
    title: "SHAP values per feature (eval rows)",
    width: 420,
    height: { step: 22 },
    data: { values: points },
    mark: { type: "circle", size: 14, opacity: 0.75 },
    encoding: {
      y: { field: "feature", type: "nominal", title: null, sort: order },
      yOffset: { field: "jitter", type: "quantitative", scale: { domain: [-0.8, 0.8] } },
      x: { field: "shap", type: "quantitative", title: "SHAP value (effect on the model output)" },
      color: featureValues
        ? {
          field: "value",
          type: "quantitative",
          title: "feature value (low to high)",
          scale: { scheme: "redblue", reverse: true, domain: [0, 1] },
        }
        : { value: "#9467bd" },
    },
  };
}

/** A plot's file name and what the report calls it. */
export interface PlotEntry {
  /** SVG file name beside `report.md`. */
  file: string;
  /** Alt text of the embedded image. */
  alt: string;
  /** The Vega-Lite spec. */
  spec: TopLevelSpec;
}

/**
 * The plots a record supports, as specs, in report order.
 *
 * @param record the run record
 * @param predictions predictions for the scatter plot (magnitude runs)
 * @returns file name, alt text and spec of each plot
 */
export function plotSpecs(record: RunRecord, predictions?: PredictionPoint[]): PlotEntry[] {
  const plots: PlotEntry[] = [];
  if (record.training && record.training.history.length > 0) {
    plots.push({
      file: "training.svg",
      alt: "Training and validation loss with the learning rate",
      spec: trainingSpec(record.training.history),
    });
  }
  if (record.metrics?.mode === "direction") {
    const c = readConfusion(
      metricEntry(record.metrics.postTrain.eval, ["confusion", "confusionMatrix"]),
    );
    if (c) plots.push({ file: "confusion.svg", alt: "Confusion matrix", spec: confusionSpec(c) });
  } else if (record.metrics?.mode === "magnitude" && predictions && predictions.length > 0) {
    plots.push({
      file: "predicted-vs-actual.svg",
      alt: "Predicted against actual",
      spec: scatterSpec(predictions),
    });
  }
  if (record.correlations.some((r) => r.pearson !== null)) {
    plots.push({
      file: "correlations.svg",
      alt: "Feature correlations",
      spec: correlationSpec(record.correlations),
    });
  }
  const backtest = record.backtest;
  if (backtest && backtest.equity.length > 1) {
    plots.push({ file: "equity.svg", alt: "Equity curves", spec: equitySpec(backtest.equity) });
    const recorded = Array.isArray(backtest.drawdown)
      ? backtest.drawdown as EquityPoint[]
      : undefined;
    plots.push({
      file: "drawdown.svg",
      alt: "Drawdown",
      spec: drawdownSpec(backtest.equity, recorded),
    });
  }
  if (backtest) {
    const rows = perTickerReturns(backtest.perTicker);
    if (rows.length > 0) {
      plots.push({ file: "per-ticker.svg", alt: "Per-ticker returns", spec: perTickerSpec(rows) });
    }
  }
  const meanAbs = record.analysis?.shap?.meanAbs;
  if (meanAbs && Object.keys(meanAbs).length > 0) {
    plots.push({ file: "shap.svg", alt: "Mean |SHAP| per feature", spec: shapSpec(meanAbs) });
  }
  const shap = record.analysis?.shap;
  if (
    shap && Array.isArray(shap.features) && Array.isArray(shap.values) && shap.values.length > 0
  ) {
    plots.push({
      file: "shap-beeswarm.svg",
      alt: "SHAP values per feature",
      spec: beeswarmSpec(
        shap.features as string[],
        shap.values as number[][],
        Array.isArray(shap.featureValues) ? shap.featureValues as number[][] : undefined,
      ),
    });
  }
  return plots;
}
