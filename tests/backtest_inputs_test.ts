import assert from "node:assert/strict";
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
  assert.deepEqual([...m.keys()], ["A", "B"]);
  assert.deepEqual(m.get("A"), {
    dates: ["2000-01-03", "2000-01-04"],
    close: Float64Array.from([10, 11]),
  });
  assert.deepEqual(m.get("B"), {
    dates: ["2000-01-03", "2000-01-04"],
    close: Float64Array.from([20, 21]),
  });
});

Deno.test("seriesByKey rejects duplicate dates, bad dates and ragged columns", () => {
  assert.throws(
    () => seriesByKey({ keys: ["A", "A"], dates: ["2000-01-03", "2000-01-03"], values: [1, 2] }),
    /Duplicate rows for "A" on "2000-01-03"/,
  );
  assert.throws(
    () => seriesByKey({ keys: ["A"], dates: ["3 Jan 2000"], values: [1] }),
    /Invalid date "3 Jan 2000" in row 0/,
  );
  assert.throws(
    () => seriesByKey({ keys: ["A"], dates: [], values: [1] }),
    /Columns differ in length/,
  );
});
