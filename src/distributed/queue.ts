/**
 * The experiment queue: resolved experiments become BullMQ jobs in Redis, which workers on any
 * number of machines take one at a time (`deno task worker --queue redis://HOST:6379`).
 *
 * One job per resolved config (a `sweep:` becomes many jobs). A job carries the resolved config as
 * YAML, its config hash and the fingerprint of the dataset it was resolved against; its job id is
 * the config hash, so enqueueing the same config twice does not duplicate it (a failed one is
 * retried instead, since its cause may have been fixed meanwhile).
 *
 * A config of several seeds (`seeds:`) is a BullMQ flow: each later seed is a seed job of its own
 * (id `<config hash>.seed-<seed>`), a child of the config's job, so workers run the seeds at the
 * same time; the config's job waits until every seed job has completed, then runs the first seed
 * and writes its record with every seed's results, once. BullMQ moves the parent on only when its
 * last child completes (atomically, in Redis), so no worker has to decide that it finished last,
 * and a worker that dies, in a seed job or in the parent, loses its lock and the job goes to
 * another worker; a seed job that fails for good fails the config's job with it. The price: the
 * first seed starts only after the others, so with a worker per seed a config takes two runs'
 * time rather than one; the record is written whole wherever the config's job runs, from what
 * Redis holds (the seed jobs' results), with no results folder shared between workers.
 *
 * @module
 */
import { FlowProducer, Queue } from "bullmq";
import { Redis } from "ioredis";
import { hostname } from "node:os";
import { loadExperiments } from "../config/load.ts";
import { configHash } from "../config/hash.ts";
import { experimentToYaml } from "../config/yaml.ts";
import type { Experiment } from "../config/schema.ts";
import { loadExperimentDataset } from "../data/synth_cache.ts";
import type { SeedRun } from "../record/mod.ts";
import { redact, registerUrlSecrets } from "../redact.ts";
import { seedList, withSeed } from "../seeds.ts";

/** The queue name used when none is given. */
export const DEFAULT_QUEUE_NAME = "alfred-experiments";
/** Prefix of every Redis key the queue uses. */
export const QUEUE_PREFIX = "alfred";
/** Format tag of {@link ExperimentJobData}; workers refuse other formats. */
export const JOB_FORMAT = "alfred-job/1";

/** What one job carries: everything a worker needs to run the experiment and check its data. */
export interface ExperimentJobData {
  format: typeof JOB_FORMAT;
  /** The experiment's `name`. */
  experiment: string;
  /** The resolved config (`experimentToYaml`), the single source of what to run. */
  configYaml: string;
  /** `configHash` of the resolved config; also the job id. */
  configHash: string;
  /** `data.dataset` as written in the config. */
  dataset: string;
  /** `Dataset.fingerprint()` on the machine that enqueued the job; workers must have the same. */
  dataFingerprint: string;
  /** Host that enqueued the job. */
  enqueuedBy: string;
  /**
   * On a seed job (one later seed of a config of several seeds): the id of the config's job. Its
   * run is not kept: the seed's results go back in {@link ExperimentJobResult.seedRun}.
   */
  seedOf?: string;
  /**
   * On the job of a config of several seeds whose later seeds are seed jobs (its children): their
   * ids, in seed order. Without it, the job runs every seed itself.
   */
  seedJobs?: string[];
}

/** Progress a worker reports through the queue (`job.updateProgress`). */
export interface ExperimentProgress {
  /** Worker name (`host:pid` unless given). */
  worker: string;
  /** What the run is doing now. */
  phase: "preparing" | "training" | "finishing";
  /** Fold label as the trainer prints it (`train`, `fold-1`, ...), when training. */
  fold?: string;
  epoch?: number;
  epochs?: number;
  loss?: number;
  valLoss?: number;
  bestValLoss?: number;
  /** Upper bound on the seconds left in this fold's training (early stopping may end it sooner). */
  etaSeconds?: number;
  /** Unix milliseconds of this report. */
  at: number;
}

/** What a completed job returns (`job.returnvalue`). */
export interface ExperimentJobResult {
  runId: string;
  /** The run folder the worker wrote (on the worker's machine or share); empty for a seed job's run, which is dropped. */
  dir: string;
  status: string;
  /** Config hash of the run as executed (differs from the job id when `--backend` overrode it). */
  configHash: string;
  modelHash: string;
  restoredFromStore: boolean;
  bestValLoss: number | null;
  worker: string;
  /** True when a complete record of this config already existed and nothing was run again. */
  alreadyDone: boolean;
  /** A seed job's results, for the config's job to combine (its run folder is not kept). */
  seedRun?: SeedRun;
}

