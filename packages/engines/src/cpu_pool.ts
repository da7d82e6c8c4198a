/**
 * The fused CPU engine's threads: Web Workers that share the arena (or the
 * flat parameter, gradient and moment buffers, `SharedArrayBuffer`s) with the
 * main thread and split two kinds of job with it: an Adam or SGD step over
 * disjoint ranges of the parameters, and a wasm sgemm
 * ({@link ./wasm_sgemm.ts}) over disjoint rectangles of its output. The main
 * thread starts a job by writing it to a shared job array and bumping a
 * generation counter per worker taking part (`Atomics.notify`), does its own
 * share and blocks in `Atomics.wait` until each of them has finished: no event
 * loop, no message per job.
 *
 * Why threads: an Adam step reads four and writes three floats per
 * parameter, so it is bound by memory bandwidth once it is vectorized: on the
 * 2-core reference machine, 10.5 M parameters take 12 ms on one thread and
 * 7 ms on two with the SIMD kernels (41 and 20 ms with the JavaScript ones).
 * An sgemm is bound by arithmetic, so two cores do it in about half the time.
 *
 * Results do not depend on the thread count or on the split: every
 * parameter's update is the same arithmetic whichever thread does it, and
 * every output of an sgemm is one sequential sum whichever thread computes it.
 *
 * @module
 */
import { adamRange, sgdRange } from "./cpu_optimizer.ts";
import { simdKernels } from "./wasm_simd.ts";
import { sgemmChunk, type SgemmJob, sgemmRect, sgemmScratch } from "./wasm_sgemm.ts";

/** The buffers the threads work on, each backed by a `SharedArrayBuffer`. */
export interface PoolBuffers {
  p: Float32Array;
  g: Float32Array;
  /** Adam's first and second moments (absent for SGD). */
  m?: Float32Array;
  v?: Float32Array;
  /**
   * The arena all four live in, when they do: the update then runs the SIMD
   * kernels of {@link ./wasm_simd.ts}, else the JavaScript ones; sgemm jobs
   * need it.
   */
  wasm?: { memory: WebAssembly.Memory; module: WebAssembly.Module };
  /**
   * Per thread (the main one first), the byte address in the arena of its
   * sgemm scratch ({@linkcode SGEMM_SCRATCH_FLOATS} floats); absent: no
   * sgemm jobs.
   */
  scratch?: number[];
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
export function rangeUpdate(b: PoolBuffers): RangeUpdate {
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

// Control words, one 64-byte line per worker: [generation, done generation];
// after them one line whose first word counts the chunks of an sgemm taken.
const LINE = 16;
/** Job kinds (the job array's first word). */
export const JOB = { adam: 0, sgd: 1, sgemm: 2, quit: -1 } as const;
/** Words of the job array (float64): [kind, threads taking part, arguments…]. */
const JOB_WORDS = 16;
/** Where an sgemm's chunk count sits in the job array. */
const CHUNKS_WORD = 14;

/**
 * The shared chunk counter of a pool's control words: each call takes the
 * next chunk index.
 *
 * @param ctl the pool's control words
 * @param threads the pool's threads
 * @returns the taker
 */
export function chunkCounter(ctl: Int32Array, threads: number): () => number {
  return () => Atomics.add(ctl, threads * LINE, 1);
}

/** Splits `[0, n)` into `parts` nearly equal ranges; returns range `i`. */
export function share(n: number, parts: number, i: number): [number, number] {
  // Multiples of 16 floats (one cache line) so that threads never share a line.
  const chunk = Math.ceil(n / parts / 16) * 16;
  return [Math.min(n, i * chunk), Math.min(n, (i + 1) * chunk)];
}

/** Writes an sgemm job's arguments from word 2 of the job array. */
function writeSgemm(job: Float64Array, j: SgemmJob): void {
  job.set([
    j.transA ? 1 : 0,
    j.transB ? 1 : 0,
    j.m,
    j.n,
    j.k,
    j.a,
    j.lda,
    j.b,
    j.ldb,
    j.c,
    j.ldc,
    j.accumulate ? 1 : 0,
  ], 2);
}

/** Reads back what {@linkcode writeSgemm} wrote. */
function readSgemm(job: Float64Array): SgemmJob {
  const w = (i: number) => job[2 + i];
  return {
    transA: w(0) === 1,
    transB: w(1) === 1,
    m: w(2),
    n: w(3),
    k: w(4),
    a: w(5),
    lda: w(6),
    b: w(7),
    ldb: w(8),
    c: w(9),
    ldc: w(10),
    accumulate: w(11) === 1,
  };
}

/**
 * What thread `t` does with a job: its range of an optimizer step, or chunks
 * of an sgemm, taken one at a time from `next` until none is left (nothing
 * when `t` is past the threads taking part).
 *
 * @param b the shared buffers
 * @param t the thread (0 the main one)
 * @param next hands out the sgemm's chunk indices (0, 1, 2, … across all threads)
 * @returns the job runner
 */
export function threadWork(
  b: PoolBuffers,
  t: number,
  next: () => number,
): (job: Float64Array) => void {
  const update = rangeUpdate(b);
  const kernels = b.wasm ? simdKernels(b.wasm.module, b.wasm.memory) : null;
  const scratch = b.scratch ? sgemmScratch(b.scratch[t]) : null;
  return (job) => {
    const kind = job[0];
    const parts = job[1];
    if (t >= parts) return;
    if (kind === JOB.sgemm) {
      if (!kernels || !scratch) throw new Error("An sgemm job reached a thread without an arena");
      const j = readSgemm(job);
      const chunks = job[CHUNKS_WORD];
      for (let c = next(); c < chunks; c = next()) {
        sgemmRect(kernels, b.wasm!.memory, scratch, j, sgemmChunk(j.m, j.n, chunks, c));
      }
    } else {
      const [lo, hi] = share(b.p.length, parts, t);
      update(kind, job[2], job[3], job[4], lo, hi);
    }
  };
}

/** The main thread and `threads − 1` workers sharing one set of buffers. */
export class CpuPool {
  readonly #workers: Worker[];
  readonly #work: (job: Float64Array) => void;
  readonly #ctl: Int32Array;
  readonly #job: Float64Array;
  #generation = 0;
  #closed = false;

  private constructor(
    readonly threads: number,
    readonly buffers: PoolBuffers,
    workers: Worker[],
    ctl: Int32Array,
    job: Float64Array,
  ) {
    this.#workers = workers;
    this.#ctl = ctl;
    this.#job = job;
    this.#work = threadWork(buffers, 0, chunkCounter(ctl, threads));
  }

  /**
   * Starts `threads − 1` workers (none for one thread) and waits until they are ready.
   *
   * @param threads threads in all, the main one included (>= 1)
   * @param buffers shared buffers to work on
   * @returns the pool
   * @throws {RangeError} for an invalid thread count, or sgemm scratch for fewer threads
   * @throws {Error} when a worker fails to start
   */
  static async start(threads: number, buffers: PoolBuffers): Promise<CpuPool> {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`Invalid thread count "${threads}": expected an integer >= 1`);
    }
    if (buffers.scratch && buffers.scratch.length < threads) {
      throw new RangeError(
        `Sgemm scratch for ${buffers.scratch.length} threads: expected one per thread (${threads})`,
      );
    }
    const ctl = new Int32Array(new SharedArrayBuffer((threads + 1) * LINE * 4));
    const job = new Float64Array(new SharedArrayBuffer(JOB_WORDS * 8));
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
        worker.postMessage({ ...buffers, ctl, job, line: w * LINE, thread: w, threads });
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new CpuPool(threads, buffers, workers, ctl, job);
  }

