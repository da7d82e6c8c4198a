/**
 * Run records: run ids (unique under concurrency), canonical JSON, atomic folder writes (a crash
 * leaves no finished-looking run, and the next start removes what it left), listing and reading
 * back, and interrupted runs kept and marked.
 */
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./assert.ts";
import pl from "nodejs-polars";
import {
  findRun,
  listRuns,
  loadRuns,
  newRunId,
  predictionPoints,
  readRunRecord,
  recordToJson,
  releaseRunId,
  removeStaleRunTemps,
  reserveRunId,
  RUN_ID_PATTERN,
  type RunRecord,
  writeRunRecord,
} from "../src/store/run_record.ts";
import { fixtureRecord, variant } from "./report_helpers.ts";

async function tempResults(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "alfred-results-" });
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("newRunId is the UTC start time and the config hash's first 8 hex digits", () => {
  const id = newRunId(new Date("2026-03-04T05:06:07.890Z"), "ABCDEF0123456789");
  assertEquals(id, "20260304T050607Z-abcdef01");
  assert(RUN_ID_PATTERN.test(id));
  assertThrows(() => newRunId(new Date("nope"), "abcdef01"), RangeError);
  assertThrows(() => newRunId(new Date(), "abc"), Error, "at least 8 hex digits");
  // Run ids sort by time.
  const a = newRunId(new Date("2026-01-01T00:00:09Z"), "ffffffff");
  const b = newRunId(new Date("2026-01-01T00:00:10Z"), "00000000");
  assert(a < b);
  // Later runs of one config in one second: a sequence number after the time, sorting after.
  const second = newRunId(new Date("2026-03-04T05:06:07Z"), "abcdef01", 2);
  assertEquals(second, "20260304T050607Z.2-abcdef01");
  assert(RUN_ID_PATTERN.test(second));
  assert(id < second && second < newRunId(new Date("2026-03-04T05:06:08Z"), "00000000"));
  assertThrows(() => newRunId(new Date(), "abcdef01", 0), Error, 'sequence "0"');
});

Deno.test("reserveRunId: runs of one config in one second get distinct ids; a held or written id is not taken", async () => {
  const results = await tempResults();
  const at = new Date("1999-01-01T12:00:00Z");
  const [a, b, c] = await Promise.all(
    [0, 1, 2].map(() => reserveRunId(results, "direction-small", at, "3fa9c2d1aa")),
  );
  assertEquals([a.runId, b.runId, c.runId].sort(), [
    "19990101T120000Z-3fa9c2d1",
    "19990101T120000Z.2-3fa9c2d1",
    "19990101T120000Z.3-3fa9c2d1",
  ]);
  // The fixture record's id is held by one of them: writing it without that reservation fails,
  // and takes nothing from its holder.
  const holder = [a, b, c].find((r) => r.runId === fixtureRecord().runId)!;
  await assertRejects(
    () => writeRunRecord(results, fixtureRecord()),
    Error,
    "another run is writing it",
  );
  await assertRejects(
    () => writeRunRecord(results, fixtureRecord(), {}, b === holder ? a : b),
    RangeError,
  );
  assertEquals(await writeRunRecord(results, fixtureRecord(), {}, holder), holder.finalDir);
  for (const r of [a, b, c]) if (r !== holder) await releaseRunId(r);
  assertEquals(await names(`${results}/direction-small`), ["19990101T120000Z-3fa9c2d1"]);
  // A finished run keeps its id: the next reservation of that second skips it.
  assertEquals(
    (await reserveRunId(results, "direction-small", at, "3fa9c2d1")).runId.slice(16, 18),
    ".2",
  );
  await assertRejects(() => writeRunRecord(results, fixtureRecord()), Error, "already exists");
  await Deno.remove(results, { recursive: true });
});

Deno.test("record.json is canonical: key order does not depend on how the record was built", () => {
  const record = fixtureRecord();
  const shuffled = Object.fromEntries(Object.entries(record).reverse()) as unknown as RunRecord;
  shuffled.environment = Object.fromEntries(
    Object.entries(record.environment).reverse(),
  ) as unknown as RunRecord["environment"];
  assertEquals(recordToJson(shuffled), recordToJson(record));
  const text = recordToJson(record);
  assert(text.startsWith('{\n  "runId": "19990101T120000Z-3fa9c2d1",\n  "experiment"'));
  assert(text.endsWith("}\n"));
  // Stage timings keep pipeline order; non-finite numbers become null.
  const stages = Object.keys(JSON.parse(text).timings.stages);
  assertEquals(stages, Object.keys(record.timings.stages));
  const withNaN = variant({ seeds: { seed: NaN } });
  assertEquals(JSON.parse(recordToJson(withNaN)).seeds.seed, null);
});

