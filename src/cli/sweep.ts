/**
 * What `deno task run` prints for a sweep: each point's values as it starts, and one table of
 * every finished point ranked by the main eval metric, beside the best baseline.
 *
 * @module
 */
import type { SweepPoint } from "../config/load.ts";
import {
  formatNumber,
  isBetter,
  markdownTable,
  metricLabel,
  metricValue,
} from "../report/format.ts";
import { bestBaseline } from "../report/report.ts";
import type { RunRecord } from "../store/run_record.ts";
import { sweepSelection } from "../inference/sweep.ts";
import { sweepSelectionText, sweepTrials } from "../report/inference.ts";

/**
 * A sweep point's values as `key=value` pairs: `model.size=256 loss.name=huber`.
 *
 * @param values the point's values of the swept keys
 * @returns the pairs, space-separated
 * @example
 * ```ts
 * sweepLabel([{ key: "model.size", value: 256 }, { key: "loss.name", value: "huber" }]);
 * // "model.size=256 loss.name=huber"
 * ```
 */
export function sweepLabel(values: SweepPoint["values"]): string {
  return values.map((v) => `${v.key}=${v.value}`).join(" ");
}

/**
 * The line printed as a sweep point starts: `[3/12] model.size=256 loss.name=huber`.
 *
 * @param index the point's 0-based index
 * @param total how many points the sweep has
 * @param values the point's values of the swept keys
 * @returns the line
 */
export function sweepStartLine(index: number, total: number, values: SweepPoint["values"]): string {
  return `[${index + 1}/${total}] ${sweepLabel(values)}`.trimEnd();
}

/**
 * The main eval metric of a label mode, the one the report sets against the best baseline: F1
 * for direction, sign accuracy for magnitude.
 *
 * @param mode the label mode
 * @returns the canonical metric name
 */
export function mainMetric(mode: "direction" | "magnitude"): string {
  return mode === "direction" ? "f1" : "signAccuracy";
}

/** One finished sweep point. */
export interface SweepResult {
  /** The point's 0-based index in the sweep. */
  index: number;
  /** Its values of the swept keys. */
  values: SweepPoint["values"];
  /** Its run record. */
  record: RunRecord;
  /** The folder its record was written to. */
  dir: string;
}

/**
 * One Markdown table of a sweep's finished points, best first by the main eval metric (see
 * {@linkcode mainMetric}), each beside its best baseline on that metric. Points without the
 * metric (an interrupted run) come last, in sweep order. Below it, the deflated Sharpe ratio of
 * the point with the best backtest Sharpe ratio and, with at least 8 points, the probability of
 * backtest overfitting (`sweepSelection`).
 *
 * @param results the finished points
 * @param total how many points the sweep has
 * @returns a heading line and the table, ending with a newline
 * @example
 * ```ts
 * console.log(sweepTable(results, 12));
 * ```
 */
export function sweepTable(results: SweepResult[], total: number): string {
  const mode = results.find((r) => r.record.metrics)?.record.metrics?.mode ?? "direction";
  const metric = mainMetric(mode);
  const label = metricLabel(metric);
  const scored = results.map((r) => ({
    ...r,
    value: metricValue(r.record.metrics?.postTrain.eval, metric),
    baseline: r.record.metrics ? bestBaseline(r.record.metrics.baselines, metric) : null,
  }));
  const order = (a: number | null, b: number | null): number => {
    if (a === null || b === null) return (a === null ? 1 : 0) - (b === null ? 1 : 0);
    return isBetter(metric, a, b) ? -1 : isBetter(metric, b, a) ? 1 : 0;
  };
  const ranked = [...scored].sort((a, b) => order(a.value, b.value) || a.index - b.index);
  const keys = results[0]?.values.map((v) => v.key) ?? [];
  const rows = ranked.map((r, i) => [
    String(i + 1),
    `${r.index + 1}/${total}`,
    ...r.values.map((v) => String(v.value)),
    formatNumber(r.value),
    r.baseline ? `${formatNumber(r.baseline.value)} (${r.baseline.name})` : "—",
    r.record.status === "complete" ? r.dir : `${r.dir} (${r.record.status})`,
  ]);
  const heading = `Sweep: ${results.length} of ${total} points, ranked by eval ${label}`;
  const labels = new Map(results.map((r) => [r.record, sweepLabel(r.values)]));
  const selection = sweepSelection(
    sweepTrials(results.map((r) => r.record), (r) => labels.get(r) ?? r.runId),
  );
  return `${heading}\n\n${
    markdownTable(
      ["rank", "point", ...keys, `eval ${label}`, `best baseline ${label}`, "run"],
      rows,
      ["r", "r", ...keys.map(() => "l" as const), "r", "r", "l"],
    )
  }${selection ? `\n${sweepSelectionText(selection)}` : ""}`;
}
