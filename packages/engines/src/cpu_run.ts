/**
 * What the fused CPU engines (the MLP one in `fused_cpu.ts`, the recurrent one in
 * `fused_rnn.ts`) share once their buffers exist: the flat parameters, their best copy and Adam's
 * moments, the optimizer step on the worker pool, and the checkpoint hand-over of
 * {@linkcode FusedEngine}. Each engine lays out its own buffers and passes.
 *
 * @module
 */
import type { FusedEngine, FusedOptimizerState } from "./fused.ts";
import type { CpuPool } from "./cpu_pool.ts";

/** The parameter state and optimizer step of a fused CPU engine. */
export abstract class CpuRunState implements
  Pick<
    FusedEngine,
    "saveBest" | "download" | "setBest" | "optimizerState" | "setOptimizerState" | "destroy"
  > {
  /** The flat parameters, in the layout the engine shares with its workers. */
  abstract readonly p: Float32Array;
  /** The best parameters remembered. */
  abstract readonly best: Float32Array;
  /** Adam's first and second moments (null with SGD). */
  abstract readonly m: Float32Array | null;
  abstract readonly v: Float32Array | null;
  /** Threads an optimizer step is split over. */
  abstract readonly optimizerThreads: number;
  /** The worker pool the optimizer steps on (set when the engine starts). */
  pool: CpuPool | null = null;
  /** Adam's running powers of β1 and β2, in float32 as the kernels use them. */
  beta1 = Math.fround(0.9);
  beta2 = Math.fround(0.999);

  /** One optimizer step at learning rate `lr` over the gradients the passes left. */
  update(lr: number): void {
    const pool = this.pool!;
    if (this.m) {
      const c1 = Math.fround(1 - this.beta1);
      const c2 = Math.fround(1 - this.beta2);
      this.beta1 = Math.fround(this.beta1 * Math.fround(0.9));
      this.beta2 = Math.fround(this.beta2 * Math.fround(0.999));
      pool.adam(lr, c1, c2, this.optimizerThreads);
    } else {
      pool.sgd(lr, this.optimizerThreads);
    }
  }

  saveBest(): void {
    this.best.set(this.p);
  }

  download(best: boolean): Promise<Float32Array> {
    // A view, not a copy: a 10 x 4096 model's parameters are 604 MB, and the
    // callers (a checkpoint, the final weights) read them before the next step.
    return Promise.resolve(best ? this.best : this.p);
  }

  setBest(flat: Float32Array<ArrayBuffer>): void {
    this.best.set(flat);
  }

  optimizerState(): Promise<FusedOptimizerState | null> {
    if (!this.m || !this.v) return Promise.resolve(null);
    return Promise.resolve({ m: this.m, v: this.v, powers: [this.beta1, this.beta2] });
  }

  setOptimizerState(s: FusedOptimizerState): void {
    this.m?.set(s.m);
    this.v?.set(s.v);
    [this.beta1, this.beta2] = s.powers;
  }

  destroy(): void {
    this.pool?.close();
    this.pool = null;
  }
}

/**
 * Bytes of memory available now, or null where the runtime cannot tell.
 *
 * @returns the bytes, or null
 */
export function freeMemory(): number | null {
  try {
    return Deno.systemMemoryInfo().available;
  } catch {
    return null;
  }
}
