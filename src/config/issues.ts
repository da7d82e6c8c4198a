/**
 * Turns zod issues into located {@link ConfigIssue}s with messages that say
 * what is allowed (range, enum values, keys) and suggest a fix for misspellings.
 * Internal to the config stage.
 *
 * @module
 */
import type { z } from "zod";
import { type ConfigIssue, didYouMean } from "./errors.ts";
import { type AnySchema, describeSchema, enumValues, objectKeys, schemaAt } from "./schema_walk.ts";
import { formatPath, type LNode, locate, type PathSegment } from "./tree.ts";

type Issue = z.core.$ZodIssue;

/**
 * Shows a value in a message: strings quoted, long values shortened, and the numbers JSON
 * cannot write as YAML spells them (`.nan`, `.inf`, `-.inf`) with what they mean, never as
 * `null`.
 *
 * @param v A plain value from a config.
 * @returns At most 60 characters, or the non-finite number in words.
 * @example
 * ```ts
 * showValue(NaN); // ".nan (not a number)"
 * showValue(["a", Infinity]); // '["a",.inf]'
 * ```
 */
export function showValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number" && !Number.isFinite(v)) return `${yamlNumber(v)} (${numberWords(v)})`;
  let s: string;
  try {
    const mark = "\u0000";
    s = JSON.stringify(
      v,
      (_key, x) =>
        typeof x === "number" && !Number.isFinite(x) ? `${mark}${yamlNumber(x)}${mark}` : x,
    ) ?? String(v);
    s = s.replace(/"\\u0000(.*?)\\u0000"/g, "$1");
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A non-finite number as YAML writes it. */
function yamlNumber(n: number): string {
  return Number.isNaN(n) ? ".nan" : n > 0 ? ".inf" : "-.inf";
}

function numberWords(n: number): string {
  return Number.isNaN(n) ? "not a number" : n > 0 ? "infinity" : "minus infinity";
}

function valueAt(input: unknown, path: readonly PathSegment[]): unknown {
  let cur = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[String(seg)];
  }
  return cur;
}

/** A did-you-mean suffix for a misspelt enum value or key, or "". */
export function suggestion(input: unknown, allowed: readonly string[]): string {
  if (typeof input !== "string") return "";
  const s = didYouMean(input, allowed);
  return s === undefined ? "" : `: did you mean "${s}"?`;
}

/** Context for mapping zod issues. */
export interface IssueContext {
  /** The schema that was parsed. */
  schema: AnySchema;
  /** The plain input that was parsed. */
  input: unknown;
  /** The located tree the input came from. */
  tree: LNode;
}

/**
 * Maps zod issues to located config issues (one zod issue may become several,
 * e.g. one per unrecognized key).
 */
export function mapZodIssues(issues: readonly Issue[], ctx: IssueContext): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) out.push(...mapIssue(issue, [], ctx));
  return out;
}

function mapIssue(issue: Issue, prefix: PathSegment[], ctx: IssueContext): ConfigIssue[] {
  const path = [...prefix, ...issue.path.map((p) => (typeof p === "number" ? p : String(p)))];
  const value = valueAt(ctx.input, path);
  const schema = schemaAt(ctx.schema, path);
  const at = (target: "value" | "key", p: PathSegment[] = path) => locate(ctx.tree, p, target);
  const make = (message: string, p: PathSegment[] = path, target: "value" | "key" = "value") => ({
    ...at(target, p),
    path: formatPath(p),
    message,
  });
  const got = `got ${showValue(value)}`;

  if (value === undefined && issue.code !== "unrecognized_keys" && issue.code !== "invalid_key") {
    const key = path.length > 0 ? String(path[path.length - 1]) : "";
    const what = schema ? `: ${describeSchema(schema)}` : "";
    return [make(`missing required key "${key}"${what}`)];
  }
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = objectKeys(schemaAt(ctx.schema, path) ?? ctx.schema) ?? [];
      return issue.keys.map((key) => {
        const keyPath = [...path, key];
        return make(
          `unknown key "${key}"${suggestion(key, allowed)} (allowed: ${allowed.join(", ")})`,
          keyPath,
          "key",
        );
      });
    }
    case "invalid_value": {
      const allowed = issue.values.map(String);
      const list = issue.values.map((v) => JSON.stringify(v)).join(", ");
      return [make(`expected one of ${list}, ${got}${suggestion(value, allowed)}`)];
    }
    case "invalid_type":
      return [make(`expected ${schema ? describeSchema(schema) : issue.expected}, ${got}`)];
    case "too_small":
    case "too_big": {
      if (issue.origin === "array" || issue.origin === "set") {
        const n = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
        const bound = issue.code === "too_small" ? "at least" : "at most";
        return [make(`expected ${bound} ${n} item${n === 1 ? "" : "s"}, ${got}`)];
      }
      if (issue.origin === "string") {
        const n = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
        const bound = issue.code === "too_small" ? "at least" : "at most";
        const length = typeof value === "string" && value.length > n
          ? `got ${value.length} characters: ${showValue(value)}`
          : got;
        return [make(`expected ${bound} ${n} character${n === 1 ? "" : "s"}, ${length}`)];
      }
      return [make(`expected ${schema ? describeSchema(schema) : issue.message}, ${got}`)];
    }
    case "invalid_format":
      return [make(`${issue.message.replace(/^Invalid string: /, "")}, ${got}`)];
    case "invalid_union": {
      // Drop the branches that failed only because the value has another type;
      // if one branch is left, its issues say precisely what is wrong.
      const live = issue.errors.filter((branch) =>
        !branch.every((b) => b.code === "invalid_type" && b.path.length === 0)
      );
      if (live.length === 1) return live[0].flatMap((b) => mapIssue(b, path, ctx));
      return [make(`expected ${schema ? describeSchema(schema) : "another value"}, ${got}`)];
    }
    case "invalid_key": {
      const key = path[path.length - 1];
      const inner = issue.issues.map((i) => i.message).join("; ");
      return [make(`invalid key ${showValue(key)}: ${inner}`, path, "key")];
    }
    case "invalid_element":
      return issue.issues.flatMap((i) => mapIssue(i, path, ctx));
    case "not_multiple_of":
      return [make(`expected a multiple of ${issue.divisor}, ${got}`)];
    default: {
      const allowed = schema ? enumValues(schema) : undefined;
      return [make(`${issue.message}, ${got}${allowed ? suggestion(value, allowed) : ""}`)];
    }
  }
}
