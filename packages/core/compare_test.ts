import { compareStrings } from "./mod.ts";
import { assertEquals } from "../../tests/assert.ts";

Deno.test("compareStrings orders by code units, not by locale", () => {
  assertEquals(["b", "B", "a", "ä", "a"].sort(compareStrings), ["B", "a", "a", "b", "ä"]);
  assertEquals(compareStrings("x", "x"), 0);
  assertEquals(Math.sign(compareStrings("a", "a-b")), -1);
});
