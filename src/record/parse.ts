/**
 * Validating records and their tables against the schema, with errors that name the file and
 * the field path, and writing `record.json` text.
 *
 * @module
 */
import type { z } from "zod";
import { showValue } from "../config/issues.ts";
import { RecordError, type RecordIssue } from "./errors.ts";
import { migrateRecord } from "./migrate.ts";
import { RunRecord } from "./schema.ts";
import { type RecordHead, TABLE_ROWS, type TableName } from "./tables.ts";

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Reflect.get(cur, seg);
  }
  return cur;
}

type Issue = z.core.$ZodIssue;

/** zod's issues in words, each with its full path; a union's best-matching option's issues. */
function recordIssues(issues: readonly Issue[], input: unknown, prefix: PropertyKey[] = []) {
  const out: RecordIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const value = valueAt(input, path);
    const got = value === undefined ? "nothing" : showValue(value);
    switch (issue.code) {
      case "invalid_type":
        out.push({ path: plain(path), message: `expected ${article(issue.expected)}, got ${got}` });
        break;
      case "invalid_value":
        out.push({
          path: plain(path),
          message: `expected ${issue.values.map((v) => showValue(v)).join(" or ")}, got ${got}`,
        });
        break;
      case "unrecognized_keys":
        out.push({
          path: plain(path),
          message: `unknown key${issue.keys.length > 1 ? "s" : ""} ${
            issue.keys.map((k) => `"${k}"`).join(", ")
          }`,
        });
        break;
      case "invalid_union": {
        // The option with the fewest issues is the one the value meant to be.
        const options = issue.errors.filter((e) => e.length > 0);
        if (options.length > 0) {
          const best = options.reduce((a, b) => (b.length < a.length ? b : a));
          out.push(...recordIssues(best, input, path));
        } else {
          out.push({ path: plain(path), message: `not a valid value: got ${got}` });
        }
        break;
      }
      default:
        out.push({ path: plain(path), message: `${lower(issue.message)}, got ${got}` });
    }
  }
  return out;
}

function plain(path: PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === "number" ? p : String(p)));
}

function article(expected: string): string {
  if (expected === "array" || expected === "object") return `an ${expected}`;
  if (expected === "null" || expected === "undefined") return expected;
  return `a ${expected}`;
}

function lower(message: string): string {
  const text = message.replace(/^Invalid input: /, "");
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * Plain data with what JSON cannot hold made JSON: non-finite numbers become `null` (the record
 * writes an incomputable number as null), typed arrays become arrays, `undefined` fields go.
 *
 * @param value any value a stage produced
 * @returns the value as JSON data
 * @throws {TypeError} for a function, symbol or bigint (JSON cannot hold them)
 */
export function jsonData(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (
    value instanceof Float64Array || value instanceof Float32Array ||
    value instanceof Int32Array || value instanceof Uint32Array
  ) {
    return Array.from(value, jsonData);
  }
  if (Array.isArray(value)) return value.map(jsonData);
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonData(v);
    return out;
  }
  throw new TypeError(`Cannot store a ${typeof value} in a run record`);
}

/**
 * Check a record against the schema: one of this version as it is, an older one after its
 * migration.
 *
 * @param value the parsed `record.json` (tables joined in), or a record built in memory
 * @param file where it comes from or goes, for the message
 * @returns the record, in schema key order
 * @throws {RecordError} naming the file and each field that is wrong
 * @example
 * ```ts
 * const record = parseRecord(JSON.parse(text), "results/x/20260101T120000Z-ab12cd34/record.json");
 * ```
 */
export function parseRecord(value: unknown, file: string): RunRecord {
  const migrated = migrateRecord(jsonData(value), file);
  const result = RunRecord.safeParse(migrated);
  if (!result.success) throw new RecordError(file, recordIssues(result.error.issues, migrated));
  return result.data;
}

/**
 * Check the rows of one table.
 *
 * @param name the table
 * @param rows its rows as read
 * @param file its file, for the message
 * @returns the rows, checked (the record they are joined into is checked again as a whole)
 * @throws {RecordError} naming the file, the row and the column that is wrong
 */
export function parseTable(name: TableName, rows: unknown[], file: string): unknown[] {
  const result = TABLE_ROWS[name].array().safeParse(rows.map(jsonData));
  if (!result.success) {
    throw new RecordError(file, recordIssues(result.error.issues, rows), "run record table");
  }
  return result.data;
}

/**
 * `record.json` text: compact JSON on one line and a final newline. Keys keep their order (the
 * schema's), so the same record gives the same bytes. Compact, because a record is read by the
 * report and the journal, not by eye, and its summaries grow with folds, metrics and eval tickers:
 * indented, a six-fold record of twenty tickers passed 50 KB.
 *
 * @param head the record's head (see `splitRecord`)
 * @returns JSON text
 * @example
 * ```ts
 * await Deno.writeTextFile(`${dir}/record.json`, recordHeadJson(splitRecord(record).head));
 * ```
 */
export function recordHeadJson(head: RecordHead): string {
  return JSON.stringify(head) + "\n";
}
