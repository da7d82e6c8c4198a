/**
 * Distributed sweeps on a real Redis (Debian's `redis-server`, started by each test on a free
 * local port; `.ci/run` installs it): worker processes run a sweep of six quick experiments and
 * each finishes exactly once, also when a worker is SIGKILLed mid-training or Redis restarts
 * mid-sweep; a poisoned job fails with its recorded error while the others complete. A config of
 * three seeds runs as seed jobs on several workers and its record is written once with every
 * seed, also when the worker of the config's job is SIGKILLed; a seed job that fails fails it.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  addExperimentJobs,
  enqueueExperiments,
  jobPlanFor,
  openQueue,
} from "../src/distributed/queue.ts";
import { loadExperiments } from "../src/config/load.ts";
import { loadDataset } from "../src/data/dataset.ts";
import { FileModelStore } from "../src/store/model_store.ts";
import type { ExperimentProgress } from "../src/distributed/queue.ts";
import { waitForJobs } from "../src/distributed/wait_table.ts";
import { listRuns, loadRuns } from "../src/store/run_record.ts";
import { REDIS_URL_ENV, withNeeds } from "./requirements.ts";
import {
  assertEachOnce,
  freePort,
  RedisProcess,
  SWEEP,
  until,
  WorkerProcess,
} from "./distributed_helpers.ts";

/** A Redis that `.ci/run` started for the tests; tests that restart Redis start their own. */
const SHARED_REDIS = Deno.env.get(REDIS_URL_ENV) ?? null;

