/**
 * Loading valid experiment configs: defaults, extends (deep merge, lists
 * replaced, chains), --set typing and precedence, sweep expansion.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { ConfigError } from "../src/config/errors.ts";
import {
  loadExperiment,
  loadExperiments,
  loadSweepPoints,
  MAX_SWEEP_POINTS,
  parseExperimentText,
} from "../src/config/load.ts";
import { Experiment } from "../src/config/schema.ts";
import { BASE_CONFIG } from "./config_helpers.ts";

const FIX = new URL("./fixtures/config/", import.meta.url).pathname;

Deno.test("load: a minimal config resolves with every default filled in", async () => {
  const [e] = await parseExperimentText(BASE_CONFIG, "min.yaml");
  assertEquals(e.name, "base-test");
  assertEquals(e.seed, 42);
  assertEquals(e.data.train_tickers, ["AA", "AXP"]);
  assertEquals(e.label, { mode: "direction", horizon: 1 });
  assertEquals(e.model.family, "vanilla.small");
  assertEquals(e.train.epochs, 200);
  assertEquals(e.backtest.fill, "next_close");
  assertEquals(e.features.families.price?.ma_windows, [7, 30, 90, 180]);
  // The same as parsing the plain object directly.
  assertEquals(
    e,
    Experiment.parse({
      name: "base-test",
      data: {
        dataset: "dow30-1991-2000",
        train_tickers: ["AA", "AXP"],
        eval_tickers: ["KO", "DD"],
      },
      label: { mode: "direction" },
      loss: { name: "bce" },
    }),
  );
});

Deno.test("load: $schema, extends and sweep are removed from the result", async () => {
  const text = "$schema: ../../schemas/experiment.schema.json\n" + BASE_CONFIG +
    "sweep:\n  seed: [1]\n";
  const [e] = await parseExperimentText(text, "meta.yaml");
  assert(!("$schema" in e) && !("extends" in e) && !("sweep" in e), Object.keys(e).join());
  const [c] = await loadExperiments(`${FIX}child.yaml`);
  assert(!("extends" in c));
});

Deno.test("load: extends deep-merges mappings and replaces lists", async () => {
  const e = await loadExperiment(`${FIX}child.yaml`);
  assertEquals(e.name, "child");
  assertEquals(e.description, "shared base"); // from the base
  assertEquals(e.data.train_tickers, ["AA"]); // list replaced, not merged
  assertEquals(e.data.eval_tickers, ["KO", "DD"]); // sibling kept
  assertEquals(e.model.size, 128); // overridden
  assertEquals(e.model.layers, 3); // kept from the base
  assertEquals(e.model.activation, "tanh");
});

Deno.test("load: extends chains through several bases", async () => {
  const e = await loadExperiment(`${FIX}grandchild.yaml`);
  assertEquals(e.name, "grandchild");
  assertEquals(e.model.size, 128); // child
  assertEquals(e.model.layers, 3); // base
  assertEquals(e.model.dropout, 0.25); // grandchild
  assertEquals(e.train.epochs, 10);
  assertEquals(e.data.train_tickers, ["AA"]);
});

Deno.test("load: null removes an inherited key so its default applies", async () => {
  const text = `extends: base.yaml\nname: no-size\nmodel:\n  size: null\n  activation: ~\n`;
  const [e] = await parseExperimentText(text, `${FIX}inline-null.yaml`);
  assertEquals(e.model.size, undefined);
  assertEquals(e.model.activation, "relu"); // the schema default, not the base's tanh
  assertEquals(e.model.layers, 3);
});

Deno.test("load: --set values are typed by YAML and validated by the schema", async () => {
  const [e] = await parseExperimentText(BASE_CONFIG, "set.yaml", {
    set: [
      "model.size=2048",
      "description='2048'",
      "data.train_tickers=[AA, BA, CAT]",
      "backtest.long_only=true",
      "train.learning_rate=1e-4",
      "train.backend=wasm",
      "analysis.shap.background=16",
      "scaling.columns.close=minmax",
    ],
  });
  assertEquals(e.model.size, 2048);
  assertEquals(e.description, "2048");
  assertEquals(e.data.train_tickers, ["AA", "BA", "CAT"]);
  assertEquals(e.backtest.long_only, true);
  assertEquals(e.train.learning_rate, 0.0001);
  assertEquals(e.train.backend, "wasm");
  // A new nested section is created and gets its defaults.
  assertEquals(e.analysis.shap, {
    enabled: true,
    background: 16,
    explain: 64,
    permutations: 64,
    tolerance: 1e-4,
  });
  assertEquals(e.scaling.columns, { close: "minmax" });
});

Deno.test("load: --set of a number into a string key is an error, quoting fixes it", async () => {
  const err = await assertRejects(
    () => parseExperimentText(BASE_CONFIG, "set.yaml", { set: ["description=2048"] }),
    ConfigError,
  );
  assertEquals(err.issues[0].message, "expected a string, got 2048");
});

Deno.test("load: later --set wins, and --set overrides extends", async () => {
  const e = await loadExperiment(`${FIX}child.yaml`, {
    set: ["model.size=256", "model.size=512", "model={layers: 5}"],
  });
  assertEquals(e.model.size, 512);
  assertEquals(e.model.layers, 5); // a mapping --set merges like extends
  assertEquals(e.model.activation, "tanh");
});

Deno.test("load: sweep expands to the grid in nested-loop order, last key fastest", async () => {
  const points = await loadExperiments(`${FIX}sweep.yaml`);
  assertEquals(points.length, 6);
  assertEquals(points.map((p) => `${p.model.size}/${p.loss.name}`), [
    "64/mse",
    "64/huber",
    "64/sign-ratio",
    "256/mse",
    "256/huber",
    "256/sign-ratio",
  ]);
  // Everything else is identical and fully resolved.
  for (const p of points) {
    assertEquals(p.name, "sweep-test");
    assertEquals(p.label.mode, "magnitude");
    assertEquals(p.train.epochs, 200);
    assert(!("sweep" in p));
  }
  // Deterministic: loading again gives the same points.
  assertEquals(await loadExperiments(`${FIX}sweep.yaml`), points);
});

Deno.test("load: sweep points keep their values of the swept keys, pinned keys left out", async () => {
  const points = await loadSweepPoints(`${FIX}sweep.yaml`);
  assertEquals(points.map((p) => p.experiment), await loadExperiments(`${FIX}sweep.yaml`));
  assertEquals(points[4].values, [
    { key: "model.size", value: 256 },
    { key: "loss.name", value: "huber" },
  ]);
  assertEquals(points.map((p) => p.values.map((v) => v.value).join("/")), [
    "64/mse",
    "64/huber",
    "64/sign-ratio",
    "256/mse",
    "256/huber",
    "256/sign-ratio",
  ]);
  const pinned = await loadSweepPoints(`${FIX}sweep.yaml`, { set: ["loss.name=mse"] });
  assertEquals(pinned.map((p) => p.values), [
    [{ key: "model.size", value: 64 }],
    [{ key: "model.size", value: 256 }],
  ]);
  assertEquals((await loadSweepPoints(`${FIX}child.yaml`)).map((p) => p.values), [[]]);
});

Deno.test("load: a sweep in a base is inherited; --set of a swept key pins it", async () => {
  const text = `extends: sweep.yaml\nname: pinned\n`;
  const all = await parseExperimentText(text, `${FIX}inline-inherit.yaml`);
  assertEquals(all.length, 6);
  const pinned = await parseExperimentText(text, `${FIX}inline-inherit.yaml`, {
    set: ["model.size=1024"],
  });
  assertEquals(pinned.map((p) => `${p.model.size}/${p.loss.name}`), [
    "1024/mse",
    "1024/huber",
    "1024/sign-ratio",
  ]);
  const single = await loadExperiment(`${FIX}sweep.yaml`, {
    set: ["model.size=32", "loss.name=huber"],
  });
  assertEquals([single.model.size, single.loss.name], [32, "huber"]);
});

Deno.test("load: sweeps over top-level keys, booleans and nested sections", async () => {
  const text = BASE_CONFIG +
    "sweep:\n  seed: [1, 2]\n  backtest.long_only: [true, false]\n  analysis.shap.background: [8]\n";
  const points = await parseExperimentText(text, "grid.yaml");
  assertEquals(
    points.map((p) => [p.seed, p.backtest.long_only, p.analysis.shap?.background]),
    [[1, true, 8], [1, false, 8], [2, true, 8], [2, false, 8]],
  );
});

Deno.test("load: a sweep larger than the cap is refused", async () => {
  const values = (n: number) => `[${Array.from({ length: n }, (_, i) => i + 1).join(", ")}]`;
  const text = BASE_CONFIG + `sweep:\n  seed: ${values(200)}\n  model.size: ${values(60)}\n`;
  const err = await assertRejects(() => parseExperimentText(text, "big.yaml"), ConfigError);
  assertEquals(err.issues.length, 1);
  assertEquals(err.issues[0].message, `expected at most ${MAX_SWEEP_POINTS} points, got 12000`);
  assertEquals([err.issues[0].line, err.issues[0].col], [10, 1]);
});

Deno.test("load: YAML anchors and aliases resolve", async () => {
  const text = BASE_CONFIG.replace("[AA, AXP]", "&train [AA, AXP]") +
    "features:\n  exclude: *train\n";
  const [e] = await parseExperimentText(text, "alias.yaml");
  assertEquals(e.features.exclude, ["AA", "AXP"]);
});
