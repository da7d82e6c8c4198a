/**
 * The experiment worker: takes jobs from the queue (see `queue.ts`), runs each and reports
 * progress through the queue. A config of several seeds comes as a flow: each later seed's seed
 * job runs that seed alone and sends its results back (its run folder is dropped); the config's
 * job, which BullMQ hands out only once all of its seed jobs have completed, runs the first seed
 * and writes its record with every seed's results in one write. A job of several seeds without
 * seed jobs runs every seed itself (`runSeeds`).
 *
 * Crash safety comes from BullMQ and the stores, not from the worker: a worker killed mid-job loses
 * its lock, the job is found stalled and handed to another worker; models are stored under their
 * content hash, so a re-delivered job whose model was already stored restores it instead of
 * training; run folders are renamed into place when complete, and a re-delivered job whose
 * complete record already exists (the worker died between writing it and reporting completion)
 * returns that run instead of running again (for a config of several seeds: a record that holds
 * every seed's results).
 *
 * Failures that retrying cannot fix (an invalid config, bad data, a model that will not fit) fail
 * the job at once with the error recorded; others are retried with backoff. A worker that does not
 * have the job's dataset, with the same fingerprint, refuses it: the job goes back for another
 * worker to take, and fails with that message when no worker has the data.
 *
 * @module
 */
import { type Job, UnrecoverableError, WaitingChildrenError, Worker } from "bullmq";
import { hostname } from "node:os";
import { ConfigError } from "../config/errors.ts";
import { configHash } from "../config/hash.ts";
import { parseExperimentText } from "../config/load.ts";
import type { Backend, Experiment } from "../config/schema.ts";
import { DatasetError, defaultDataRoot, loadDataset, MissingTableError } from "../data/dataset.ts";
import { loadExperimentDataset } from "../data/synth_cache.ts";
import { runExperiment, type RunOptions } from "../pipeline.ts";
import { SeedRun } from "../record/mod.ts";
import { firstSeed, runSeeds, seedList, seedRun, withSeedRuns } from "../seeds.ts";
import { redact } from "../redact.ts";
import type { EpochLog } from "@alfred/engines";
import type { ModelStore } from "../store/model_store.ts";
import { listRuns, readRunRecord, type RunRecord, withDroppedRuns } from "../store/run_record.ts";
import { type DataStore, type RunStore, summarize } from "../store/stores.ts";
import {
  DEFAULT_QUEUE_NAME,
  type ExperimentJobData,
  type ExperimentJobResult,
  type ExperimentProgress,
  isRedisAuthFailure,
  isRedisConnectionError,
  JOB_FORMAT,
  QUEUE_PREFIX,
  redisConnection,
  redisReady,
} from "./queue.ts";

/** This worker cannot run the job here (no such dataset, or another fingerprint); another may. */
export class DatasetUnavailableError extends Error {
  /**
   * @param message what is missing, naming the worker, the dataset and both fingerprints
   * @param dataset the dataset the job asks for
   */
  constructor(message: string, readonly dataset: string) {
    super(message);
    this.name = "DatasetUnavailableError";
  }
}

/** The job's data is not an Alfred job (another producer, or a newer format). */
export class JobFormatError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "JobFormatError";
  }
}

/**
 * The seed jobs of a config's job have not all left results, and none is pending: they were
 * removed from the queue, or run by a worker of an Alfred without seed jobs. Enqueueing the
 * experiment again adds them anew.
 */
export class SeedResultsMissingError extends Error {
  override name = "SeedResultsMissingError";
}

/**
 * Whether retrying cannot fix `error`: invalid configs or job data, data errors, type and range
 * errors (the model "will not fit", unknown tickers, ...). A missing dataset on this worker is
 * not one of them: another worker may have it.
 *
 * @param error what the run threw
 * @returns true when the job should fail at once
 */
