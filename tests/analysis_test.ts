import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import {
  ablation,
  AdditivityError,
  checkAdditivity,
  columnMeans,
  lossTarget,
  meanAbsShap,
  sampleRows,
  shapValues,
  verdict,
} from "../src/analysis/mod.ts";
import type { Matrix } from "@alfred/core";
import { uniformMatrix } from "./synth_helpers.ts";

/** A known nonlinear model of 4 inputs: only x0 and x1 matter (x0 with an interaction). */
function modelSync(x: Matrix): Float32Array {
  const out = new Float32Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    const v = x.data.subarray(r * x.cols, (r + 1) * x.cols);
    out[r] = Math.tanh(2 * v[0] + v[0] * v[1]) + 0.5 * v[1];
  }
  return out;
}

const model = (x: Matrix) => Promise.resolve(modelSync(x));

Deno.test("loss target matches the notes' analyze-loss.py by hand", () => {
  // labels 0, 1, 2, 3: mean 1.5, variance 1.25, range 3
  const t = lossTarget([0, 1, 2, 3], 0.8);
  assertAlmostEquals(t.mean, 1.5, 1e-7);
  assertAlmostEquals(t.variance, 1.25, 1e-7);
  assertAlmostEquals(t.std, Math.sqrt(1.25), 1e-7);
  assertAlmostEquals(t.range, 3, 1e-7);
  assertAlmostEquals(t.targetMseR2, 0.25, 1e-7);
  assertAlmostEquals(t.targetMseRange, 0.09, 1e-7);
  assertAlmostEquals(t.suggestedMse, 0.25, 1e-7);
  assertAlmostEquals(t.suggestedRmse, 0.5, 1e-7);
  assertAlmostEquals(t.suggestedRmsePercentOfRange, 100 * 0.5 / 3, 1e-7);
  // The notes' PM case: one outlier makes the range wide (49.4893) and the variance small, so
  // the 10%-of-range MSE (24.4919) is the suggestion, above 0.2 × variance.
  const wide = lossTarget([...new Array(99).fill(0), 49.4893], 0.8);
  assert(wide.targetMseR2 < wide.targetMseRange);
  assertAlmostEquals(wide.suggestedMse, wide.targetMseRange, 1e-7);
  assertAlmostEquals(wide.targetMseRange, 24.4919, 1e-4);
  assertAlmostEquals(wide.suggestedRmsePercentOfRange, 10, 1e-9);
  assertThrows(() => lossTarget([], 0.8), RangeError, "no labels");
  assertThrows(() => lossTarget([1, NaN], 0.8), RangeError, "row 1");
  assertThrows(() => lossTarget([1, 2], 1), RangeError, "R²");
});

Deno.test("Shapley values add up to the model output and rank the informative inputs first", async () => {
  const background = uniformMatrix(8, 4, 1);
  const explain = uniformMatrix(10, 4, 2);
  const r = await shapValues(model, explain, background, {
    permutations: 6,
    tolerance: 1e-4,
    seed: 3,
  });
  assertEquals(r.values.length, 10);
  assert(r.maxAdditivityError < 1e-5, `additivity error ${r.maxAdditivityError}`);
  const bg = modelSync(background);
  assertAlmostEquals(r.baseValue, bg.reduce((s, v) => s + v, 0) / bg.length, 1e-6);
  // Inputs 2 and 3 never change the output: exactly zero attribution.
  for (const row of r.values) {
    assertEquals(row[2], 0);
    assertEquals(row[3], 0);
  }
  const ranking = meanAbsShap(["x0", "x1", "x2", "x3"], r.values).map(([n]) => n);
  assertEquals(ranking.slice(0, 2).sort(), ["x0", "x1"]);
  // Deterministic for a seed.
  const again = await shapValues(model, explain, background, {
    permutations: 6,
    tolerance: 1e-4,
    seed: 3,
  });
  assertEquals(again.values, r.values);
});

Deno.test("Shapley values of a linear model are exact: w_j (x_j − mean b_j)", async () => {
  const w = [0.5, -2, 0, 1.5];
  const linear = (x: Matrix) => {
    const out = new Float32Array(x.rows);
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < 4; c++) out[r] += w[c] * x.data[r * 4 + c];
    }
    return Promise.resolve(out);
  };
  const background = uniformMatrix(5, 4, 9);
  const explain = uniformMatrix(3, 4, 10);
  const r = await shapValues(linear, explain, background, {
    permutations: 2,
    tolerance: 1e-4,
    seed: 1,
  });
  const means = columnMeans(background);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      assertAlmostEquals(r.values[i][j], w[j] * (explain.data[i * 4 + j] - means[j]), 1e-5);
    }
  }
});

Deno.test("the additivity check fails, naming the row, when attributions do not add up", async () => {
  assertAlmostEquals(checkAdditivity(0.5, [[0.1, 0.2], [0.3, -0.1]], [0.8, 0.7], 1e-6), 0, 1e-12);
  const error = assertThrows(
    () => checkAdditivity(0.5, [[0.1, 0.2], [0.3, 0.1]], [0.8, 0.7], 1e-6),
    AdditivityError,
    "explained row 1",
  );
  assertAlmostEquals(error.deviation, 0.2, 1e-12);
  // A model whose output on a row depends on the rest of the batch breaks additivity: caught.
  let calls = 0;
  const unstable = (x: Matrix) => {
    calls++;
    return Promise.resolve(modelSync(x).map((v) => v + (x.rows === 1 ? 0 : calls * 1e-2)));
  };
  await assertRejects(
    () =>
      shapValues(unstable, uniformMatrix(2, 4, 5), uniformMatrix(3, 4, 6), {
        permutations: 2,
        tolerance: 1e-4,
        seed: 1,
      }),
    AdditivityError,
  );
});

Deno.test("ablation applies the notes' rule and finds the informative inputs", async () => {
  const x = uniformMatrix(200, 4, 11);
  const y = modelSync(x);
  const score = (yt: Float32Array, p: Float32Array) => {
    let mse = 0, sign = 0;
    for (let i = 0; i < yt.length; i++) {
      mse += (yt[i] - p[i]) ** 2;
      if (Math.sign(yt[i]) === Math.sign(p[i])) sign++;
    }
    return Promise.resolve({ loss: mse / yt.length, metric: sign / yt.length });
  };
  const r = await ablation({
    predict: model,
    x,
    y,
    features: ["x0", "x1", "x2", "x3"],
    families: { useful: ["x0", "x1"], noise: ["x2", "x3"] },
    neutral: [0, 0, 0, 0],
    score,
  });
  assertEquals(r.full.loss, 0);
  assertEquals(r.rows[0].name, "useful");
  assertEquals(r.rows[0].kind, "family");
  const byName = Object.fromEntries(r.rows.map((row) => [row.name, row]));
  assertEquals(byName.x0.verdict, "needed");
  assertEquals(byName.x2.deltaLoss, 0);
  assertEquals(byName.noise.deltaLoss, 0);
  assertEquals(verdict(0.1, -0.1), "needed");
  assertEquals(verdict(-0.1, 0.1), "drop candidate");
  assertEquals(verdict(0.1, 0.1), "unclear");
});

Deno.test("sampleRows is deterministic, distinct and bounded", () => {
  const a = sampleRows(100, 10, 7);
  assertEquals(a, sampleRows(100, 10, 7));
  assertEquals(new Set(a).size, 10);
  assert(a.every((i) => i >= 0 && i < 100));
  assertEquals(sampleRows(5, 10, 1), [0, 1, 2, 3, 4]);
});
