/**
 * The live job table of `deno task run X.yaml --queue redis://... --wait`: one row per job (state,
 * worker, epoch, best validation loss, ETA), redrawn in place on a terminal, printed as plain lines
 * when something changes otherwise; it returns when every job has completed or failed.
 *
 * @module
 */
import type { Queue } from "bullmq";
import { formatDuration } from "../train/progress.ts";
import type { ExperimentJobResult, ExperimentProgress } from "./queue.ts";
import { openQueue, redisFailureCause, shortJobId, waitForRedis } from "./queue.ts";
import { redact } from "../redact.ts";

/** What the table needs of one job (read from BullMQ). */
export interface JobSnapshot {
  id: string;
  experiment: string;
  /** BullMQ state: `waiting`, `active`, `delayed`, `completed`, `failed`, or `missing`. */
  state: string;
  progress: Partial<ExperimentProgress> | null;
  result: ExperimentJobResult | null;
  failedReason: string | null;
  attemptsMade: number;
  /** Worker that last took the job (BullMQ's `processedBy`). */
  processedBy: string | null;
}

/** One row of the table, as text. */
export interface JobRow {
  job: string;
  experiment: string;
  state: string;
  worker: string;
  epoch: string;
  best: string;
  eta: string;
}

const HEADER: JobRow = {
  job: "job",
  experiment: "experiment",
  state: "state",
  worker: "worker",
  epoch: "epoch",
  best: "best val",
  eta: "eta",
};
const COLUMNS = Object.keys(HEADER) as (keyof JobRow)[];

function loss(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? v.toFixed(5) : "—";
}

/**
 * The table row of one job.
 *
 * @param s the job's snapshot
 * @returns its cells
 */
export function jobRow(s: JobSnapshot): JobRow {
  const p = s.progress;
  const done = s.state === "completed" || s.state === "failed";
  let state = s.state;
  if (s.state === "completed" && s.result) {
    state = s.result.alreadyDone
      ? "done (already)"
      : s.result.restoredFromStore
      ? "done (restored)"
      : "done";
  } else if (s.state === "failed") {
    state = "FAILED";
  } else if (s.attemptsMade > 0 && !done) state = `${s.state} (retry ${s.attemptsMade})`;
  const training = p?.phase === "training" && typeof p.epoch === "number";
  return {
    job: shortJobId(s.id),
    experiment: s.experiment,
    state: s.state === "active" && p?.phase && p.phase !== "training"
      ? `active (${p.phase})`
      : state,
    worker: s.result?.worker ?? p?.worker ?? s.processedBy ?? "—",
    epoch: training ? `${p.epoch}/${p.epochs}` : "—",
    best: s.state === "completed" && s.result
      ? loss(s.result.bestValLoss)
      : training
      ? loss(p.bestValLoss)
      : "—",
    eta: s.state === "active" && training && typeof p.etaSeconds === "number"
      ? `≤${formatDuration(p.etaSeconds)}`
      : "—",
  };
}

/**
 * The table as text: aligned columns, a header, one line per job, a summary line, and the reason of
 * every failed job.
 *
 * @param snapshots the jobs
 * @returns lines of text (no trailing newline)
 */
export function renderJobTable(snapshots: JobSnapshot[]): string[] {
  const rows = [HEADER, ...snapshots.map(jobRow)];
  const widths = COLUMNS.map((c) => Math.max(...rows.map((r) => [...r[c]].length)));
  const lines = rows.map((r) =>
    COLUMNS.map((c, i) => r[c] + " ".repeat(widths[i] - [...r[c]].length)).join("  ").trimEnd()
  );
  const count = (state: string) => snapshots.filter((s) => s.state === state).length;
  lines.push(
    `${snapshots.length} jobs: ${count("completed")} completed, ${count("failed")} failed, ` +
      `${count("active")} running, ${
        snapshots.length - count("completed") - count("failed") - count("active")
      } waiting`,
  );
  for (const s of snapshots) {
    if (s.state === "failed") {
      lines.push(`failed ${shortJobId(s.id)} (${s.experiment}): ${s.failedReason ?? "?"}`);
    }
  }
  return lines;
}

/**
 * The text that replaces a table drawn on a terminal with a new one: move the cursor up to the
 * first line of the old table, clear to the end of the screen, draw the new lines.
 *
 * @param previous how many lines the old table took (0 when none was drawn)
 * @param lines the new table's lines
 * @returns the text to write
 */
