/**
 * End to end: a small experiment on the embedded real dataset, run through the
 * whole pipeline into a temporary results folder and model store.
 */
import type * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { parseExperimentText } from "../src/config/load.ts";
import type { Backend, Experiment } from "../src/config/schema.ts";
import { analyzeRun, runExperiment } from "../src/pipeline.ts";
import { trainingBoundary } from "../src/dataset/prepare.ts";
import { FileModelStore, fromStoredModel } from "../src/store/model_store.ts";
import { listRuns, readRunRecord } from "../src/store/run_record.ts";
import { renderJournal } from "../src/report/journal.ts";
import { loadRuns } from "../src/store/run_record.ts";
import { loadDataset } from "../src/data/dataset.ts";
import { resolveTickers } from "../src/data/select.ts";
import { buildQuarterly } from "../src/features/quarterly.ts";
import { splitRows } from "../src/dataset/split.ts";
import { Scaler, scalerKinds } from "../src/dataset/scaler.ts";
import { designMatrix } from "../src/dataset/matrix.ts";
import { buildModel } from "../src/models/registry.ts";
import { selectBackend } from "../src/train/backend.ts";
import { type Requirement, withNeeds } from "./requirements.ts";
import { assertWithinBound, mlpStepReference } from "./float32_bounds.ts";
import { quietRun, TINY_DOW30 } from "./pipeline_helpers.ts";
import { formatImportReport, importDataset } from "../src/data/import.ts";

async function tiny(extra = ""): Promise<Experiment> {
  const [e] = await parseExperimentText(TINY_DOW30 + extra, "tiny.yaml");
  return e;
}

const options = quietRun;

