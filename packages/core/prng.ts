/**
 * The one seeded pseudo-random generator: mulberry32. Small, fast, and its
 * whole state is one 32-bit integer, so a checkpoint can save it and a resumed
 * run continue the same stream.
 *
 * Seed derivations, each explicit:
 *
 * - `new Prng(seed)` mixes the seed first (nearby seeds give unrelated
 *   streams): the trainer's epoch shuffles, the baselines' folds, the
 *   synthetic generator, the Shapley sampling;
 * - `Prng.fromState(state)` starts from a raw state: a checkpoint's saved
 *   state, and the streams recorded runs were seeded that way (the
 *   shuffled-label control, the Shapley permutations);
 * - {@linkcode deriveSeed} hashes an experiment seed with an index into a
 *   31-bit seed for another generator (tfjs initializers, dropout masks).
 *
 * @module
 */

/** An array whose elements can be assigned: `number[]`, `Float32Array`, `Int32Array`… */
export interface MutableArrayLike<T> {
  /** Number of elements. */
  readonly length: number;
  /** The element at an index. */
  [index: number]: T;
}

/**
 * A seeded mulberry32 generator.
 *
 * @example
 * ```ts
 * import { Prng } from "@alfred/core";
 * const rng = new Prng(42);
 * const order = rng.permutation(10); // a seeded permutation of 0..9
 * const saved = rng.state; // resume later with Prng.fromState(saved)
 * ```
 */
export class Prng {
  /** The whole 32-bit state: save it to resume the stream with {@linkcode Prng.fromState}. */
  state: number;

  /**
   * A generator for a seed, mixed so that nearby seeds give unrelated streams.
   *
   * @param seed any integer (taken modulo 2³²)
   */
  constructor(seed: number) {
    this.state = (Math.imul((seed | 0) ^ 0x5bd1e995, 0x9e3779b1) ^ 0x2545f491) >>> 0;
  }

  /**
   * A generator that starts from a raw state, unmixed: a saved {@linkcode Prng.state}, or a
   * stream seeded with the seed itself.
   *
   * @param state any integer (taken modulo 2³²)
   * @returns the generator
   * @example
   * ```ts
   * import { Prng } from "@alfred/core";
   * const a = new Prng(7);
   * a.next();
   * const b = Prng.fromState(a.state);
   * a.next() === b.next(); // true
   * ```
   */
  static fromState(state: number): Prng {
    const p = new Prng(0);
    p.state = state >>> 0;
    return p;
  }

  /**
   * The next 32-bit output.
   *
   * @returns an integer in [0, 2³²)
   */
  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * A uniform float.
   *
   * @returns a number in [0, 1)
   */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /**
   * A uniform integer below `n`: `floor(next() * n)`.
   *
   * @param n the bound, a positive integer
   * @returns an integer in [0, n)
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Shuffles an array in place (Fisher–Yates from the last element down, one draw each).
   *
   * @param values the array to shuffle
   * @returns `values`, shuffled
   * @example
   * ```ts
   * import { Prng } from "@alfred/core";
   * new Prng(1).shuffle(["a", "b", "c"]); // the three letters in a seeded order
   * ```
   */
  shuffle<A extends MutableArrayLike<unknown>>(values: A): A {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = values[i];
      values[i] = values[j];
      values[j] = t;
    }
    return values;
  }

  /**
   * A permutation of `0..n-1`: {@linkcode Prng.shuffle} of the identity.
   *
   * @param n length
   * @returns the permutation
   */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

/**
 * A 31-bit seed derived from an experiment seed and an index (murmur3's finalizer over the
 * mixed inputs), so that neighbouring indices get unrelated streams.
 *
 * @param seed the experiment seed
 * @param index e.g. a layer index or a training step
 * @param salt separates streams that share an index (e.g. initializer and dropout); -1 leaves it out
 * @returns a non-negative 31-bit integer
 * @example
 * ```ts
 * import { deriveSeed } from "@alfred/core";
 * deriveSeed(42, 0) !== deriveSeed(42, 1); // true
 * ```
 */
export function deriveSeed(seed: number, index: number, salt = 0): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b) ^
    Math.imul(salt + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) & 0x7fffffff;
}
