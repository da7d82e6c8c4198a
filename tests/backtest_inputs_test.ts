import { assertEquals, assertThrows } from "./assert.ts";
import { seriesByKey } from "../src/backtest/inputs.ts";

Deno.test("seriesByKey groups long rows per key, sorted by date, skipping missing values", () => {
  const m = seriesByKey({
    keys: ["B", "A", "A", "B", "A", "C"],
    dates: [
      "2000-01-04",
      new Date(Date.UTC(2000, 0, 4)),
      "2000-01-03",
      "2000-01-03",
      "2000-01-05",
      "2000-01-03",
    ],
    values: [21, 11, 10, 20, null, 30],
  }, ["A", "B"]);
  assertEquals([...m.keys()], ["A", "B"]);
  assertEquals(m.get("A"), {
    dates: ["2000-01-03", "2000-01-04"],
    close: Float64Array.from([10, 11]),
  });
  assertEquals(m.get("B"), {
    dates: ["2000-01-03", "2000-01-04"],
    close: Float64Array.from([20, 21]),
  });
});

Deno.test("seriesByKey rejects duplicate dates, bad dates and ragged columns", () => {
  assertThrows(
    () => seriesByKey({ keys: ["A", "A"], dates: ["2000-01-03", "2000-01-03"], values: [1, 2] }),
    Error,
    'Duplicate rows for "A" on "2000-01-03"',
  );
  assertThrows(
    () => seriesByKey({ keys: ["A"], dates: ["3 Jan 2000"], values: [1] }),
    Error,
    'Invalid date "3 Jan 2000" in row 0',
  );
  assertThrows(
    () => seriesByKey({ keys: ["A"], dates: [], values: [1] }),
    Error,
    "Columns differ in length",
  );
});
