/** Helpers shared by the trainer, fused-engine and epoch-loop tests. */
import type { Checkpointer, TrainState } from "@alfred/engines";

/**
 * A checkpointer that keeps a structured clone of the last saved state in memory.
 *
 * @param every save every this many epochs (the loop's default, 1)
 * @returns the checkpointer, with the saved state and the count of saves
 */
export function memoryCheckpointer(
  every = 1,
): Checkpointer & { saved: TrainState | null; saves: number } {
  const c = {
    every,
    saved: null as TrainState | null,
    saves: 0,
    save(state: TrainState): Promise<void> {
      c.saved = structuredClone(state);
      c.saves++;
      return Promise.resolve();
    },
    load(): Promise<TrainState | null> {
      return Promise.resolve(c.saved ? structuredClone(c.saved) : null);
    },
  };
  return c;
}