export function isUnrecoverable(error: unknown): boolean {
  if (error instanceof DatasetUnavailableError) return false;
  return error instanceof ConfigError || error instanceof DatasetError ||
    error instanceof MissingTableError || error instanceof JobFormatError ||
    error instanceof SeedResultsMissingError ||
    error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError;
}

const PROGRESS_LINE =
  /^(\S+) epoch\s+(\d+)\/(\d+)\s+loss (\S+)\s+val (\S+) \(best (\S+) @\d+\)\s+lr \S+\s+([\d.]+)s\/epoch/;

/** One epoch as read from the trainer's plain progress line. */
export interface EpochProgress {
  fold: string;
  epoch: number;
  epochs: number;
  loss: number;
  valLoss: number;
  bestValLoss: number;
  secondsPerEpoch: number;
}

/**
 * Read one plain (non-terminal) progress line of `progressReporter`
 * (`train epoch 3/150  loss 0.69  val 0.70 (best 0.69 @2)  lr 0.001  0.05s/epoch  eta ≤7s`).
 *
 * @param line one line
 * @returns the epoch's numbers, or null when the line is not an epoch line
 */
export function parseProgressLine(line: string): EpochProgress | null {
  const m = PROGRESS_LINE.exec(line.trim());
  if (!m) return null;
  return {
    fold: m[1],
    epoch: Number(m[2]),
    epochs: Number(m[3]),
    loss: Number(m[4]),
    valLoss: Number(m[5]),
    bestValLoss: Number(m[6]),
    secondsPerEpoch: Number(m[7]),
  };
}

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** Queue URL, `redis://HOST:PORT`. */
  queue: string;
  /** Queue name (default {@link DEFAULT_QUEUE_NAME}). */
  queueName?: string;
  /** Name shown in the job table (default `host:pid`). */
  name?: string;
  /** Jobs run at once (default 1; more only helps CPU-only hosts with idle cores). */
  concurrency?: number;
  /** Backend replacing the config's `train.backend` (default: the config's). */
  backend?: Backend;
  /** Results folder the run records are written to. */
  resultsDir: string;
  /** Where models are kept (a shared store lets any machine restore them). */
  store: ModelStore;
  /** A shared results store each finished run is copied to, when given. */
  runStore?: RunStore;
  /** A shared data store a missing dataset is fetched from (by the job's fingerprint), when given. */
  dataStore?: DataStore;
  /** Folder datasets are looked up in by name, and fetched into (default: the repository's `data/`). */
  dataRoot?: string;
  /** Folder for training checkpoints (default `.alfred/checkpoints`). */
  checkpointDir?: string;
  /** Milliseconds a job's lock lasts without renewal before it counts as stalled (default 60 000). */
  lockDuration?: number;
  /** Milliseconds between checks for stalled jobs (default 30 000). */
  stalledInterval?: number;
  /** Times a job may stall (its worker died) before it is failed (default 3). */
  maxStalledCount?: number;
  /** One line of information. */
  log: (line: string) => void;
}

/** A running worker. */
export interface ExperimentWorker {
  /** The worker's name as shown in the job table. */
  readonly name: string;
  /** The BullMQ worker. */
  readonly worker: Worker<ExperimentJobData, ExperimentJobResult>;
  /** Stop taking jobs, wait for the running ones to finish, disconnect. */
  close(): Promise<void>;
}

/** The minimal job interface {@link processExperimentJob} uses (a BullMQ job has it). */
export interface JobLike {
  id?: string;
  data: ExperimentJobData;
  attemptsMade: number;
  updateProgress(progress: ExperimentProgress): Promise<void>;
  /** BullMQ's lock renewal: 1 while `token` holds the job's lock, else 0. */
  extendLock?(token: string, duration: number): Promise<number>;
  /** BullMQ: the return values of the job's completed children (its seed jobs), by job key. */
  getChildrenValues?(): Promise<Record<string, unknown> | undefined>;
  /**
   * BullMQ: while a child is pending, move the job back to wait for its children (true); false
   * when none is pending.
   */
  moveToWaitingChildren?(token: string): Promise<boolean>;
}

