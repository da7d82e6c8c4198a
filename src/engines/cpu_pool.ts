/**
 * The fused CPU engine's optimizer threads: Web Workers that share the flat
 * parameter, gradient and moment buffers (`SharedArrayBuffer`s) with the main
 * thread and split each Adam or SGD step with it over disjoint ranges. The
 * main thread starts a step by bumping a generation counter
 * (`Atomics.notify`), does its own share and blocks in `Atomics.wait` until
 * every worker has finished: no event loop, no message per step.
 *
 * Why threads: an Adam step reads four and writes three floats per
 * parameter, so it is bound by memory bandwidth once it is vectorized: on the
 * 2-core reference machine, 10.5 M parameters take 12 ms on one thread and
 * 7 ms on two with the SIMD kernels (41 and 20 ms with the JavaScript ones).
 * Results do not depend on the thread count: every element's update is the
 * same arithmetic, whichever thread does it.
 *
 * @module
 */
import { adamRange, sgdRange } from "./cpu_optimizer.ts";
import { simdKernels } from "./wasm_simd.ts";

/** The buffers the optimizer updates, each backed by a `SharedArrayBuffer`. */
export interface OptimizerBuffers {
  p: Float32Array;
  g: Float32Array;
  /** Adam's first and second moments (absent for SGD). */
  m?: Float32Array;
  v?: Float32Array;
  /**
   * The arena all four live in, when they do: the update then runs the SIMD
   * kernels of {@link ./wasm_simd.ts}, else the JavaScript ones.
   */
  wasm?: { memory: WebAssembly.Memory; module: WebAssembly.Module };
}

/** `(kind 0 adam | 1 sgd, lr, c1, c2, lo, hi)`: one optimizer step over `[lo, hi)`. */
export type RangeUpdate = (
  kind: number,
  lr: number,
  c1: number,
  c2: number,
  lo: number,
  hi: number,
) => void;

/**
 * The update over a range of the buffers: the SIMD kernels over the largest
 * multiple of 4 elements when the buffers live in an arena, the JavaScript
 * kernels for the rest. Which elements take which path depends only on `hi`
 * (ranges start at multiples of 16), so results do not depend on the split.
 *
 * @param b the buffers
 * @returns the range update
 */
export function rangeUpdate(b: OptimizerBuffers): RangeUpdate {
  const { p, g, m, v } = b;
  const simd = b.wasm ? simdKernels(b.wasm.module, b.wasm.memory) : null;
  return (kind, lr, c1, c2, lo, hi) => {
    let from = lo;
    if (simd) {
      const n = (hi - lo) & ~3;
      const at = (a: Float32Array) => a.byteOffset + lo * 4;
      if (kind === 0) simd.adam(at(p), at(g), at(m!), at(v!), n, lr, 1 / c1, 1 / c2);
      else simd.sgd(at(p), at(g), n, lr);
      from = lo + n;
    }
    if (kind === 0) adamRange(p, g, m!, v!, lr, c1, c2, from, hi);
    else sgdRange(p, g, lr, from, hi);
  };
}

// Control words, one 64-byte line per worker: [generation, done generation].
const LINE = 16;
// Job words (float64): [kind (0 adam, 1 sgd, QUIT), lr, c1, c2].
const JOB = 4;
/** The job that tells a worker to leave its loop. */
export const QUIT = -1;

/** Splits `[0, n)` into `parts` nearly equal ranges; returns range `i`. */
export function share(n: number, parts: number, i: number): [number, number] {
  // Multiples of 16 floats (one cache line) so that threads never share a line.
  const chunk = Math.ceil(n / parts / 16) * 16;
  return [Math.min(n, i * chunk), Math.min(n, (i + 1) * chunk)];
}

/** The main thread and `threads − 1` workers updating one set of buffers. */
export class OptimizerPool {
  readonly #workers: Worker[];
  readonly #update: RangeUpdate;
  readonly #ctl: Int32Array;
  readonly #job: Float64Array;
  #generation = 0;
  #closed = false;

  private constructor(
    readonly threads: number,
    readonly buffers: OptimizerBuffers,
    workers: Worker[],
    ctl: Int32Array,
    job: Float64Array,
  ) {
    this.#workers = workers;
    this.#update = rangeUpdate(buffers);
    this.#ctl = ctl;
    this.#job = job;
  }

  /**
   * Starts `threads − 1` workers (none for one thread) and waits until they are ready.
   *
   * @param threads threads in all, the main one included (>= 1)
   * @param buffers shared buffers to update
   * @returns the pool
   */
  static async start(threads: number, buffers: OptimizerBuffers): Promise<OptimizerPool> {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`Invalid thread count "${threads}": expected an integer >= 1`);
    }
    const ctl = new Int32Array(new SharedArrayBuffer(threads * LINE * 4));
    const job = new Float64Array(new SharedArrayBuffer(JOB * 8));
    const workers: Worker[] = [];
    try {
      const ready: Promise<void>[] = [];
      for (let w = 1; w < threads; w++) {
        const worker = new Worker(new URL("./cpu_worker.ts", import.meta.url).href, {
          type: "module",
        });
        workers.push(worker);
        ready.push(
          new Promise((resolve, reject) => {
            worker.onmessage = () => resolve();
            worker.onerror = (e) => {
              e.preventDefault();
              reject(new Error(`A fused CPU engine worker failed to start: ${e.message}`));
            };
          }),
        );
        const [lo, hi] = share(buffers.p.length, threads, w);
        worker.postMessage({ ...buffers, ctl, job, line: w * LINE, lo, hi });
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new OptimizerPool(threads, buffers, workers, ctl, job);
  }

  /**
   * One Adam step over all parameters, split across the threads.
   *
   * @param lr learning rate
   * @param c1 first-moment bias correction
   * @param c2 second-moment bias correction
   */
  adam(lr: number, c1: number, c2: number): void {
    this.#run(0, lr, c1, c2);
  }

  /**
   * One SGD step over all parameters, split across the threads.
   *
   * @param lr learning rate
   */
  sgd(lr: number): void {
    this.#run(1, lr, 0, 0);
  }

  #run(kind: number, lr: number, c1: number, c2: number): void {
    if (this.#closed) throw new Error("The optimizer pool is closed");
    if (kind === QUIT && this.threads === 1) return;
    const n = this.buffers.p.length;
    const job = this.#job;
    job[0] = kind;
    job[1] = lr;
    job[2] = c1;
    job[3] = c2;
    const gen = ++this.#generation;
    const ctl = this.#ctl;
    for (let w = 1; w < this.threads; w++) {
      Atomics.store(ctl, w * LINE, gen);
      Atomics.notify(ctl, w * LINE);
    }
    if (kind !== QUIT) {
      const [lo, hi] = share(n, this.threads, 0);
      this.#update(kind, lr, c1, c2, lo, hi);
    }
    for (let w = 1; w < this.threads; w++) {
      const at = w * LINE + 1;
      let done = Atomics.load(ctl, at);
      while (done !== gen) {
        if (done < 0) throw new Error("A fused CPU engine worker failed during an update");
        Atomics.wait(ctl, at, done);
        done = Atomics.load(ctl, at);
      }
    }
  }

  /**
   * Stops the workers: each leaves its wait loop and acknowledges before it
   * is terminated, so none is torn down while blocked in `Atomics.wait`.
   */
  close(): void {
    if (this.#closed) return;
    try {
      this.#run(QUIT, 0, 0, 0);
    } catch {
      // a failed worker is terminated below all the same
    }
    this.#closed = true;
    for (const w of this.#workers) w.terminate();
  }
}
