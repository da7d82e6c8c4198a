/**
 * Run records on disk: run ids (unique under concurrency), `record.json` in schema order beside
 * one Parquet file per table, atomic folder writes (a crash leaves no finished-looking run, and
 * the next start removes what it left), reading back equal, and interrupted runs kept and marked.
 */
import pl from "nodejs-polars";
import {
  findRun,
  listRuns,
  loadRuns,
  newRunId,
  readRunPredictions,
  readRunRecord,
  releaseRunId,
  removeStaleRunTemps,
  reserveRunId,
  RUN_ID_PATTERN,
  withDroppedRuns,
  writeRunRecord,
} from "../src/store/run_record.ts";
import {
  parseRecord,
  type PredictionRow,
  RecordError,
  recordHeadJson,
  type RunRecord,
  splitRecord,
} from "../src/record/mod.ts";
import { reportFiles } from "../src/report/report.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";
import { fixtureRecord, variant } from "./report_helpers.ts";

async function tempResults(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "alfred-results-" });
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

const PREDICTIONS: PredictionRow[] = [
  {
    ticker: "JPM",
    quarter: "1998Q1",
    date: "1998-03-31",
    split: "eval",
    actual: 1,
    predicted: 0.61,
  },
  {
    ticker: "JPM",
    quarter: "1998Q2",
    date: "1998-06-30",
    split: "eval",
    actual: 0,
    predicted: 0.42,
  },
  {
    ticker: "XOM",
    quarter: "1998Q1",
    date: "1998-03-31",
    split: "eval",
    actual: 1,
    predicted: NaN,
  },
];

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

Deno.test("record.json is in schema order whatever order the record was built in", () => {
  const record = fixtureRecord();
  const shuffled = Object.fromEntries(Object.entries(record).reverse());
  shuffled.environment = Object.fromEntries(Object.entries(record.environment).reverse());
  const json = (r: unknown) => recordHeadJson(splitRecord(parseRecord(r, "test")).head);
  const text = json(shuffled);
  assertEquals(text, json(record));
  assert(text.startsWith('{"version":4,"runId":"19990101T120000Z-3fa9c2d1",'));
  assert(text.endsWith("}\n") && text.indexOf("\n") === text.length - 1, "one line");
  const head = JSON.parse(text);
  // Stage timings keep pipeline order; the features' families follow the features.
  assertEquals(Object.keys(head.timings.stages), Object.keys(record.timings.stages));
  const keys = Object.keys(head);
  assertEquals(keys[keys.indexOf("features") + 1], "featureFamilies");
  // The tables are listed with their row counts, and are not in the file.
  assertEquals(head.tables, {
    series: 90,
    epochs: record.training!.history.length,
    trades: 2,
    correlations: 5,
    scaler: 5,
    ablation: 3,
    tickerMetrics: 4,
    tickerBacktest: 4,
  });
  assertEquals(head.training.history, undefined);
  assertEquals(head.backtest.equity, undefined);
  assertEquals(head.metrics.perTicker, undefined);
  assertEquals(head.backtest.perTicker, undefined);
  // A number that is not finite is written as null (and reads back as NaN).
  const withNaN = variant({ training: { ...record.training!, bestValLoss: NaN } });
  assertEquals(JSON.parse(json(withNaN)).training.bestValLoss, null);
  assert(Number.isNaN(parseRecord(withNaN, "test").training!.bestValLoss));
});

