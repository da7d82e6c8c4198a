import { checkMatrix } from "./mod.ts";
import { assertThrows } from "../../tests/assert.ts";

Deno.test("checkMatrix names the matrix and what is wrong", () => {
  const x = { data: new Float32Array(6), rows: 3, cols: 2 };
  checkMatrix("x", x);
  checkMatrix("x", x, [1, 2, 3], "y");
  checkMatrix("empty", { data: new Float32Array(0), rows: 0, cols: 4 });
  assertThrows(
    () => checkMatrix("x", { data: new Float32Array(10), rows: 5, cols: 4 }),
    RangeError,
    'Invalid matrix "x": data has 10 values, expected 5 x 4 = 20',
  );
  assertThrows(
    () => checkMatrix("x", { data: new Float32Array(0), rows: 0, cols: 0 }),
    RangeError,
    "cols >= 1",
  );
  assertThrows(
    () => checkMatrix("x", { data: new Float32Array(3), rows: 1.5, cols: 2 }),
    RangeError,
    "got 1.5 x 2",
  );
  assertThrows(
    () => checkMatrix("xVal", x, new Float32Array(2), "yVal"),
    RangeError,
    'Label count mismatch: "yVal" has 2 values but "xVal" has 3 rows',
  );
});
