/**
 * A run's stage timings (`timings.stages` of the run record): seconds spent in each named stage,
 * in the order the stages first ran.
 *
 * @module
 */

/**
 * A stage timer: {@linkcode Stages.time} runs one stage and adds its seconds to the stage's
 * total, so a stage that runs once per fold (`scale`, `train`) sums over the folds.
 *
 * @example
 * ```ts
 * const stages = new Stages();
 * const dataset = await stages.time("data", () => loadDataset("synthetic"));
 * stages.seconds.data; // seconds the load took
 * ```
 */
export class Stages {
  /** Seconds per stage, in the order the stages first ran. */
  readonly seconds: Record<string, number> = {};

  /**
   * Runs one stage and records its seconds (also when it throws).
   *
   * @param name the stage, e.g. `features`
   * @param f the stage's work
   * @returns what `f` returned
   */
  async time<T>(name: string, f: () => T | Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.seconds[name] = (this.seconds[name] ?? 0) + (performance.now() - t0) / 1000;
    }
  }
}
