/**
 * The run report's plots: Vega-Lite specs built from a run record, compiled by `vega-lite` and
 * rendered to SVG by `vega` (headless view, renderer "none"). The same record always gives
 * byte-identical SVG: data are ordered explicitly, dates use UTC scales, and no timestamps or
 * random ids enter the output.
 *
 * The SVG files are committed with the results, so they are kept small: no ARIA attributes
 * (the report embeds each plot as an image, whose alt text is what a screen reader reads),
 * coordinates to a tenth of a pixel, daily series thinned to a point every two pixels (the
 * drawdown keeps each bucket's deepest point), and the SHAP beeswarm to the top features.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";
import type {
  Confusion,
  CorrelationRow,
  EpochRecord,
  EquityPoint,
  PredictionRow,
  RunRecord,
  SeriesStats,
  TickerSummary,
} from "../record/mod.ts";
import { extent } from "@alfred/core";
import { drawdownSeries } from "../backtest/stats.ts";
import { compareStrings, Prng } from "@alfred/core";

/** Most points a time series plot draws (a point every two pixels); longer series are thinned. */
export const MAX_SERIES_POINTS = 280;

/** Most features the SHAP beeswarm shows, by mean |SHAP| (the SHAP library's own default). */
export const MAX_BEESWARM_FEATURES = 20;

const WIDTH = 560;
const HEIGHT = 260;
/** The x encoding of a daily series: UTC dates, labelled by month. */
const DATE_AXIS = {
  field: "date",
  type: "temporal",
  title: null,
  scale: { type: "utc" },
  axis: { format: "%Y-%m", labelAngle: 0 },
} as const;
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
  const compiled = vl.compile({ ...spec, config: { ...spec.config, aria: false } }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return dropInert(roundCoordinates(renumberIds(await view.toSVG())));
  } finally {
    view.finalize();
  }
}

/**
 * Path data and translations to a tenth of a pixel (Vega writes thousandths): a third less
 * SVG, no visible change. Text and styles are untouched.
 */
function roundCoordinates(svg: string): string {
  return svg.replace(
    / (d|transform)="([^"]*)"/g,
    (_whole, name: string, value: string) =>
      ` ${name}="${
        value.replace(/-?\d+\.\d+/g, (n) => {
          const r = Math.round(Number(n) * 10) / 10;
          return String(Object.is(r, -0) ? 0 : r);
        })
      }"`,
  );
}

/**
 * Attributes and elements that change nothing in a static image, which Vega writes for an
 * interactive page: ARIA roles (the report's alt text describes the image), `pointer-events`,
 * values equal to SVG's defaults (`opacity="1"`; `stroke-width="1"`, which no group overrides;
 * `stroke-miterlimit="4"`) and empty or hidden paths. Classes stay: they name the marks. About a
 * fifth less SVG, the same picture.
 */
function dropInert(svg: string): string {
  return svg
    .replace(/<path [^>]*display="none"\/>/g, "")
    .replace(/<path class="background" aria-hidden="true" d="M0,0h0v0h0Z"[^>]*\/>/g, "")
    .replace(
      / (?:role|aria-roledescription)="[^"]*"| aria-hidden="true"| pointer-events="none"| opacity="1"| stroke-width="1"| stroke-miterlimit="4"/g,
      "",
    );
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

/** An equity curve of the backtest. */
export type SeriesName = "strategy" | "index" | "basket";

const SERIES: readonly SeriesName[] = ["strategy", "index", "basket"];

/** A value a plot can draw: a finite number. */
function drawable(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** The curves with at least one value, in legend order. */
function seriesNames(equity: EquityPoint[]): SeriesName[] {
  return SERIES.filter((name) => equity.some((p) => drawable(p[name])));
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
  const row = (epoch: number, series: string, value: number) =>
    Number.isFinite(value) ? [{ epoch, series, value }] : [];
  const k = bucketSize(history.length);
  const shown = history.filter((_, i) => i % k === 0 || i === history.length - 1);
  const lossRows = shown.flatMap((e) => [
    ...row(e.epoch, "training loss", e.loss),
    ...row(e.epoch, "validation loss", e.valLoss),
  ]);
  const lrRows = shown.flatMap((e) => row(e.epoch, "learning rate", e.lr));
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
      const v = point[name];
      if (drawable(v)) values.push({ date: point.date, series: name, value: v });
    }
  });
  return {
    title: "Equity: strategy against benchmarks",
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: DATE_AXIS,
      y: { field: "value", type: "quantitative", title: "equity", scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null, scale: colorScale(names) },
    },
  };
}