/**
 * The worker lost its job's lock before writing the run: a worker whose event loop was held up
 * past the lock's duration (a long synchronous step) finds its job handed to another worker,
 * which writes the run; this one writes nothing.
 */
export class JobLockLostError extends Error {
  override name = "JobLockLostError";
}

/**
 * One-at-a-time gate: with `--concurrency` above 1, runs of one process start one after another
 * (backend selection and data preparation touch tfjs' global state) and overlap only once
 * training has begun.
 */
export class StartGate {
  #tail: Promise<void> = Promise.resolve();

  /**
   * Wait for the gate.
   *
   * @returns a function that opens it again (calling it twice is harmless)
   */
  async enter(): Promise<() => void> {
    let open!: () => void;
    const next = new Promise<void>((r) => (open = r));
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    await previous;
    let done = false;
    return () => {
      if (!done) open();
      done = true;
    };
  }
}

/** What {@link processExperimentJob} needs besides the job. */
export type ProcessContext =
  & Omit<
    WorkerOptions,
    "queue" | "queueName" | "concurrency" | "lockDuration" | "stalledInterval" | "maxStalledCount"
  >
  & {
    name: string;
    gate?: StartGate;
    /** How long a lock renewal lasts (the worker's `lockDuration`). */
    lockDuration?: number;
  };

/**
 * The resolved experiment a job carries, checked against its config hash, with `backend` applied.
 *
 * @param data the job data
 * @param backend a backend overriding the config's
 * @returns the experiment to run
 * @throws {JobFormatError} when the data is not an Alfred job or its hash does not match
 * @throws {ConfigError} when the config does not validate here (another Alfred version)
 */
export async function experimentOfJob(
  data: ExperimentJobData,
  backend?: Backend,
): Promise<Experiment> {
  if (!data || data.format !== JOB_FORMAT || typeof data.configYaml !== "string") {
    throw new JobFormatError(
      `Job data is not an Alfred job: expected format "${JOB_FORMAT}", got "${data?.format}"`,
    );
  }
  // A job carries its config resolved: no folder, so no extends (a worker read /etc/hostname).
  const points = await parseExperimentText(data.configYaml, `job ${data.configHash}.yaml`, {
    root: null,
  });
  if (points.length !== 1) {
    throw new JobFormatError(`Job ${data.configHash} holds ${points.length} configs: expected 1`);
  }
  const e = points[0];
  const hash = configHash(e);
  if (hash !== data.configHash) {
    throw new JobFormatError(
      `Job ${data.configHash} resolves to config hash "${hash}" here: ` +
        "the worker's Alfred version reads the config differently",
    );
  }
  return backend && backend !== e.train.backend ? { ...e, train: { ...e.train, backend } } : e;
}

/**
 * Checks that this worker generates a job's `data.synth` dataset as the machine that enqueued it
 * did: generated into this machine's cache when missing, then compared by fingerprint (another
 * generator version gives other bytes, and the job is refused).
 *
 * @param data the job data
 * @param e the job's experiment
 * @param worker this worker's name, for the message
 * @param log told when the dataset is generated
 * @param cacheDir the cache of generated datasets (default `.alfred/synth`)
 * @throws {DatasetUnavailableError} when the fingerprints differ
 */
export async function checkSynthJobDataset(
  data: ExperimentJobData,
  e: Experiment,
  worker: string,
  log: (line: string) => void,
  cacheDir?: string,
): Promise<void> {
  const { dataset } = await loadExperimentDataset(e, { log, cacheDir });
  const fingerprint = await dataset.fingerprint();
  if (fingerprint !== data.dataFingerprint) {
    throw new DatasetUnavailableError(
      `Worker "${worker}" refuses job ${data.configHash.slice(0, 8)} (${data.experiment}): ` +
        `its generated dataset "${data.dataset}" (data.synth) has fingerprint ${
          fingerprint.slice(0, 12)
        }, the job was enqueued with ${
          data.dataFingerprint.slice(0, 12)
        }: the generators differ (check out the enqueuing machine's commit)`,
      data.dataset,
    );
  }
}

