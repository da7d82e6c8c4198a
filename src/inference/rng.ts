/**
 * The seeded pseudo-random generator every resampling in `src/inference/` draws from.
 *
 * It is kept alone in this one small file on purpose: the project is unifying its PRNGs
 * (the trainer's mulberry32, the synthetic data's sfc32) into one module, and when that
 * lands this file is the only one to swap. Nothing else in `src/inference/` constructs
 * random numbers; everything takes a `seed` and builds an {@linkcode Rng} from it.
 *
 * The generator is mulberry32 (Tommy Ettinger, public domain): a 32-bit state advanced by
 * the Weyl constant 0x6D2B79F5 and mixed by two multiply-xorshift rounds. Its period is
 * 2^32, which is ample for bootstrap resampling (a few million draws per call), and its
 * whole state is one integer, so a run is reproduced from its seed alone.
 *
 * @module
 */

/** A seeded source of uniform numbers. */
export interface Rng {
  /** A uniform draw in [0, 1) with 32 random bits. */
  uniform(): number;
  /**
   * A uniform integer in [0, n).
   *
   * @param n the number of outcomes, a positive integer below 2^32
   */
  below(n: number): number;
}

/**
 * A mulberry32 generator seeded with `seed` (taken modulo 2^32).
 *
 * @param seed any finite integer; the same seed gives the same sequence on every platform
 * @returns the generator
 * @throws {RangeError} when the seed is not a finite integer
 * @example
 * ```ts
 * const a = createRng(7);
 * const b = createRng(7);
 * a.uniform() === b.uniform(); // true
 * ```
 */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) {
    throw new RangeError(`Invalid seed "${seed}": expected a finite integer`);
  }
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform: next,
    below(n: number): number {
      return Math.floor(next() * n);
    },
  };
}