Deno.test("a run writes a complete record, restores its model the second time, and is reproducible", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-pipeline-" });
  try {
    const e = await tiny();
    const first = await runExperiment(e, options(root));
    assertEquals(first.record.status, "complete");
    for (
      const f of [
        "config.yaml",
        "record.json",
        "series.parquet",
        "predictions.parquet",
        "report.md",
      ]
    ) {
      await Deno.stat(`${first.dir}/${f}`);
    }
    const r = first.record;
    assertEquals(r.data.tickers.eval, ["IBM", "KO", "MMM", "PG"]);
    assertEquals(r.training?.history.length, 6);
    assertEquals(r.model?.restoredFromStore, false);
    assert(r.metrics?.postTrain.eval, "eval metrics");
    assertEquals(Object.keys(r.metrics!.perTicker).sort(), ["IBM", "KO", "MMM", "PG"]);
    assertEquals(Object.keys(r.metrics!.baselines).length >= 3, true);
    assert(r.backtest && r.backtest.stats.strategy && r.backtest.stats.basket, "backtest stats");
    assert(r.analysis?.ablation && r.analysis.shap && r.analysis.lossTarget, "analysis");
    assert(r.analysis.shap.maxAdditivityError <= 1e-4, "Shapley additivity");
    assert(r.warnings.some((w) => w.includes("Survivorship")), "survivorship warning");
    // No training row is dated in or after the eval period, none from an eval ticker.
    const fold = r.split!.folds[0];
    assert(fold.trainPeriod[1] < "1998-01-01", `train ends ${fold.trainPeriod[1]}`);
    assert(fold.evalPeriod[0] >= "1998-01-01", `eval starts ${fold.evalPeriod[0]}`);
    const report = await Deno.readTextFile(`${first.dir}/report.md`);
    assertStringIncludes(report, "Survivorship bias");
    assertStringIncludes(report, "majority");

    // Run ids have one-second resolution; a second run of one config must start a second later.
    const nextSecond = () => new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
    // The same experiment again: the model comes from the store, the metrics are identical.
    await nextSecond();
    const second = await runExperiment(e, options(root));
    assertEquals(second.record.model?.restoredFromStore, true);
    assertEquals(second.record.metrics?.postTrain.eval, r.metrics?.postTrain.eval);
    assertEquals(second.record.backtest?.stats, r.backtest?.stats);

    // Retraining from the same seed on the same backend reproduces the numbers exactly.
    await nextSecond();
    const third = await runExperiment(e, options(root, { retrain: true }));
    assertEquals(third.record.model?.restoredFromStore, false);
    assertEquals(
      third.record.training?.history.map((h) => [h.loss, h.valLoss]),
      r.training?.history.map((h) => [h.loss, h.valLoss]),
    );
    assertEquals(third.record.metrics?.postTrain, r.metrics?.postTrain);

    // The journal of these runs: byte-identical when rendered twice; a third run adds only itself.
    const runs = await listRuns(`${root}/results`);
    assertEquals(runs.length, 3);
    const records = await loadRuns(`${root}/results`);
    const journal = renderJournal(records);
    assertEquals(renderJournal(await loadRuns(`${root}/results`)), journal);
    const withoutLast = renderJournal(records.slice(0, 2));
    const added = journal.split("\n").filter((l) => !withoutLast.split("\n").includes(l));
    assert(added.some((l) => l.includes(third.record.runId)), "the added run is in the journal");
    assertEquals((await readRunRecord(first.dir)).runId, r.runId);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an interrupted run is recorded as interrupted, keeps the best weights and stores no model", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-pipeline-" });
  try {
    const e = await tiny();
    const controller = new AbortController();
    let epochs = 0;
    const { record } = await runExperiment(
      { ...e, train: { ...e.train, epochs: 40 }, analysis: {} },
      options(root, {
        signal: controller.signal,
        log: () => {},
        write: (text) => {
          if (text.includes("epoch") && ++epochs === 3) controller.abort();
        },
      }),
    );
    assertEquals(record.status, "interrupted");
    assert(record.training!.history.length < 40, "stopped early");
    assertEquals(await new FileModelStore(`${root}/models`).list(), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ticker selection sees only returns before the eval period", () => {
  const base = {
    split: {
      method: "ticker_and_time",
      eval_from: undefined,
      embargo: 0,
      folds: 4,
      window: "expanding",
      validation_fraction: 0.2,
    },
  } as unknown as Experiment;
  const span = { from: "1991-01-02", to: "2000-12-29" };
  const b = trainingBoundary(base, span);
  // 40 quarters, 70% in: the eval period starts with 1998Q1; selection ends the day before.
  assertEquals(b.split.eval_from, "1998-01-01");
  assertEquals(b.selectionEnd, "1997-12-31");
  const wf = trainingBoundary(
    { ...base, split: { ...base.split, method: "walk_forward" } } as Experiment,
    span,
  );
  assert(wf.selectionEnd < wf.split.eval_from!, "walk-forward selection ends before its eval");
  const byTicker = trainingBoundary(
    { ...base, split: { ...base.split, method: "by_ticker" } } as Experiment,
    span,
  );
  assertEquals(byTicker.selectionEnd, span.to);
});

