/**
 * The config commands (validate, diff, schema) and the committed JSON schema's
 * freshness.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { diffCommand } from "../src/cli/diff.ts";
import { schemaCommand } from "../src/cli/schema.ts";
import { capture } from "./cli_helpers.ts";
import { validateCommand } from "../src/cli/validate.ts";
import { configHash } from "../src/config/hash.ts";
import {
  EXPERIMENT_SCHEMA_PATH,
  experimentJsonSchema,
  experimentJsonSchemaText,
} from "../src/config/json_schema.ts";
import { loadExperiment, parseExperimentText } from "../src/config/load.ts";

const FIX = new URL("./fixtures/config/", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("schema: the committed schemas/experiment.schema.json is up to date", async () => {
  const committed = await Deno.readTextFile(`${ROOT}${EXPERIMENT_SCHEMA_PATH}`);
  assert(
    committed === experimentJsonSchemaText(),
    `${EXPERIMENT_SCHEMA_PATH} is stale: run \`deno task schema\` and commit it`,
  );
});

Deno.test("schema: draft 2020-12, input side, strict keys, defaults and descriptions", () => {
  const s = experimentJsonSchema() as {
    $schema: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { properties?: Record<string, Record<string, unknown>> }>;
  };
  assertEquals(s.$schema, "https://json-schema.org/draft/2020-12/schema");
  // io "input": keys with defaults are not required.
  assertEquals([...s.required].sort(), ["data", "label", "loss", "name"]);
  assertEquals(s.additionalProperties, false);
  const horizon = s.properties.label.properties!.horizon;
  assertEquals([horizon.type, horizon.minimum, horizon.maximum, horizon.default], [
    "integer",
    1,
    8,
    1,
  ]);
  assertEquals(s.properties.model.properties!.activation.default, "relu");
});

Deno.test("schema: the command writes the file and --check detects a stale or missing one", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    Deno.chdir(dir);
    const io = capture();
    assertEquals(await schemaCommand(["--check"], io), 1);
    assertStringIncludes(io.stderr.join("\n"), "is missing");
    assertEquals(await schemaCommand([], io), 0);
    assertEquals(await Deno.readTextFile(EXPERIMENT_SCHEMA_PATH), experimentJsonSchemaText());
    assertEquals(await schemaCommand(["--check"], io), 0);
    await Deno.writeTextFile(EXPERIMENT_SCHEMA_PATH, "{}\n");
    assertEquals(await schemaCommand(["--check"], io), 1);
    assertStringIncludes(io.stderr.join("\n"), "is stale");
    assertEquals(await schemaCommand(["--bogus"], io), 2);
    assertStringIncludes(io.stderr.join("\n"), 'Unknown argument "--bogus": allowed are --check');
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validate: ok files return 0 and print their hash and the data checks made", async () => {
  const io = capture();
  const code = await validateCommand([`${FIX}child.yaml`, `${FIX}sweep.yaml`], io);
  assertEquals(code, 0, io.stderr.join("\n"));
  const hash = configHash(await loadExperiment(`${FIX}child.yaml`)).slice(0, 8);
  assertEquals(io.stdout, [
    `${FIX}child.yaml: ok (1 experiment, hash ${hash})`,
    '  checked against dataset "dow30-1991-2000": tickers, benchmark, risk-free, tables, window, memory',
    `${FIX}sweep.yaml: ok (sweep of 6 experiments)`,
    '  checked against dataset "dow30-1991-2000": tickers, benchmark, risk-free, tables, window, memory',
  ]);
  assertEquals(io.stderr, []);
});

Deno.test("validate: --resolved prints each point as YAML with its hash, and --set applies", async () => {
  const io = capture();
  const code = await validateCommand(
    ["--resolved", `${FIX}sweep.yaml`, "--set", "loss.name=huber", "--set=seed=7"],
    io,
  );
  assertEquals(code, 0, io.stderr.join("\n"));
  const docs = io.stdout.join("\n").split("\n---\n");
  assertEquals(docs.length, 2); // loss.name pinned: model.size sweeps 64, 256
  for (const [i, doc] of docs.entries()) {
    assertStringIncludes(doc, `# ${FIX}sweep.yaml (sweep point ${i + 1} of 2)`);
    const [e] = await parseExperimentText(doc, "resolved.yaml");
    assertEquals([e.model.size, e.loss.name, e.seed], [[64, 256][i], "huber", 7]);
    assertStringIncludes(doc, `# config hash: ${configHash(e)}\n`);
  }
});

Deno.test("validate: errors go to stderr located, and any failing file returns 1", async () => {
  const io = capture();
  const code = await validateCommand([`${FIX}child.yaml`, `${FIX}multi_error.yaml`], io);
  assertEquals(code, 1);
  assertEquals(io.stdout.length, 2); // child.yaml: ok, and the data checks it made
  assertEquals(io.stdout[0].startsWith(`${FIX}child.yaml: ok`), true);
  assertEquals(io.stderr.length, 7);
  assertEquals(io.stderr[0].startsWith(`${FIX}multi_error.yaml:1:7 name: `), true);
  assertEquals(io.stderr[6], `${FIX}multi_error.yaml: 6 problems`);
});

Deno.test("validate: usage errors return 2 and end with the usage", async () => {
  for (const args of [[], ["--nope", "a.yaml"], ["a.yaml", "--set"]]) {
    const io = capture();
    assertEquals(await validateCommand(args, io), 2, args.join(" "));
    assertStringIncludes(io.stderr.join("\n"), "\n\nUsage: deno task validate FILE...");
  }
});

Deno.test("validate: --resolved without a file says what to pass", async () => {
  const io = capture();
  assertEquals(await validateCommand(["--resolved"], io), 2);
  assertEquals(io.stdout, []);
  assertEquals(
    io.stderr[0].split("\n")[0],
    "No experiment file given: pass the files to check, e.g. " +
      "deno task validate --resolved experiments/quick-direction.yaml",
  );
  assertStringIncludes(io.stderr[0], "Usage: deno task validate FILE...");
});

Deno.test("diff command: prints the Markdown diff of two configs", async () => {
  const io = capture();
  assertEquals(await diffCommand([`${FIX}diff_a.yaml`, `${FIX}diff_b.yaml`], io), 0);
  const text = io.stdout.join("\n");
  assertStringIncludes(text, "- `model.size`: 1024 → 2048");
  assertStringIncludes(text, "- `split.purge`: 2");
  const bad = capture();
  assertEquals(await diffCommand([`${FIX}diff_a.yaml`], bad), 2);
  assertStringIncludes(bad.stderr[0], "Expected two config files or two runs, got");
  assertStringIncludes(bad.stderr[0], "Usage: deno task diff A.yaml B.yaml");
  assertEquals(await diffCommand([`${FIX}diff_a.yaml`, `${FIX}sweep.yaml`], bad), 1);
  assertStringIncludes(bad.stderr.join("\n"), `${FIX}sweep.yaml:9:1 sweep: expected a single`);
});
