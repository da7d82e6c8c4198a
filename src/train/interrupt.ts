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
  /** Deliveries within this many milliseconds of the first are the same interrupt. */
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
 * within `sameWithinMs` of it are ignored (see the module's note on `deno task`); a later one
 * calls `onQuit` and exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
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
  const handlers = signals.map((signal) => {
    const handler = () => {
      const t = now();
      if (!ctrl.signal.aborted) {
        firstAt = t;
        ctrl.abort(new DOMException(`Interrupted by ${signal}`, "AbortError"));
        options.onInterrupt?.(signal);
        return;
      }
      if (t - firstAt < sameWithin) return; // the same interrupt, delivered twice
      options.onQuit?.(signal);
      exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
    };
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  return {
    signal: ctrl.signal,
    dispose: () => {
      for (const h of handlers) Deno.removeSignalListener(h.signal, h.handler);
    },
  };
}
