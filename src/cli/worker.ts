/**
 * `deno task worker --queue redis://HOST:6379`: take experiment runs from the queue and run them
 * on this machine, until Ctrl-C (or SIGTERM): the first finishes the running jobs and stops, the
 * second quits at once (the queue then hands the running jobs to another worker).
 *
 * ```
 * deno task worker --queue redis://HOST:6379 [--concurrency N] [--backend B] [--results DIR]
 *   [--store DIR|file:ROOT|mongodb://...] [--name NAME] [--queue-name NAME]
 *   [--lock-duration MS] [--stalled-interval MS]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Backend } from "../config/schema.ts";
import { checkQueueUrl, DEFAULT_QUEUE_NAME } from "../distributed/queue.ts";
import { startWorker } from "../distributed/worker.ts";
import { openStores } from "../store/shared_file.ts";

const USAGE = "Usage: deno task worker --queue redis://HOST:6379 [--concurrency N] [--backend " +
  `${Backend.options.join("|")}] [--results DIR] [--store DIR|file:ROOT|mongodb://HOST/DB] ` +
  "[--name NAME] [--queue-name NAME] [--lock-duration MS] [--stalled-interval MS]";

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Invalid --${name} "${value}": expected an integer >= 1`);
  }
  return n;
}

/**
 * Run a worker until interrupted.
 *
 * @param args command-line arguments after `worker`
 * @returns 0 after a clean stop, 2 on bad usage
 */
export async function workerCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        queue: { type: "string" },
        "queue-name": { type: "string", default: DEFAULT_QUEUE_NAME },
        concurrency: { type: "string", default: "1" },
        backend: { type: "string" },
        results: { type: "string", default: "results" },
        store: { type: "string", default: ".alfred/models" },
        name: { type: "string" },
        "lock-duration": { type: "string" },
        "stalled-interval": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
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
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const stores = await openStores(v.store);
  const log = (line: string) => console.log(line);
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
    lockDuration,
    stalledInterval,
    log,
  });
  log(
    `worker ${w.name} on ${v.queue} (queue "${v["queue-name"]}"), concurrency ${concurrency}, ` +
      `backend ${backend ?? "from each config"}, results ${v.results}, store ${v.store}`,
  );
  const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
  let stopping = false;
  const onSignal = () => {
    if (stopping) {
      console.error("Quitting now: running jobs go back to the queue");
      Deno.exit(130);
    }
    stopping = true;
    console.error("Finishing the running jobs, then stopping (again to quit now)");
    stop();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await stopped;
    await w.close();
    await stores.close();
    log(`worker ${w.name} stopped`);
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) Deno.exit(await workerCommand(Deno.args));