/** A test's world: its own Redis, folders, queue name and workers, all torn down after. */
async function withCluster(
  fn: (c: {
    redis: { url: string; start(): Promise<void>; stop(): Promise<void> };
    dir: string;
    queueName: string;
    results: string;
    models: string;
    spawn: (name: string, extra?: string[]) => WorkerProcess;
  }) => Promise<void>,
  options: { sharedRedis?: boolean } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "alfred-dist-" });
  await Deno.mkdir(`${dir}/redis`);
  const own = options.sharedRedis && SHARED_REDIS
    ? null
    : new RedisProcess(freePort(), `${dir}/redis`);
  const redis = own ??
    { url: SHARED_REDIS!, start: () => Promise.resolve(), stop: () => Promise.resolve() };
  const workers: WorkerProcess[] = [];
  const results = `${dir}/results`;
  const models = `${dir}/models`;
  const queueName = `test-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await redis.start();
    await fn({
      redis,
      dir,
      queueName,
      results,
      models,
      spawn: (name, extra = []) => {
        const w = new WorkerProcess(name, dir, [
          "--queue",
          redis.url,
          "--queue-name",
          queueName,
          "--results",
          results,
          "--store",
          models,
          "--lock-duration",
          "3000",
          "--stalled-interval",
          "1000",
          ...extra,
        ]);
        workers.push(w);
        return w;
      },
    });
  } catch (error) {
    for (const w of workers) console.error(`--- ${w.name} log:\n${w.output().slice(-3000)}`);
    throw error;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

// Any Redis will do (the shared one when `.ci/run` started it); the other two restart or own theirs.
Deno.test(withNeeds(["redis"], {
  name:
    "distributed: three workers run a sweep of six once each; re-enqueueing adds nothing; a poisoned job fails with its error",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster(async ({ redis, dir, queueName, results, models, spawn }) => {
      const options = { queue: redis.url, queueName, attempts: 3, backoffMs: 200 };
      const jobs = await enqueueExperiments(SWEEP, options);
      assertEquals(jobs.map((j) => j.outcome), Array(6).fill("added"));
      assertEquals(new Set(jobs.map((j) => j.id)).size, 6, "job ids are the config hashes");
      const again = await enqueueExperiments(SWEEP, options);
      assertEquals(again.map((j) => j.outcome), Array(6).fill("exists"), "re-enqueued");
      const [poison] = await enqueueExperiments(SWEEP, {
        ...options,
        set: ["seed=99", "data.train_tickers=[AA, NOPE, BA]"],
      });
      // Shared store (file:ROOT): models and finished runs land on the "share" too.
      for (const name of ["w1", "w2", "w3"]) spawn(name, ["--store", `file:${dir}/share`]);
      const lines: string[] = [];
      const outcome = await waitForJobs({
        queue: redis.url,
        queueName,
        ids: [...jobs.map((j) => j.id), poison.id],
        tty: false,
        write: (t) => lines.push(t),
        intervalMs: 200,
        timeoutMs: 60_000,
      });
      assert(!outcome.timedOut, `timed out:\n${lines.join("")}`);
      assertEquals([outcome.completed, outcome.failed], [6, 1], lines.join(""));
      const failed = outcome.snapshots.find((s) => s.id === poison.id)!;
      assertEquals(failed.state, "failed");
      assert(/NOPE/.test(failed.failedReason ?? ""), `recorded error: ${failed.failedReason}`);
      assertEquals(failed.attemptsMade, 1, "an unrecoverable error is not retried");
      assert(
        lines.join("").includes(`failed ${poison.id.slice(0, 8)}`),
        "the table names the failure",
      );
      const records = await assertEachOnce(results, `${dir}/share/models`, jobs.map((j) => j.id));
      assertEquals(
        (await listRuns(`${dir}/share/results`)).map((r) => r.runId),
        records.map((r) => r.runId),
        "every run was copied to the shared results store",
      );
      assertEquals(await listRuns(models), [], "nothing went to the default model folder");
      for (const s of outcome.snapshots.filter((s) => s.state === "completed")) {
        assert(s.result && ["w1", "w2", "w3"].includes(s.result.worker), JSON.stringify(s.result));
      }
    }, { sharedRedis: true }),
}));

Deno.test(withNeeds(["redis-server"], {
  name: "distributed: a worker SIGKILLed mid-training loses nothing; the sweep completes once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster(async ({ redis, queueName, results, models, spawn }) => {
      const jobs = await enqueueExperiments(SWEEP, {
        queue: redis.url,
        queueName,
        backoffMs: 200,
        set: ["train.epochs=150", "train.patience=500", "train.lr_patience=500"],
      });
      const w1 = spawn("w1");
      spawn("w2");
      const queue = openQueue(redis.url, queueName);
      let victim: string;
      try {
        victim = await until("w1 mid-training", async () => {
          for (const j of jobs) {
            const job = await queue.getJob(j.id);
            const p = job?.progress as Partial<ExperimentProgress> | undefined;
            if (
              p?.worker === "w1" && p.phase === "training" && p.epoch! >= 3 &&
              p.epoch! < 100 && (await job!.getState()) === "active"
            ) return j.id;
          }
          return null;
        }, 45_000);
      } finally {
        await queue.close();
      }
      w1.kill("SIGKILL");
      assertEquals((await w1.status).signal, "SIGKILL");
      const outcome = await waitForJobs({
        queue: redis.url,
        queueName,
        ids: jobs.map((j) => j.id),
        tty: false,
        write: () => {},
        intervalMs: 200,
        timeoutMs: 90_000,
      });
      assertEquals([outcome.completed, outcome.failed], [6, 0]);
      const redone = outcome.snapshots.find((s) => s.id === victim)!;
      assertEquals(redone.result?.worker, "w2", "the killed worker's job was re-delivered");
      await assertEachOnce(results, models, jobs.map((j) => j.id));
    }),
}));

Deno.test(withNeeds(["redis-server"], {
  name: "distributed: Redis restarted mid-sweep; workers reconnect and the sweep completes once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster(async ({ redis, queueName, results, models, spawn }) => {
      const jobs = await enqueueExperiments(SWEEP, {
        queue: redis.url,
        queueName,
        backoffMs: 200,
        set: ["train.epochs=40", "train.patience=500", "train.lr_patience=500"],
      });
      const workers = [
        spawn("w1", ["--lock-duration", "15000"]),
        spawn("w2", [
          "--lock-duration",
          "15000",
        ]),
      ];
      const queue = openQueue(redis.url, queueName);
      try {
        await until("a first completed job", async () => {
          const counts = await queue.getJobCounts("completed");
          return counts.completed >= 1 && counts.completed < 6;
        }, 45_000);
      } finally {
        await queue.close();
      }
      await redis.stop();
      await new Promise((r) => setTimeout(r, 1500));
      await redis.start();
      const outcome = await waitForJobs({
        queue: redis.url,
        queueName,
        ids: jobs.map((j) => j.id),
        tty: false,
        write: () => {},
        intervalMs: 200,
        timeoutMs: 90_000,
      });
      assertEquals([outcome.completed, outcome.failed], [6, 0]);
      assert(
        workers.some((w) => /unreachable|ECONNREFUSED|Connection is closed/.test(w.output())),
        "no worker noticed the outage",
      );
      await assertEachOnce(results, models, jobs.map((j) => j.id));
    }),
}));

/** The tiny sweep's first point with three seeds (1, 2, 3), and its jobs' plan. */
async function threeSeeds(set: string[] = []) {
  const [e] = await loadExperiments(SWEEP, { set: ["seeds=3", ...set] });
  const plan = jobPlanFor(e, await (await loadDataset(e.data.dataset)).fingerprint());
  return { e, plan, ids: [plan.data.configHash, ...plan.seeds.map((c) => c.id)] };
}

Deno.test(withNeeds(["redis"], {
  name:
    "distributed: a config of three seeds runs as seed jobs on two workers and is written once with every seed; a failed seed job fails it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster(async ({ redis, queueName, results, models, spawn }) => {
      const options = { queue: redis.url, queueName, attempts: 2, backoffMs: 200 };
      const { e, plan, ids } = await threeSeeds();
      const jobs = await addExperimentJobs([plan], options);
      assertEquals(jobs.map((j) => [j.id, j.outcome]), ids.map((id) => [id, "added"]));
      assertEquals(jobs[0].state, "waiting-children", "the config's job waits for its seeds");
      assertEquals(jobs.slice(1).map((j) => j.seedOf), [ids[0], ids[0]]);
      const again = await enqueueExperiments([e], options);
      assertEquals(again.map((j) => j.outcome), ["exists", "exists", "exists"]);
      // Another config's flow whose seed 3 job carries a config that is not its hash's: it fails
      // at once (unrecoverable), and fails its config's job with it.
      const poisoned = await threeSeeds(["name=distributed-poisoned"]);
      const bad = poisoned.plan.seeds[1];
      bad.data = { ...bad.data, configYaml: bad.data.configYaml.replace("seed: 3", "seed: 4") };
      await addExperimentJobs([poisoned.plan], options);
      spawn("w1");
      spawn("w2");
      const lines: string[] = [];
      const outcome = await waitForJobs({
        queue: redis.url,
        queueName,
        ids: [...ids, ...poisoned.ids],
        tty: false,
        write: (t) => lines.push(t),
        intervalMs: 200,
        timeoutMs: 90_000,
      });
      assert(!outcome.timedOut, lines.join(""));
      const state = (id: string) => outcome.snapshots.find((s) => s.id === id)!;
      assertEquals(ids.map((id) => state(id).state), ["completed", "completed", "completed"]);
      assertEquals(
        poisoned.ids.map((id) => state(id).state),
        ["failed", "completed", "failed"],
        lines.join(""),
      );
      assert(/config hash/.test(state(poisoned.ids[2]).failedReason ?? ""), lines.join(""));
      assert(
        (state(poisoned.ids[0]).failedReason ?? "").includes(poisoned.ids[2]),
        `the config's job names its failed seed job: ${state(poisoned.ids[0]).failedReason}`,
      );
      assert(lines.join("").includes(`${ids[0].slice(0, 8)}.seed-2`), "the table shows seed jobs");
      // One run record, the first seed's, holding all three; the seed jobs' runs are dropped.
      const records = await loadRuns(results);
      assertEquals(records.map((r) => r.configHash), [ids[0]]);
      const [record] = records;
      assertEquals(record.status, "complete");
      assertEquals(record.seedRuns?.runs.map((r) => r.seed), [1, 2, 3]);
      for (const [i, id] of ids.slice(1).entries()) {
        const seedRun = state(id).result?.seedRun;
        assertEquals(seedRun, record.seedRuns?.runs[i + 1], `seed job ${id}`);
        assertEquals(state(id).result?.dir, "");
      }
      // Models go by what determines them, not the name: the poisoned config's seed 2 (which
      // ran) is this config's seed 2.
      assertEquals(
        (await new FileModelStore(models).list()).sort(),
        record.seedRuns!.runs.map((r) => r.modelHash).sort(),
      );
      assertEquals(state(poisoned.ids[1]).result?.modelHash, record.seedRuns!.runs[1].modelHash);
      const left = [...Deno.readDirSync(results)].map((d) => d.name).filter((n) =>
        n.startsWith(".")
      );
      assertEquals(left, [], "no seed job left a folder");
    }, { sharedRedis: true }),
}));

