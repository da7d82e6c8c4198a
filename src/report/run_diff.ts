/**
 * Compare two runs: what changed in the resolved config, and how the metrics moved.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type { Metrics, RunRecord } from "../store/run_record.ts";
import {
  compareStrings,
  formatNumber,
  isBetter,
  markdownTable,
  metricDirection,
  metricLabel,
  metricValue,
  numericMetricNames,
} from "./format.ts";

/** One changed config key, as a dotted path. */
export interface ConfigChange {
  key: string;
  kind: "added" | "removed" | "changed";
  /** The value in the first config (absent when added). */
  a?: unknown;
  /** The value in the second config (absent when removed). */
  b?: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The differences between two config trees: keys added, removed or changed, as dotted paths in
 * key order. Objects are compared key by key; arrays and scalars as whole values.
 *
 * @param a the first config
 * @param b the second config
 * @returns the changes, sorted by key
 * @example
 * ```ts
 * diffConfigTrees({ model: { size: 256 } }, { model: { size: 1024 } });
 * // [{ key: "model.size", kind: "changed", a: 256, b: 1024 }]
 * ```
 */
export function diffConfigTrees(a: unknown, b: unknown): ConfigChange[] {
  const out: ConfigChange[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (isPlainObject(x) && isPlainObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort(compareStrings);
      for (const key of keys) {
        const child = path ? `${path}.${key}` : key;
        if (!(key in y)) out.push({ key: child, kind: "removed", a: x[key] });
        else if (!(key in x)) out.push({ key: child, kind: "added", b: y[key] });
        else walk(x[key], y[key], child);
      }
    } else if (!same(x, y)) {
      out.push({ key: path || "(root)", kind: "changed", a: x, b: y });
    }
  };
  walk(a, b, "");
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function parseConfig(record: RunRecord): unknown {
  try {
    return parseYaml(record.configYaml) ?? {};
  } catch (e) {
    throw new SyntaxError(
      `Cannot parse the config of run "${record.runId}": ${(e as Error).message}`,
    );
  }
}

function metricRows(a: Metrics | undefined | null, b: Metrics | undefined | null): string[][] {
  return numericMetricNames([a, b]).map((name) => {
    const x = metricValue(a, name);
    const y = metricValue(b, name);
    const delta = x !== null && y !== null ? y - x : null;
    let verdict = "";
    if (x !== null && y !== null && metricDirection(name) !== null) {
      verdict = isBetter(name, y, x) ? "better" : isBetter(name, x, y) ? "worse" : "same";
    }
    return [
      metricLabel(name),
      formatNumber(x),
      formatNumber(y),
      delta === null ? "—" : (delta > 0 ? "+" : "") + formatNumber(delta),
      verdict,
    ];
  });
}

/**
 * A Markdown comparison of two runs: identity, config changes and metrics (a → b, delta, and
 * whether b is better).
 *
 * @param a the first (reference) run
 * @param b the second run
 * @returns Markdown text ending with a newline
 * @throws {SyntaxError} when a run's config YAML cannot be parsed
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
  const changes = diffConfigTrees(parseConfig(a), parseConfig(b));
  if (changes.length === 0) {
    out.push("The resolved configs are identical.\n");
  } else {
    out.push(markdownTable(
      ["key", "change", "a", "b"],
      changes.map((c) => [c.key, c.kind, show(c.a), show(c.b)]),
      ["l", "l", "l", "l"],
    ));
  }
  const sections: [string, Metrics | undefined | null, Metrics | undefined | null][] = [
    ["Eval metrics after training", a.metrics?.postTrain.eval, b.metrics?.postTrain.eval],
    ["Eval metrics before training", a.metrics?.preTrain.eval, b.metrics?.preTrain.eval],
    ["Backtest: strategy", a.backtest?.stats?.strategy, b.backtest?.stats?.strategy],
  ];
  for (const [title, x, y] of sections) {
    const rows = metricRows(x, y);
    if (rows.length === 0) continue;
    out.push(`## ${title}\n`);
    out.push(markdownTable(["metric", "a", "b", "Δ (b − a)", "b is"], rows));
  }
  return out.join("\n");
}
