/**
 * Reading the zod schema as data: the schema at a key path, the keys a mapping
 * allows, and a human description of what a value must be ("an integer from 1
 * to 8", `one of "relu", "tanh"`). Internal to the config stage.
 *
 * @module
 */
import type { z } from "zod";

/** Any zod schema. */
export type AnySchema = z.core.$ZodType;

// deno-lint-ignore no-explicit-any
type Def = any;

function def(s: AnySchema): Def {
  return s._zod.def;
}

function bag(s: AnySchema): Record<string, unknown> {
  return s._zod.bag ?? {};
}

const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch"]);

/** Strips optional/default/prefault/nullable wrappers. */
export function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  while (WRAPPERS.has(def(cur).type)) cur = def(cur).innerType;
  return cur;
}

/** The schema's kind after unwrapping: `object`, `record`, `array`, `union`, `enum`, `string`, `number`, `boolean`, ... */
export function kindOf(s: AnySchema): string {
  return def(unwrap(s)).type;
}

/** The keys an object schema (or a union containing objects) allows, in schema order. */
export function objectKeys(s: AnySchema): string[] | undefined {
  const u = unwrap(s);
  const d = def(u);
  if (d.type === "object") return Object.keys(d.shape);
  if (d.type === "union") {
    const keys = (d.options as AnySchema[]).flatMap((o) => objectKeys(o) ?? []);
    return keys.length > 0 ? [...new Set(keys)] : undefined;
  }
  return undefined;
}

/** The schema of child `seg` of `s`, or `undefined` when `s` has no such child. */
export function childSchema(s: AnySchema, seg: string | number): AnySchema | undefined {
  const u = unwrap(s);
  const d = def(u);
  switch (d.type) {
    case "object":
      return Object.hasOwn(d.shape, String(seg)) ? d.shape[String(seg)] : undefined;
    case "record":
      return d.valueType;
    case "array":
      return typeof seg === "number" ? d.element : undefined;
    case "union":
      for (const o of d.options as AnySchema[]) {
        const c = childSchema(o, seg);
        if (c) return c;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** The schema at a key path, or `undefined`. */
export function schemaAt(
  root: AnySchema,
  path: readonly PropertyKey[],
): AnySchema | undefined {
  let cur: AnySchema | undefined = root;
  for (const seg of path) {
    if (!cur) return undefined;
    cur = childSchema(cur, typeof seg === "number" ? seg : String(seg));
  }
  return cur;
}

/** The allowed values of an enum schema. */
export function enumValues(s: AnySchema): string[] | undefined {
  const d = def(unwrap(s));
  if (d.type === "enum") return Object.values(d.entries).map(String);
  if (d.type === "literal") return (d.values as unknown[]).map(String);
  return undefined;
}

function fmtNumber(n: number): string {
  return String(n);
}

/** Describes a number schema's range: "an integer from 1 to 8", "a number > 0 and < 1". */
function describeNumber(s: AnySchema): string {
  const b = bag(s);
  const integer = b.format === "safeint" || b.format === "int32";
  const noun = integer ? "an integer" : "a number";
  const SAFE = Number.MAX_SAFE_INTEGER;
  const min = typeof b.minimum === "number" && b.minimum > -SAFE ? b.minimum : undefined;
  const max = typeof b.maximum === "number" && b.maximum < SAFE ? b.maximum : undefined;
  const xmin = typeof b.exclusiveMinimum === "number" ? b.exclusiveMinimum : undefined;
  const xmax = typeof b.exclusiveMaximum === "number" ? b.exclusiveMaximum : undefined;
  if (min !== undefined && max !== undefined) {
    return `${noun} from ${fmtNumber(min)} to ${fmtNumber(max)}`;
  }
  const parts: string[] = [];
  if (min !== undefined) parts.push(`>= ${fmtNumber(min)}`);
  if (xmin !== undefined) parts.push(`> ${fmtNumber(xmin)}`);
  if (max !== undefined) parts.push(`<= ${fmtNumber(max)}`);
  if (xmax !== undefined) parts.push(`< ${fmtNumber(xmax)}`);
  return parts.length === 0 ? noun : `${noun} ${parts.join(" and ")}`;
}

/**
 * What a value of schema `s` must be, in words, e.g. `an integer from 1 to 8`,
 * `one of "relu", "tanh"`, `a list of strings`, `a date as YYYY-MM-DD`.
 */
export function describeSchema(s: AnySchema): string {
  const u = unwrap(s);
  const d = def(u);
  switch (d.type) {
    case "number":
      return describeNumber(u);
    case "string": {
      const b = bag(u);
      if (b.patterns instanceof Set && b.patterns.size > 0) {
        const pattern = [...b.patterns][0] as RegExp;
        if (pattern.source === "^\\d{4}-\\d{2}-\\d{2}$") return "a date as YYYY-MM-DD";
        return `a string matching ${pattern}`;
      }
      return typeof b.minimum === "number" && b.minimum > 0 ? "a non-empty string" : "a string";
    }
    case "boolean":
      return "true or false";
    case "enum":
    case "literal":
      return `one of ${enumValues(u)!.map((v) => JSON.stringify(v)).join(", ")}`;
    case "array": {
      const el = describeSchema(d.element);
      const noun = el.replace(/^an? /, "");
      return `a list of ${noun.endsWith("s") || noun.startsWith("one of") ? noun : noun + "s"}`;
    }
    case "object":
      return `a mapping with keys ${Object.keys(d.shape).join(", ")}`;
    case "record":
      return "a mapping";
    case "union":
      return (d.options as AnySchema[]).map(describeSchema).join(" or ");
    default:
      return `a value of type ${d.type}`;
  }
}

/** Every dotted key path of the schema that leads to a value (for did-you-mean on dotted keys). */
export function allKeyPaths(root: AnySchema, prefix = ""): string[] {
  const keys = objectKeys(root);
  if (!keys || kindOf(root) === "record") return prefix === "" ? [] : [prefix];
  const out: string[] = [];
  if (prefix !== "") out.push(prefix);
  for (const k of keys) {
    const c = childSchema(root, k)!;
    out.push(...allKeyPaths(c, prefix === "" ? k : `${prefix}.${k}`));
  }
  return out;
}