Deno.test(withNeeds(["redis-server"], {
  name:
    "distributed: the worker of a config's job SIGKILLed mid-run; another writes its record of every seed, once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster(async ({ redis, queueName, results, spawn }) => {
      const { plan, ids } = await threeSeeds([
        "train.epochs=150",
        "train.patience=500",
        "train.lr_patience=500",
      ]);
      await addExperimentJobs([plan], { queue: redis.url, queueName, backoffMs: 200 });
      const workers = new Map([["w1", spawn("w1")], ["w2", spawn("w2")]]);
      const queue = openQueue(redis.url, queueName);
      let victim: string;
      try {
        // The config's job runs only after both seed jobs: catch its worker mid-training.
        victim = await until("the config's job mid-training", async () => {
          const job = await queue.getJob(ids[0]);
          const p = job?.progress as Partial<ExperimentProgress> | undefined;
          return p?.phase === "training" && p.epoch! >= 3 && p.epoch! < 100 &&
            (await job!.getState()) === "active" && p.worker;
        }, 90_000);
      } finally {
        await queue.close();
      }
      const killed = workers.get(victim)!;
      killed.kill("SIGKILL");
      assertEquals((await killed.status).signal, "SIGKILL");
      const outcome = await waitForJobs({
        queue: redis.url,
        queueName,
        ids,
        tty: false,
        write: () => {},
        intervalMs: 200,
        timeoutMs: 90_000,
      });
      assertEquals([outcome.completed, outcome.failed], [3, 0]);
      const parent = outcome.snapshots[0];
      assert(parent.result && parent.result.worker !== victim, JSON.stringify(parent.result));
      const records = await loadRuns(results);
      assertEquals(records.map((r) => [r.configHash, r.status]), [[ids[0], "complete"]]);
      assertEquals(records[0].seedRuns?.runs.map((r) => r.seed), [1, 2, 3]);
    }),
}));

