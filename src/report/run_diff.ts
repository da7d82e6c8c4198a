/**
 * Compare two runs: what changed in the resolved config, and how the metrics moved.
 *
 * @module
 */
import { diffConfigs } from "../config/diff.ts";
import { LOSS_PARAMETERS, type LossConfig } from "../config/schema.ts";
import type { RunRecord } from "../record/mod.ts";
import { findRun, readRunRecord } from "../store/run_record.ts";
import { compareStrings } from "@alfred/core";
import {
  canonicalMetric,
  formatDelta,
  formatValue,
  isBetter,
  markdownTable,
  metricDirection,
  metricLabel,
  type MetricTable,
  metricValue,
  numericMetricNames,
} from "./format.ts";
import { RESULTS_DIR } from "../paths.ts";

function show(value: unknown): string {
  if (value === undefined) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The verdict on a loss whose kind differs between the runs. */
const NOT_COMPARABLE = "not comparable";

/** A run's loss as it measures: its name and the parameters that loss uses, e.g. `huber (delta 1)`. */
function lossKind(loss: LossConfig): string {
  const params = LOSS_PARAMETERS[loss.name].map((p) => `${p} ${loss[p]}`);
  return params.length ? `${loss.name} (${params.join(", ")})` : loss.name;
}

function metricRows(
  a: MetricTable | undefined | null,
  b: MetricTable | undefined | null,
  lossesComparable: boolean,
): string[][] {
  return numericMetricNames([a, b]).map((name) => {
    const x = metricValue(a, name);
    const y = metricValue(b, name);
    const comparable = lossesComparable || canonicalMetric(name) !== "loss";
    const delta = x !== null && y !== null && comparable ? y - x : null;
    let verdict = comparable ? "" : NOT_COMPARABLE;
    if (x !== null && y !== null && comparable && metricDirection(name) !== null) {
      verdict = isBetter(name, y, x) ? "better" : isBetter(name, x, y) ? "worse" : "same";
    }
    return [
      metricLabel(name),
      formatValue(name, x),
      formatValue(name, y),
      formatDelta(name, delta),
      verdict,
    ];
  });
}

/**
 * A Markdown comparison of two runs: identity, config changes and metrics (a → b, delta, and
 * whether b is better). When the runs train different losses (another name, or the same name
 * with other parameters), their loss values are shown but called not comparable.
 *
 * @param a the first (reference) run
 * @param b the second run
 * @returns Markdown text ending with a newline
 */
export function diffRuns(a: RunRecord, b: RunRecord): string {
  const out: string[] = [];
  out.push(`# ${a.experiment}/${a.runId} → ${b.experiment}/${b.runId}\n`);
  const identity: string[][] = [];
  const pair = (label: string, x: string, y: string) => {
    if (x !== y) identity.push([label, x, y]);
  };
  pair("status", a.status, b.status);
  pair("config hash", a.configHash.slice(0, 12), b.configHash.slice(0, 12));
  pair("dataset", a.data.dataset, b.data.dataset);
  pair("data fingerprint", a.data.fingerprint.slice(0, 20), b.data.fingerprint.slice(0, 20));
  pair("backend", a.environment.backend, b.environment.backend);
  pair("device", a.environment.device, b.environment.device);
  pair("git commit", a.environment.git.commit ?? "unknown", b.environment.git.commit ?? "unknown");
  pair("model hash", a.model?.modelHash ?? "—", b.model?.modelHash ?? "—");
  if (identity.length) {
    out.push("## Run\n");
    out.push(markdownTable(["", "a", "b"], identity, ["l", "l", "l"]));
  }
  out.push("## Config\n");
  const diff = diffConfigs(a.config, b.config);
  const changes: string[][] = [
    ...diff.changed.map((c) => [c.path, "changed", show(c.from), show(c.to)]),
    ...diff.added.map((c) => [c.path, "added", "—", show(c.value)]),
    ...diff.removed.map((c) => [c.path, "removed", show(c.value), "—"]),
  ].sort((x, y) => compareStrings(x[0], y[0]));
  if (changes.length === 0) {
    out.push("The resolved configs are identical.\n");
  } else {
    out.push(markdownTable(["key", "change", "a", "b"], changes, ["l", "l", "l", "l"]));
  }
  const sections: [string, MetricTable | undefined | null, MetricTable | undefined | null][] = [
    ["Eval metrics after training", a.metrics?.postTrain.eval, b.metrics?.postTrain.eval],
    ["Eval metrics before training", a.metrics?.preTrain.eval, b.metrics?.preTrain.eval],
    ["Backtest: strategy", a.backtest?.stats?.strategy, b.backtest?.stats?.strategy],
  ];
  const [lossA, lossB] = [lossKind(a.config.loss), lossKind(b.config.loss)];
  const lossesComparable = lossA === lossB;
  for (const [title, x, y] of sections) {
    const rows = metricRows(x, y, lossesComparable);
    if (rows.length === 0) continue;
    out.push(`## ${title}\n`);
    out.push(markdownTable(["metric", "a", "b", "Δ (b − a)", "b is"], rows));
    if (rows.some((r) => r[4] === NOT_COMPARABLE)) {
      out.push(
        `The runs train different losses (a: ${lossA}; b: ${lossB}): ` +
          "their loss values are shown side by side but are not comparable: neither is better.\n",
      );
    }
  }
  return out.join("\n");
}

/**
 * Resolve a run given as a folder (holding `record.json`) or as a run id or unique prefix under
 * the results folder, and read its record.
 *
 * @param ref a run folder, run id, or run id prefix
 * @param resultsDir where run ids are looked up
 * @returns the record
 * @throws {RangeError} when no run, or several, match
 */
export async function loadRunRef(ref: string, resultsDir = RESULTS_DIR): Promise<RunRecord> {
  let isFolder = false;
  try {
    isFolder = (await Deno.stat(`${ref}/record.json`)).isFile;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
  }
  if (isFolder) return await readRunRecord(ref);
  return await readRunRecord((await findRun(resultsDir, ref)).dir);
}

/**
 * The Markdown comparison of two stored runs, each given as a folder or a run id (prefix): what
 * `deno task diff RUN_A RUN_B` prints.
 *
 * @param a the first run (folder, run id or prefix)
 * @param b the second run
 * @param resultsDir where run ids are looked up (default `results`)
 * @returns Markdown text
 * @throws {RangeError} when a run cannot be found or is ambiguous
 */
export async function diffStoredRuns(
  a: string,
  b: string,
  resultsDir = RESULTS_DIR,
): Promise<string> {
  return diffRuns(await loadRunRef(a, resultsDir), await loadRunRef(b, resultsDir));
}
