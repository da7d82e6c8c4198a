/**
 * Comparing two resolved experiments key by key, and formatting the result as
 * Markdown for a code review (`model.size: 1024 → 2048`).
 *
 * @module
 */
import type { Experiment } from "./schema.ts";

/** Differences between two resolved configs, each list ordered by key path. */
export interface ConfigDiff {
  /** Keys only the second config has. */
  added: { path: string; value: unknown }[];
  /** Keys only the first config has. */
  removed: { path: string; value: unknown }[];
  /** Keys both have, with different values. */
  changed: { path: string; from: unknown; to: unknown }[];
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Flattens mappings to dotted leaf paths (lists are leaves), keeping empty mappings as leaves. */
function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (isMapping(v) && Object.keys(v).length > 0) {
    for (const [k, child] of Object.entries(v)) {
      if (child !== undefined) flatten(child, prefix === "" ? k : `${prefix}.${k}`, out);
    }
  } else if (prefix !== "") {
    out.set(prefix, v);
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Compares two resolved configs. Mappings are compared key by key; lists and
 * scalars as whole values.
 *
 * @param a The first (old) config.
 * @param b The second (new) config.
 * @returns Added, removed and changed keys, sorted by path.
 * @example
 * ```ts
 * diffConfigs(a, b).changed; // [{ path: "model.size", from: 1024, to: 2048 }]
 * ```
 */
export function diffConfigs(a: Experiment | unknown, b: Experiment | unknown): ConfigDiff {
  const fa = new Map<string, unknown>();
  const fb = new Map<string, unknown>();
  flatten(a, "", fa);
  flatten(b, "", fb);
  const diff: ConfigDiff = { added: [], removed: [], changed: [] };
  const paths = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  for (const path of paths) {
    const inA = fa.has(path);
    const inB = fb.has(path);
    if (inA && !inB) diff.removed.push({ path, value: fa.get(path) });
    else if (!inA && inB) diff.added.push({ path, value: fb.get(path) });
    else if (!same(fa.get(path), fb.get(path))) {
      diff.changed.push({ path, from: fa.get(path), to: fb.get(path) });
    }
  }
  return diff;
}

/** Shows a value as in YAML flow style: `1024`, `relu`, `[AA, KO]`, `"1"` when quoting matters. */
function show(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (isMapping(v)) return `{${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(", ")}}`;
  if (typeof v === "string") {
    const plain = /^[A-Za-z_][A-Za-z0-9_.\-^=/]*$/.test(v) &&
      !/^(true|false|null|yes|no|on|off|~)$/i.test(v);
    return plain ? v : JSON.stringify(v);
  }
  return String(v);
}

/**
 * Formats a diff as Markdown for a code review.
 *
 * @param diff The diff from {@link diffConfigs}.
 * @param nameA Label of the first config (e.g. its file).
 * @param nameB Label of the second config.
 * @returns Markdown: a heading, then `Changed`, `Added` and `Removed` lists
 *   (empty sections left out), e.g. ``- `model.size`: 1024 → 2048``.
 * @example
 * ```ts
 * console.log(formatConfigDiff(diffConfigs(a, b), "a.yaml", "b.yaml"));
 * ```
 */
export function formatConfigDiff(diff: ConfigDiff, nameA: string, nameB: string): string {
  const n = diff.added.length + diff.removed.length + diff.changed.length;
  const lines = [`### Config diff: \`${nameA}\` → \`${nameB}\``, ""];
  if (n === 0) {
    lines.push("No differences: the resolved configs are identical.");
    return lines.join("\n") + "\n";
  }
  const count = (k: number, what: string) => `${k} ${what}`;
  lines.push(
    `${count(diff.changed.length, "changed")}, ${count(diff.added.length, "added")}, ` +
      `${count(diff.removed.length, "removed")}`,
  );
  if (diff.changed.length > 0) {
    lines.push("", "**Changed**", "");
    for (const c of diff.changed) lines.push(`- \`${c.path}\`: ${show(c.from)} → ${show(c.to)}`);
  }
  if (diff.added.length > 0) {
    lines.push("", `**Added** (only in \`${nameB}\`)`, "");
    for (const c of diff.added) lines.push(`- \`${c.path}\`: ${show(c.value)}`);
  }
  if (diff.removed.length > 0) {
    lines.push("", `**Removed** (only in \`${nameA}\`)`, "");
    for (const c of diff.removed) lines.push(`- \`${c.path}\`: ${show(c.value)}`);
  }
  return lines.join("\n") + "\n";
}