  /**
   * One Adam step over all parameters, split across `parts` threads.
   *
   * @param lr learning rate
   * @param c1 first-moment bias correction
   * @param c2 second-moment bias correction
   * @param parts threads taking part (default all)
   */
  adam(lr: number, c1: number, c2: number, parts = this.threads): void {
    this.#job.set([JOB.adam, parts, lr, c1, c2]);
    this.#run(parts);
  }

  /**
   * One SGD step over all parameters, split across `parts` threads.
   *
   * @param lr learning rate
   * @param parts threads taking part (default all)
   */
  sgd(lr: number, parts = this.threads): void {
    this.#job.set([JOB.sgd, parts, lr]);
    this.#run(parts);
  }

  /**
   * One wasm sgemm split into `chunks` rectangles of C ({@linkcode sgemmChunk}),
   * which the threads take one at a time until none is left.
   *
   * @param job the product
   * @param chunks rectangles (threads taking part: as many, at most the pool's)
   */
  sgemm(job: SgemmJob, chunks: number): void {
    this.#job[0] = JOB.sgemm;
    writeSgemm(this.#job, job);
    this.#job[CHUNKS_WORD] = chunks;
    Atomics.store(this.#ctl, this.threads * LINE, 0);
    this.#run(chunks);
  }

  #run(parts: number): void {
    if (this.#closed) throw new Error("The fused CPU engine's thread pool is closed");
    const n = Math.max(1, Math.min(parts, this.threads));
    this.#job[1] = n;
    const gen = ++this.#generation;
    const ctl = this.#ctl;
    for (let w = 1; w < n; w++) {
      Atomics.store(ctl, w * LINE, gen);
      Atomics.notify(ctl, w * LINE);
    }
    try {
      if (this.#job[0] !== JOB.quit) this.#work(this.#job);
    } finally {
      // Even when this thread's share failed: no job may start while workers run this one.
      this.#join(n, gen);
    }
  }

  /** Waits until workers 1..n−1 have published generation `gen`. */
  #join(n: number, gen: number): void {
    const ctl = this.#ctl;
    for (let w = 1; w < n; w++) {
      const at = w * LINE + 1;
      let done = Atomics.load(ctl, at);
      while (done !== gen) {
        if (done < 0) throw new Error("A fused CPU engine worker failed during a job");
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
      this.#job.set([JOB.quit, this.threads]);
      this.#run(this.threads);
    } catch {
      // a failed worker is terminated below all the same
    }
    this.#closed = true;
    for (const w of this.#workers) w.terminate();
  }
}