/** Where {@link checkJobDataset} looks for data, and where it may fetch it from. */
export interface DataSource {
  /** Shared data store holding datasets by name and fingerprint. */
  dataStore?: DataStore;
  /** Folder datasets are looked up in by name (default: the repository's `data/`). */
  dataRoot?: string;
  /** Told when a dataset is fetched. */
  log?: (line: string) => void;
}

/**
 * Check that this machine has the job's dataset with the job's fingerprint; when it has no folder
 * of that name and the shared data store holds that exact dataset, fetch it first. A local dataset
 * of the same name with other data is never replaced.
 *
 * @param data the job data
 * @param worker this worker's name, for the message
 * @param source the data folder and shared data store
 * @throws {DatasetUnavailableError} naming worker, dataset and fingerprints
 */
export async function checkJobDataset(
  data: ExperimentJobData,
  worker: string,
  source: DataSource = {},
): Promise<void> {
  const root = source.dataRoot ?? defaultDataRoot();
  const refuse = (why: string) =>
    new DatasetUnavailableError(
      `Worker "${worker}" refuses job ${data.configHash.slice(0, 8)} (${data.experiment}): ${why}`,
      data.dataset,
    );
  let fingerprint: string;
  try {
    fingerprint = await (await loadDataset(data.dataset, { root })).fingerprint();
  } catch (error) {
    if (!(error instanceof DatasetError)) throw error;
    const plainName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(data.dataset);
    const target = `${root.replace(/\/+$/, "")}/${data.dataset}`;
    const absent = plainName && !(await Deno.stat(target).then(() => true, () => false));
    if (absent && source.dataStore) {
      const stored = await source.dataStore.has(data.dataset, data.dataFingerprint);
      if (stored && await source.dataStore.pull(data.dataset, data.dataFingerprint, target)) {
        source.log?.(
          `fetched dataset "${data.dataset}" (${
            data.dataFingerprint.slice(0, 12)
          }) from the shared store into ${target}`,
        );
        return await checkJobDataset(data, worker, { ...source, dataStore: undefined });
      }
    }
    throw refuse(
      `it has no dataset "${data.dataset}" (${error.message})` +
        (source.dataStore ? "; the shared store does not hold it either" : "") +
        `; copy the dataset with fingerprint ${
          data.dataFingerprint.slice(0, 12)
        } to this machine (or push it with deno task store push-data)`,
    );
  }
  if (fingerprint !== data.dataFingerprint) {
    throw refuse(
      `its dataset "${data.dataset}" has fingerprint ${fingerprint.slice(0, 12)}, ` +
        `the job was enqueued with ${data.dataFingerprint.slice(0, 12)}: the data differ`,
    );
  }
}

/**
 * A complete run of config `hash` already in the results folder, if any.
 *
 * @param resultsDir the results folder
 * @param experiment the experiment name
 * @param hash the full config hash
 * @param accept what else the record must hold (e.g. every seed's results)
 * @returns the run's record and folder, or null
 */
export async function findCompleteRun(
  resultsDir: string,
  experiment: string,
  hash: string,
  accept: (record: RunRecord) => boolean = () => true,
): Promise<{ record: RunRecord; dir: string } | null> {
  for (const entry of await listRuns(resultsDir)) {
    if (entry.experiment !== experiment || !entry.runId.endsWith(hash.slice(0, 8))) continue;
    const record = await readRunRecord(entry.dir);
    if (record.configHash === hash && record.status === "complete" && accept(record)) {
      return { record, dir: entry.dir };
    }
  }
  return null;
}

