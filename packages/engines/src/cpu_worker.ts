/**
 * One worker thread of the fused CPU engine ({@link ./cpu_pool.ts}): waits
 * for the generation counter on its control line, does its share of the job
 * (an optimizer range or an sgemm rectangle), publishes the generation as done.
 *
 * @module
 */
import { chunkCounter, JOB, type PoolBuffers, threadWork } from "./cpu_pool.ts";

interface Init extends PoolBuffers {
  ctl: Int32Array;
  job: Float64Array;
  line: number;
  thread: number;
  threads: number;
}

// Sound: this module only ever runs as a Worker's entry, whose global is the worker scope; it is
// type-checked with the window's lib, which does not describe that scope.
const self = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Init>) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
};

self.onmessage = (e: MessageEvent<Init>) => {
  self.onmessage = null;
  const { ctl, job, line, thread, threads } = e.data;
  const work = threadWork(e.data, thread, chunkCounter(ctl, threads));
  self.postMessage("ready");
  let seen = 0;
  while (true) {
    Atomics.wait(ctl, line, seen);
    const gen = Atomics.load(ctl, line);
    if (gen === seen) continue;
    seen = gen;
    if (job[0] === JOB.quit) {
      Atomics.store(ctl, line + 1, gen);
      Atomics.notify(ctl, line + 1);
      break;
    }
    try {
      work(job);
      Atomics.store(ctl, line + 1, gen);
    } catch {
      Atomics.store(ctl, line + 1, -1);
    }
    Atomics.notify(ctl, line + 1);
  }
  self.close();
};
