/**
 * The worker's pieces without Redis: reading the trainer's progress lines, which failures are
 * final, refusing jobs whose data this machine lacks, job data checks, seed jobs and the config's
 * job that combines them, and the job table.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { UnrecoverableError, WaitingChildrenError } from "bullmq";
import { loadExperiments } from "../src/config/load.ts";
import { ConfigError } from "../src/config/errors.ts";
import { DatasetError } from "../src/data/dataset.ts";
import { configHash } from "../src/config/hash.ts";
import {
  checkQueueUrl,
  type ExperimentJobResult,
  jobDataFor,
  jobPlanFor,
  shortJobId,
} from "../src/distributed/queue.ts";
import {
  checkJobDataset,
  DatasetUnavailableError,
  experimentOfJob,
  isUnrecoverable,
  JobFormatError,
  JobLockLostError,
  parseProgressLine,
  processExperimentJob,
  SeedResultsMissingError,
  StartGate,
} from "../src/distributed/worker.ts";
import { loadDataset } from "../src/data/dataset.ts";
import { withSeed } from "../src/seeds.ts";
import { jobRow, type JobSnapshot, redraw, renderJobTable } from "../src/distributed/wait_table.ts";
import { progressReporter } from "../src/train/progress.ts";
import { FileModelStore } from "../src/store/model_store.ts";
import { listRuns, readRunRecord } from "../src/store/run_record.ts";
import { SWEEP } from "./distributed_helpers.ts";

Deno.test("parseProgressLine reads the trainer's own plain progress lines", () => {
  const lines: string[] = [];
  const report = progressReporter({
    epochs: 150,
    tty: false,
    write: (t) => lines.push(t),
    label: "fold-2",
  });
  report({ epoch: 1, loss: 0.71234, valLoss: 0.7, lr: 0.001, seconds: 0.5 });
  report({ epoch: 2, loss: 0.0000123, valLoss: 0.75, lr: 0.001, seconds: 0.25 });
  report.finish();
  const parsed = lines.map(parseProgressLine);
  assertEquals(parsed[0], {
    fold: "fold-2",
    epoch: 1,
    epochs: 150,
    loss: 0.71234,
    valLoss: 0.7,
    bestValLoss: 0.7,
    secondsPerEpoch: 0.5,
  });
  assertEquals(parsed[1]!.loss, 0.0000123);
  assertEquals([parsed[1]!.valLoss, parsed[1]!.bestValLoss, parsed[1]!.epoch], [0.75, 0.7, 2]);
  assertEquals(parseProgressLine("train stopped after 2 epochs: reached the epoch limit"), null);
  assertEquals(parseProgressLine("backend wasm on wasm SIMD"), null);
});

Deno.test("isUnrecoverable: config, data, range and type errors are final; a missing dataset here is not", () => {
  const final = [
    new ConfigError([{ file: "x.yaml", line: 1, col: 1, path: "model", message: "bad" }]),
    new DatasetError("bad table", "d"),
    new RangeError("Model will not fit"),
    new TypeError("x"),
    new JobFormatError("y"),
  ];
  for (const e of final) assert(isUnrecoverable(e), `${e.name} should be final`);
  for (const e of [new DatasetUnavailableError("not here", "d"), new Error("ECONNRESET")]) {
    assert(!isUnrecoverable(e), `${e.name} should be retried`);
  }
});

Deno.test({
  name:
    "jobs: data carry config and fingerprint; a worker refuses foreign data with a clear message",
  sanitizeResources: false,
  fn: async () => {
    const [e] = await loadExperiments(SWEEP, { set: ["seed=3"] });
    const data = jobDataFor(e, "f".repeat(64));
    assertEquals((await experimentOfJob(data)).seed, 3);
    assertEquals((await experimentOfJob(data, "cpu")).train.backend, "cpu");
    const mismatch = await assertRejects(() => checkJobDataset(data, "box:1"));
    assert(mismatch instanceof DatasetUnavailableError, String(mismatch));
    assert(
      /Worker "box:1" refuses job .* fingerprint [0-9a-f]{12}, the job was enqueued with ffffffffffff/
        .test(mismatch.message),
      mismatch.message,
    );
    const absent = await assertRejects(() =>
      checkJobDataset({ ...data, dataset: "no-such-dataset" }, "box:1")
    );
    assert(absent instanceof DatasetUnavailableError, String(absent));
    assert(/has no dataset "no-such-dataset"/.test(absent.message), absent.message);
    const tampered = await assertRejects(() =>
      experimentOfJob({ ...data, configYaml: data.configYaml.replace("seed: 3", "seed: 4") })
    );
    assert(
      tampered instanceof JobFormatError && /config hash/.test(tampered.message),
      `${tampered}`,
    );
    const foreign = await assertRejects(() =>
      experimentOfJob({ ...data, format: "other" } as unknown as typeof data)
    );
    assert(foreign instanceof JobFormatError, String(foreign));
  },
});

Deno.test({
  name: "processExperimentJob: a final error becomes UnrecoverableError; missing data is retried",
  sanitizeResources: false,
  fn: async () => {
    const [e] = await loadExperiments(SWEEP, {
      set: ["seed=5", "data.train_tickers=[AA, NOPE, BA]"],
    });
    const fingerprint = await (await import("../src/data/dataset.ts")).loadDataset(e.data.dataset)
      .then((d) => d.fingerprint());
    const root = await Deno.makeTempDir({ prefix: "alfred-worker-" });
    const progress: unknown[] = [];
    const job = (data = jobDataFor(e, fingerprint)) => ({
      id: data.configHash,
      data,
      attemptsMade: 0,
      updateProgress: (p: unknown) => {
        progress.push(p);
        return Promise.resolve();
      },
    });
    const ctx = {
      name: "t:1",
      resultsDir: `${root}/results`,
      store: new FileModelStore(`${root}/models`),
      log: () => {},
    };
    try {
      const poisoned = await assertRejects(() => processExperimentJob(job(), ctx));
      assert(poisoned instanceof UnrecoverableError, String(poisoned));
      assert(/NOPE/.test(poisoned.message), poisoned.message);
      assertEquals((progress[0] as { phase: string; worker: string }).worker, "t:1");
      const elsewhere = await assertRejects(() =>
        processExperimentJob(job({ ...jobDataFor(e, "0".repeat(64)) }), ctx)
      );
      assert(elsewhere instanceof DatasetUnavailableError, String(elsewhere));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "processExperimentJob: a worker that lost its job's lock writes no run; one holding it does",
  sanitizeResources: false,
  fn: async () => {
    const [e] = await loadExperiments(SWEEP, { set: ["seed=6", "train.epochs=2"] });
    const fingerprint = await (await import("../src/data/dataset.ts")).loadDataset(e.data.dataset)
      .then((d) => d.fingerprint());
    const root = await Deno.makeTempDir({ prefix: "alfred-worker-lock-" });
    const calls: [string, number][] = [];
    // BullMQ's extendLock answers 1 while the token holds the lock, 0 once another worker has it.
    const job = (holds: boolean) => ({
      id: "j1",
      data: jobDataFor(e, fingerprint),
      attemptsMade: 0,
      updateProgress: () => Promise.resolve(),
      extendLock: (token: string, duration: number) => {
        calls.push([token, duration]);
        return Promise.resolve(holds ? 1 : 0);
      },
    });
    const ctx = {
      name: "t:1",
      resultsDir: `${root}/results`,
      store: new FileModelStore(`${root}/models`),
      log: () => {},
      lockDuration: 3000,
    };
    try {
      const lost = await assertRejects(() => processExperimentJob(job(false), ctx, "tok-a"));
      assert(lost instanceof JobLockLostError, String(lost));
      assertEquals(calls, [["tok-a", 3000]]);
      assertEquals(await listRuns(`${root}/results`), []);
      const held = await processExperimentJob(job(true), ctx, "tok-b");
      assertEquals(held.status, "complete");
      assertEquals((await listRuns(`${root}/results`)).length, 1);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("jobPlanFor: a config of three seeds is its job and two seed jobs of one seed each", async () => {
  const [e] = await loadExperiments(SWEEP, { set: ["seeds=3"] });
  const plan = jobPlanFor(e, "f".repeat(64));
  const hash = configHash(e);
  assertEquals(plan.data.configHash, hash);
  assertEquals(plan.data.seedJobs, [`${hash}.seed-2`, `${hash}.seed-3`]);
  assertEquals(plan.seeds.map((c) => c.id), plan.data.seedJobs);
  for (const [i, c] of plan.seeds.entries()) {
    assertEquals(c.data.seedOf, hash);
    assertEquals(c.data.configHash, configHash(withSeed(e, i + 2)));
    const child = await experimentOfJob(c.data);
    assertEquals([child.seed, child.seeds], [i + 2, undefined]);
  }
  const [single] = await loadExperiments(SWEEP);
  assertEquals(jobPlanFor(single, "f".repeat(64)).seeds, []);
  assertEquals(jobPlanFor(single, "f".repeat(64)).data.seedJobs, undefined);
  assertEquals(shortJobId(`${hash}.seed-43`), `${hash.slice(0, 8)}.seed-43`);
  assertEquals(shortJobId(hash), hash.slice(0, 8));
});

Deno.test({
  name:
    "processExperimentJob: seed jobs send their results back; the config's job waits for them, then writes one record of every seed",
  sanitizeResources: false,
  fn: async () => {
    const [e] = await loadExperiments(SWEEP, { set: ["seeds=3", "train.epochs=2"] });
    const fingerprint = await (await loadDataset(e.data.dataset)).fingerprint();
    const plan = jobPlanFor(e, fingerprint);
    const root = await Deno.makeTempDir({ prefix: "alfred-worker-seeds-" });
    const results = `${root}/results`;
    const ctx = {
      name: "t:1",
      resultsDir: results,
      store: new FileModelStore(`${root}/models`),
      log: () => {},
    };
    const waited: string[] = [];
    const job = (
      data: typeof plan.data,
      children: Record<string, unknown> = {},
      pending = false,
    ) => ({
      id: data.configHash,
      data,
      attemptsMade: 0,
      updateProgress: () => Promise.resolve(),
      getChildrenValues: () => Promise.resolve(children),
      moveToWaitingChildren: (token: string) => {
        waited.push(token);
        return Promise.resolve(pending);
      },
    });
    try {
      // The seed jobs: each runs its seed, keeps no run folder and returns the seed's results.
      const seedResults: ExperimentJobResult[] = [];
      for (const c of plan.seeds) seedResults.push(await processExperimentJob(job(c.data), ctx));
      assertEquals(seedResults.map((r) => r.seedRun?.seed), [2, 3]);
      assertEquals(seedResults.map((r) => [r.status, r.dir, r.alreadyDone]), [
        ["complete", "", false],
        ["complete", "", false],
      ]);
      assertEquals(await listRuns(results), []);
      assertEquals([...Deno.readDirSync(results)], [], "their folders are gone");
      const values = Object.fromEntries(
        plan.seeds.map((c, i) => [`bull:q:${c.id}`, seedResults[i]]),
      );

      // One seed job still pending: the config's job goes back to wait, and runs nothing.
      const partial = { [`bull:q:${plan.seeds[0].id}`]: seedResults[0] };
      const waiting = await assertRejects(() =>
        processExperimentJob(job(plan.data, partial, true), ctx, "tok-1")
      );
      assert(waiting instanceof WaitingChildrenError, String(waiting));
      assertEquals(waited, ["tok-1"]);
      // None pending and seed 3 without results (its job was removed): final, naming the seed.
      const missing = await assertRejects(() =>
        processExperimentJob(job(plan.data, partial, false), ctx, "tok-2")
      );
      assert(missing instanceof UnrecoverableError, String(missing));
      assert(missing.message.startsWith(SeedResultsMissingError.name), missing.message);
      assert(/seed 3 has no results/.test(missing.message), missing.message);
      assertEquals(await listRuns(results), []);

      // Every seed's results there: the first seed runs and its record holds all three.
      const combined = await processExperimentJob(job(plan.data, values), ctx, "tok-3");
      assertEquals([combined.status, combined.alreadyDone], ["complete", false]);
      assertEquals(combined.configHash, plan.data.configHash);
      const runs = await listRuns(results);
      assertEquals(runs.map((r) => r.dir), [combined.dir]);
      const record = await readRunRecord(combined.dir);
      assertEquals(record.config.seeds, 3);
      assertEquals(record.seedRuns?.runs.map((r) => r.seed), [1, 2, 3]);
      assertEquals(record.seedRuns?.runs.slice(1), seedResults.map((r) => r.seedRun));
      // Handed out again (its worker died before BullMQ heard): the record is there, kept.
      const again = await processExperimentJob(job(plan.data, values), ctx, "tok-4");
      assertEquals([again.alreadyDone, again.runId], [true, combined.runId]);
      assertEquals((await listRuns(results)).length, 1);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("checkQueueUrl accepts redis:// and rediss:// only", () => {
  assertEquals(checkQueueUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
  assertEquals(checkQueueUrl("rediss://u:p@h:6380/2"), "rediss://u:p@h:6380/2");
  for (const bad of ["http://h:1", "127.0.0.1:6379", "redis://"]) {
    let error: unknown = null;
    try {
      checkQueueUrl(bad);
    } catch (e) {
      error = e;
    }
    assert(error instanceof TypeError && error.message.includes(bad), `${bad}: ${error}`);
  }
});

Deno.test("job table: rows per state, aligned columns, summary and failure reasons", () => {
  const base: JobSnapshot = {
    id: "a".repeat(64),
    experiment: "tiny",
    state: "waiting",
    progress: null,
    result: null,
    failedReason: null,
    attemptsMade: 0,
    processedBy: null,
  };
  const active: JobSnapshot = {
    ...base,
    id: "b".repeat(64),
    state: "active",
    progress: {
      worker: "gpu1:7",
      phase: "training",
      epoch: 40,
      epochs: 200,
      bestValLoss: 0.123456789,
      etaSeconds: 95,
    },
  };
  const done: JobSnapshot = {
    ...base,
    id: "c".repeat(64),
    state: "completed",
    result: {
      runId: "20260101T000000Z-cccccccc",
      dir: "results/tiny/x",
      status: "complete",
      configHash: "c".repeat(64),
      modelHash: "d".repeat(64),
      restoredFromStore: true,
      bestValLoss: 0.5,
      worker: "gpu2:9",
      alreadyDone: false,
    },
  };
  const failed: JobSnapshot = {
    ...base,
    id: "e".repeat(64),
    state: "failed",
    failedReason: "RangeError: will not fit",
    attemptsMade: 1,
  };
  assertEquals(jobRow(active), {
    job: "bbbbbbbb",
    experiment: "tiny",
    state: "active",
    worker: "gpu1:7",
    epoch: "40/200",
    best: "0.12346",
    eta: "≤1m35s",
  });
  assertEquals(jobRow(done).state, "done (restored)");
  assertEquals(jobRow(done).worker, "gpu2:9");
  assertEquals(jobRow({ ...base, state: "delayed", attemptsMade: 2 }).state, "delayed (retry 2)");
  const lines = renderJobTable([base, active, done, failed]);
  assertEquals(lines.length, 7);
  assert(lines[0].startsWith("job       experiment  state"), lines[0]);
  const col = lines[0].indexOf("worker");
  assert(lines.slice(1, 5).every((l) => l.length <= col || l[col - 1] === " "), "aligned");
  assertEquals(lines[5], "4 jobs: 1 completed, 1 failed, 1 running, 1 waiting");
  assertEquals(lines[6], "failed eeeeeeee (tiny): RangeError: will not fit");
});

Deno.test("job table on a terminal: the first draw prints, later ones move up over the old table", () => {
  assertEquals(redraw(0, ["a", "b"]), "a\nb\n");
  assertEquals(redraw(2, ["c", "d", "e"]), "\x1b[2F\x1b[Jc\nd\ne\n");
});

Deno.test("StartGate: runs enter one at a time, in arrival order; leaving twice is harmless", async () => {
  const gate = new StartGate();
  const events: string[] = [];
  const run = async (name: string, holdMs: number) => {
    const leave = await gate.enter();
    events.push(`${name} in`);
    await new Promise((r) => setTimeout(r, holdMs));
    events.push(`${name} out`);
    leave();
    leave();
  };
  await Promise.all([run("a", 30), run("b", 1), run("c", 1)]);
  assertEquals(events, ["a in", "a out", "b in", "b out", "c in", "c out"]);
});