Deno.test("writeRunRecord writes record.json, its tables, predictions and rendered files; it reads back equal", async () => {
  const results = await tempResults();
  const record = fixtureRecord();
  const dir = await writeRunRecord(results, record, {
    predictions: PREDICTIONS,
    render: reportFiles,
  });
  assertEquals(dir, `${results}/direction-small/19990101T120000Z-3fa9c2d1`);
  assertEquals(await names(dir), [
    "ablation.parquet",
    "config.yaml",
    "confusion.svg",
    "correlations.parquet",
    "correlations.svg",
    "drawdown.svg",
    "epochs.parquet",
    "equity.svg",
    "per-ticker.svg",
    "predictions.parquet",
    "record.json",
    "report.md",
    "scaler.parquet",
    "series.parquet",
    "shap.svg",
    "ticker-backtest.parquet",
    "ticker-metrics.parquet",
    "trades.parquet",
    "training.svg",
  ]);
  assertEquals(await names(`${results}/direction-small`), ["19990101T120000Z-3fa9c2d1"]);
  assertEquals(await readRunRecord(dir), record);
  assertEquals(await Deno.readTextFile(`${dir}/config.yaml`), record.configYaml);
  assertEquals(await readRunPredictions(dir), PREDICTIONS);
  // The tables are Parquet any tool reads: the equity by column, typed.
  const series = pl.readParquet(`${dir}/series.parquet`);
  assertEquals(series.columns, ["date", "strategy", "index", "basket"]);
  assertEquals(series.getColumn("strategy").toArray().slice(0, 2), [101386.63, 101154]);
  assertEquals(await listRuns(results), [{
    experiment: "direction-small",
    runId: record.runId,
    dir,
  }]);
  // Writing the same run again is refused rather than overwriting it.
  await assertRejects(() => writeRunRecord(results, record), Error, "already exists");
  await Deno.remove(results, { recursive: true });
});

Deno.test("a record the schema refuses is not written: the error names the field", async () => {
  const results = await tempResults();
  const record = fixtureRecord();
  const bad = { ...record, status: "done" } as unknown;
  const error = await assertRejects(
    () => writeRunRecord(results, bad as RunRecord),
    RecordError,
    `Invalid run record "${results}/direction-small/19990101T120000Z-3fa9c2d1/record.json": status: expected "complete" or "interrupted" or "failed", got "done"`,
  );
  assertEquals(error.issues[0].path, ["status"]);
  assertEquals(await listRuns(results), []);
  await Deno.remove(results, { recursive: true });
});

Deno.test("an error mid-write removes its temporary folder; a retry finishes", async () => {
  const results = await tempResults();
  const good = variant({ runId: "19990101T000000Z-00000000" });
  await writeRunRecord(results, good);
  const failing = () => Promise.reject(new Error("disk full"));
  await assertRejects(
    () => writeRunRecord(results, fixtureRecord(), { render: failing }),
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
  // A rendered file may not take a name the store writes.
  const clobber = () => Promise.resolve({ "record.json": "{}" });
  await assertRejects(
    () =>
      writeRunRecord(results, variant({ runId: "19990102T000000Z-00000000" }), { render: clobber }),
    RangeError,
    'Cannot write rendered file "record.json"',
  );
  await Deno.remove(results, { recursive: true });
});

Deno.test("a process killed mid-write leaves no finished-looking run, and the next start removes what it left", async () => {
  const results = await tempResults();
  const script = `
    import { writeRunRecord } from "${new URL("../src/store/run_record.ts", import.meta.url).href}";
    const record = JSON.parse(await Deno.readTextFile(${
    JSON.stringify(new URL("./fixtures/report/record.json", import.meta.url).pathname)
  }));
    const render = () => { Deno.kill(Deno.pid, "SIGKILL"); };
    await writeRunRecord(${JSON.stringify(results)}, record, { render });
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
  // It got as far as the record and its tables before it died, yet nothing lists it.
  const written = await names(`${results}/direction-small/${left[0]}`);
  assert(written.includes("record.json") && written.includes("series.parquet"));
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
  assert(
    /^removed .*\.tmp-19990101T120000Z-3fa9c2d1 \(\d+ bytes\): left by process \d+ on \S+, which has ended$/
      .test(lines[0]),
    lines[0],
  );
  assertEquals(await names(`${results}/direction-small`), [`.tmp-${live.runId}`]);
  await writeRunRecord(results, fixtureRecord());
  await releaseRunId(live);
  assertEquals(await names(`${results}/direction-small`), ["19990101T120000Z-3fa9c2d1"]);
  await Deno.remove(results, { recursive: true });
});

Deno.test("withDroppedRuns: its folder lives as long as its work, and one a killed process left goes at the next start", async () => {
  const results = await tempResults();
  const script = `
    import { withDroppedRuns } from "${
    new URL("../src/store/run_record.ts", import.meta.url).href
  }";
    await withDroppedRuns(${JSON.stringify(results)}, "killed", async (dir) => {
      await Deno.writeTextFile(dir + "/x", "a later seed's run");
      Deno.kill(Deno.pid, "SIGKILL");
    });
    console.log("not reached");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.signal, "SIGKILL");
  const [left] = await names(results);
  assert(/^\.seeds-killed\.\d+@\S+$/.test(left), left);
  const lines: string[] = [];
  const inside = await withDroppedRuns(results, "live", async (dir) => {
    assert(dir.startsWith(`${results}/.seeds-live.`), dir);
    await Deno.writeTextFile(`${dir}/x`, "this seed's run");
    // The cleanup at another process's start takes the dead process's folder, not this one.
    const removed = await removeStaleRunTemps(results, (l) => lines.push(l));
    assertEquals(removed.map((r) => r.path), [`${results}/${left}`]);
    assertEquals(await names(results), [dir.slice(results.length + 1)]);
    return "done";
  });
  assertEquals(inside, "done");
  assertEquals(await names(results), [], "the folder goes when the work ends");
  assertEquals(lines.length, 1);
  assertStringIncludes(lines[0], "which has ended");
  await assertRejects(
    () => withDroppedRuns(results, "failing", () => Promise.reject(new RangeError("no"))),
    RangeError,
    "no",
  );
  assertEquals(await names(results), [], "also when the work throws");
  await Deno.remove(results, { recursive: true });
});