Deno.test(withNeeds(["redis"], {
  name:
    "distributed: a config whose seed jobs failed is retried with them when enqueued again, and waits for them",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // The dataset is in a data root of the test's own, taken away while the workers first run.
    const roots = await Deno.makeTempDir({ prefix: "alfred-flaky-data-" });
    const before = Deno.env.get("ALFRED_DATA_PATH");
    Deno.env.set("ALFRED_DATA_PATH", roots);
    try {
      await new Deno.Command("cp", {
        args: [
          "-r",
          new URL("../data/dow30-1991-2000", import.meta.url).pathname,
          `${roots}/flaky`,
        ],
      }).output();
      await withCluster(async ({ redis, queueName, results, spawn }) => {
        const options = { queue: redis.url, queueName, attempts: 1, backoffMs: 200 };
        const { e, ids } = await threeSeeds(["data.dataset=flaky"]);
        await enqueueExperiments([e], options);
        await Deno.rename(`${roots}/flaky`, `${roots}/away`);
        spawn("w1");
        spawn("w2");
        const wait = () =>
          waitForJobs({
            queue: redis.url,
            queueName,
            ids,
            tty: false,
            write: () => {},
            intervalMs: 200,
            timeoutMs: 60_000,
          });
        const first = await wait();
        assertEquals(first.snapshots.map((s) => s.state), ["failed", "failed", "failed"]);
        assert(/has no dataset "flaky"/.test(first.snapshots[1].failedReason ?? ""));
        assertEquals(await listRuns(results), []);
        await Deno.rename(`${roots}/away`, `${roots}/flaky`);
        const again = await enqueueExperiments([e], options);
        assertEquals(again.map((j) => j.outcome), ["retried", "retried", "retried"]);
        const second = await wait();
        assertEquals(second.snapshots.map((s) => s.state), ["completed", "completed", "completed"]);
        const records = await loadRuns(results);
        assertEquals(records.map((r) => r.configHash), [ids[0]]);
        assertEquals(records[0].seedRuns?.runs.map((r) => r.seed), [1, 2, 3]);
      });
    } finally {
      if (before === undefined) Deno.env.delete("ALFRED_DATA_PATH");
      else Deno.env.set("ALFRED_DATA_PATH", before);
      await Deno.remove(roots, { recursive: true });
    }
  },
}));