Deno.test("what the report's leakage checks read is written after the features and reads back", async () => {
  const record = fixtureRecord();
  const text = recordToJson(record);
  const keys = Object.keys(JSON.parse(text));
  assertEquals(keys[keys.indexOf("features") + 1], "featureFamilies");
  const results = await tempResults();
  const back = await readRunRecord(await writeRunRecord(results, record));
  assertEquals(back.featureFamilies, { price: record.features });
  const { horizon, purge, embargo, evalFrom } = back.split!;
  assertEquals({ horizon, purge, embargo, evalFrom }, {
    horizon: 1,
    purge: 1,
    embargo: 0,
    evalFrom: "1998-01-01",
  });
  const fold = back.split!.folds[0];
  assertEquals(fold.lastTrainLabelDate, "1997-09-30");
  assertEquals(fold.scalerRows, 312);
  assertEquals(fold.scalerRowsHash, fold.trainRowsHash);
  await Deno.remove(results, { recursive: true });
});

Deno.test("writeRunRecord writes every file, and the record reads back equal", async () => {
  const results = await tempResults();
  const record = fixtureRecord();
  const predictions = pl.DataFrame({
    ticker: ["JPM", "JPM", "XOM"],
    date: ["1998-03-31", "1998-06-30", "1998-03-31"],
    split: ["eval", "eval", "eval"],
    actual: [1, 0, 1],
    predicted: [0.61, 0.42, 0.55],
  });
  const dir = await writeRunRecord(results, record, { predictions });
  assertEquals(dir, `${results}/direction-small/19990101T120000Z-3fa9c2d1`);
  assertEquals(await names(dir), [
    "config.yaml",
    "confusion.svg",
    "correlations.svg",
    "drawdown.svg",
    "equity.svg",
    "metrics.json",
    "per-ticker.svg",
    "predictions.parquet",
    "record.json",
    "report.md",
    "shap.svg",
    "training.svg",
  ]);
  assertEquals(await names(`${results}/direction-small`), ["19990101T120000Z-3fa9c2d1"]);
  assertEquals(await readRunRecord(dir), JSON.parse(recordToJson(record)));
  assertEquals(await Deno.readTextFile(`${dir}/config.yaml`), record.configYaml);
  const metrics = JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`));
  assertEquals(metrics.postTrain.eval.f1, 0.6275);
  assertEquals(metrics.backtest.strategy.sharpe, 0.3104);
  const back = pl.readParquet(`${dir}/predictions.parquet`);
  assertEquals(back.getColumn("predicted").toArray(), [0.61, 0.42, 0.55]);
  assertEquals(await listRuns(results), [{
    experiment: "direction-small",
    runId: record.runId,
    dir,
  }]);
  // Writing the same run again is refused rather than overwriting it.
  await assertRejects(() => writeRunRecord(results, record), Error, "already exists");
  await Deno.remove(results, { recursive: true });
});

Deno.test("predictions given as rows are written as Parquet too", async () => {
  const results = await tempResults();
  const rows = [
    { ticker: "JPM", date: "1998-03-31", split: "eval", actual: 0.05, predicted: 0.02 },
    { ticker: "JPM", date: "1998-06-30", split: "train", actual: -0.01, predicted: 0.01 },
  ];
  const dir = await writeRunRecord(results, fixtureRecord(), { predictions: rows });
  assertEquals(pl.readParquet(`${dir}/predictions.parquet`).height, 2);
  // The scatter plot reads eval rows only, when a split column has them.
  assertEquals(predictionPoints(rows), [
    { actual: 0.05, predicted: 0.02, split: "eval", ticker: "JPM" },
  ]);
  // The pipeline's spelling: label and prediction, no split column (all eval).
  assertEquals(
    predictionPoints([{ ticker: "KO", quarter: "1998Q1", label: 0.1, prediction: 0.04 }]),
    [{ actual: 0.1, predicted: 0.04, split: undefined, ticker: "KO" }],
  );
  assertEquals(predictionPoints([{ ticker: "KO", y: 1 }]), [], "no recognizable columns");
  await Deno.remove(results, { recursive: true });
});

Deno.test("an error mid-write removes its temporary folder; a retry finishes", async () => {
  const results = await tempResults();
  const good = variant({ runId: "19990101T000000Z-00000000" });
  await writeRunRecord(results, good);
  const failing = {
    writeParquet() {
      throw new Error("disk full");
    },
  } as unknown as pl.DataFrame;
  await assertRejects(
    () => writeRunRecord(results, fixtureRecord(), { predictions: failing }),
    Error,
    "disk full",
  );
  assertEquals(await names(`${results}/direction-small`), ["19990101T000000Z-00000000"]);
  const runs = await listRuns(results);
  assertEquals(runs.map((r) => r.runId), ["19990101T000000Z-00000000"]);
  await writeRunRecord(results, fixtureRecord());
  assertEquals(await names(`${results}/direction-small`), [
    "19990101T000000Z-00000000",
    "19990101T120000Z-3fa9c2d1",
  ]);
  await Deno.remove(results, { recursive: true });
});

Deno.test("a process killed mid-write leaves no finished-looking run, and the next start removes what it left", async () => {
  const results = await tempResults();
  const script = `
    import { writeRunRecord } from "${new URL("../src/store/run_record.ts", import.meta.url).href}";
    const record = JSON.parse(await Deno.readTextFile(${
    JSON.stringify(new URL("./fixtures/report/record.json", import.meta.url).pathname)
  }));
    const predictions = { writeParquet() { Deno.kill(Deno.pid, "SIGKILL"); } };
    await writeRunRecord(${JSON.stringify(results)}, record, { predictions });
    console.log("not reached");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.success, false);
  assertEquals(out.signal, "SIGKILL");
  assertEquals(new TextDecoder().decode(out.stdout), "");
  const left = await names(`${results}/direction-small`);
  assertEquals(left, [".tmp-19990101T120000Z-3fa9c2d1"]);
  // It got as far as the record before it died, yet nothing lists it.
  assert((await names(`${results}/direction-small/${left[0]}`)).includes("record.json"));
  assertEquals(await listRuns(results), []);
  assertEquals(await loadRuns(results), []);
  // Its id stays taken until the cleanup at the next start, which removes only the dead run's
  // folder: a live run's reservation (this process holds its lock) stays.
  await assertRejects(
    () => writeRunRecord(results, fixtureRecord()),
    Error,
    "another run is writing it",
  );
  const live = await reserveRunId(results, "direction-small", new Date(), "0123abcd");
  const lines: string[] = [];
  const removed = await removeStaleRunTemps(results, (l) => lines.push(l));
  assertEquals(removed.map((r) => r.path), [`${results}/direction-small/${left[0]}`]);
  assertEquals(lines.length, 1);
  assertMatch(
    lines[0],
    /^removed .*\.tmp-19990101T120000Z-3fa9c2d1 \(\d+ bytes\): left by process \d+ on \S+, which has ended$/,
  );
  assertEquals(await names(`${results}/direction-small`), [`.tmp-${live.runId}`]);
  await writeRunRecord(results, fixtureRecord());
  await releaseRunId(live);
  assertEquals(await names(`${results}/direction-small`), ["19990101T120000Z-3fa9c2d1"]);
  await Deno.remove(results, { recursive: true });
});

