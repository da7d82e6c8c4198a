import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import {
  ablation,
  AdditivityError,
  checkAdditivity,
  columnMeans,
  lossTarget,
  meanAbsShap,
  runAnalysis,
  sampleRows,
  shapValues,
  verdict,
} from "../src/analysis/mod.ts";
import { AnalysisConfig, ModelConfig } from "../src/config/schema.ts";
import {
  fieldColumnIndices,
  sequenceColumns,
  type SequenceShape,
} from "../src/features/sequence.ts";
import { buildModel } from "../src/models/registry.ts";
import { predict } from "@alfred/engines";
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

// ---- window inputs: ablation and Shapley values per field (issue 19) ----

/** A window of 3 steps of close, return and volume: 9 columns, time-major. */
const WINDOW: SequenceShape = { length: 3, fields: ["close", "return", "volume"] };
const WINDOW_COLUMNS = sequenceColumns(WINDOW);
const at = (field: string, lag: number) => WINDOW_COLUMNS.indexOf(`${field}@t-${lag}`);

/** Reads close and return across steps (an interaction over time); never volume. */
function windowModelSync(x: Matrix): Float32Array {
  const out = new Float32Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    const v = x.data.subarray(r * x.cols, (r + 1) * x.cols);
    out[r] = Math.tanh(v[at("return", 0)] * v[at("return", 2)] + v[at("close", 1)]) +
      0.3 * v[at("close", 0)];
  }
  return out;
}
const windowModel = (x: Matrix) => Promise.resolve(windowModelSync(x));

/** The close and return parts of a model additive across fields (float32 like a model's output). */
function fieldParts(v: ArrayLike<number>): { close: number; ret: number; sum: number } {
  const close = Math.tanh(v[at("close", 1)]) + 0.3 * v[at("close", 0)];
  const ret = Math.tanh(3 * v[at("return", 0)] * v[at("return", 2)]);
  return { close, ret, sum: close + ret };
}

Deno.test("Shapley values per window field: one value per field over its steps, adding up", async () => {
  const groups = WINDOW.fields.map((f) => fieldColumnIndices(WINDOW, f));
  const explain = uniformMatrix(6, 9, 21);
  const background = uniformMatrix(5, 9, 22);
  const r = await shapValues(windowModel, explain, background, {
    permutations: 4,
    tolerance: 1e-4,
    seed: 5,
    groups,
  });
  assert(r.values.every((row) => row.length === 3));
  assert(r.maxAdditivityError < 1e-5, `additivity error ${r.maxAdditivityError}`);
  for (const row of r.values) assertEquals(row[2], 0); // volume is never read
  // A model additive across fields, nonlinear within one over time (return@t-0 × return@t-2):
  // every order gives each field the same marginal contribution, so the group values are exact,
  // the whole interaction goes to "return", and the steps of a field move together.
  const additive = (x: Matrix) => {
    const out = new Float32Array(x.rows);
    for (let i = 0; i < x.rows; i++) out[i] = fieldParts(x.data.subarray(i * 9, i * 9 + 9)).sum;
    return Promise.resolve(out);
  };
  const exact = await shapValues(additive, explain, background, { ...OPTS, groups });
  for (let i = 0; i < 6; i++) {
    const x = fieldParts(explain.data.subarray(i * 9, i * 9 + 9));
    let close = 0, ret = 0;
    for (let b = 0; b < 5; b++) {
      const z = fieldParts(background.data.subarray(b * 9, b * 9 + 9));
      close += (x.close - z.close) / 5;
      ret += (x.ret - z.ret) / 5;
    }
    assertAlmostEquals(exact.values[i][0], close, 1e-5);
    assertAlmostEquals(exact.values[i][1], ret, 1e-5);
    assertEquals(exact.values[i][2], 0);
  }
  // Groups must partition the columns.
  await assertRejects(
    () => shapValues(windowModel, explain, background, { ...OPTS, groups: groups.slice(1) }),
    RangeError,
    "column 0 is in no group",
  );
  await assertRejects(
    () => shapValues(windowModel, explain, background, { ...OPTS, groups: [[0, 1], [1, 2]] }),
    RangeError,
    "already in another group",
  );
});

const OPTS = { permutations: 1, tolerance: 1e-4, seed: 1 };