/**
 * Drawdown of each curve at each close, below zero: the backtest's own rule
 * (`drawdownSeries`: the starting equity is the first peak), so the plot shows the numbers the
 * statistics table's max drawdown comes from.
 *
 * @param equity the daily equity
 * @param stats each curve's statistics (their starting equity)
 * @returns curve name → drawdowns aligned with `equity` (null where the curve has no value)
 */
export function drawdowns(
  equity: EquityPoint[],
  stats: Partial<Record<SeriesName, Pick<SeriesStats, "startEquity">>>,
): Partial<Record<SeriesName, (number | null)[]>> {
  const out: Partial<Record<SeriesName, (number | null)[]>> = {};
  for (const name of seriesNames(equity)) {
    const capital = stats[name]?.startEquity;
    const values = equity.map((p) => p[name]);
    if (capital === undefined || !values.every(drawable)) continue;
    const dd = drawdownSeries(capital, values);
    out[name] = Array.from(dd, (d) => (d === 0 ? 0 : -d));
  }
  return out;
}

/**
 * The Vega-Lite spec of drawdowns of the strategy and its benchmarks, drawn below zero. When the
 * series is thinned, each bucket keeps its deepest drawdown, so the maximum stays visible.
 *
 * @param equity the daily equity
 * @param stats each curve's statistics (their starting equity)
 * @returns the spec
 */
