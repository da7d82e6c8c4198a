import { deriveSeed, Prng } from "./mod.ts";
import { assert, assertEquals, assertNotEquals } from "../../tests/assert.ts";

/** mulberry32 as published (Tommy Ettinger), the reference the streams are pinned to. */
function mulberry32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("Prng.fromState is mulberry32 from the raw state", () => {
  for (const state of [0, 1, 43, 0xffffffff, -5]) {
    const ref = mulberry32(state);
    const p = Prng.fromState(state);
    for (let i = 0; i < 1000; i++) assertEquals(p.next(), ref());
  }
});

Deno.test("new Prng(seed) mixes the seed; the streams are pinned", () => {
  // The trainer's epoch shuffles (and so every golden number) come from these streams.
  const p = new Prng(42);
  assertEquals(Array.from(p.permutation(10)), [3, 0, 2, 8, 6, 1, 9, 7, 4, 5]);
  assertEquals(p.state, 3211418171);
  const z = new Prng(0);
  assertEquals(z.state, 4257814932);
  assertEquals(z.next(), 0.3660756468307227);
  // The shuffled-label control's stream: the raw seed as state.
  assertEquals(
    Prng.fromState(43).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    [8, 1, 7, 5, 3, 6, 0, 4, 2, 9],
  );
});

Deno.test("a saved state resumes the same stream", () => {
  const a = new Prng(7);
  a.permutation(20);
  const b = Prng.fromState(a.state);
  assertEquals(Array.from(a.permutation(50)), Array.from(b.permutation(50)));
});

Deno.test("shuffle and permutation agree; int stays below its bound", () => {
  const values = Float32Array.from({ length: 30 }, (_, i) => i);
  const shuffled = new Prng(3).shuffle(values);
  assertEquals(Array.from(shuffled), Array.from(new Prng(3).permutation(30)));
  assertEquals([...shuffled].sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i));
  const p = new Prng(9);
  for (let i = 0; i < 1000; i++) {
    const k = p.int(7);
    assert(Number.isInteger(k) && k >= 0 && k < 7, `int(7) gave ${k}`);
  }
  assertNotEquals(Array.from(new Prng(3).permutation(30)), Array.from(new Prng(4).permutation(30)));
});

Deno.test("deriveSeed is pinned, 31-bit, and -1 leaves the salt out", () => {
  assertEquals(deriveSeed(42, 0), deriveSeed(42, 0, 0));
  assertNotEquals(deriveSeed(42, 0), deriveSeed(42, 1));
  assertNotEquals(deriveSeed(42, 0, 0), deriveSeed(42, 0, 1));
  for (let i = 0; i < 100; i++) {
    const s = deriveSeed(i * 7919, i, i % 3 - 1);
    assert(Number.isInteger(s) && s >= 0 && s <= 0x7fffffff);
  }
  // The dropout masks' seeds (salt -1: only seed and step are mixed).
  let h = (Math.imul(42, 0x9e3779b1) ^ Math.imul(5 + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  assertEquals(deriveSeed(42, 5, -1), (h ^ (h >>> 16)) & 0x7fffffff);
});
