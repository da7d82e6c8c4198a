/**
 * One optimizer thread of the fused CPU engine ({@link ./cpu_pool.ts}): waits
 * for the generation counter on its control line, updates its range of the
 * shared buffers, publishes the generation as done.
 *
 * @module
 */
import { type OptimizerBuffers, QUIT, rangeUpdate } from "./cpu_pool.ts";

interface Init extends OptimizerBuffers {
  ctl: Int32Array;
  job: Float64Array;
  line: number;
  lo: number;
  hi: number;
}

const self = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Init>) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
};

self.onmessage = (e: MessageEvent<Init>) => {
  self.onmessage = null;
  const { ctl, job, line, lo, hi } = e.data;
  const update = rangeUpdate(e.data);
  self.postMessage("ready");
  let seen = 0;
  while (true) {
    Atomics.wait(ctl, line, seen);
    const gen = Atomics.load(ctl, line);
    if (gen === seen) continue;
    seen = gen;
    if (job[0] === QUIT) {
      Atomics.store(ctl, line + 1, gen);
      Atomics.notify(ctl, line + 1);
      break;
    }
    try {
      update(job[0], job[1], job[2], job[3], lo, hi);
      Atomics.store(ctl, line + 1, gen);
    } catch {
      Atomics.store(ctl, line + 1, -1);
    }
    Atomics.notify(ctl, line + 1);
  }
  self.close();
};
