/**
 * `deno task schema [--check]`: writes `schemas/experiment.schema.json` from the
 * zod schema, or checks that the committed file is up to date.
 *
 * @module
 */
import { EXPERIMENT_SCHEMA_PATH, experimentJsonSchemaText } from "../config/json_schema.ts";
import { type CommandIo, consoleIo, parseCommandArgs } from "./args.ts";
import { FLAG } from "./options.ts";

const USAGE = `Usage: deno task schema [--check]

Writes ${EXPERIMENT_SCHEMA_PATH} (the JSON Schema editors use to complete and check experiment
files) from the zod schema in src/config/schema.ts; --check writes nothing and exits 1 when the
committed file is missing or stale.`;

/**
 * Writes the experiment JSON Schema to `schemas/experiment.schema.json`
 * (relative to the working directory, the repository root), or with `--check`
 * compares it with the file instead.
 *
 * @param args Command-line arguments after `schema`.
 * @param io Output streams (default: the console).
 * @returns 0 on success; 1 when `--check` finds the file missing or stale; 2 on bad usage.
 * @example
 * ```ts
 * Deno.exit(await schemaCommand(["--check"]));
 * ```
 */
export async function schemaCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    { usage: USAGE, options: { check: FLAG } },
    io,
  );
  if (typeof parsed === "number") return parsed;
  const text = experimentJsonSchemaText();
  if (parsed.values.check) {
    let current: string | undefined;
    try {
      current = await Deno.readTextFile(EXPERIMENT_SCHEMA_PATH);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (current === text) {
      io.out(`${EXPERIMENT_SCHEMA_PATH} is up to date`);
      return 0;
    }
    io.err(
      `${EXPERIMENT_SCHEMA_PATH} is ${current === undefined ? "missing" : "stale"}: ` +
        "run `deno task schema` and commit the result",
    );
    return 1;
  }
  await Deno.mkdir(EXPERIMENT_SCHEMA_PATH.slice(0, EXPERIMENT_SCHEMA_PATH.lastIndexOf("/")), {
    recursive: true,
  });
  await Deno.writeTextFile(EXPERIMENT_SCHEMA_PATH, text);
  io.out(`wrote ${EXPERIMENT_SCHEMA_PATH}`);
  return 0;
}
