import { compareStrings, countAtOrBelow } from "./mod.ts";
import { assertEquals } from "../../tests/assert.ts";

Deno.test("compareStrings orders by code units, not by locale", () => {
  assertEquals(["b", "B", "a", "ä", "a"].sort(compareStrings), ["B", "a", "a", "b", "ä"]);
  assertEquals(compareStrings("x", "x"), 0);
  assertEquals(Math.sign(compareStrings("a", "a-b")), -1);
});

Deno.test("countAtOrBelow counts the values at or below, ties included", () => {
  const days = [1, 3, 3, 7];
  assertEquals([0, 1, 2, 3, 6, 7, 8].map((d) => countAtOrBelow(days, d)), [0, 1, 1, 3, 3, 4, 4]);
  assertEquals(countAtOrBelow([], 5), 0);
  const dates = ["2020-01-02", "2020-01-03", "2020-01-06"];
  assertEquals(countAtOrBelow(dates, "2020-01-04"), 2);
  assertEquals(countAtOrBelow(dates, "2020-01-06"), 3);
});
