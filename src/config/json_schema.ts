/**
 * The JSON Schema of an experiment YAML, generated from the zod schema, for
 * editors (yaml-language-server) and other tools. Committed as
 * `schemas/experiment.schema.json`; `deno task schema` rewrites it and a test
 * fails when the committed file is stale.
 *
 * @module
 */
import { z } from "zod";
import { Experiment } from "./schema.ts";

/** Where the generated schema is committed, relative to the repository root. */
export const EXPERIMENT_SCHEMA_PATH = "schemas/experiment.schema.json";

/**
 * The experiment JSON Schema (draft 2020-12) of the config as written (the
 * input side: keys with defaults are optional).
 *
 * @returns A JSON Schema object.
 * @example
 * ```ts
 * const schema = experimentJsonSchema();
 * ```
 */
export function experimentJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(Experiment, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: "Alfred experiment",
    description: "An Alfred experiment config (YAML). Generated from src/config/schema.ts by " +
      "`deno task schema`: do not edit by hand.",
    ...rest,
  };
}

/**
 * The text committed as `schemas/experiment.schema.json`: the schema as
 * 2-space indented JSON with a final newline.
 *
 * @returns File contents.
 * @example
 * ```ts
 * await Deno.writeTextFile(EXPERIMENT_SCHEMA_PATH, experimentJsonSchemaText());
 * ```
 */
export function experimentJsonSchemaText(): string {
  return JSON.stringify(experimentJsonSchema(), null, 2) + "\n";
}