Deno.test("interrupted runs are kept with their status and marked in the report", async () => {
  const results = await tempResults();
  const record = variant({ status: "interrupted", error: "stopped by Ctrl-C at epoch 24" });
  const dir = await writeRunRecord(results, record, { render: reportFiles });
  const back = await readRunRecord(dir);
  assertEquals(back.status, "interrupted");
  assertEquals(back.error, "stopped by Ctrl-C at epoch 24");
  assertStringIncludes(await Deno.readTextFile(`${dir}/report.md`), "**Status: INTERRUPTED**");
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
  assertEquals((await findRun(results, "19990101T000000Z-aaaaaaaa")).experiment, "direction-small");
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
  const dir = await writeRunRecord(results, fixtureRecord());
  const file = `${dir}/record.json`;
  const head = JSON.parse(await Deno.readTextFile(file));
  await Deno.writeTextFile(file, JSON.stringify({ ...head, status: "done" }));
  await assertRejects(
    () => readRunRecord(dir),
    RecordError,
    `Invalid run record "${file}": status: expected "complete" or "interrupted" or "failed", got "done"`,
  );
  // A table that is missing, or holds what its column may not.
  await Deno.writeTextFile(file, JSON.stringify(head));
  await Deno.rename(`${dir}/trades.parquet`, `${dir}/trades.old`);
  await assertRejects(
    () => readRunRecord(dir),
    RecordError,
    `tables.trades: lists 2 rows in "trades.parquet", which is missing`,
  );
  await Deno.rename(`${dir}/trades.old`, `${dir}/trades.parquet`);
  pl.DataFrame({ date: ["1998-01-02"], strategy: ["lots"], index: [1], basket: [1] })
    .writeParquet(`${dir}/series.parquet`);
  await assertRejects(
    () => readRunRecord(dir),
    RecordError,
    `Invalid run record table "${dir}/series.parquet": [0].strategy: expected a number, got "lots"`,
  );
  await Deno.writeTextFile(file, "{ not json");
  await assertRejects(() => readRunRecord(dir), SyntaxError, `Cannot parse run record "${file}"`);
  await Deno.remove(results, { recursive: true });
});