function resultOf(
  record: RunRecord,
  dir: string,
  worker: string,
  alreadyDone: boolean,
): ExperimentJobResult {
  const { runId, status, configHash, modelHash, restoredFromStore, bestValLoss } = summarize(
    record,
    dir,
  );
  return {
    runId,
    dir,
    status,
    configHash,
    modelHash,
    restoredFromStore,
    bestValLoss,
    worker,
    alreadyDone,
  };
}

/**
 * The later seeds' results that a config's job combines, from its seed jobs' return values. While
 * a seed job is pending (a failed one retried when the experiment was enqueued again), the job
 * goes back to wait for it: `WaitingChildrenError`, which BullMQ takes as no failure.
 *
 * @param job the config's job
 * @param e its experiment
 * @param token the worker's lock on the job
 * @returns the later seeds' results, in seed order
 * @throws {WaitingChildrenError} when a seed job is still pending
 * @throws {SeedResultsMissingError} when a seed has no results and none is pending
 */
export async function seedJobResults(
  job: JobLike,
  e: Experiment,
  token?: string,
): Promise<SeedRun[]> {
  const bySeed = new Map<number, SeedRun>();
  for (const value of Object.values(await job.getChildrenValues?.() ?? {})) {
    const parsed = SeedRun.safeParse((value as Partial<ExperimentJobResult> | null)?.seedRun);
    if (parsed.success) bySeed.set(parsed.data.seed, parsed.data);
  }
  const later = seedList(e).slice(1);
  const missing = later.filter((seed) => !bySeed.has(seed));
  if (missing.length === 0) return later.map((seed) => bySeed.get(seed)!);
  if (token !== undefined && await job.moveToWaitingChildren?.(token)) {
    throw new WaitingChildrenError();
  }
  throw new SeedResultsMissingError(
    `Job ${job.data.configHash.slice(0, 8)} (${e.name}): seed${missing.length === 1 ? "" : "s"} ` +
      `${missing.join(", ")} ha${missing.length === 1 ? "s" : "ve"} no results and no pending ` +
      "seed job (removed, or run by a worker without seed jobs); enqueue the experiment again",
  );
}

/** Whether a record of `e`'s first seed holds every seed's results (always, with one seed). */
function holdsEverySeed(e: Experiment): (record: RunRecord) => boolean {
  const seeds = seedList(e);
  return (record) =>
    e.seeds === undefined ||
    (record.seedRuns?.runs.map((r) => r.seed).join() === seeds.join());
}

/**
 * Run one job: check its config and dataset, skip it when its run is already complete, run it and
 * report each epoch through `job.updateProgress`. A seed job runs its seed and returns the seed's
 * results; a config's job with seed jobs combines their results with its first seed's run.
 *
 * @param job the job (a BullMQ job, or anything with its data and `updateProgress`)
 * @param ctx where results and models go, which backend, how to log
 * @returns the run's summary, stored as the job's return value
 * @throws {UnrecoverableError} for failures retrying cannot fix (the message is the cause's)
 * @throws {DatasetUnavailableError} when this machine lacks the dataset (retried elsewhere)
 */
