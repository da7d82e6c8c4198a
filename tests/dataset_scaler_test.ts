import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "./assert.ts";
import pl from "nodejs-polars";
import { FeaturesConfig, ScalingConfig, SplitConfig } from "../src/config/schema.ts";
import { designMatrix, labelVector } from "../src/dataset/matrix.ts";
import { rowSetHash, Scaler, scalerKinds } from "../src/dataset/scaler.ts";
import { splitRows } from "../src/dataset/split.ts";
import { quarterlyFrame } from "./fixtures/features/quarterly_frame.ts";

const small = pl.DataFrame({
  a: [1, 2, 3, 4, 100],
  b: [10, 20, 30, 40, 50],
  c: [0, 0, 1, 2, 5],
  d: [7, 7, 7, 7, 8],
});

Deno.test("standard, minmax, robust and none scale as defined", () => {
  const rows = [0, 1, 2, 3];
  const s = Scaler.fit(small, rows, ["a", "b", "c", "d"], {
    a: "standard",
    b: "minmax",
    c: "robust",
    d: "none",
  });
  const x = s.transform(small, [0, 3, 4]);
  const std = Math.sqrt(1.25); // population std of 1..4
  const want = [
    [(1 - 2.5) / std, 0, (0 - 0.5) / 1.25, 7],
    [(4 - 2.5) / std, 1, (2 - 0.5) / 1.25, 7],
    [(100 - 2.5) / std, (50 - 10) / 30, (5 - 0.5) / 1.25, 8],
  ].flat();
  want.forEach((w, i) =>
    assert(Math.abs(x[i] - w) < 1e-6 * Math.max(1, Math.abs(w)), `cell ${i}: ${x[i]} != ${w}`)
  );
  assertEquals(s.toJSON().columns.map((c) => c.stats), [
    { mean: 2.5, std },
    { min: 10, max: 40 },
    { median: 0.5, q1: 0, q3: 1.25 },
    {},
  ]);
});

Deno.test("the scaler is fitted on training rows only (asserted, not assumed)", () => {
  const q = quarterlyFrame(["AAA", "BBB", "CCC", "DDD", "EEE"], "1991Q1", "2000Q4");
  const [fold] = splitRows(q, SplitConfig.parse({}), { mode: "direction", horizon: 1 }, {
    train: ["AAA", "BBB", "CCC"],
    eval: ["DDD", "EEE"],
  });
  const kinds = { f1: "standard", f2: "robust", f3: "minmax" } as const;
  const s = Scaler.fit(q.frame, fold.train, q.features, kinds);
  assertEquals(s.fittedRows, fold.train.length);
  assertEquals(s.rowsHash, rowSetHash(fold.train));
  assertNotEquals(s.rowsHash, rowSetHash([...fold.train, ...fold.validation]));
  assertEquals(rowSetHash([...fold.train].reverse()), s.rowsHash);
  // Wild values on every non-training row change nothing.
  const train = new Set(fold.train);
  const wild = q.frame.withColumns(
    ...q.features.map((f) =>
      pl.Series(
        f,
        (q.frame.getColumn(f).toArray() as number[]).map((
          v,
          i,
        ) => (train.has(i) ? v : v * 1e6 + 3)),
      )
    ),
  );
  assertEquals(Scaler.fit(wild, fold.train, q.features, kinds).toJSON(), s.toJSON());
  // And the training rows do matter.
  assertNotEquals(Scaler.fit(wild, fold.eval, q.features, kinds).toJSON(), s.toJSON());
});

Deno.test("scaler errors name the column: missing, extra, reordered, non-finite, constant", () => {
  const s = Scaler.fit(small, [0, 1, 2, 3, 4], ["a", "b"], { a: "standard", b: "standard" });
  assertThrows(
    () => s.transform(small.drop("b"), [0]),
    Error,
    'column "b" is missing from the frame',
  );
  assertThrows(() => s.checkColumns(["a"]), Error, 'Scaler column "b" is missing from the data');
  assertThrows(
    () => s.checkColumns(["a", "b", "c"]),
    Error,
    'Column "c" was not seen when the scaler was fitted',
  );
  assertThrows(
    () => s.transform(small, [0], ["b", "a"]),
    Error,
    'Column "b" is at position 0, where the scaler was fitted with "a": columns are reordered',
  );
  const nan = small.withColumn(pl.Series("a", [1, NaN, 3, 4, 5]));
  assertThrows(() => s.transform(nan, [0, 1]), Error, 'column "a" holds NaN at row 1');
  const inf = pl.DataFrame({
    ticker: ["X", "Y"],
    quarter: ["2000Q1", "2000Q2"],
    a: [1, Infinity],
    b: [1, 2],
  });
  assertThrows(
    () => s.transform(inf, [1]),
    Error,
    'column "a" holds Infinity at row 1 (ticker "Y", quarter 2000Q2)',
  );
  assertMatch(
    assertThrows(() => Scaler.fit(small, [0, 1, 2, 3], ["d"], { d: "standard" })).message,
    /standard scaler for column "d".*standard deviation on the 4 training rows is 0.*features.exclude or set scaling.columns.d: none/,
  );
  assertThrows(
    () => Scaler.fit(small, [0, 1], ["c"], { c: "minmax" }),
    Error,
    'column "c": its range',
  );
  assertThrows(
    () => Scaler.fit(small, [0, 1, 2, 3], ["d"], { d: "robust" }),
    Error,
    'column "d": its interquartile range',
  );
  Scaler.fit(small, [0, 1, 2, 3], ["d"], { d: "none" }); // unscaled: no spread needed, no error
  assertThrows(
    () => Scaler.fit(small, [0, 1], ["a", "b"], { a: "standard" }),
    Error,
    'column "b" has no scaler kind',
  );
  assertThrows(() => Scaler.fit(small, [0, 0, 1], ["a"], { a: "standard" }), Error, "duplicates");
  assertThrows(() => Scaler.fit(small, [], ["a"], { a: "standard" }), Error, "zero rows");
});