export function drawdownSpec(
  equity: EquityPoint[],
  stats: Partial<Record<SeriesName, Pick<SeriesStats, "startEquity">>>,
): TopLevelSpec {
  const series = drawdowns(equity, stats);
  const names = SERIES.filter((n) => series[n]);
  const k = bucketSize(equity.length);
  const values: { date: string; series: string; drawdown: number }[] = [];
  for (let start = 0; start < equity.length; start += k) {
    for (const name of names) {
      let deepest: number | null = null;
      for (let i = start; i < Math.min(start + k, equity.length); i++) {
        const d = series[name]![i];
        if (d !== null && (deepest === null || d < deepest)) deepest = d;
      }
      if (deepest !== null) {
        values.push({ date: equity[start].date, series: name, drawdown: deepest });
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
      x: DATE_AXIS,
      y: { field: "drawdown", type: "quantitative", title: "drawdown", axis: { format: ".0%" } },
      color: { field: "series", type: "nominal", title: null, scale: colorScale(names) },
    },
  };
}

/** The most tickers the per-ticker plot draws: past it, the best and worst half each. */
export const MAX_TICKER_BARS = 30;

/** The most points the predicted-against-actual plot draws: past it, a seeded sample. */
export const MAX_SCATTER_POINTS = 2000;

/** The seed of the scatter's sample (fixed: the same predictions give the same plot). */
export const SCATTER_SEED = 17;

/**
 * The best and worst rows by a value, when there are more than `max`: the `max / 2` best and the
 * `max / 2` worst (rows without a value count as worst; ties go by ticker), in the rows' order.
 *
 * @param rows the rows
 * @param value a row's value (null: none)
 * @param higherIsBetter whether a higher value is better
 * @param max the most rows kept
 * @returns the rows kept, in their order (all of them when there are `max` or fewer)
 * @example
 * ```ts
 * extremes(rows, (r) => r.totalReturn, true, 30); // the 15 best and 15 worst returns
 * ```
 */
export function extremes<T extends { ticker: string }>(
  rows: readonly T[],
  value: (row: T) => number | null,
  higherIsBetter: boolean,
  max: number,
): T[] {
  if (rows.length <= max) return [...rows];
  const score = (r: T) => {
    const v = value(r);
    return v === null || !Number.isFinite(v) ? -Infinity : higherIsBetter ? v : -v;
  };
  const ranked = [...rows].sort((a, b) =>
    score(b) - score(a) || compareStrings(a.ticker, b.ticker)
  );
  const half = Math.floor(max / 2);
  const kept = new Set([...ranked.slice(0, half), ...ranked.slice(ranked.length - (max - half))]);
  return rows.filter((r) => kept.has(r));
}

/**
 * At most `max` of a list, a seeded sample without replacement kept in the list's order; the
 * list itself when it is no longer.
 *
 * @param values the list
 * @param max the most kept
 * @param seed the sample's seed
 * @returns the sample
 */
export function sampleInOrder<T>(values: readonly T[], max: number, seed: number): T[] {
  if (values.length <= max) return [...values];
  const picked = new Prng(seed).permutation(values.length).slice(0, max).sort((a, b) => a - b);
  return Array.from(picked, (i) => values[i]);
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
 * Per-ticker total returns from the backtest's per-ticker table: the strategy's, and the
 * ticker's own buy-and-hold return beside it.
 *
 * More than {@linkcode MAX_TICKER_BARS} tickers: the best and worst by the strategy's return.
 *
 * @param perTicker the backtest's per-ticker rows
 * @returns bars in ticker order, strategy first (a return that is null is skipped)
 */
export function perTickerReturns(
  perTicker: Pick<TickerSummary, "ticker" | "totalReturn" | "buyHoldReturn">[],
): TickerReturn[] {
  const rows: TickerReturn[] = [];
  const drawn = perTicker.filter((r) => drawable(r.totalReturn));
  const sorted = extremes(drawn, (r) => r.totalReturn, true, MAX_TICKER_BARS)
    .sort((a, b) => compareStrings(a.ticker, b.ticker));
  for (const { ticker, totalReturn, buyHoldReturn } of sorted) {
    if (!drawable(totalReturn)) continue;
    rows.push({ ticker, series: "strategy", totalReturn });
    if (drawable(buyHoldReturn)) {
      rows.push({ ticker, series: "buy and hold", totalReturn: buyHoldReturn });
    }
  }
  return rows;
}

/**
 * The Vega-Lite spec of per-ticker total returns: bars per ticker, the strategy beside the
 * ticker's buy-and-hold when known.
 *
 * @param rows bars from {@linkcode perTickerReturns}
 * @param of the eval tickers with a return, when the bars show only some of them
 * @returns the spec
 */
export function perTickerSpec(rows: TickerReturn[], of?: number): TopLevelSpec {
  const tickers = [...new Set(rows.map((r) => r.ticker))];
  const series = [...new Set(rows.map((r) => r.series))];
  return {
    title: of !== undefined && of > tickers.length
      ? `Total return of the ${MAX_TICKER_BARS / 2} best and ${MAX_TICKER_BARS / 2} worst of ${
        of.toLocaleString("en-US")
      } eval tickers`
      : "Total return per eval ticker",
    width: Math.max(200, Math.min(WIDTH, tickers.length * 14 * (series.length + 1))),
    height: 220,
    data: { values: rows },
    mark: { type: "bar" },
    encoding: {
      x: {
        field: "ticker",
        type: "nominal",
        title: null,
        // The rows come in ticker order: an explicit list here would become one Vega expression
        // listing every ticker, which overflows the stack at a few thousand.
        sort: "ascending",
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
    .filter((r) => drawable(r.pearson))
    .map((r) => ({ feature: r.feature, pearson: r.pearson, strength: r.strength }));
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
 * The Vega-Lite spec of a direction model's eval confusion matrix.
 *
 * @param c the four counts
 * @returns the spec
 */
export function confusionSpec(c: Confusion): TopLevelSpec {
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
 * More than {@linkcode MAX_SCATTER_POINTS} points: a seeded sample of them (the title says so);
 * the y = x line spans every point's range.
 *
 * @param points predictions (rows without both numbers are left out)
 * @returns the spec
 */
export function scatterSpec(
  points: Pick<PredictionRow, "actual" | "predicted" | "split">[],
): TopLevelSpec {
  const drawn = points.flatMap((p) =>
    drawable(p.actual) && drawable(p.predicted)
      ? [{ actual: p.actual, predicted: p.predicted, split: p.split }]
      : []
  );
  const values = sampleInOrder(drawn, MAX_SCATTER_POINTS, SCATTER_SEED);
  const all = drawn.flatMap((v) => [v.actual, v.predicted]);
  const range = extent(all);
  const lo = range ? range.min : 0;
  const hi = range ? range.max : 1;
  const splits = [...new Set(values.map((v) => v.split))].sort(compareStrings);
  return {
    title: scatterTitle(drawn.length),
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
 * The scatter's title: it says when the points are a sample.
 *
 * @param points the rows with both numbers
 * @returns the title
 */
export function scatterTitle(points: number): string {
  return points > MAX_SCATTER_POINTS
    ? `Predicted against actual (a seeded sample of ${
      MAX_SCATTER_POINTS.toLocaleString("en-US")
    } of ${points.toLocaleString("en-US")} rows)`
    : "Predicted against actual";
}

/**
 * The Vega-Lite spec of the global mean |SHAP| ranking.
 *
 * @param meanAbs feature → mean |SHAP|
 * @returns the spec
 */
export function shapSpec(meanAbs: Record<string, number>): TopLevelSpec {
  const values = Object.entries(meanAbs)
    .flatMap(([feature, value]) => (drawable(value) ? [{ feature, value }] : []))
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
 * |SHAP| (the top {@linkcode MAX_BEESWARM_FEATURES}). Vertical spread within a feature is a fixed
 * function of the row, not random.
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
    values.reduce((sum, row) => sum + (drawable(row[j]) ? Math.abs(row[j]) : 0), 0) /
    Math.max(1, values.length)
  );
  const order = features
    .map((feature, j) => ({ feature, m: meanAbs[j] }))
    .sort((a, b) => b.m - a.m || compareStrings(a.feature, b.feature))
    .map((f) => f.feature)
    .slice(0, MAX_BEESWARM_FEATURES);
  const shown = new Set(order);
  const ranges = features.map((_, j) => {
    const column = (featureValues ?? []).map((row) => row[j]).filter(drawable);
    const range = extent(column);
    return range ? { lo: range.min, hi: range.max } : { lo: 0, hi: 0 };
  });
  const points: { feature: string; shap: number; value: number | null; jitter: number }[] = [];
  values.forEach((row, i) => {
    features.forEach((feature, j) => {
      const v = row[j];
      if (!drawable(v) || !shown.has(feature)) return;
      const x = featureValues?.[i]?.[j];
      const { lo, hi } = ranges[j];
      const scaled = drawable(x) ? (hi > lo ? (x - lo) / (hi - lo) : 0.5) : null;
      points.push({ feature, shap: v, value: scaled, jitter: ((i * 7919) % 101) / 100 - 0.5 });
    });
  });
  return {
    title: order.length < features.length
      ? `SHAP values per feature (eval rows; the ${order.length} of ${features.length} features with the largest mean |SHAP|)`
      : "SHAP values per feature (eval rows)",
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
 * @param predictions eval predictions for the scatter plot (magnitude runs)
 * @returns file name, alt text and spec of each plot
 */
export function plotSpecs(record: RunRecord, predictions: PredictionRow[] = []): PlotEntry[] {
  const plots: PlotEntry[] = [];
  if (record.training && record.training.history.length > 0) {
    plots.push({
      file: "training.svg",
      alt: "Training and validation loss with the learning rate",
      spec: trainingSpec(record.training.history),
    });
  }
  const modelEval = record.metrics?.postTrain.eval;
  if (modelEval && "confusion" in modelEval) {
    plots.push({
      file: "confusion.svg",
      alt: "Confusion matrix",
      spec: confusionSpec(modelEval.confusion),
    });
  } else if (record.metrics?.mode === "magnitude") {
    const evalRows = predictions.filter((p) => p.split === "eval");
    if (evalRows.some((p) => drawable(p.actual) && drawable(p.predicted))) {
      const drawn = evalRows.filter((p) => drawable(p.actual) && drawable(p.predicted)).length;
      plots.push({
        file: "predicted-vs-actual.svg",
        alt: scatterTitle(drawn),
        spec: scatterSpec(evalRows),
      });
    }
  }
  if (record.correlations.some((r) => drawable(r.pearson))) {
    plots.push({
      file: "correlations.svg",
      alt: "Feature correlations",
      spec: correlationSpec(record.correlations),
    });
  }
  const backtest = record.backtest;
  if (backtest && backtest.equity.length > 1) {
    plots.push({ file: "equity.svg", alt: "Equity curves", spec: equitySpec(backtest.equity) });
    plots.push({
      file: "drawdown.svg",
      alt: "Drawdown",
      spec: drawdownSpec(backtest.equity, backtest.stats),
    });
  }
  if (backtest) {
    const rows = perTickerReturns(backtest.perTicker);
    const of = backtest.perTicker.filter((r) => drawable(r.totalReturn)).length;
    if (rows.length > 0) {
      plots.push({
        file: "per-ticker.svg",
        alt: of > MAX_TICKER_BARS
          ? `Per-ticker returns (the ${MAX_TICKER_BARS / 2} best and ${
            MAX_TICKER_BARS / 2
          } worst of ${of.toLocaleString("en-US")})`
          : "Per-ticker returns",
        spec: perTickerSpec(rows, of),
      });
    }
  }
  const shap = record.analysis?.shap;
  if (shap && Object.keys(shap.meanAbs).length > 0) {
    plots.push({ file: "shap.svg", alt: "Mean |SHAP| per feature", spec: shapSpec(shap.meanAbs) });
  }
  if (shap && shap.values.length > 0) {
    plots.push({
      file: "shap-beeswarm.svg",
      alt: "SHAP values per feature",
      spec: beeswarmSpec(shap.features, shap.values, shap.featureValues),
    });
  }
  return plots;
}
