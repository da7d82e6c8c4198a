/**
 * Shared file stores (`file:ROOT`): the model store contract, run folders copied in and pulled
 * out, several processes writing the same runs and models at once, and `deno task store`.
 * Run as a script (`deno run tests/distributed_store_test.ts SPEC START_AT RUN_DIR SEEDS...`), this
 * file is one of those writer processes.
 */
import { assert, assertEquals } from "./assert.ts";
import { loadExperiments } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import { FileModelStore } from "../src/store/model_store.ts";
import {
  FileDataStore,
  FileRunStore,
  loadStoreRecords,
  openStores,
} from "../src/store/shared_file.ts";
import { defaultDataRoot, loadDataset, loadDatasetFolder } from "../src/data/dataset.ts";
import { jobDataFor } from "../src/distributed/queue.ts";
import { checkJobDataset, DatasetUnavailableError } from "../src/distributed/worker.ts";
import { listRuns, readRunRecord } from "../src/store/run_record.ts";
import { storeCommand } from "../src/cli/store.ts";
import { makeArtifact, modelStoreContract, testHash } from "./store_contract.ts";
import { SWEEP } from "./distributed_helpers.ts";
import { quietRun } from "./pipeline_helpers.ts";

if (import.meta.main) {
  // Writer process: wait for the common start, then push the run and save each model.
  const [spec, startAt, runDir, ...seeds] = Deno.args;
  const { models, runs } = await openStores(spec);
  while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
  const [pushed, ...saved] = await Promise.all([
    runs!.put(runDir),
    ...seeds.map((s) =>
      models.save(testHash(Number(s)), makeArtifact(Number(s), 300_007, `pid-${Deno.pid}`))
    ),
  ]);
  console.log(JSON.stringify({ pushed, saved }));
} else {
  modelStoreContract("file: shared store", async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-shared-" });
    return {
      store: (await openStores(`file:${root}`)).models,
      reopen: async () => (await openStores(`file://${root}/`)).models,
      cleanup: () => Deno.remove(root, { recursive: true }),
    };
  });
}

/** One real run folder of the tiny sweep (seed 1), made once per test file. */
let runFolder: Promise<{ dir: string; root: string }> | null = null;
function tinyRun(): Promise<{ dir: string; root: string }> {
  runFolder ??= (async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-run-" });
    const [e] = await loadExperiments(SWEEP, { set: ["seed=1"] });
    const { dir } = await runExperiment(e, quietRun(root));
    return { dir, root };
  })();
  return runFolder;
}

Deno.test({
  name: "openStores: a folder is a model store only; file: has models and runs; others refused",
  fn: async () => {
    const plain = await openStores("some/dir");
    assert(plain.models instanceof FileModelStore && plain.runs === null);
    assertEquals((plain.models as FileModelStore).root, "some/dir");
    const shared = await openStores("file:/mnt/share/alfred/");
    assertEquals((shared.models as FileModelStore).root, "/mnt/share/alfred/models");
    assertEquals((shared.runs as FileRunStore).root, "/mnt/share/alfred/results");
    let error: unknown = null;
    try {
      await openStores("s3://bucket/x");
    } catch (e) {
      error = e;
    }
    assert(error instanceof TypeError && /file:\/path\/to\/share/.test(error.message), `${error}`);
  },
});

