/**
 * Training progress display: a redrawn bar on a terminal, plain lines
 * otherwise (CI logs, files, pipes).
 *
 * @module
 */
import type { EpochLog, TrainResult } from "@alfred/engines";

/** Options of {@link progressReporter}. */
export interface ProgressOptions {
  /** Maximum epochs (`train.epochs`): the bar's length and the ETA's horizon. */
  epochs: number;
  /** Redraw one line with `\r` (a terminal) instead of printing one line per epoch. */
  tty: boolean;
  /** Where text goes, e.g. `(s) => Deno.stdout.writeSync(new TextEncoder().encode(s))`. */
  write: (text: string) => void;
  /** Bar width in characters (default 24). */
  width?: number;
  /** Text before each line (default "train"). */
  label?: string;
  /**
   * Early stopping's patience (`train.patience`): the ETA counts to the epoch
   * where training stops unless validation improves again (best + patience),
   * not to `epochs`.
   */
  patience?: number;
  /**
   * Later trainings of the same model and data in this run (the shuffled-label
   * control, later folds), each expected to run as many epochs as this one and
   * to take as long to start: the ETA covers them too, so it is the run's.
   */
  following?: number;
  /** Seconds of work after the last training (evaluation passes), estimated by the caller. */
  afterSeconds?: number;
  /** Clock in milliseconds (default `performance.now`); tests inject one. */
  now?: () => number;
}

/** An `onEpoch` callback that draws progress, plus `finish` to close the display. */
export interface ProgressReporter {
  (e: EpochLog): void;
  /**
   * Take in the epochs a resumed run had already trained (the trainer's
   * `onResume`), so the best validation loss and its epoch shown, and the
   * ETA's early-stopping horizon, cover the whole run, not only the epochs
   * since the resume.
   */
  resume(history: EpochLog[]): void;
  /** End the bar's line and print why training stopped and the best epoch. */
  finish(result?: TrainResult): void;
}

/**
 * Seconds as a short duration: `42s`, `3m05s`, `1h02m`.
 *
 * @param seconds non-negative seconds
 * @returns the duration text
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(5);
}

/**
 * Make an `onEpoch` callback that reports epoch, loss, validation loss
 * (with the best so far), learning rate and ETA.
 *
 * The ETA is measured, not assumed: wall-clock time per epoch between the
 * first epoch and the latest (checkpoint saves and validation included) times the
 * epochs left until training stops on its own — the epoch limit, or with
 * `patience` the best epoch plus patience, whichever comes first (an epoch
 * that improves validation moves it) — plus the trainings that follow in the
 * run (`following`, each as many epochs and as long to start as this one) and
 * the evaluation after them (`afterSeconds`).
 *
 * @param options total epochs, whether the output is a terminal, and the writer
 * @returns the reporter
 * @example
 * ```ts
 * const progress = progressReporter({ epochs: 200, tty: Deno.stdout.isTerminal(), write });
 * const result = await trainModel({ ...args, onEpoch: progress });
 * progress.finish(result);
 * ```
 */
export function progressReporter(options: ProgressOptions): ProgressReporter {
  const { epochs, tty, write, patience } = options;
  const following = options.following ?? 0;
  const afterSeconds = options.afterSeconds ?? 0;
  const width = options.width ?? 24;
  const label = options.label ?? "train";
  const now = options.now ?? (() => performance.now());
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`Invalid epochs "${epochs}": expected an integer >= 1`);
  }
  const started = now();
  let best = Infinity;
  let bestEpoch = 0;
  let elapsed = 0;
  // The first epoch this reporter saw (a resumed run starts past 1): when, and its own seconds.
  let first: { epoch: number; at: number; seconds: number } | null = null;
  let lastLength = 0;
  let drawn = false;
  const digits = String(epochs).length;
  // The trainer's rule: an epoch is the new best only when strictly lower.
  const track = (e: EpochLog) => {
    if (e.valLoss < best) {
      best = e.valLoss;
      bestEpoch = e.epoch;
    }
  };

  const report = ((e: EpochLog) => {
    const t = now();
    first ??= { epoch: e.epoch, at: t, seconds: e.seconds };
    elapsed = (t - started) / 1000;
    // Seconds per epoch from the wall clock between epochs (checkpoint saves
    // included); the first epoch's own figure until a second one is seen.
    const seen = e.epoch - first.epoch;
    const perEpoch = seen > 0 ? (t - first.at) / 1000 / seen : first.seconds;
    track(e);
    const stopAt = patience === undefined ? epochs : Math.min(epochs, bestEpoch + patience);
    // What starting a training took here: before the first epoch, less the epoch itself.
    const setup = Math.max(0, (first.at - started) / 1000 - first.seconds);
    const thisTraining = Math.max(0, stopAt - e.epoch) * perEpoch;
    const rest = following * (stopAt * perEpoch + setup) + afterSeconds;
    const eta = thisTraining + rest;
    const fields = `epoch ${String(e.epoch).padStart(digits)}/${epochs}  loss ${num(e.loss)}  val ${
      num(e.valLoss)
    } (best ${num(best)} @${bestEpoch})  lr ${num(e.lr)}  ${e.seconds.toFixed(2)}s/epoch  eta ${
      eta === 0 ? "0s" : formatDuration(eta)
    }${
      rest > 0
        ? ` (this training ${formatDuration(thisTraining)}, then ${
          following > 0 ? `${following} more training${following === 1 ? "" : "s"} and ` : ""
        }evaluation)`
        : ""
    }`;
    if (tty) {
      const filled = Math.min(width, Math.round((e.epoch / epochs) * width));
      const line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${fields}`;
      const pad = lastLength > line.length ? " ".repeat(lastLength - line.length) : "";
      write(`\r${line}${pad}`);
      lastLength = line.length;
      drawn = true;
    } else {
      write(`${label} ${fields}\n`);
    }
  }) as ProgressReporter;

  report.resume = (history: EpochLog[]) => {
    for (const e of history) track(e);
  };

  report.finish = (result?: TrainResult) => {
    if (tty && drawn) write("\n");
    drawn = false;
    if (result) {
      const why = result.stoppedBy === "patience"
        ? "early stopping (no validation improvement)"
        : result.stoppedBy === "interrupted"
        ? "interrupted"
        : "reached the epoch limit";
      write(
        `${label} stopped after ${result.history.length} epochs: ${why}; best val ${
          num(result.bestValLoss)
        } at epoch ${result.bestEpoch}, in ${formatDuration(elapsed)}\n`,
      );
    }
  };
  return report;
}
