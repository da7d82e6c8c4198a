/**
 * `deno task worker --queue redis://HOST:6379`: take experiment runs from the queue and run them
 * on this machine, until Ctrl-C (or SIGTERM): the first finishes the running jobs and stops, the
 * second quits at once (the queue then hands the running jobs to another worker). One signal
 * delivered twice (a terminal's or a group kill's under `deno task`, which forwards it to the
 * worker that also got it) counts once; see `src/train/interrupt.ts`. At start, temporary
 * folders that killed processes left in the results folder, the model store and the checkpoint
 * folder are removed.
 *
 * ```
 * deno task worker --queue redis://HOST:6379 [--concurrency N] [--backend B] [--results DIR]
 *   [--store DIR|file:ROOT|mongodb://...] [--checkpoints DIR] [--name NAME] [--queue-name NAME]
 *   [--lock-duration MS] [--stalled-interval MS]
 * ```
 *
 * @module
 */
import { Backend } from "../config/schema.ts";
import { checkQueueUrl, DEFAULT_QUEUE_NAME } from "../distributed/queue.ts";
import { startWorker } from "../distributed/worker.ts";
import { openStores } from "../store/shared_file.ts";
import { redact } from "../redact.ts";
import { interruptOnSignals } from "../train/interrupt.ts";
import { consoleIo, parseCommandArgs, usageError } from "./args.ts";
import { CHECKPOINTS_OPTION, RESULTS_OPTION, stringOption } from "./options.ts";
import { removeStaleTemporaries } from "./run.ts";
import { CHECKPOINTS_DIR, MODELS_DIR } from "../paths.ts";

const USAGE =
  `Usage: deno task worker --queue redis://HOST:6379 [--concurrency N] [--backend B] [--results DIR]
         [--store DIR|file:ROOT|mongodb://HOST/DB] [--checkpoints DIR] [--name NAME]
         [--queue-name NAME] [--lock-duration MS] [--stalled-interval MS]

Takes experiment runs from the queue and runs them on this machine until Ctrl-C, which finishes
the running jobs and stops (a second Ctrl-C quits at once); SIGTERM does the same. B is the
backend for every job, one of ${Backend.options.join(", ")} (default: each config's
train.backend). --store is where models (and, for file: and mongodb: stores, run records and
datasets) are shared; default ${MODELS_DIR}. --checkpoints is the folder of training checkpoints
(default ${CHECKPOINTS_DIR}). At start, temporary folders that killed processes left in the
results folder, the store and the checkpoint folder are removed. deno task worker may write only
under results/, .alfred/ and data/: a --results or a file: store elsewhere needs deno run with
--allow-write for it.`;

/**
 * Run a worker until interrupted.
 *
 * @param args command-line arguments after `worker`
 * @returns 0 after a clean stop, 2 on bad usage
 */
export async function workerCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      queue: stringOption("redis://HOST:6379"),
      "queue-name": stringOption("NAME", { default: DEFAULT_QUEUE_NAME }),
      concurrency: stringOption("N", { default: "1" }),
      backend: stringOption("B"),
      results: RESULTS_OPTION,
      store: stringOption("SPEC", { default: MODELS_DIR, writes: "store" }),
      checkpoints: CHECKPOINTS_OPTION,
      name: stringOption("NAME"),
      "lock-duration": stringOption("MS"),
      "stalled-interval": stringOption("MS"),
    },
  });
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  let concurrency: number, lockDuration: number | undefined, stalledInterval: number | undefined;
  let backend: Backend | undefined;
  try {
    if (!v.queue) throw new TypeError("Missing --queue redis://HOST:PORT");
    checkQueueUrl(v.queue);
    concurrency = positiveInt("concurrency", v.concurrency)!;
    lockDuration = positiveInt("lock-duration", v["lock-duration"]);
    stalledInterval = positiveInt("stalled-interval", v["stalled-interval"]);
    if (v.backend !== undefined) {
      const b = Backend.safeParse(v.backend);
      if (!b.success) {
        throw new TypeError(
          `Invalid --backend "${v.backend}": allowed are ${Backend.options.join(", ")}`,
        );
      }
      backend = b.data;
    }
  } catch (error) {
    return usageError(consoleIo, USAGE, (error as Error).message);
  }
  const stores = await openStores(v.store);
  const log = (line: string) => console.log(line);
  const checkpoints = v.checkpoints;
  await removeStaleTemporaries(
    { results: v.results, store: stores.models, checkpoints },
    (line) => log(`cleanup: ${line}`),
  );
  // Listening before the worker takes a job: a signal from now on is never the default action.
  const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
  const signals = interruptOnSignals({
    signals: ["SIGINT", "SIGTERM"],
    onInterrupt: () => {
      console.error("Finishing the running jobs, then stopping (again to quit now)");
      stop();
    },
    onQuit: () => console.error("Quitting now: running jobs go back to the queue"),
  });
  try {
    const w = await startWorker({
      queue: v.queue,
      queueName: v["queue-name"],
      name: v.name,
      concurrency,
      backend,
      resultsDir: v.results,
      store: stores.models,
      runStore: stores.runs ?? undefined,
      dataStore: stores.data ?? undefined,
      checkpointDir: checkpoints,
      lockDuration,
      stalledInterval,
      log,
    });
    log(
      `worker ${w.name} on ${redact(v.queue)} (queue "${v["queue-name"]}"), ` +
        `concurrency ${concurrency}, backend ${backend ?? "from each config"}, ` +
        `results ${v.results}, store ${redact(v.store)}`,
    );
    await stopped;
    await w.close();
    await stores.close();
    log(`worker ${w.name} stopped`);
    return 0;
  } finally {
    signals.dispose();
  }
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Invalid --${name} "${value}": expected an integer >= 1`);
  }
  return n;
}

if (import.meta.main) Deno.exit(await workerCommand(Deno.args));
