/**
 * The planted-signal check: on the synthetic universe, the default
 * synth-planted-signal experiment learns the planted signal (eval accuracy
 * clearly above the same model trained on shuffled labels), and ablation and
 * Shapley values both rank planted features above the noise.
 */
import { assert, assertEquals } from "./assert.ts";
import { loadExperiment } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { PLANTED_FEATURES, writeSynthetic } from "../src/data/synth.ts";
import { quietRun } from "./pipeline_helpers.ts";

Deno.test("the default synth-planted-signal experiment learns its planted signal, beating the shuffled-label control", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-synth-" });
  try {
    const e = await loadExperiment(
      new URL("../experiments/synth-planted-signal.yaml", import.meta.url).pathname,
      { set: ["analysis.ablation.retrain_top=1"] },
    );
    const { record } = await runExperiment(e, quietRun(root));
    assert(record.warnings[0].startsWith("Synthetic data"), "synthetic warning first");
    const model = record.metrics!.postTrain.eval as { accuracy: number };
    const control = record.metrics!.baselines["shuffled labels"] as { accuracy: number };
    assert(control, "the shuffled-label control is a baseline");
    assert(
      model.accuracy > control.accuracy + 0.05 && model.accuracy > 0.58,
      `model ${model.accuracy} vs shuffled-label control ${control.accuracy}`,
    );
    assert(
      control.accuracy > 0.35 && control.accuracy < 0.65,
      `control ${control.accuracy} near chance`,
    );

    assertEquals((record.analysis!.ablation!.retrained as unknown[]).length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const RANKING = `
name: planted-ranking
seed: 3
data:
  dataset: DATASET
  train_tickers: { select: uncorrelated, start: SYN01, count: 40 }
  eval_tickers: { select: rest }
features:
  families:
    price: { ma_windows: [7, 90], close: false }
    fundamentals: { deltas: true, missing: ffill, ffill_limit: 2 }
    earnings: { missing: ffill, ffill_limit: 2 }
    insider: { missing: zero }
label: { mode: direction }
split: { method: ticker_and_time, eval_from: "2012-01-01" }
model: { family: vanilla.small, size: 16, layers: 2 }
loss: { name: bce }
train: { epochs: 100, batch_size: 64, learning_rate: 0.001, patience: 15, backend: wasm }
backtest: { strategy: simple, mode: portfolio }
analysis:
  ablation: { enabled: true }
  shap: { enabled: true, background: 16, explain: 48, permutations: 4 }
`;

/** Mean rank (0 = most important) of the given features in a ranking. */
function meanRank(ranking: string[], features: string[]): number {
  return features.reduce((s, f) => s + ranking.indexOf(f), 0) / features.length;
}

Deno.test("ablation and Shapley values rank the planted features above the noise features", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-planted-" });
  Deno.env.set("ALFRED_DATA_PATH", root); // a config names datasets inside the data roots only
  try {
    const dataset = `${root}/synth-ranking`;
    await writeSynthetic(dataset, {
      seed: 11,
      tickers: 60,
      from: "2002-01-01",
      to: "2015-12-31",
      signal: 1.5,
      name: "synth-ranking",
    });
    const [e] = await parseExperimentText(RANKING.replace("DATASET", dataset), "ranking.yaml");
    const { record } = await runExperiment(e, quietRun(root));
    const planted = PLANTED_FEATURES.map((p) => p.feature).filter((f) =>
      record.features.includes(f)
    );
    // Built from planted features by construction (the generator's manifest lists them).
    const proxies = ["surprise", "delta_Margin_Operating", "delta_Margin_Gross"];
    const noise = record.features.filter((f) => !planted.includes(f) && !proxies.includes(f));
    assertEquals(planted.length, 4);
    assert(noise.length >= 6, `noise features: ${noise}`);

    const shap = Object.entries(record.analysis!.shap!.meanAbs)
      .sort((a, b) => b[1] - a[1])
      .map(([f]) => f);
    const ablation = record.analysis!.ablation!.rows
      .filter((r) => r.kind === "feature")
      .map((r) => r.name);
    for (const [method, ranking] of [["SHAP", shap], ["ablation", ablation]] as const) {
      const top = ranking.slice(0, 3);
      assert(top.every((f) => !noise.includes(f)), `${method} top 3 has noise: ${top}`);
      assert(
        meanRank(ranking, planted) < meanRank(ranking, noise),
        `${method}: planted mean rank ${meanRank(ranking, planted)} vs noise ${
          meanRank(ranking, noise)
        }`,
      );
    }
  } finally {
    Deno.env.delete("ALFRED_DATA_PATH");
    await Deno.remove(root, { recursive: true });
  }
});