export function redraw(previous: number, lines: string[]): string {
  return `${previous > 0 ? `\x1b[${previous}F\x1b[J` : ""}${lines.join("\n")}\n`;
}

/**
 * Read the jobs' snapshots from the queue.
 *
 * @param queue an open queue
 * @param ids job ids (config hashes, and seed jobs' ids)
 * @returns one snapshot per id, in order (`missing` when the job is gone)
 */
export async function snapshotJobs(queue: Queue, ids: string[]): Promise<JobSnapshot[]> {
  const out: JobSnapshot[] = [];
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job) {
      out.push({
        id,
        experiment: "?",
        state: "missing",
        progress: null,
        result: null,
        failedReason: null,
        attemptsMade: 0,
        processedBy: null,
      });
      continue;
    }
    const progress = job.progress && typeof job.progress === "object"
      ? job.progress as Partial<ExperimentProgress>
      : null;
    out.push({
      id,
      experiment: job.name,
      state: await job.getState(),
      progress,
      result: (job.returnvalue as ExperimentJobResult | null) ?? null,
      // Reasons come from workers, maybe of another version: never show a secret in them.
      failedReason: job.failedReason ? redact(job.failedReason) : null,
      attemptsMade: job.attemptsMade ?? 0,
      processedBy: job.processedBy ?? null,
    });
  }
  return out;
}

/** Options of {@link waitForJobs}. */
export interface WaitOptions {
  /** Queue URL. */
  queue: string;
  queueName?: string;
  /** Job ids to wait for. */
  ids: string[];
  /** Redraw in place (a terminal) instead of printing lines. */
  tty: boolean;
  write: (text: string) => void;
  /** Milliseconds between polls (default 500). */
  intervalMs?: number;
  /** Give up after this many milliseconds (default: never). */
  timeoutMs?: number;
}

/** How the wait ended. */
export interface WaitOutcome {
  completed: number;
  failed: number;
  /** True when `timeoutMs` passed first. */
  timedOut: boolean;
  snapshots: JobSnapshot[];
}

/**
 * Show the jobs until every one has completed or failed.
 *
 * @param options queue, job ids, display
 * @returns counts of completed and failed jobs and the last snapshots
 */
export async function waitForJobs(options: WaitOptions): Promise<WaitOutcome> {
  const write = (text: string) => options.write(redact(text));
  const queue = openQueue(options.queue, options.queueName);
  const started = Date.now();
  let drawn = 0;
  let unreachable = false;
  const printed = new Map<string, { key: string; at: number }>();
  try {
    await waitForRedis(queue, options.queue);
    while (true) {
      let snapshots: JobSnapshot[];
      try {
        snapshots = await snapshotJobs(queue, options.ids);
      } catch (error) {
        // Redis away for a moment: say so once and poll again.
        if (!unreachable) {
          write(`queue unreachable: ${redisFailureCause(error)}; retrying\n`);
          drawn = 0;
        }
        unreachable = true;
        await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
        continue;
      }
      if (unreachable) write("queue reachable again\n");
      unreachable = false;
      const finished = snapshots.every((s) => s.state === "completed" || s.state === "failed");
      const timedOut = options.timeoutMs !== undefined &&
        Date.now() - started > options.timeoutMs;
      if (options.tty) {
        const lines = renderJobTable(snapshots);
        write(redraw(drawn, lines));
        drawn = lines.length;
      } else {
        for (const s of snapshots) {
          const row = jobRow(s);
          const key = `${row.state} ${row.worker}`;
          const last = printed.get(s.id);
          const progressDue = s.state === "active" && row.epoch !== "—" && last &&
            Date.now() - last.at > 10_000;
          if (!last || last.key !== key || progressDue) {
            write(
              `${row.job} ${row.experiment}: ${row.state}` +
                (row.worker !== "—" ? ` on ${row.worker}` : "") +
                (row.epoch !== "—" ? ` epoch ${row.epoch} best ${row.best} eta ${row.eta}` : "") +
                (s.state === "failed" ? `: ${s.failedReason}` : "") + "\n",
            );
            printed.set(s.id, { key, at: Date.now() });
          }
        }
      }
      if (finished || timedOut) {
        if (!options.tty) write(renderJobTable(snapshots).join("\n") + "\n");
        return {
          completed: snapshots.filter((s) => s.state === "completed").length,
          failed: snapshots.filter((s) => s.state === "failed").length,
          timedOut: !finished,
          snapshots,
        };
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    }
  } finally {
    await queue.close();
  }
}
