/**
 * The committed runs under `results/`: each is a record of this version whose `record.json`
 * stays under 50 KB (its tables are Parquet beside it), reads back through the schema, and whose
 * report and plots are exactly what the renderer gives from it (so every run still renders, and
 * nothing in the folder is stale).
 */
import { RECORD_VERSION, TABLE_NAMES, tableFile } from "../src/record/mod.ts";
import { readRunPredictions, readRunRecord } from "../src/store/run_record.ts";
import { reportFiles } from "../src/report/report.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The most `record.json` may weigh. */
const MAX_RECORD_BYTES = 50 * 1024;

/** Run folders with a committed `record.json` (a run written since is not compared). */
async function committedRuns(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "--", "results"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((f) => f.endsWith("/record.json"))
    .map((f) => `${ROOT}${f.replace(/\/record\.json$/, "")}`);
}

Deno.test("every committed record.json is of this version and under 50 KB", async () => {
  const runs = await committedRuns();
  assert(runs.length > 0, "results/ has committed runs");
  for (const dir of runs) {
    const text = await Deno.readTextFile(`${dir}/record.json`);
    const bytes = new TextEncoder().encode(text).length;
    assert(bytes < MAX_RECORD_BYTES, `${dir}/record.json is ${bytes} bytes`);
    assertEquals(JSON.parse(text).version, RECORD_VERSION, dir);
  }
});

Deno.test("every committed run reads back and renders to the report and plots it holds", async () => {
  for (const dir of await committedRuns()) {
    const record = await readRunRecord(dir);
    const files = await reportFiles(record, await readRunPredictions(dir));
    for (const [file, text] of Object.entries(files)) {
      assertEquals(await Deno.readTextFile(`${dir}/${file}`), text, `${dir}/${file}`);
    }
    // Nothing else: the record, its config, its tables, its predictions, what was rendered.
    const head = JSON.parse(await Deno.readTextFile(`${dir}/record.json`));
    const expected = [
      "record.json",
      "config.yaml",
      "predictions.parquet",
      ...TABLE_NAMES.filter((t) => t in head.tables).map(tableFile),
      ...Object.keys(files),
    ].sort();
    const present: string[] = [];
    for await (const e of Deno.readDir(dir)) present.push(e.name);
    assertEquals(present.sort(), expected, dir);
  }
});
