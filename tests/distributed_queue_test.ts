/**
 * Distributed sweeps on a real Redis (Debian's `redis-server`, started by each test on a free
 * local port; `.ci/run` installs it): worker processes run a sweep of six quick experiments and
 * each finishes exactly once, also when a worker is SIGKILLed mid-training or Redis restarts
 * mid-sweep; a poisoned job fails with its recorded error while the others complete.
 */
import { assert, assertEquals } from "./assert.ts";
import { enqueueExperiments, openQueue } from "../src/distributed/queue.ts";
import type { ExperimentProgress } from "../src/distributed/queue.ts";
import { waitForJobs } from "../src/distributed/wait_table.ts";
import { listRuns } from "../src/store/run_record.ts";
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
