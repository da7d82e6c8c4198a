import { averageRanks, extent, pearson, spearman } from "./mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";

Deno.test("pearson and spearman match hand-computed values", () => {
  assertAlmostEquals(pearson([1, 2, 3, 4], [2, 4, 6, 8])!, 1, 1e-12);
  assertAlmostEquals(pearson([1, 2, 3], [1, 3, 2])!, 0.5, 1e-12);
  assertAlmostEquals(pearson([1, 2, 3], [3, 2, 1])!, -1, 1e-12);
  const x = [1, 2, 3, 4, 5, 6];
  const y = x.map((v) => v ** 3);
  assertAlmostEquals(spearman(x, y)!, 1, 1e-12);
  assert(pearson(x, y)! < 0.95);
});

Deno.test("averageRanks gives ties their average rank and refuses NaN", () => {
  assertEquals(Array.from(averageRanks([10, 20, 20, 5])), [2, 3.5, 3.5, 1]);
  assertEquals(Array.from(averageRanks([-Infinity, 0, Infinity])), [1, 2, 3]);
  assertThrows(() => averageRanks([1, NaN]), RangeError, "Cannot rank value 1");
});

Deno.test("one rule: an undefined coefficient is null, never NaN", () => {
  for (const f of [pearson, spearman]) {
    assertEquals(f([1, 1, 1], [1, 2, 3]), null, `${f.name}: constant side`);
    assertEquals(f([0.1, 0.1, 0.1], [1, 2, 3]), null, `${f.name}: constant side, inexact mean`);
    assertEquals(f([1], [2]), null, `${f.name}: one pair`);
    assertEquals(f([], []), null, `${f.name}: no pair`);
    assertEquals(f([1, NaN, 3], [1, 2, 3]), null, `${f.name}: NaN`);
    assertEquals(f([1, Infinity, 3], [1, 2, 3]), null, `${f.name}: Infinity`);
    assertThrows(() => f([1, 2], [1, 2, 3]), RangeError, "Length mismatch: 2 vs 3");
  }
});

Deno.test("coefficients stay within [-1, 1]", () => {
  const a = Array.from({ length: 50 }, (_, i) => 1e-3 * i + 1e8);
  const r = pearson(a, a)!;
  assert(r <= 1 && r >= 0.999999, String(r));
});

Deno.test("extent is Math.min/Math.max without spreading, also past the argument limit", () => {
  assertEquals(extent([3, -1, 2]), { min: -1, max: 3 });
  assertEquals(extent(new Float64Array([5])), { min: 5, max: 5 });
  assertEquals(extent([]), null);
  assertEquals(extent([1, NaN, 2]), { min: NaN, max: NaN });
  const many = Float64Array.from({ length: 2_000_000 }, (_, i) => (i * 7919) % 1_000_003);
  assertThrows(() => Math.max(...many), RangeError);
  assertEquals(extent(many), { min: 0, max: 1_000_002 });
});