export async function processExperimentJob(
  job: JobLike,
  ctx: ProcessContext,
  token?: string,
): Promise<ExperimentJobResult> {
  const tag = `[${ctx.name} ${job.data?.configHash?.slice(0, 8) ?? job.id}]`;
  const log = (line: string) => ctx.log(redact(`${tag} ${line}`));
  const report = (p: Omit<ExperimentProgress, "worker" | "at">) => {
    job.updateProgress({ ...p, worker: ctx.name, at: Date.now() }).catch((error) =>
      log(`progress not reported: ${(error as Error).message}`)
    );
  };
  const leave = ctx.gate ? await ctx.gate.enter() : () => {};
  try {
    report({ phase: "preparing" });
    const e = await experimentOfJob(job.data, ctx.backend);
    // A config's job with seed jobs: their results first (it waits again while one is pending).
    const later = job.data.seedJobs ? await seedJobResults(job, e, token) : null;
    if (e.data.synth) await checkSynthJobDataset(job.data, e, ctx.name, log);
    else {
      await checkJobDataset(job.data, ctx.name, {
        dataStore: ctx.dataStore,
        dataRoot: ctx.dataRoot,
        log,
      });
    }
    const seedOf = job.data.seedOf;
    // The run this job writes is its first seed's (the whole config's, with one seed).
    const hash = configHash(firstSeed(e));
    const done = await findCompleteRun(ctx.resultsDir, e.name, hash, holdsEverySeed(e));
    if (done) {
      log(`already complete as ${done.record.runId}: not run again`);
      const result = resultOf(done.record, done.dir, ctx.name, true);
      if (seedOf !== undefined) return { ...result, seedRun: seedRun(done.record) };
      if (ctx.runStore) await ctx.runStore.put(done.dir);
      return result;
    }
    const stored = seedOf === undefined ? await ctx.runStore?.findComplete(hash) : null;
    if (stored) {
      log(`already complete in the shared store as ${stored.runId}: not run again`);
      return {
        runId: stored.runId,
        dir: stored.location,
        status: stored.status,
        configHash: stored.configHash,
        modelHash: stored.modelHash,
        restoredFromStore: stored.restoredFromStore,
        bestValLoss: stored.bestValLoss,
        worker: ctx.name,
        alreadyDone: true,
      };
    }
    if (job.attemptsMade > 0) log(`attempt ${job.attemptsMade + 1}`);
    let last = 0;
    let buffered = "";
    // Text from the progress display goes to the log; the numbers come from onEpoch.
    const write = (text: string) => {
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line && !parseProgressLine(line)) log(line);
      }
    };
    const best = new Map<string, number>();
    const onEpoch = (fold: string, p: EpochLog) => {
      leave();
      best.set(fold, Math.min(best.get(fold) ?? Infinity, p.valLoss));
      const now = Date.now();
      if (now - last < 250 && p.epoch < e.train.epochs) return;
      last = now;
      report({
        phase: "training",
        fold,
        epoch: p.epoch,
        epochs: e.train.epochs,
        loss: p.loss,
        valLoss: p.valLoss,
        bestValLoss: best.get(fold),
        etaSeconds: (e.train.epochs - p.epoch) * p.seconds,
      });
    };
    // Write the run only while holding the job: a lock lost under load (the event loop held up
    // past lockDuration) means the stalled job went to another worker, which writes it once.
    const beforeWrite = async () => {
      if (token === undefined || !job.extendLock) return;
      if (await job.extendLock(token, ctx.lockDuration ?? 60_000) !== 1) {
        throw new JobLockLostError(
          "This worker lost the job's lock (another worker took the stalled job): its run is not written here",
        );
      }
    };
    const options: RunOptions = {
      resultsDir: ctx.resultsDir,
      store: ctx.store,
      checkpointDir: ctx.checkpointDir,
      log,
      write,
      onEpoch,
      tty: false,
      beforeWrite,
    };
    if (seedOf !== undefined) {
      // One seed of a config's job: its run is read into the seed's results and dropped.
      const { record } = await withDroppedRuns(
        ctx.resultsDir,
        `${seedOf.slice(0, 8)}-seed-${e.seed}`,
        (dir) => runExperiment(e, { ...options, resultsDir: dir }),
      );
      report({ phase: "finishing" });
      log(`${record.status}: seed ${e.seed} of job ${seedOf.slice(0, 8)}`);
      return { ...resultOf(record, "", ctx.name, false), seedRun: seedRun(record) };
    }
    if (later) {
      log(
        `seeds ${seedList(e).join(", ")}: ${later.length} ran as seed jobs; ` +
          `seed ${firstSeed(e).seed} runs here and its record takes every seed's results`,
      );
    }
    const { record, dir } = later
      ? await runExperiment(firstSeed(e), {
        ...options,
        finish: (first) => withSeedRuns(first, later, seedList(e).length),
      })
      : await runSeeds(e, options);
    report({ phase: "finishing" });
    if (ctx.runStore) await ctx.runStore.put(dir);
    log(`${record.status}: ${dir}`);
    return resultOf(record, dir, ctx.name, false);
  } catch (error) {
    // The message becomes the job's failure reason, stored in Redis and shown by every --wait
    // table: redacted here, once, before it leaves the worker.
    const message = redact(
      error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    );
    if (error instanceof WaitingChildrenError) {
      log("waiting for its seed jobs");
      throw error;
    }
    if (error instanceof JobLockLostError) {
      log(`not written: ${message}`);
      throw error;
    }
    log(`failed: ${message}`);
    if (isUnrecoverable(error)) throw new UnrecoverableError(message);
    if (!(error instanceof Error)) throw new Error(message);
    // Retried elsewhere: the same error (its type tells BullMQ and the caller what it is), with
    // its message and stack redacted as BullMQ stores both.
    error.message = redact(error.message);
    if (error.stack) error.stack = redact(error.stack);
    throw error;
  } finally {
    leave();
  }
}