/** Options of the jobs Alfred adds: retries with backoff, nothing removed so ids stay unique. */
export interface JobPolicy {
  /** Attempts before a job is failed (default 3); unrecoverable errors fail at once. */
  attempts?: number;
  /** First retry delay in milliseconds, doubled each retry (default 5000). */
  backoffMs?: number;
}

/**
 * Check a queue URL: `redis://[user:password@]host[:port][/db]` or `rediss://...`.
 *
 * @param url the URL given with `--queue`
 * @returns the URL unchanged
 * @throws {TypeError} naming the value and what is allowed
 */
export function checkQueueUrl(url: string): string {
  registerUrlSecrets(url);
  const shown = redact(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Invalid queue URL "${shown}": expected redis://HOST:PORT`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(
      `Invalid queue URL "${shown}": scheme "${parsed.protocol}" is not allowed; expected redis:// or rediss://`,
    );
  }
  if (!parsed.hostname) throw new TypeError(`Invalid queue URL "${shown}": no host`);
  return url;
}

const CAUSES: { test: RegExp; cause: string }[] = [
  { test: /\bECONNREFUSED\b/, cause: "connection refused (ECONNREFUSED)" },
  { test: /\bWRONGPASS\b|invalid (username-)?password/i, cause: "authentication failed" },
  { test: /\bNOAUTH\b/, cause: "authentication failed: the server needs a password" },
  { test: /AUTH.*without any password configured/i, cause: "authentication failed" },
  { test: /\bETIMEDOUT\b|timed? ?out/i, cause: "connection timed out (ETIMEDOUT)" },
  { test: /\bENOTFOUND\b|\bEAI_AGAIN\b|getaddrinfo/i, cause: "host not found (DNS)" },
  { test: /\bECONNRESET\b/, cause: "connection reset by the server (ECONNRESET)" },
  { test: /\bEHOSTUNREACH\b|\bENETUNREACH\b/, cause: "host unreachable" },
];

function errorText(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  return `${e?.code ?? ""} ${e?.message ?? String(error)}`;
}

/**
 * Why a Redis connection failed, in words: `connection refused (ECONNREFUSED)`,
 * `authentication failed`, `connection timed out (ETIMEDOUT)`, `host not found (DNS)`, ... or,
 * for anything else, the error's message; never a secret.
 *
 * @param error what ioredis or BullMQ emitted or threw
 * @returns the cause, redacted
 */
export function redisFailureCause(error: unknown): string {
  const text = errorText(error);
  const known = CAUSES.find((c) => c.test.test(text));
  const message = String((error as Error | null)?.message ?? error);
  if (known?.cause.startsWith("authentication")) {
    // The server's own words say which part was wrong; the command (AUTH PW) is never shown.
    const words = message.replace(/^(ReplyError: )?/, "").split("\n")[0].replace(/\.$/, "");
    return redact(`${known.cause}: ${words}`);
  }
  return known ? known.cause : redact(message.split("\n")[0]);
}

/**
 * Whether an error means the credentials were refused: retrying cannot fix it.
 *
 * @param error what ioredis or BullMQ emitted or threw
 * @returns true for WRONGPASS, NOAUTH and similar answers
 */
export function isRedisAuthFailure(error: unknown): boolean {
  return redisFailureCause(error).startsWith("authentication failed");
}

/**
 * Whether an error is about the connection itself (refused, closed, timed out, DNS, auth), which
 * the connection's status lines already report, rather than about a command.
 *
 * @param error what ioredis or BullMQ emitted
 * @returns true for connection errors
 */
export function isRedisConnectionError(error: unknown): boolean {
  const text = errorText(error);
  return CAUSES.some((c) => c.test.test(text)) ||
    /Connection is closed|ECONNABORTED|EPIPE/.test(text);
}

/** How a connection behaves when Redis is away. */
export interface ConnectionOptions {
  /**
   * `worker`: retry every command and reconnect forever (what BullMQ workers need);
   * `client`: give up on a command after a few reconnections, so a command line fails instead of
   * hanging when Redis is down.
   */
  role: "worker" | "client";
  /**
   * Called with one short, redacted line when the connection drops (with its cause) and when it
   * comes back; never once per retry.
   */
  onStatus?: (message: string, error?: Error) => void;
}

