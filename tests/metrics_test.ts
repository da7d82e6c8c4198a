import { assert, assertAlmostEquals, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { averageRanks, pearson, spearman } from "@alfred/core";
import { classificationMetrics, metricsByGroup, regressionMetrics } from "../src/train/metrics.ts";

Deno.test("classificationMetrics: hand-computed confusion, ratios and BCE", () => {
  // rows: tp, fp, fn, tp, tn
  const m = classificationMetrics([1, 0, 1, 1, 0], [0.9, 0.6, 0.4, 0.8, 0.1]);
  assertEquals(m.confusion, { tp: 2, fp: 1, tn: 1, fn: 1 });
  assertAlmostEquals(m.accuracy, 0.6, 1e-9);
  assertAlmostEquals(m.precision, 2 / 3, 1e-9);
  assertAlmostEquals(m.recall, 2 / 3, 1e-9);
  assertAlmostEquals(m.f1, 2 / 3, 1e-9);
  assertAlmostEquals(m.positiveRate, 0.6, 1e-9);
  // -(ln .9 + ln .4 + ln .4 + ln .8 + ln .9) / 5
  assertAlmostEquals(m.loss, 0.45328920927563443, 1e-12);
  assertEquals(m.n, 5);
  assertEquals(m.notes, []);
});

Deno.test("classificationMetrics: threshold is strict and configurable", () => {
  const m = classificationMetrics([1, 0], [0.5, 0.5]);
  assertEquals(m.confusion, { tp: 0, fp: 0, tn: 1, fn: 1 });
  const t = classificationMetrics([1, 0], [0.5, 0.2], 0.3);
  assertEquals(t.confusion, { tp: 1, fp: 0, tn: 1, fn: 0 });
});

Deno.test("classificationMetrics: no positive predictions or labels give 0 with a note; BCE is clipped", () => {
  const m = classificationMetrics([1, 0, 1], [0.2, 0.1, 0.3]);
  assertEquals(m.precision, 0);
  assertEquals(m.f1, 0);
  assert(m.notes.some((n) => n.includes("no positive predictions")), m.notes.join());
  const r = classificationMetrics([0, 0], [0.9, 0]);
  assertEquals(r.recall, 0);
  assert(r.notes.some((n) => n.includes("no positive labels")));
  // p = 0 for a negative is clipped to 1e-7; p = 0.9 for a negative costs -ln(0.1); mean of the two.
  assertAlmostEquals(r.loss, (-Math.log(0.1) - Math.log(1 - 1e-7)) / 2, 1e-12);
  const hard = classificationMetrics([1], [0]);
  assertAlmostEquals(hard.loss, -Math.log(1e-7), 1e-6);
});

Deno.test("classificationMetrics: invalid input names the row", () => {
  assertMatch(
    assertThrows(() => classificationMetrics([1, 0.5], [0.2, 0.1])).message,
    /row 1: "0.5", expected 0 or 1/,
  );
  assertMatch(
    assertThrows(() => classificationMetrics([1], [0.2, 0.1])).message,
    /1 labels but 2 probabilities/,
  );
  assertMatch(assertThrows(() => classificationMetrics([], [])).message, /no rows/);
});

Deno.test("regressionMetrics: hand-computed MSE, MAE, R², Pearson, sign accuracy", () => {
  const m = regressionMetrics([0.1, -0.2, 0.3, 0], [0.2, -0.1, 0.1, 0.05]);
  assertAlmostEquals(m.mse, 0.0625 / 4, 1e-12);
  assertAlmostEquals(m.loss, 0.0625 / 4, 1e-12);
  assertAlmostEquals(m.mae, 0.45 / 4, 1e-12);
  assertAlmostEquals(m.r2, 1 - 0.0625 / 0.13, 1e-12);
  assertAlmostEquals(m.pearson, 0.7365895075034008, 1e-12);
  // A zero return is "not up": the last row (label 0, prediction 0.05) is a sign miss.
  assertAlmostEquals(m.signAccuracy, 0.75, 1e-9);
  assertEquals(m.ic, null);
  assertEquals(m.rankIc, null);
});

Deno.test("regressionMetrics: constant predictions or labels give null correlations with notes", () => {
  const m = regressionMetrics([0.1, -0.2, 0.3], [0.05, 0.05, 0.05]);
  assertEquals(m.pearson, null);
  assert(m.r2 !== null);
  assert(m.notes.some((n) => n.includes("pearson is undefined")));
  assertEquals(JSON.parse(JSON.stringify(m)).pearson, null);
  const c = regressionMetrics([0.1, 0.1], [0.2, 0.3]);
  assertEquals(c.r2, null);
  assert(c.notes.some((n) => n.includes("r2 is undefined")));
});

Deno.test("regressionMetrics: IC and Rank IC per quarter with ICIR; small quarters skipped", () => {
  const rows: [string, number, number][] = [
    ["2001Q1", 1, 10],
    ["2001Q1", 2, 20],
    ["2001Q1", 3, 30], // ic 1
    ["2001Q2", 1, 3],
    ["2001Q2", 2, 2],
    ["2001Q2", 3, 1], // ic -1
    ["2001Q3", 1, 1],
    ["2001Q3", 2, 3],
    ["2001Q3", 3, 2],
    ["2001Q3", 4, 4], // ranks == values: 1 - 6 * 2 / (4 * 15) = 0.8
    ["2001Q4", 1, 1],
    ["2001Q4", 2, 2], // 2 names: skipped
    ["2002Q1", 1, 5],
    ["2002Q1", 2, 5],
    ["2002Q1", 3, 5], // constant predictions: null
  ];
  // Rows in shuffled order: grouping must not depend on row order.
  const order = [14, 3, 0, 7, 10, 5, 12, 1, 9, 6, 13, 2, 11, 4, 8];
  const m = regressionMetrics(
    order.map((i) => rows[i][1]),
    order.map((i) => rows[i][2]),
    order.map((i) => rows[i][0]),
  );
  const ic = m.ic!;
  assertEquals(ic.perQuarter.map((q) => q.quarter), ["2001Q1", "2001Q2", "2001Q3", "2002Q1"]);
  assertAlmostEquals(ic.perQuarter[0].ic, 1, 1e-9);
  assertAlmostEquals(ic.perQuarter[1].ic, -1, 1e-9);
  assertAlmostEquals(ic.perQuarter[2].ic, 0.8, 1e-9);
  assertAlmostEquals(ic.perQuarter[2].rankIc, 0.8, 1e-9);
  assertEquals(ic.perQuarter[3].ic, null);
  assertEquals(ic.perQuarter[2].n, 4);
  assertEquals(ic.skipped, 1);
  assertEquals(ic.quarters, 3);
  assertAlmostEquals(ic.mean, 0.26666666666666666, 1e-9);
  assertAlmostEquals(ic.std, 1.1015141094572205, 1e-9);
  assertAlmostEquals(ic.icir, 0.24209101306752095, 1e-9);
  assertAlmostEquals(m.rankIc!.mean, 0.26666666666666666, 1e-9);
  assert(m.notes.some((n) => n.includes("1 quarters with fewer than 3 names")));
  assert(m.notes.some((n) => n.includes("1 quarters with constant predictions")));
});

Deno.test("Rank IC differs from IC under a monotone non-linear prediction", () => {
  const y = [1, 2, 3, 4, 5];
  const p = [1, 2, 3, 4, 100];
  assertAlmostEquals(spearman(p, y), 1, 1e-9);
  assert(pearson(p, y)! < 0.8);
  assertEquals(Array.from(averageRanks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  assertAlmostEquals(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 0.9486832980505138, 1e-9);
});

Deno.test("metricsByGroup: per ticker, sorted, equal to the metrics of each subset", () => {
  const y = [1, 0, 1, 0, 1, 1];
  const p = [0.9, 0.8, 0.2, 0.1, 0.7, 0.6];
  const g = ["MSFT", "AAPL", "MSFT", "AAPL", "MSFT", "AAPL"];
  const per = metricsByGroup("direction", y, p, g);
  assertEquals(per.map((x) => [x.group, x.n]), [["AAPL", 3], ["MSFT", 3]]);
  assertEquals(per[0].metrics, classificationMetrics([0, 0, 1], [0.8, 0.1, 0.6]));
  assertEquals(per[1].metrics, classificationMetrics([1, 1, 1], [0.9, 0.2, 0.7]));
  const reg = metricsByGroup("magnitude", [0.1, 0.2, -0.1], [0.1, 0.1, 0.1], ["A", "B", "A"], {
    quarters: ["2000Q1", "2000Q1", "2000Q2"],
  });
  assertEquals(reg[0].metrics, regressionMetrics([0.1, -0.1], [0.1, 0.1], ["2000Q1", "2000Q2"]));
  assertMatch(
    assertThrows(() => metricsByGroup("direction", y, p, ["A"])).message,
    /6 labels but 1 groups/,
  );
});
