import assert from "node:assert/strict";
import pl from "nodejs-polars";
import {
  featureCorrelations,
  pearson,
  ranks,
  spearman,
  strengthWord,
} from "../src/features/correlation.ts";
import { rng } from "./fixtures/features/memory_dataset.ts";

Deno.test("strength words follow the research notes' thresholds", () => {
  assert.equal(strengthWord(0), "Very Weak");
  assert.equal(strengthWord(-0.195), "Very Weak");
  assert.equal(strengthWord(0.2), "Weak");
  assert.equal(strengthWord(-0.39), "Weak");
  assert.equal(strengthWord(0.4), "Moderate");
  assert.equal(strengthWord(0.6), "Strong");
  assert.equal(strengthWord(-0.79), "Strong");
  assert.equal(strengthWord(0.8), "Very Strong");
  assert.equal(strengthWord(-1), "Very Strong");
});

Deno.test("pearson and spearman match hand-computed values", () => {
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 4, 6, 8]) - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3], [1, 3, 2]) - 0.5) < 1e-12);
  assert.deepEqual([...ranks([10, 20, 20, 5])], [2, 3.5, 3.5, 1]);
  // Monotone but non-linear: Spearman 1, Pearson below 1.
  const x = [1, 2, 3, 4, 5];
  const y = x.map((v) => Math.exp(v));
  assert.ok(Math.abs(spearman(x, y) - 1) < 1e-12);
  assert.ok(pearson(x, y) < 0.95);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
});

function frame(n: number) {
  const r = rng(1);
  const label = Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
  return pl.DataFrame({
    strong: label.map((l) => l + 0.3 * r()),
    weak: label.map((l) => 0.3 * l + r()),
    noise: label.map(() => r()),
    negative: label.map((l) => -l + 0.5 * r()),
    flat: label.map(() => 2),
    PQ: label,
    label_date: label.map(() => "2001-01-01"),
  });
}

Deno.test("featureCorrelations sorts by |pearson| and uses only the given rows", () => {
  const df = frame(200);
  const rows = Array.from({ length: 150 }, (_, i) => i);
  const out = featureCorrelations(df, ["noise", "weak", "strong", "negative", "flat"], "PQ", rows);
  assert.deepEqual(out.map((c) => c.feature), ["strong", "negative", "weak", "noise", "flat"]);
  assert.equal(out[0].strength, "Very Strong");
  assert.ok(out[1].pearson < 0);
  assert.equal(out[4].strength, "Constant");
  const y = (df.getColumn("PQ").toArray() as number[]).slice(0, 150);
  const x = (df.getColumn("weak").toArray() as number[]).slice(0, 150);
  assert.equal(out[2].pearson, pearson(x, y));
  assert.equal(out[2].spearman, spearman(x, y));
  // Rows outside the training set do not affect the report.
  const changed = df.withColumn(
    pl.Series(
      "weak",
      (df.getColumn("weak").toArray() as number[]).map((v, i) => (i >= 150 ? -100 * v : v)),
    ),
  );
  const again = featureCorrelations(changed, ["weak"], "PQ", rows);
  assert.equal(again[0].pearson, out[2].pearson);
});

Deno.test("featureCorrelations never lists the label or anything derived from it", () => {
  const df = frame(50);
  const rows = Array.from({ length: 50 }, (_, i) => i);
  assert.throws(() => featureCorrelations(df, ["strong", "PQ"], "PQ", rows), /Cannot list "PQ"/);
  assert.throws(
    () => featureCorrelations(df, ["label_date"], "PQ", rows),
    /Cannot list "label_date"/,
  );
  assert.throws(() => featureCorrelations(df, ["delta_PQ"], "PQ", rows), /Cannot list "delta_PQ"/);
  const leaked = df.withColumn(pl.Series("copy", df.getColumn("PQ").toArray() as number[]));
  assert.throws(() => featureCorrelations(leaked, ["copy"], "PQ", rows), /copy of the label/);
  const out = featureCorrelations(df, ["strong", "weak"], "PQ", rows);
  assert.ok(out.every((c) => c.feature !== "PQ" && c.feature !== "label_date"));
});
