/**
 * Datasets experiments generate (`data.synth`, `src/data/synth_cache.ts`): the cache is keyed by
 * the parameters, the name and the generator's version, reused, regenerated when any changes,
 * safe under concurrent generation, never written by the checks `validate` makes; a run on one
 * records the generator's parameters and a fingerprint that the same parameters reproduce.
 */
import { assert, assertEquals, assertNotEquals, assertRejects } from "./assert.ts";
import { join } from "node:path";
import { parseExperimentText } from "../src/config/load.ts";
import { DEFAULT_DATASET, MAX_SYNTH_TICKERS, type SynthConfig } from "../src/config/schema.ts";
import { SYNTH_MAX_TICKERS } from "../src/data/synth.ts";
import { DatasetNotFoundError, fingerprintFolder, loadDatasetFolder } from "../src/data/dataset.ts";
import {
  ensureSynthDataset,
  loadExperimentDataset,
  SYNTH_GENERATOR_SOURCES,
  synthGeneratorVersion,
  synthParams,
  synthSource,
  synthSpanProblem,
} from "../src/data/synth_cache.ts";
import { checkAgainstData } from "../src/cli/data_checks.ts";
import { runExperiment } from "../src/pipeline.ts";
import { quietRun } from "./pipeline_helpers.ts";
import { openSandbox, type TaskResult } from "./task_sandbox.ts";
import { jobDataFor } from "../src/distributed/queue.ts";
import { checkSynthJobDataset, DatasetUnavailableError } from "../src/distributed/worker.ts";

const SMALL: SynthConfig = {
  seed: 5,
  tickers: 6,
  from: "2010-01-01",
  to: "2011-06-30",
  signal: 1,
  tail_df: 5,
};

/** A tiny magnitude experiment on a generated dataset of 12 tickers over 6 years. */
const TINY = `name: tiny-synth
seed: 3
data:
  synth: { seed: 5, tickers: 12, from: 2010-01-01, to: 2015-12-31, signal: 2, turnover: 0.05 }
  train_tickers: { select: uncorrelated, count: 6 }
  eval_tickers: { select: rest }
features:
  families:
    price: { ma_windows: [7, 90], close: false }
    fundamentals: { deltas: true, missing: ffill, ffill_limit: 2 }
    earnings: { missing: ffill, ffill_limit: 2 }
    insider: { missing: zero }
  exclude: [reportedEPS, estimatedEPS]
label: { mode: magnitude }
split: { method: ticker_and_time, eval_from: 2014-01-01 }
model: { family: vanilla.small.tanh, size: 4, layers: 1 }
loss: { name: mse }
train: { epochs: 2, backend: wasm }
backtest: { strategy: long_short_top_k, mode: portfolio, k: 2 }
`;

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "alfred-synth-cache-" });
}

async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

Deno.test("data.synth: the dataset is named synth-s<seed>-k<tickers> unless data.dataset names it", async () => {
  const [unnamed] = await parseExperimentText(TINY, "tiny.yaml");
  assertEquals(unnamed.data.dataset, "synth-s5-k12");
  assertEquals(unnamed.data.synth?.tail_df, 5);
  const named = TINY.replace("data:\n", "data:\n  dataset: my-market\n");
  assertEquals((await parseExperimentText(named, "tiny.yaml"))[0].data.dataset, "my-market");
  const plain = TINY.replace(/ {2}synth: .*\n/, "");
  assertEquals((await parseExperimentText(plain, "tiny.yaml"))[0].data.dataset, DEFAULT_DATASET);
});

Deno.test("data.synth: the generator's parameters fill its defaults and keep absent options absent", () => {
  assertEquals(synthParams(SMALL, "s"), {
    seed: 5,
    tickers: 6,
    from: "2010-01-01",
    to: "2011-06-30",
    signal: 1,
    sectors: 4,
    tailDf: 5,
    name: "s",
  });
  assertEquals(synthParams({ ...SMALL, tickers: 3 }, "s").sectors, 3);
  const all = synthParams(
    { ...SMALL, sectors: 2, turnover: 0.1, news_signal: 1.5, shape_signal: 2 },
    "s",
  );
  assertEquals(
    [all.sectors, all.turnover, all.newsSignal, all.shapeSignal],
    [2, 0.1, 1.5, 2],
  );
});

Deno.test("data.synth: the cache key follows the parameters, the name and the generator's version", async () => {
  const base = await synthSource(SMALL, "s", { cacheDir: "/c", generator: "g1" });
  assertEquals((await synthSource(SMALL, "s", { cacheDir: "/c", generator: "g1" })).key, base.key);
  assertEquals(base.dir, `/c/s-${base.key.slice(0, 16)}`);
  for (
    const other of [
      synthSource({ ...SMALL, signal: 2 }, "s", { cacheDir: "/c", generator: "g1" }),
      synthSource({ ...SMALL, turnover: 0 }, "s", { cacheDir: "/c", generator: "g1" }),
      synthSource(SMALL, "t", { cacheDir: "/c", generator: "g1" }),
      synthSource(SMALL, "s", { cacheDir: "/c", generator: "g2" }),
    ]
  ) {
    assertNotEquals((await other).key, base.key);
  }
  // The real version: a sha256 of the generator's sources.
  assert(/^[0-9a-f]{64}$/.test(await synthGeneratorVersion()));
});

