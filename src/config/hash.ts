/**
 * The config hash: a sha256 over the canonical JSON of a resolved experiment.
 *
 * Canonical JSON sorts object keys recursively (by UTF-16 code units), drops
 * `undefined`, writes numbers in their shortest round-trip form (`1.0` and `1`
 * are the same number once parsed; `-0` is written `0`) and has no whitespace,
 * so the hash is stable under key order, comments and formatting of the YAML
 * and changes with any value.
 *
 * The digest uses `node:crypto` (built into Deno, synchronous), rather than
 * Web Crypto's `crypto.subtle.digest`, which is asynchronous: a synchronous
 * hash keeps run ids and record writing simple, and adds no dependency.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Experiment } from "./schema.ts";

/** A typed array (`Float32Array`, `Int32Array`, ...; not a `DataView`): numbers by index. */
function isTypedArray(v: object): v is ArrayLike<number> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/**
 * Canonical JSON text of a value: keys sorted recursively, no whitespace, undefined properties
 * dropped (undefined array items become null), typed arrays written as arrays, -0 as 0. One
 * definition for every hash: config hashes and model hashes.
 *
 * @param value JSON-compatible value (no functions, symbols, bigints or non-finite numbers).
 * @returns The canonical text.
 * @throws {TypeError} On a value JSON cannot represent.
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }); // '{"a":[2,{"c":4,"d":3}],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const walk = (v: unknown, path: string): string => {
    if (v === null) return "null";
    switch (typeof v) {
      case "number":
        if (!Number.isFinite(v)) {
          throw new TypeError(`Cannot hash ${path}: "${v}" is not a finite number`);
        }
        return JSON.stringify(v); // -0 prints as 0
      case "string":
      case "boolean":
        return JSON.stringify(v);
      case "object": {
        if (Array.isArray(v)) {
          return `[${
            v.map((x, i) => walk(x === undefined ? null : x, `${path}[${i}]`)).join(",")
          }]`;
        }
        if (isTypedArray(v)) return walk(Array.from(v), path);
        const obj = v as Record<string, unknown>;
        const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
        return `{${
          keys.map((k) => `${JSON.stringify(k)}:${walk(obj[k], path ? `${path}.${k}` : k)}`).join(
            ",",
          )
        }}`;
      }
      default:
        throw new TypeError(`Cannot hash ${path || "the value"}: a ${typeof v} is not JSON`);
    }
  };
  return walk(value, "");
}

/**
 * The sha256 (lower-case hex) of a resolved experiment's canonical JSON.
 * Run ids use its first 8 characters.
 *
 * @param e A resolved experiment (as returned by `loadExperiments`).
 * @returns 64 hex characters.
 * @example
 * ```ts
 * const [e] = await loadExperiments("experiments/baseline.yaml");
 * configHash(e).slice(0, 8);
 * ```
 */
export function configHash(e: Experiment): string {
  return createHash("sha256").update(canonicalJson(e), "utf8").digest("hex");
}