Deno.test({
  name: "FileRunStore: put, list, get by prefix, findComplete and pull copy a run folder whole",
  sanitizeResources: false,
  fn: async () => {
    const { dir } = await tinyRun();
    const root = await Deno.makeTempDir({ prefix: "alfred-runs-" });
    try {
      const store = new FileRunStore(`${root}/share`);
      assertEquals(await store.list(), []);
      assertEquals(await store.put(dir), true);
      assertEquals(await store.put(dir), false, "a second put keeps the first copy");
      const record = await readRunRecord(dir);
      const [summary] = await store.list();
      assertEquals(
        [summary.runId, summary.configHash, summary.status],
        [record.runId, record.configHash, "complete"],
      );
      assertEquals((await store.get(record.runId.slice(0, 12)))?.runId, record.runId);
      assertEquals(await store.get("19990101T"), null);
      assertEquals((await store.findComplete(record.configHash))?.runId, record.runId);
      assertEquals(await store.findComplete("0".repeat(64)), null);
      const pulled = await store.pull(record.runId, `${root}/local`);
      assertEquals(pulled, `${root}/local/${record.experiment}/${record.runId}`);
      const files = (d: string) => [...Deno.readDirSync(d)].map((e) => e.name).sort();
      assertEquals(files(pulled), files(dir));
      assertEquals(
        await Deno.readTextFile(`${pulled}/record.json`),
        await Deno.readTextFile(`${dir}/record.json`),
      );
      assertEquals((await store.records()).map((r) => r.runId), [record.runId]);
      // A torn record.json: records() throws, or with a callback leaves it out and names it.
      const torn = `${root}/share/${record.experiment}/${record.runId}/record.json`;
      await Deno.writeTextFile(torn, "{");
      let thrown: unknown = null;
      await store.records().catch((e) => (thrown = e));
      assert(thrown instanceof SyntaxError, String(thrown));
      const skipped: string[] = [];
      assertEquals(await store.records((where) => skipped.push(where)), []);
      assertEquals(skipped, [torn]);
      // the same through a file: store spec, as `deno task journal --store` reads it
      await Deno.rename(`${root}/share`, `${root}/spec-results`);
      await Deno.mkdir(`${root}/spec`);
      await Deno.rename(`${root}/spec-results`, `${root}/spec/results`);
      const viaSpec: string[] = [];
      assertEquals(await loadStoreRecords(`file:${root}/spec`, (w) => viaSpec.push(w)), []);
      assertEquals(viaSpec, [
        `${root}/spec/results/${record.experiment}/${record.runId}/record.json`,
      ]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "file: shared store: three processes pushing the same run and saving the same models settle to one copy each",
  sanitizeResources: false,
  fn: async () => {
    const { dir } = await tinyRun();
    const root = await Deno.makeTempDir({ prefix: "alfred-shared-mp-" });
    try {
      const spec = `file:${root}`;
      const seeds = ["201", "202", "203"];
      const startAt = Date.now() + 1500;
      const outputs = await Promise.all(
        Array.from({ length: 3 }, () =>
          new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "--allow-all",
              new URL(import.meta.url).pathname,
              spec,
              String(startAt),
              dir,
              ...seeds,
            ],
            stdout: "piped",
            stderr: "piped",
          }).output()),
      );
      const results = outputs.map((o, i) => {
        assert(o.success, `writer ${i} failed: ${new TextDecoder().decode(o.stderr)}`);
        return JSON.parse(new TextDecoder().decode(o.stdout).trim()) as {
          pushed: boolean;
          saved: boolean[];
        };
      });
      assertEquals(results.filter((r) => r.pushed).length, 1, "exactly one process pushed");
      seeds.forEach((_, j) =>
        assertEquals(results.filter((r) => r.saved[j]).length, 1, `model ${j} stored once`)
      );
      const { models } = await openStores(spec);
      assertEquals(await models.list(), seeds.map((s) => testHash(Number(s))));
      for (const s of seeds) {
        const got = await models.load(testHash(Number(s)));
        assert(got && got.meta.created.startsWith("pid-"), `model ${s} not complete`);
      }
      const runs = await listRuns(`${root}/results`);
      assertEquals(runs.length, 1);
      assertEquals(
        await Deno.readTextFile(`${runs[0].dir}/record.json`),
        await Deno.readTextFile(`${dir}/record.json`),
      );
      const leftovers = [
        ...[...Deno.readDirSync(`${root}/models`)].map((e) => e.name),
        ...[...Deno.readDirSync(`${root}/results/${runs[0].experiment}`)].map((e) => e.name),
      ].filter((n) => n.startsWith("."));
      assertEquals(leftovers, [], "temporary folders left behind");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task store: push, list and pull a run with its model through a file: store",
  sanitizeResources: false,
  fn: async () => {
    const { dir, root: runRoot } = await tinyRun();
    const root = await Deno.makeTempDir({ prefix: "alfred-store-cli-" });
    const log = console.log;
    const lines: string[] = [];
    console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      const record = await readRunRecord(dir);
      const spec = `file:${root}/share`;
      const { models } = await openStores(spec);
      const model = await new FileModelStore(`${runRoot}/models`).load(record.model!.modelHash);
      await models.save(record.model!.modelHash, model!);
      assertEquals(await storeCommand(["push", dir, "--store", spec]), 0);
      assertEquals((await loadStoreRecords(spec)).map((r) => r.runId), [record.runId]);
      assertEquals(await storeCommand(["list", "--store", spec]), 0);
      assert(lines.some((l) => l.includes(record.runId) && l.includes("complete")), lines.join());
      const code = await storeCommand([
        "pull",
        record.runId,
        "--store",
        spec,
        "--results",
        `${root}/results`,
        "--model",
        "--models",
        `${root}/models`,
      ]);
      assertEquals(code, 0, lines.join("\n"));
      assertEquals((await listRuns(`${root}/results`)).map((r) => r.runId), [record.runId]);
      assert(await new FileModelStore(`${root}/models`).has(record.model!.modelHash));
      assertEquals(await storeCommand(["pull", "--store", spec]), 2, "usage");
      assertEquals(await storeCommand(["list", "--store", `${root}/plain`]), 2, "not shared");
    } finally {
      console.log = log;
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "FileDataStore: datasets by fingerprint; pulls are checked; a worker lacking a job's data fetches it",
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-data-" });
    try {
      const source = `${defaultDataRoot()}/dow30-1991-2000`;
      const fingerprint = await (await loadDataset(source)).fingerprint();
      const store = new FileDataStore(`${root}/share`);
      assertEquals(await store.put(source), {
        name: "dow30-1991-2000",
        fingerprint,
        created: true,
      });
      assertEquals((await store.put(source)).created, false);
      assertEquals(await store.list(), [{ name: "dow30-1991-2000", fingerprint }]);
      assertEquals(await store.pull("dow30-1991-2000", "0".repeat(64), `${root}/x`), false);
      assertEquals(await store.pull("dow30-1991-2000", fingerprint, `${root}/a/dow30`), true);
      assertEquals(await (await loadDatasetFolder(`${root}/a/dow30`)).fingerprint(), fingerprint);
      let error: unknown = null;
      try {
        await store.pull("dow30-1991-2000", fingerprint, `${root}/a/dow30`);
      } catch (e) {
        error = e;
      }
      assert(/the folder exists/.test(String(error)), String(error));

      // A worker whose data folder lacks the dataset fetches it from the store, by fingerprint.
      const [e] = await loadExperiments(SWEEP, { set: ["seed=2"] });
      const job = jobDataFor(e, fingerprint);
      const lines: string[] = [];
      const dataRoot = `${root}/worker-data`;
      const refused = await checkJobDataset(job, "w", { dataRoot }).catch((e) => e);
      assert(refused instanceof DatasetUnavailableError, String(refused));
      await checkJobDataset(job, "w", { dataRoot, dataStore: store, log: (l) => lines.push(l) });
      assert(/fetched dataset "dow30-1991-2000"/.test(lines.join()), lines.join());
      assertEquals(
        await (await loadDataset("dow30-1991-2000", { root: dataRoot })).fingerprint(),
        fingerprint,
      );
      // Other data under the same name is never replaced; an unknown fingerprint is refused.
      const other = await checkJobDataset({ ...job, dataFingerprint: "a".repeat(64) }, "w", {
        dataRoot,
        dataStore: store,
      }).catch((e) => e);
      assert(
        other instanceof DatasetUnavailableError && /the data differ/.test(other.message),
        `${other}`,
      );
      const empty = `${root}/empty`;
      const missing = await checkJobDataset({ ...job, dataFingerprint: "a".repeat(64) }, "w", {
        dataRoot: empty,
        dataStore: store,
      }).catch((e) => e);
      assert(
        missing instanceof DatasetUnavailableError &&
          /shared store does not hold it either/.test(missing.message),
        `${missing}`,
      );

      // A damaged stored copy is caught before anything is written.
      const stored = `${root}/share/dow30-1991-2000/${fingerprint}/prices.parquet`;
      const bytes = await Deno.readFile(stored);
      bytes[bytes.length >> 1] ^= 0x01;
      await Deno.writeFile(stored, bytes);
      error = null;
      try {
        await store.pull("dow30-1991-2000", fingerprint, `${root}/b/dow30`);
      } catch (e) {
        error = e;
      }
      assert(/has fingerprint .*: expected/.test(String(error)), String(error));
      assertEquals(await Deno.stat(`${root}/b/dow30`).then(() => true, () => false), false);
      assertEquals([...Deno.readDirSync(`${root}/b`)].length, 0, "temporary folder left");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "distributed store tests: clean up the shared run folder",
  sanitizeResources: false,
  fn: async () => {
    if (runFolder) await Deno.remove((await runFolder).root, { recursive: true });
  },
});
