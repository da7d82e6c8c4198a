/**
 * Ctrl-C (and SIGTERM) for long runs: the first interrupt asks the run to stop cleanly (through
 * an `AbortSignal`), a second one quits at once.
 *
 * One Ctrl-C can arrive twice. A terminal sends SIGINT to its whole foreground process group, and
 * under `deno task` that group holds both the task runner and the `deno run` it started; the
 * runner forwards every SIGINT and SIGTERM it gets to its child as well. The child so receives
 * the same interrupt twice, a fraction of a millisecond to a few milliseconds apart, unless the
 * kernel merges the two while the first is still pending (measured on Deno 2.9.6: 4 of 12 group
 * SIGINTs and 5 of 12 group SIGTERMs arrived twice, 0.1–17 ms apart). Counting deliveries made one
 * Ctrl-C quit at once about a third of the time. So deliveries within {@linkcode SAME_INTERRUPT_MS}
 * of the first count as that one; only a later one is a second interrupt.
 *
 * A listener runs only when the event loop is free, and a run keeps it busy for long stretches
 * (training between yields, rendering a report): a copy that arrived 10 ms after the first can be
 * handled a second later. So the time compared is not when a delivery is handled but the earliest
 * it can have arrived: the last moment before it that the event loop was seen free (a 50 ms
 * heartbeat runs from the first interrupt on). A second Ctrl-C pressed during a long busy stretch
 * that began inside the window is taken as the same one; pressing again later quits.
 *
 * @module
 */

/**
 * Deliveries this close (milliseconds) to the first interrupt are taken as the same one: far
 * above the forwarding delay (at most 17 ms measured on a loaded 2-core machine), below a
 * person's deliberate second Ctrl-C.
 */
export const SAME_INTERRUPT_MS = 500;

/** Options of {@linkcode interruptOnSignals}. */
export interface InterruptOptions {
  /** The signals that interrupt (default `["SIGINT"]`). */
  signals?: Deno.Signal[];
  /** Called on the first interrupt, e.g. to say what happens now. */
  onInterrupt?: (signal: Deno.Signal) => void;
  /** Called on a second interrupt, just before the process exits. */
  onQuit?: (signal: Deno.Signal) => void;
  /** Deliveries that may have arrived within this many milliseconds of the first are the same. */
  sameWithinMs?: number;
  /** Exits the process (default `Deno.exit`); tests replace it. */
  exit?: (code: number) => void;
  /** Milliseconds now (default `performance.now`); tests replace it. */
  now?: () => number;
}

/** A listening interrupt handler. */
export interface Interrupt {
  /** Aborted on the first interrupt; its `reason` names the signal. */
  readonly signal: AbortSignal;
  /** Stop listening. */
  dispose(): void;
}

/** Linux signal numbers, for the exit status 128 + number of a process ended by a signal. */
/** Heartbeat of the event loop after the first interrupt (milliseconds). */
const BEAT_MS = 50;

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

/**
 * Listen for interrupts: the first aborts the returned signal and calls `onInterrupt`; deliveries
 * that may have arrived within `sameWithinMs` of it are ignored (see the module's note on
 * `deno task` and on a busy event loop); a later one calls `onQuit` and exits with 128 + the
 * signal's number (130 for SIGINT, 143 for SIGTERM).
 *
 * @param options the signals, what to say, and the window for a repeated delivery
 * @returns the abort signal and `dispose`
 * @example
 * ```ts
 * const ctrlC = interruptOnSignals({
 *   onInterrupt: () => console.error("Interrupted: stopping after this epoch (Ctrl-C again to quit)"),
 *   onQuit: () => console.error("Quitting now"),
 * });
 * try { await runExperiment(e, { ...options, signal: ctrlC.signal }); } finally { ctrlC.dispose(); }
 * ```
 */
export function interruptOnSignals(options: InterruptOptions = {}): Interrupt {
  const signals = options.signals ?? ["SIGINT"];
  const sameWithin = options.sameWithinMs ?? SAME_INTERRUPT_MS;
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  const now = options.now ?? (() => performance.now());
  const ctrl = new AbortController();
  let firstAt = 0;
  // The heartbeat's last tick, and where the busy stretch that this tick ended began.
  let lastTick = 0;
  let busySince = 0;
  let beat: ReturnType<typeof setInterval> | null = null;
  const tick = () => {
    const t = now();
    busySince = t - lastTick > 2 * BEAT_MS ? lastTick : t;
    lastTick = t;
  };
  /** The earliest a delivery handled now can have arrived. */
  const earliestArrival = () => {
    const t = now();
    // A recent tick may have run in this same turn, after the busy stretch: use its start.
    return t - lastTick <= 2 * BEAT_MS ? busySince : lastTick;
  };
  const handlers = signals.map((signal) => {
    const handler = () => {
      if (!ctrl.signal.aborted) {
        firstAt = lastTick = busySince = now();
        const timer = setInterval(tick, BEAT_MS);
        Deno.unrefTimer(timer);
        beat = timer;
        ctrl.abort(new DOMException(`Interrupted by ${signal}`, "AbortError"));
        options.onInterrupt?.(signal);
        return;
      }
      // The same interrupt, delivered twice (or it may have been: handled late).
      if (earliestArrival() - firstAt < sameWithin) return;
      options.onQuit?.(signal);
      exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
    };
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  return {
    signal: ctrl.signal,
    dispose: () => {
      if (beat !== null) clearInterval(beat);
      for (const h of handlers) Deno.removeSignalListener(h.signal, h.handler);
    },
  };
}

/**
 * Ctrl-C handling for a training run: the first SIGINT aborts the returned
 * signal (the trainer saves a checkpoint where it has a checkpointer, restores
 * the best weights and reports `stoppedBy: "interrupted"`); a second SIGINT
 * exits at once with status 130. The same SIGINT delivered twice (a terminal's
 * Ctrl-C under `deno task`, see `interrupt.ts`) counts once.
 *
 * @param onInterrupt called on the first SIGINT, e.g. to print "stopping…"
 * @returns the signal to pass to `trainModel` (or any engine of `@alfred/engines`) and `dispose` to remove the handler
 * @example
 * ```ts
 * const ctrlC = interruptOnSigint(() => console.error("Stopping after this batch (Ctrl-C again to quit)"));
 * try { result = await trainModel({ ...args, signal: ctrlC.signal }); } finally { ctrlC.dispose(); }
 * ```
 */
export function interruptOnSigint(
  onInterrupt?: () => void,
): { signal: AbortSignal; dispose(): void } {
  return interruptOnSignals({ signals: ["SIGINT"], onInterrupt: () => onInterrupt?.() });
}