Deno.test("interrupted runs are kept with their status and marked in the report", async () => {
  const results = await tempResults();
  const record = variant({ status: "interrupted", error: "stopped by Ctrl-C at epoch 24" });
  const dir = await writeRunRecord(results, record);
  const back = await readRunRecord(dir);
  assertEquals(back.status, "interrupted");
  assertEquals(back.error, "stopped by Ctrl-C at epoch 24");
  assertMatch(await Deno.readTextFile(`${dir}/report.md`), /\*\*Status: INTERRUPTED\*\*/);
  assertEquals((await listRuns(results)).length, 1);
  await Deno.remove(results, { recursive: true });
});

Deno.test("listRuns orders by experiment then run id and skips what is not a run", async () => {
  const results = await tempResults();
  await writeRunRecord(results, variant({ runId: "20000101T000000Z-bbbbbbbb" }));
  await writeRunRecord(results, variant({ runId: "19990101T000000Z-aaaaaaaa" }));
  await writeRunRecord(
    results,
    variant({ runId: "19980101T000000Z-cccccccc", experiment: "a-first" }),
  );
  await Deno.mkdir(`${results}/direction-small/notes`);
  await Deno.mkdir(`${results}/direction-small/20010101T000000Z-dddddddd`); // no record.json
  await Deno.mkdir(`${results}/.cache`);
  await Deno.writeTextFile(`${results}/README.md`, "results\n");
  assertEquals((await listRuns(results)).map((r) => `${r.experiment}/${r.runId}`), [
    "a-first/19980101T000000Z-cccccccc",
    "direction-small/19990101T000000Z-aaaaaaaa",
    "direction-small/20000101T000000Z-bbbbbbbb",
  ]);
  assertEquals(
    (await findRun(results, "19990101T000000Z-aaaaaaaa")).experiment,
    "direction-small",
  );
  assertEquals((await findRun(results, "2000")).runId, "20000101T000000Z-bbbbbbbb");
  await assertRejects(() => findRun(results, "19"), Error, "ambiguous");
  await assertRejects(() => findRun(results, "2030"), Error, 'No run "2030"');
  assertEquals(await listRuns(`${results}/missing`), []);
  await Deno.remove(results, { recursive: true });
});

Deno.test("unsafe names and malformed records are refused with the file and field", async () => {
  const results = await tempResults();
  await assertRejects(
    () => writeRunRecord(results, variant({ experiment: "../escape" })),
    RangeError,
  );
  await assertRejects(
    () => writeRunRecord(results, variant({ runId: "latest" })),
    Error,
    "expected a run id",
  );
  const dir = `${results}/x/19990101T000000Z-aaaaaaaa`;
  await Deno.mkdir(dir, { recursive: true });
  const bad = JSON.parse(recordToJson(fixtureRecord()));
  bad.status = "done";
  await Deno.writeTextFile(`${dir}/record.json`, JSON.stringify(bad));
  const e = await assertRejects(() => readRunRecord(dir), TypeError);
  assert(e.message.includes(`${dir}/record.json`));
  assert(e.message.includes('"status" must be one of "complete", "interrupted", "failed"'));
  await Deno.writeTextFile(`${dir}/record.json`, "{ not json");
  await assertRejects(() => readRunRecord(dir), SyntaxError);
  await Deno.remove(results, { recursive: true });
});