/**
 * An ioredis connection for BullMQ: reconnects with a capped backoff and reports a drop once,
 * naming the URL without its password and the cause in words (every retry's `error` event is
 * handled, so ioredis prints no stack traces).
 *
 * @param url a checked queue URL
 * @param options role and status callback
 * @returns the connection (connecting in the background)
 */
export function redisConnection(url: string, options: ConnectionOptions): Redis {
  checkQueueUrl(url);
  const shown = redact(url);
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.role === "worker" ? null : 3,
    enableReadyCheck: true,
    connectTimeout: 5000,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  });
  let down = false;
  redis.on("error", (error: Error) => {
    if (!down) {
      options.onStatus?.(
        `Redis at "${shown}" unreachable: ${redisFailureCause(error)}; reconnecting`,
        error,
      );
    }
    down = true;
  });
  redis.on("ready", () => {
    if (down) options.onStatus?.(`Redis at "${shown}" reachable again`);
    down = false;
  });
  return redis;
}

/**
 * Wait until a connection is ready, however long Redis stays away (its drops are reported by the
 * connection's status callback); fail at once, closing it, when Redis refuses the credentials.
 *
 * @param redis a connection from {@link redisConnection}
 * @param url its URL, for the message (shown without its password)
 * @throws {Error} naming the URL and the server's answer when the credentials are refused
 */
export async function redisReady(redis: Redis, url: string): Promise<void> {
  if (redis.status === "ready") return;
  let onReady: (() => void) | undefined;
  let onError: ((error: Error) => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onError = (error: Error) => {
        if (!isRedisAuthFailure(error)) return;
        redis.disconnect();
        reject(
          new Error(`Cannot connect to Redis at "${redact(url)}": ${redisFailureCause(error)}`),
        );
      };
      redis.once("ready", onReady);
      redis.on("error", onError);
    });
  } finally {
    redis.off("ready", onReady!);
    redis.off("error", onError!);
  }
}

/** The last error each open queue's connection reported (for {@link waitForRedis}'s message). */
const lastQueueError = new WeakMap<Queue, Error>();

/**
 * Open the experiment queue for adding and inspecting jobs. The queue's `error` events (one per
 * reconnection while Redis is away) are handled: the last one is kept for {@link waitForRedis},
 * and drops are told once through `onStatus` when given.
 *
 * @param url a queue URL (`redis://HOST:PORT`)
 * @param name the queue name (default {@link DEFAULT_QUEUE_NAME})
 * @param onStatus told once when the connection drops and when it comes back
 * @returns the BullMQ queue; close it with `await queue.close()`
 */
export function openQueue(
  url: string,
  name = DEFAULT_QUEUE_NAME,
  onStatus?: (message: string) => void,
): Queue {
  const queue = new Queue(name, {
    connection: redisConnection(url, { role: "client", onStatus }),
    prefix: QUEUE_PREFIX,
  });
  queue.on("error", (error: Error) => lastQueueError.set(queue, error));
  return queue;
}

/**
 * Wait until the queue's Redis answers, or fail with one clear line: refused credentials fail at
 * once, anything else (refused connection, DNS, timeout) after `timeoutMs`, naming the cause.
 *
 * @param queue an open queue (from {@link openQueue})
 * @param url its URL, for the message (shown without its password)
 * @param timeoutMs how long to wait (default 10 s)
 * @throws {Error} naming the URL and the cause when Redis refuses the credentials or does not
 *   answer in time
 */
export async function waitForRedis(queue: Queue, url: string, timeoutMs = 10_000): Promise<void> {
  const shown = redact(url);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onError: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const last = lastQueueError.get(queue);
      reject(
        new Error(
          `Cannot reach Redis at "${shown}" within ${timeoutMs / 1000} s: ${
            last ? redisFailureCause(last) : "no answer"
          }`,
        ),
      );
    }, timeoutMs);
    onError = (error: Error) => {
      if (isRedisAuthFailure(error)) {
        reject(new Error(`Cannot connect to Redis at "${shown}": ${redisFailureCause(error)}`));
      }
    };
    queue.on("error", onError);
  });
  try {
    await Promise.race([queue.waitUntilReady(), failed]);
  } finally {
    clearTimeout(timer);
    if (onError) queue.off("error", onError);
  }
}