Deno.test("analyze adds Shapley values to a finished run from its stored model, and refuses without one", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-pipeline-" });
  try {
    const e = await tiny();
    const { dir, record } = await runExperiment(
      { ...e, analysis: { loss_target: { r2: 0.8 } } },
      options(root),
    );
    assertEquals(record.analysis?.shap, undefined);
    const store = new FileModelStore(`${root}/models`);
    const updated = await analyzeRun(dir, {
      store,
      set: ["analysis.shap.enabled=true", "analysis.shap.explain=3", "analysis.shap.background=3"],
      log: () => {},
    });
    assert(updated.analysis?.shap, "Shapley values added");
    const reread = await readRunRecord(dir);
    assertEquals(
      reread.analysis?.shap?.maxAdditivityError,
      updated.analysis.shap.maxAdditivityError,
    );
    assertEquals(reread.metrics, record.metrics);
    assertStringIncludes(await Deno.readTextFile(`${dir}/report.md`), "SHAP");
    assertEquals([...Deno.readDirSync(`${root}/results/tiny-direction`)].length, 1);

    for (const hash of await store.list()) await store.delete(hash);
    await assertRejects(
      () => analyzeRun(dir, { store, log: () => {} }),
      Error,
      "is not in the model store",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * The training rows of a one-fold experiment as the pipeline builds them (data, tickers, features,
 * split, scaler): for the rounding bound of the engine comparison. The comparison checks that the
 * pipeline trained on exactly these rows.
 */
async function foldMatrices(e: Experiment) {
  const dataset = await loadDataset(e.data.dataset);
  const span = { from: e.data.from ?? dataset.manifest.from, to: e.data.to ?? dataset.manifest.to };
  const boundary = trainingBoundary(e, span);
  const tickers = resolveTickers(dataset, e.data, boundary.selectionEnd);
  const q = buildQuarterly(dataset, e.features, e.label, {
    tickers: [...tickers.train, ...tickers.eval],
    from: e.data.from,
    to: e.data.to,
  });
  const [fold] = splitRows(q, boundary.split, e.label, tickers);
  const scaler = Scaler.fit(q.frame, fold.train, q.features, scalerKinds(q, e.features, e.scaling));
  return {
    train: designMatrix(q, fold.train, scaler),
    val: designMatrix(q, fold.validation, scaler),
  };
}

/**
 * The fused engines the pipeline runs, and the system pieces each needs. The fused CPU engine on
 * backend wasm (no BLAS) is coming: it joins as `{ backend: "wasm", needs: [], device: "fused CPU
 * MLP engine" }`.
 */
const FUSED_ENGINES: { backend: Backend; needs: Requirement[]; device: string }[] = [
  { backend: "webgpu", needs: ["webgpu"], device: "fused WGSL MLP engine" },
  { backend: "cpu-blas", needs: ["openblas"], device: "fused CPU MLP engine" },
  // The BLAS-free CPU engine (its own wasm SIMD sgemm): needs nothing, runs everywhere.
  { backend: "wasm", needs: [], device: "wasm SIMD sgemm" },
];

for (const engine of FUSED_ENGINES) {
  Deno.test(withNeeds(engine.needs, {
    name:
      `train.engine fused runs the pipeline on ${engine.backend}, each epoch's losses within float32 rounding of the tfjs engine's`,
    fn: async () => {
      const root = await Deno.makeTempDir({ prefix: "alfred-pipeline-" });
      try {
        // Full-batch SGD at a small rate for three epochs: epoch e's training loss is one forward
        // pass at the weights after e − 1 steps, and its validation loss one at the weights after
        // e. Each engine's forward is within the float32 bound B of the exact loss (γₖ per product
        // of length k, a few ulps per elementwise step: tests/float32_bounds.ts), so the engines
        // differ by at most 2B. SGD's step is lr·gradient, whose own rounding moves the weights
        // apart by ~lr·γₖ·|g| per step, negligible against B. (Mini-batch Adam, by contrast,
        // turns a gradient that is zero up to rounding into a ±lr step on one engine and not the
        // other, and its losses a few epochs on differ by more than any bound on the arithmetic.)
        // B depends on the weights' magnitudes: computed at the initial weights and allowed 1.5
        // times that, which the trained weights are checked to stay within.
        const e = await tiny();
        const quiet = {
          ...e,
          analysis: {},
          train: { ...e.train, optimizer: "sgd" as const, learning_rate: 0.1, batch_size: 4096 },
        };
        const quietTrain = { ...quiet, train: { ...quiet.train, epochs: 3 } };
        const m = await foldMatrices(quietTrain);
        await selectBackend("wasm");
        const bounds = async (model: tf.LayersModel) => {
          const train = await mlpStepReference(model, m.train.x.data, m.train.y, "bce");
          const val = await mlpStepReference(model, m.val.x.data, m.val.y, "bce");
          model.dispose();
          return { train, val };
        };
        const initial = await bounds(
          buildModel(quiet.model, m.train.x.cols, quiet.label, quiet.seed),
        );
        const allowed = { train: 1.5 * initial.train.lossBound, val: 1.5 * initial.val.lossBound };

        const tfjs = await runExperiment(quietTrain, options(root));
        const fused = await runExperiment(
          {
            ...quietTrain,
            train: { ...quietTrain.train, backend: engine.backend, engine: "fused" },
          },
          options(root),
        );
        assertEquals(fused.record.environment.backend, engine.backend);
        assert(
          fused.record.environment.device.includes(engine.device),
          fused.record.environment.device,
        );
        const a = tfjs.record.training!.history, b = fused.record.training!.history;
        assertEquals([a.length, b.length], [3, 3]);
        // The pipeline trained on the rows rebuilt above: epoch 1's loss is the initial weights'.
        const ref = initial.train;
        assertWithinBound([a[0].loss], [ref.loss], [ref.lossBound], "tfjs epoch 1 loss");
        assertWithinBound([b[0].loss], [ref.loss], [ref.lossBound], "fused epoch 1 loss");
        a.forEach((h, i) => {
          const what = `${engine.backend} epoch ${i + 1}`;
          assertWithinBound([b[i].loss], [h.loss], [2 * allowed.train], `${what} loss`);
          assertWithinBound([b[i].valLoss], [h.valLoss], [2 * allowed.val], `${what} valLoss`);
        });
        // Training moved the loss by far more than the bound: the comparison sees the steps.
        assert(
          Math.abs(a[2].loss - a[0].loss) > 100 * allowed.train,
          `training barely moved: ${a.map((h) => h.loss)} (bound ${allowed.train})`,
        );
        // The trained weights keep the bound within its allowance.
        const stored = await new FileModelStore(`${root}/models`).load(
          tfjs.record.model!.modelHash,
        );
        const trained = await bounds(await fromStoredModel(stored!));
        assert(trained.train.lossBound <= allowed.train, `${trained.train.lossBound}`);
        assert(trained.val.lossBound <= allowed.val, `${trained.val.lossBound}`);
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  }));
}

Deno.test("a single-ticker daily dataset, imported from one download, runs end to end with by_time", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-one-ticker-" });
  // The imported dataset sits in a data root, as a config may name it.
  Deno.env.set("ALFRED_DATA_PATH", `${root}/data`);
  try {
    // Six years of one ticker's daily closes, as a Stooq download without a ticker column.
    const lines = ["Date,Open,High,Low,Close,Volume"];
    let close = 50;
    const day = new Date("2015-01-02T00:00:00Z");
    for (let i = 0; day < new Date("2021-01-01T00:00:00Z"); day.setUTCDate(day.getUTCDate() + 1)) {
      if (day.getUTCDay() === 0 || day.getUTCDay() === 6) continue;
      close *= 1 + 0.01 * Math.sin(i * 0.7) + 0.0004;
      const c = close.toFixed(4);
      lines.push(`${day.toISOString().slice(0, 10)},${c},${c},${c},${c},${1000 + (i++ % 17)}`);
    }
    await Deno.writeTextFile(`${root}/one.csv`, lines.join("\n"));
    const report = await importDataset({
      inputs: [`${root}/one.csv`],
      ticker: "ONE",
      form: "long",
      mapping: {},
      out: `${root}/data/one-ticker`,
      maxGapDays: 10,
      minHistoryDays: 20,
    });
    assert(report.ok, formatImportReport(report));
    const [e] = await parseExperimentText(
      `name: one-ticker
data:
  dataset: one-ticker
  train_tickers: [ONE]
  eval_tickers: [ONE]
features:
  families:
    price: { ma_windows: [7, 30], close: false }
label: { mode: direction }
split: { method: by_time, eval_from: "2019-01-01" }
model: { family: vanilla.small, size: 4, layers: 1 }
loss: { name: bce }
train: { epochs: 2, backend: wasm }
`,
      `${root}/one-ticker.yaml`,
    );
    const { record } = await runExperiment(e, quietRun(root));
    assertEquals(record.status, "complete", record.error);
    assertEquals([record.data.tickers.train, record.data.tickers.eval], [["ONE"], ["ONE"]]);
    assertEquals(record.data.returns, "close");
    assert(
      record.split!.warnings.some((w) =>
        /by_time split: train and eval share tickers "ONE"/.test(w)
      ),
      record.split!.warnings.join("\n"),
    );
    assert(record.metrics!.postTrain.eval, "eval metrics");
    assert(record.backtest, "a backtest of the one ticker");
  } finally {
    Deno.env.delete("ALFRED_DATA_PATH");
    await Deno.remove(root, { recursive: true });
  }
});
