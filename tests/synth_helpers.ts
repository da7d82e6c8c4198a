/**
 * Seeded synthetic inputs the tests share: a uniform stream, uniform float arrays and matrices,
 * and weekday calendars. Every stream is `@alfred/core`'s `Prng`, so a seed means the same
 * numbers in every test.
 *
 * @module
 */
import { dayOfWeek, dayToIso, isoToDay, type Matrix, Prng } from "@alfred/core";

/**
 * A seeded uniform generator on [0, 1): `@alfred/core`'s mulberry32 from the seed as its state.
 *
 * @param seed integer seed
 * @returns the generator
 */
export function rng(seed: number): () => number {
  const p = Prng.fromState(seed);
  return () => p.next();
}

/**
 * `n` floats uniform on [−scale, scale) from `new Prng(seed)`.
 *
 * @param n how many
 * @param seed the stream's seed
 * @param scale the half-width of the interval
 * @returns the floats
 */
export function uniformFloats(n: number, seed: number, scale = 1): Float32Array {
  const p = new Prng(seed);
  return new Float32Array(n).map(() => (p.next() * 2 - 1) * scale);
}

/**
 * A `rows` × `cols` matrix of {@linkcode uniformFloats} on [−1, 1), row-major.
 *
 * @param rows row count
 * @param cols column count
 * @param seed the stream's seed
 * @returns the matrix
 */
export function uniformMatrix(rows: number, cols: number, seed: number): Matrix {
  return { data: uniformFloats(rows * cols, seed), rows, cols };
}

/**
 * Weekdays (Monday to Friday) from `from` to `to` inclusive, as ISO dates.
 *
 * @param from ISO date
 * @param to ISO date
 * @returns ISO dates
 */
export function weekdays(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = isoToDay(from); d <= isoToDay(to); d++) {
    const wd = dayOfWeek(d);
    if (wd !== 0 && wd !== 6) out.push(dayToIso(d));
  }
  return out;
}