/**
 * Start a worker on the queue; it runs until {@link ExperimentWorker.close}. It resolves once
 * Redis has answered: while Redis is away it waits, having said so in one line; when Redis
 * refuses the credentials it fails at once.
 *
 * Everything the worker logs goes through {@link redact}; connection drops are told once each
 * (not once per retry), and other queue errors once per distinct message.
 *
 * @param options queue, stores, backend, concurrency and lock timing
 * @returns the running worker
 * @throws {Error} naming the URL (without its password) when Redis refuses the credentials
 * @example
 * ```ts
 * const w = await startWorker({ queue: "redis://127.0.0.1:6379", resultsDir: "results",
 *   store: new FileModelStore(), log: console.log });
 * ```
 */
export async function startWorker(options: WorkerOptions): Promise<ExperimentWorker> {
  const name = options.name ?? `${hostname()}:${Deno.pid}`;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`Invalid concurrency "${concurrency}": expected an integer >= 1`);
  }
  const log = (line: string) => options.log(redact(line));
  const ctx: ProcessContext = {
    ...options,
    log,
    name,
    gate: new StartGate(),
    lockDuration: options.lockDuration ?? 60_000,
  };
  let ready = false;
  const connection = redisConnection(options.queue, {
    role: "worker",
    onStatus: (m, error) => {
      // Refused credentials before the first connection are thrown below, not logged.
      if (!ready && error && isRedisAuthFailure(error)) return;
      log(`[${name}] ${m}`);
    },
  });
  // Wait for Redis before BullMQ opens its own connections, which could not be closed while
  // Redis refuses the credentials.
  await redisReady(connection, options.queue);
  ready = true;
  const worker = new Worker<ExperimentJobData, ExperimentJobResult>(
    options.queueName ?? DEFAULT_QUEUE_NAME,
    (job: Job<ExperimentJobData, ExperimentJobResult>, token?: string) =>
      processExperimentJob(job, ctx, token),
    {
      connection,
      prefix: QUEUE_PREFIX,
      name,
      concurrency,
      lockDuration: options.lockDuration ?? 60_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 3,
      autorun: true,
    },
  );
  let lastError = "";
  worker.on("error", (error: Error) => {
    // The connection's status lines tell drops once; other errors once per distinct message.
    if (isRedisConnectionError(error)) return;
    const message = redact(error.message);
    if (message !== lastError) log(`[${name}] queue error: ${message}`);
    lastError = message;
  });
  worker.on("ready", () => {
    lastError = "";
  });
  return { name, worker, close: () => worker.close() };
}