/**
 * The job data of one resolved experiment.
 *
 * @param e the resolved experiment
 * @param dataFingerprint `Dataset.fingerprint()` of its dataset
 * @returns the job data
 */
export function jobDataFor(e: Experiment, dataFingerprint: string): ExperimentJobData {
  return {
    format: JOB_FORMAT,
    experiment: e.name,
    configYaml: experimentToYaml(e),
    configHash: configHash(e),
    dataset: e.data.dataset,
    dataFingerprint,
    enqueuedBy: hostname(),
  };
}

/**
 * The id of a seed job.
 *
 * @param parentId the id of the config's job (its config hash)
 * @param seed the seed
 * @returns `<parentId>.seed-<seed>`
 */
export function seedJobId(parentId: string, seed: number): string {
  return `${parentId}.seed-${seed}`;
}

/**
 * A job id as tables and lines show it: a config hash's first 8 digits, and a seed job's suffix.
 *
 * @param id a job id
 * @returns e.g. `bc66c2b3` or `bc66c2b3.seed-43`
 * @example
 * ```ts
 * shortJobId(`${"ab".repeat(32)}.seed-43`); // "abababab.seed-43"
 * ```
 */
export function shortJobId(id: string): string {
  return id.replace(/^([0-9a-f]{8})[0-9a-f]*/, "$1");
}

/** What to enqueue for one resolved config: its job, and the seed jobs it waits for. */
export interface JobPlan {
  /** The config's job. */
  data: ExperimentJobData;
  /** Its seed jobs (none for a config of one seed), in seed order. */
  seeds: { id: string; data: ExperimentJobData }[];
}

/**
 * The jobs of one resolved config: one job; with several seeds, also one seed job per later seed
 * (the single-seed config, `withSeed`), whose ids the config's job lists in `seedJobs`.
 *
 * @param e the resolved experiment
 * @param dataFingerprint `Dataset.fingerprint()` of its dataset
 * @returns the config's job and its seed jobs
 */
export function jobPlanFor(e: Experiment, dataFingerprint: string): JobPlan {
  const data = jobDataFor(e, dataFingerprint);
  const later = seedList(e).slice(1);
  if (later.length === 0) return { data, seeds: [] };
  const seeds = later.map((seed) => ({
    id: seedJobId(data.configHash, seed),
    data: { ...jobDataFor(withSeed(e, seed), dataFingerprint), seedOf: data.configHash },
  }));
  return { data: { ...data, seedJobs: seeds.map((c) => c.id) }, seeds };
}

/** One job as enqueued. */
export interface EnqueuedJob {
  /** The job id: the config hash (a seed job: {@link seedJobId}). */
  id: string;
  experiment: string;
  /** `added`: new; `exists`: already queued, running or done; `retried`: was failed, queued again. */
  outcome: "added" | "exists" | "retried";
  /** The job's state after enqueueing (`waiting`, `waiting-children`, `completed`, ...). */
  state: string;
  /** A seed job's config job id. */
  seedOf?: string;
}

/** Options of {@link enqueueExperiments}. */
export interface EnqueueOptions extends JobPolicy {
  /** Queue URL, `redis://HOST:PORT`. */
  queue: string;
  /** Queue name (default {@link DEFAULT_QUEUE_NAME}). */
  queueName?: string;
  /** `--set key=value` overrides, when `source` is a file. */
  set?: string[];
}

/**
 * Add jobs to the queue, one per config hash; a config of several seeds as a flow of its job and
 * its seed jobs. A job already there is left as it is, unless it failed: then it is retried, with
 * its failed seed jobs (a seed job that is gone is added again, as the whole flow).
 *
 * @param plans the jobs (see {@link jobPlanFor})
 * @param options queue URL, name and retry policy
 * @returns one entry per job, each config's job before its seed jobs
 * @throws {Error} when Redis cannot be reached
 */
