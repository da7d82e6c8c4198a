/**
 * `deno task run X.yaml --queue redis://HOST:PORT [--wait]`: enqueue instead of running locally.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { enqueueExperiments } from "./queue.ts";
import { waitForJobs } from "./wait_table.ts";
import { redact } from "../redact.ts";

const USAGE = "Usage: deno task run FILE.yaml --queue redis://HOST:PORT [--queue-name NAME] " +
  "[--set key=value]... [--attempts N] [--wait] [--timeout SECONDS]";

/**
 * Enqueue every resolved config of a file as one job each; with `--wait`, show the live job table
 * until all are done.
 *
 * @param args the `run` command's arguments (including `--queue`)
 * @returns 0 when enqueued (with `--wait`: when every job completed), 1 when a job failed or the
 *   wait timed out, 2 on bad usage
 * @example
 * ```ts
 * await queueRunCommand(["experiments/magnitude-sweep.yaml", "--queue", "redis://127.0.0.1:6379", "--wait"]);
 * ```
 */
export async function queueRunCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        queue: { type: "string" },
        "queue-name": { type: "string" },
        set: { type: "string", multiple: true },
        attempts: { type: "string", default: "3" },
        wait: { type: "boolean", default: false },
        timeout: { type: "string" },
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
  if (parsed.positionals.length !== 1 || !v.queue) {
    console.error(USAGE);
    return 2;
  }
  const attempts = Number(v.attempts);
  const timeout = v.timeout === undefined ? undefined : Number(v.timeout);
  if (!Number.isInteger(attempts) || attempts < 1) {
    console.error(`Invalid --attempts "${v.attempts}": expected an integer >= 1`);
    return 2;
  }
  if (timeout !== undefined && !(timeout > 0)) {
    console.error(`Invalid --timeout "${v.timeout}": expected seconds > 0`);
    return 2;
  }
  const jobs = await enqueueExperiments(parsed.positionals[0], {
    queue: v.queue,
    queueName: v["queue-name"],
    set: v.set,
    attempts,
  });
  for (const j of jobs) {
    console.log(`${j.outcome.padEnd(7)} ${j.id.slice(0, 8)} ${j.experiment} (${j.state})`);
  }
  console.log(`${jobs.length} jobs on ${redact(v.queue)}`);
  if (!v.wait) return 0;
  const encoder = new TextEncoder();
  const outcome = await waitForJobs({
    queue: v.queue,
    queueName: v["queue-name"],
    ids: jobs.map((j) => j.id),
    tty: Deno.stdout.isTerminal(),
    write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
  });
  if (outcome.timedOut) console.error(`Gave up waiting after ${timeout} s; the jobs go on`);
  return outcome.failed > 0 || outcome.timedOut ? 1 : 0;
}