Deno.test("data.synth: the generator's version covers every module the generator imports", async () => {
  const text = await Deno.readTextFile(new URL("../src/data/synth.ts", import.meta.url));
  const relative = [...text.matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)].map((m) =>
    new URL(m[1], new URL("../src/data/synth.ts", import.meta.url)).href
  );
  const covered = SYNTH_GENERATOR_SOURCES.map((rel) =>
    new URL(rel, new URL("../src/data/synth_cache.ts", import.meta.url)).href
  );
  for (const r of relative) assert(covered.includes(r), `${r} is not in SYNTH_GENERATOR_SOURCES`);
});

Deno.test("data.synth: a span shorter than 130 trading days is refused before generating", () => {
  assertEquals(synthSpanProblem(SMALL), null);
  assertEquals(
    synthSpanProblem({ ...SMALL, to: "2010-03-31" }),
    'expected at least 130 trading days from data.synth.from ("2010-01-01"), found 63 up to "2010-03-31"',
  );
});

Deno.test("data.synth: generated once, reused, regenerated when the parameters or the generator change", async () => {
  const cacheDir = await tempDir();
  try {
    const logs: string[] = [];
    const source = await synthSource(SMALL, "s", { cacheDir, generator: "g1" });
    assertEquals((await ensureSynthDataset(source, (l) => logs.push(l))).generated, true);
    assertEquals(logs.length, 2, logs.join("\n"));
    const manifest = await Deno.stat(join(source.dir, "manifest.json"));
    const first = await fingerprintFolder(
      source.dir,
      (await loadDatasetFolder(source.dir)).manifest.tables,
    );

    // Reused: nothing is written again.
    assertEquals((await ensureSynthDataset(source, (l) => logs.push(l))).generated, false);
    assertEquals(logs.length, 2);
    assertEquals((await Deno.stat(join(source.dir, "manifest.json"))).mtime, manifest.mtime);

    // Another parameter, another generator: each its own folder, generated anew.
    const signal = await synthSource({ ...SMALL, signal: 2 }, "s", { cacheDir, generator: "g1" });
    const generator = await synthSource(SMALL, "s", { cacheDir, generator: "g2" });
    assertEquals((await ensureSynthDataset(signal)).generated, true);
    assertEquals((await ensureSynthDataset(generator)).generated, true);
    assertEquals(
      await entries(cacheDir),
      [source.dir, signal.dir, generator.dir].map((d) => d.slice(cacheDir.length + 1)).sort(),
    );
    const tables = (await loadDatasetFolder(signal.dir)).manifest.tables;
    assertNotEquals(await fingerprintFolder(signal.dir, tables), first);
    // The same parameters under another version generate the same bytes (the generator is the same).
    assertEquals(await fingerprintFolder(generator.dir, tables), first);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("data.synth: concurrent generation of one dataset leaves one complete folder and no temporaries", async () => {
  const cacheDir = await tempDir();
  try {
    const source = await synthSource(SMALL, "s", { cacheDir });
    const runs = await Promise.all([0, 1, 2].map(() => ensureSynthDataset(source)));
    assert(runs.some((r) => r.generated), "one of them generated it");
    assertEquals(await entries(cacheDir), [source.dir.slice(cacheDir.length + 1)]);
    const ds = await loadDatasetFolder(source.dir);
    assertEquals(ds.manifest.tickers.length, 6);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("data.synth: the checks validate makes generate nothing, and check a cached dataset", async () => {
  const root = await tempDir();
  try {
    const cacheDir = join(root, "cache");
    const file = join(root, "tiny.yaml");
    await Deno.writeTextFile(file, TINY);
    const points = await parseExperimentText(TINY, file);
    const before = await checkAgainstData(file, points, { synthCacheDir: cacheDir });
    assertEquals(before.problems, []);
    assertEquals(before.checked, []);
    assertEquals(before.notChecked, [
      'tickers, benchmark, risk-free, tables, window, memory: dataset "synth-s5-k12" (data.synth) not generated yet: deno task run generates it',
    ]);
    assertEquals(await entries(root), ["tiny.yaml"]);
    await assertRejects(
      () => loadExperimentDataset(points[0], { cacheDir, generate: false }),
      DatasetNotFoundError,
    );

    await loadExperimentDataset(points[0], { cacheDir });
    const after = await checkAgainstData(file, points, { synthCacheDir: cacheDir });
    assertEquals(after.problems, []);
    assertEquals(after.checked, [
      'dataset "synth-s5-k12": tickers, benchmark, risk-free, tables, window, memory',
    ]);

    // A ticker the generated dataset lacks is a located problem.
    const bad = TINY.replace("{ select: rest }", "[SYN99]");
    await Deno.writeTextFile(file, bad);
    const wrong = await checkAgainstData(file, await parseExperimentText(bad, file), {
      synthCacheDir: cacheDir,
    });
    assertEquals(wrong.problems.length, 1);
    assert(
      wrong.problems[0].startsWith(`${file}:6:18 data.eval_tickers[0]: Unknown ticker "SYN99"`),
      wrong.problems[0],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("data.synth: a run generates its dataset, records the generator's parameters and a fingerprint the same parameters reproduce", async () => {
  const root = await tempDir();
  try {
    const [e] = await parseExperimentText(TINY, "tiny.yaml");
    const cacheDir = join(root, "synth");
    const { record, dir } = await runExperiment(e, quietRun(root, { synthCacheDir: cacheDir }));
    assertEquals(record.status, "complete");
    assertEquals(record.data.dataset, "synth-s5-k12");
    assertEquals(record.data.synthetic, true);
    assertEquals(record.data.universe, "point-in-time");
    assertEquals(record.config.data.synth, e.data.synth);
    const source = await synthSource(e.data.synth!, e.data.dataset, { cacheDir });
    assertEquals(record.data.synth, {
      params: { ...source.params },
      generator: source.generator,
      key: source.key,
    });
    const ds = await loadDatasetFolder(source.dir);
    assertEquals(record.data.fingerprint, await ds.fingerprint());
    assertEquals(record.data.tickers.train.length + record.data.tickers.eval.length, 12);
    for (
      const f of ["record.json", "report.md", "config.yaml", "predictions.parquet", "ic.parquet"]
    ) {
      assert((await Deno.stat(join(dir, f))).isFile, `${f} written`);
    }
    const report = await Deno.readTextFile(join(dir, "report.md"));
    assert(report.includes("SYNTHETIC DATA"), "the report says the data is synthetic");
    assert(!/survivorship/i.test(report), "a point-in-time universe has no survivorship warning");

    // Reproducible: the same parameters generated elsewhere give the same fingerprint, and a
    // second run reuses the cached dataset.
    const elsewhere = await loadExperimentDataset(e, { cacheDir: join(root, "other") });
    assertEquals(await elsewhere.dataset.fingerprint(), record.data.fingerprint);
    const again = await runExperiment(e, quietRun(root, { synthCacheDir: cacheDir }));
    assertEquals(again.record.data.fingerprint, record.data.fingerprint);
    assertEquals(await entries(cacheDir), [source.dir.slice(cacheDir.length + 1)]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function ok(result: TaskResult, what: string): string {
  assertEquals(result.code, 0, `${what} failed:\n${result.err}\n${result.out}`);
  return result.out;
}

Deno.test("deno task run generates a data.synth dataset under .alfred/synth once, validate never writes", async () => {
  const box = await openSandbox();
  try {
    await Deno.writeTextFile(`${box.dir}/tiny.yaml`, TINY);
    const before = ok(await box.task("validate", ["tiny.yaml"]), "validate before any run");
    assert(before.includes("not generated yet"), before);
    assertEquals(await box.written(), ["tiny.yaml"]);

    const first = ok(await box.task("run", ["tiny.yaml"]), "run");
    assert(first.includes('generating synthetic dataset "synth-s5-k12"'), first);
    const second = ok(await box.task("run", ["tiny.yaml"]), "second run");
    assert(!second.includes("generating"), `the second run reuses the dataset:\n${second}`);
    const after = ok(await box.task("validate", ["tiny.yaml"]), "validate after the run");
    assert(after.includes('checked against dataset "synth-s5-k12"'), after);

    const written = await box.written();
    const top = new Set(written.map((p) => p.split("/")[0]));
    assertEquals([...top].sort(), [".alfred", "results", "tiny.yaml"]);
    const cached = new Set(
      written.filter((p) => p.startsWith(".alfred/synth/")).map((p) => p.split("/")[2]),
    );
    assertEquals(cached.size, 1, [...cached].join(", "));
    assert([...cached][0].startsWith("synth-s5-k12-"), [...cached][0]);
  } finally {
    await box.close();
  }
});

Deno.test("a worker generates a queued data.synth dataset and refuses the job when its bytes differ", async () => {
  const root = await tempDir();
  try {
    const [e] = await parseExperimentText(TINY, "tiny.yaml");
    const enqueued = await loadExperimentDataset(e, { cacheDir: join(root, "here") });
    const data = jobDataFor(e, await enqueued.dataset.fingerprint());
    const lines: string[] = [];
    await checkSynthJobDataset(data, e, "w", (l) => lines.push(l), join(root, "worker"));
    assert(
      lines.some((l) => l.startsWith('generating synthetic dataset "synth-s5-k12"')),
      lines[0],
    );
    const refused = await assertRejects(
      () =>
        checkSynthJobDataset(
          { ...data, dataFingerprint: "a".repeat(64) },
          e,
          "w",
          () => {},
          join(root, "worker"),
        ),
      DatasetUnavailableError,
    );
    assert(/the generators differ/.test(refused.message), refused.message);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("data.synth's ticker cap is the generator's", () => {
  // The schema keeps its own constant so the config module does not load the generator.
  assertEquals(MAX_SYNTH_TICKERS, SYNTH_MAX_TICKERS);
});