export async function addExperimentJobs(
  plans: JobPlan[],
  options: Omit<EnqueueOptions, "set">,
): Promise<EnqueuedJob[]> {
  const queue = openQueue(checkQueueUrl(options.queue), options.queueName);
  let flows: FlowProducer | null = null;
  const jobOptions = {
    attempts: options.attempts ?? 3,
    backoff: { type: "exponential", delay: options.backoffMs ?? 5000 },
    removeOnComplete: false,
    removeOnFail: false,
  };
  const entry = async (
    id: string,
    data: ExperimentJobData,
    outcome: EnqueuedJob["outcome"],
  ): Promise<EnqueuedJob> => ({
    id,
    experiment: data.experiment,
    outcome,
    state: await (await queue.getJob(id))?.getState() ?? "missing",
    ...(data.seedOf === undefined ? {} : { seedOf: data.seedOf }),
  });
  try {
    await waitForRedis(queue, options.queue);
    const out: EnqueuedJob[] = [];
    for (const { data, seeds } of plans) {
      const existing = await queue.getJob(data.configHash);
      if (existing) {
        const failed = await existing.getState() === "failed";
        const children = await Promise.all(seeds.map((c) => queue.getJob(c.id)));
        if (!failed || children.every((c) => c)) {
          // Failed seed jobs go back to their parent's dependencies before the parent is retried;
          // a retried parent whose seeds are still running waits for them again.
          const retried = new Set<string>();
          for (const [i, c] of children.entries()) {
            if (failed && await c!.getState() === "failed") {
              await c!.retry("failed");
              retried.add(seeds[i].id);
            }
          }
          if (failed) await existing.retry("failed");
          out.push(await entry(data.configHash, data, failed ? "retried" : "exists"));
          for (const c of seeds) {
            out.push(await entry(c.id, c.data, retried.has(c.id) ? "retried" : "exists"));
          }
          continue;
        }
        // A failed config's job with a seed job gone: added again, as a whole flow (its seed jobs
        // still there keep what they did).
        await existing.remove({ removeChildren: false });
      }
      if (seeds.length === 0) {
        await queue.add(data.experiment, data, { ...jobOptions, jobId: data.configHash });
      } else {
        flows ??= new FlowProducer({
          connection: redisConnection(options.queue, { role: "client" }),
          prefix: QUEUE_PREFIX,
        });
        await flows.add({
          name: data.experiment,
          queueName: queue.name,
          data,
          opts: { ...jobOptions, jobId: data.configHash },
          children: seeds.map((c) => ({
            name: c.data.experiment,
            queueName: queue.name,
            data: c.data,
            opts: { ...jobOptions, jobId: c.id, failParentOnFailure: true },
          })),
        });
      }
      const outcome = existing ? "retried" : "added";
      out.push(await entry(data.configHash, data, outcome));
      for (const c of seeds) out.push(await entry(c.id, c.data, outcome));
    }
    return out;
  } finally {
    await flows?.close();
    await queue.close();
  }
}

/**
 * Enqueue every resolved config of an experiment file (or of given experiments): one job each
 * (and, with several seeds, a seed job per later seed), with the fingerprint of its dataset as
 * found on this machine.
 *
 * @param source an experiment YAML file, or resolved experiments
 * @param options queue URL and name, `--set` overrides, retry policy
 * @returns one entry per job, in sweep order, each config's job before its seed jobs
 * @throws {ConfigError} when the file is invalid (nothing is enqueued then)
 * @throws {DatasetError} when a dataset is not on this machine (its fingerprint is needed)
 * @example
 * ```ts
 * const jobs = await enqueueExperiments("experiments/magnitude-sweep.yaml",
 *   { queue: "redis://127.0.0.1:6379" });
 * ```
 */
export async function enqueueExperiments(
  source: string | Experiment[],
  options: EnqueueOptions,
): Promise<EnqueuedJob[]> {
  checkQueueUrl(options.queue);
  const experiments = typeof source === "string"
    ? await loadExperiments(source, { set: options.set })
    : source;
  const fingerprints = new Map<string, string>();
  const plans: JobPlan[] = [];
  for (const e of experiments) {
    // A generated dataset (data.synth) is generated here first, so workers can be held to it.
    const key = e.data.synth ? JSON.stringify(e.data) : e.data.dataset;
    let fingerprint = fingerprints.get(key);
    if (fingerprint === undefined) {
      fingerprint = await (await loadExperimentDataset(e)).dataset.fingerprint();
      fingerprints.set(key, fingerprint);
    }
    plans.push(jobPlanFor(e, fingerprint));
  }
  return await addExperimentJobs(plans, options);
}