Deno.test("toJSON/fromJSON round-trips through JSON text", () => {
  const s = Scaler.fit(small, [0, 1, 2, 4], ["a", "b", "c"], {
    a: "robust",
    b: "minmax",
    c: "standard",
  });
  const back = Scaler.fromJSON(JSON.parse(JSON.stringify(s)));
  assertEquals(back.toJSON(), s.toJSON());
  assertEquals(back.transform(small, [0, 1, 2, 3, 4]), s.transform(small, [0, 1, 2, 3, 4]));
  assertThrows(() => Scaler.fromJSON({ version: 2 }), Error, "version 1");
  const bad = s.toJSON();
  bad.columns[1].scale = 0;
  assertThrows(() => Scaler.fromJSON(bad), Error, 'column 1 ("b") has invalid statistics');
});

Deno.test("scalerKinds: per-column override, then family scaler, then the default", () => {
  const q = quarterlyFrame(["AAA"], "2000Q1", "2000Q4");
  const features = FeaturesConfig.parse({ families: { price: { scaler: "robust" }, insider: {} } });
  assertEquals(scalerKinds(q, features, ScalingConfig.parse({ columns: { f2: "none" } })), {
    f1: "robust",
    f2: "none",
    f3: "standard",
  });
  assertEquals(
    scalerKinds(q, FeaturesConfig.parse({}), ScalingConfig.parse({ default: "minmax" })),
    {
      f1: "minmax",
      f2: "minmax",
      f3: "minmax",
    },
  );
  assertMatch(
    assertThrows(() =>
      scalerKinds(q, features, ScalingConfig.parse({ columns: { Close: "none" } }))
    ).message,
    /scaling.columns names "Close", which is not a feature: features are "f1", "f2", "f3"/,
  );
});

Deno.test("designMatrix returns row-major scaled features, labels and keys", () => {
  const q = quarterlyFrame(["AAA", "BBB"], "2000Q1", "2001Q4");
  const rows = [1, 3, 9];
  const s = Scaler.fit(q.frame, [0, 1, 2, 3, 4, 5, 8, 9, 10], q.features, {
    f1: "standard",
    f2: "minmax",
    f3: "none",
  });
  const m = designMatrix(q, rows, s);
  assertEquals(m.x.rows, 3);
  assertEquals(m.x.cols, 3);
  assertEquals(m.x.data.length, 9);
  assertEquals(m.x.data, s.transform(q.frame, rows));
  const f3 = q.frame.getColumn("f3").toArray() as number[];
  assertEquals([...rows.map((_, k) => m.x.data[k * 3 + 2])], rows.map((i) => f3[i]));
  const pq = q.frame.getColumn("PQ").toArray() as number[];
  assertEquals([...m.y], rows.map((i) => pq[i]));
  assertEquals(labelVector(q, rows), m.y);
  assertEquals(m.keys, [
    { ticker: "AAA", quarter: "2000Q2", date: "2000-06-30" },
    { ticker: "AAA", quarter: "2000Q4", date: "2000-12-31" },
    { ticker: "BBB", quarter: "2000Q2", date: "2000-06-30" },
  ]);
  assertThrows(
    () => designMatrix({ ...q, features: ["f2", "f1", "f3"] }, rows, s),
    Error,
    "reordered",
  );
  // A quarterly frame may be passed whole: its feature list is checked against the fitted columns.
  const fromQ = Scaler.fit(q, [0, 1, 2, 3, 4, 5, 8, 9, 10], q.features, {
    f1: "standard",
    f2: "minmax",
    f3: "none",
  });
  assertEquals(fromQ.toJSON(), s.toJSON());
  assertEquals(s.transform(q, rows), m.x.data);
  assertThrows(
    () => s.transform({ ...q, features: ["f1", "f2"] }, rows),
    Error,
    'Scaler column "f3" is missing',
  );
});
