/**
 * Writing a resolved experiment back as YAML, keys in schema order, for
 * `validate --resolved` and run records. Reading the text back with
 * `parseExperimentText` gives the same experiment (and the same hash).
 *
 * @module
 */
import { Document, isScalar, isSeq, visit } from "yaml";
import { Experiment } from "./schema.ts";
import { type AnySchema, childSchema, kindOf, objectKeys } from "./schema_walk.ts";

/** Reorders object keys as the schema lists them (records: sorted), recursively. */
function ordered(value: unknown, schema: AnySchema | undefined): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => ordered(v, schema ? childSchema(schema, i) : undefined));
  }
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  const present = Object.keys(obj).filter((k) => obj[k] !== undefined);
  let keys: string[];
  if (schema && kindOf(schema) !== "record" && objectKeys(schema)) {
    const order = objectKeys(schema)!;
    keys = [
      ...order.filter((k) => present.includes(k)),
      ...present.filter((k) => !order.includes(k)).sort(),
    ];
  } else {
    keys = present.sort();
  }
  return Object.fromEntries(
    keys.map((k) => [k, ordered(obj[k], schema ? childSchema(schema, k) : undefined)]),
  );
}

/**
 * Serializes a resolved experiment as YAML, keys in schema order (mapping keys
 * such as `scaling.columns` sorted), lists of scalars in flow style.
 *
 * @param e A resolved experiment.
 * @returns YAML text ending in a newline.
 * @example
 * ```ts
 * console.log(experimentToYaml(await loadExperiment("experiments/baseline.yaml")));
 * ```
 */
export function experimentToYaml(e: Experiment): string {
  const doc = new Document(ordered(e, Experiment));
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node) && node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
