import pl from "nodejs-polars";
import { pearson, spearman } from "@alfred/core";
import { featureCorrelations, strengthWord } from "../src/features/correlation.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import { rng } from "./synth_helpers.ts";

Deno.test("strength words follow the research notes' thresholds", () => {
  assertEquals(strengthWord(0), "Very Weak");
  assertEquals(strengthWord(-0.195), "Very Weak");
  assertEquals(strengthWord(0.2), "Weak");
  assertEquals(strengthWord(-0.39), "Weak");
  assertEquals(strengthWord(0.4), "Moderate");
  assertEquals(strengthWord(0.6), "Strong");
  assertEquals(strengthWord(-0.79), "Strong");
  assertEquals(strengthWord(0.8), "Very Strong");
  assertEquals(strengthWord(-1), "Very Strong");
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
  assertEquals(out.map((c) => c.feature), ["strong", "negative", "weak", "noise", "flat"]);
  assertEquals(out[0].strength, "Very Strong");
  assert(out[1].pearson! < 0);
  assertEquals(out[4].strength, "Constant");
  const y = (df.getColumn("PQ").toArray() as number[]).slice(0, 150);
  const x = (df.getColumn("weak").toArray() as number[]).slice(0, 150);
  assertEquals(out[2].pearson, pearson(x, y));
  assertEquals(out[2].spearman, spearman(x, y));
  // Rows outside the training set do not affect the report.
  const changed = df.withColumn(
    pl.Series(
      "weak",
      (df.getColumn("weak").toArray() as number[]).map((v, i) => (i >= 150 ? -100 * v : v)),
    ),
  );
  const again = featureCorrelations(changed, ["weak"], "PQ", rows);
  assertEquals(again[0].pearson, out[2].pearson);
});

Deno.test("featureCorrelations never lists the label or anything derived from it", () => {
  const df = frame(50);
  const rows = Array.from({ length: 50 }, (_, i) => i);
  const rejected = (features: string[], f: pl.DataFrame = df) =>
    assertThrows(() => featureCorrelations(f, features, "PQ", rows), RangeError).message;
  assertStringIncludes(rejected(["strong", "PQ"]), 'Cannot list "PQ"');
  assertStringIncludes(rejected(["label_date"]), 'Cannot list "label_date"');
  assertStringIncludes(rejected(["delta_PQ"]), 'Cannot list "delta_PQ"');
  const leaked = df.withColumn(pl.Series("copy", df.getColumn("PQ").toArray() as number[]));
  assertStringIncludes(rejected(["copy"], leaked), "copy of the label");
  const out = featureCorrelations(df, ["strong", "weak"], "PQ", rows);
  assert(out.every((c) => c.feature !== "PQ" && c.feature !== "label_date"));
});