Deno.test("Shapley values of a linear model per field: the sum over its steps of w_c (x_c − mean b_c)", async () => {
  const w = [0.5, -2, 0, 1.5, 0.25, 0, -1, 3, 0];
  const linear = (x: Matrix) => {
    const out = new Float32Array(x.rows);
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < 9; c++) out[r] += w[c] * x.data[r * 9 + c];
    }
    return Promise.resolve(out);
  };
  const groups = WINDOW.fields.map((f) => fieldColumnIndices(WINDOW, f));
  const background = uniformMatrix(4, 9, 31);
  const explain = uniformMatrix(3, 9, 32);
  const r = await shapValues(linear, explain, background, { ...OPTS, groups });
  const means = columnMeans(background);
  for (let i = 0; i < 3; i++) {
    groups.forEach((g, k) => {
      const want = g.reduce((s, c) => s + w[c] * (explain.data[i * 9 + c] - means[c]), 0);
      assertAlmostEquals(r.values[i][k], want, 1e-5);
    });
  }
});

Deno.test("ablation of a window neutralizes each field over all its steps", async () => {
  const x = uniformMatrix(200, 9, 41);
  const y = windowModelSync(x);
  const score = (yt: Float32Array, p: Float32Array) => {
    let mse = 0, sign = 0;
    for (let i = 0; i < yt.length; i++) {
      mse += (yt[i] - p[i]) ** 2;
      if (Math.sign(yt[i]) === Math.sign(p[i])) sign++;
    }
    return Promise.resolve({ loss: mse / yt.length, metric: sign / yt.length });
  };
  const r = await ablation({
    predict: windowModel,
    x,
    y,
    features: WINDOW_COLUMNS,
    families: { prices: WINDOW_COLUMNS.filter((c) => !c.startsWith("volume")) },
    neutral: new Float64Array(9),
    score,
    sequence: WINDOW,
  });
  // One row per field and the family; no row per column.
  assertEquals(r.rows.map((row) => row.name).sort(), ["close", "prices", "return", "volume"]);
  const byName = Object.fromEntries(r.rows.map((row) => [row.name, row]));
  assertEquals(byName.return.kind, "field");
  assertEquals(byName.return.columns, ["return@t-2", "return@t-1", "return@t-0"]);
  assert(byName.return.deltaLoss > 0);
  assert(byName.close.deltaLoss > 0);
  assertEquals(byName.volume.deltaLoss, 0);
  assertEquals(byName.prices.kind, "family");
});

Deno.test("runAnalysis on a tiny MLP over a flat window reports per-field ablation and Shapley values", async () => {
  const net = buildModel(
    ModelConfig.parse({ family: "vanilla.small", size: 4, layers: 1 }),
    9,
    { mode: "magnitude", horizon: 1 },
    3,
  );
  const xTrain = uniformMatrix(20, 9, 51);
  const xEval = uniformMatrix(8, 9, 52);
  const predictNet = (x: Matrix) => predict(net, x);
  const yEval = await predictNet(xEval);
  const lines: string[] = [];
  const out = await runAnalysis({
    config: AnalysisConfig.parse({
      ablation: {},
      shap: { background: 4, explain: 3, permutations: 2, tolerance: 1e-4 },
    }),
    predict: predictNet,
    xTrain,
    yTrain: await predictNet(xTrain),
    xEval,
    yEval,
    evalKeys: Array.from({ length: 8 }, (_, i) => `T${i} 2001Q1`),
    features: WINDOW_COLUMNS,
    families: {},
    sequence: WINDOW,
    mode: "magnitude",
    score: (y, p) => {
      let mse = 0;
      for (let i = 0; i < y.length; i++) mse += (y[i] - p[i]) ** 2;
      return Promise.resolve({ loss: mse / y.length, metric: 0 });
    },
    metricName: "signAccuracy",
    seed: 7,
    log: (l) => lines.push(l),
  });
  net.dispose();
  assertEquals(out.ablation!.rows.map((r) => r.kind), ["field", "field", "field"]);
  const shap = out.shap!;
  assertEquals(shap.features, WINDOW.fields);
  assert(shap.values.every((row) => row.length === 3));
  assert(shap.maxAdditivityError <= 1e-4);
  assertEquals(Object.keys(shap.meanAbs).sort(), ["close", "return", "volume"]);
  // A field's shown value is its last step's.
  const rows = sampleRows(8, 3, 8);
  assertEquals(shap.featureValues[0][1], xEval.data[rows[0] * 9 + at("return", 0)]);
  assert(lines.some((l) => l.includes("3 window fields")), lines.join("\n"));
});
