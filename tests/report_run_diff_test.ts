/**
 * Comparing two runs: config keys added, removed and changed, and metrics a → b with deltas.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { diffRuns, diffStoredRuns } from "../src/report/run_diff.ts";
import { writeRunRecord } from "../src/store/run_record.ts";
import { fixtureRecord, magnitudeRecord, variant } from "./report_helpers.ts";

Deno.test("diffRuns lists config keys added, removed and changed, in key order", () => {
  const a = fixtureRecord();
  a.config = { ...a.config, model: { ...a.config.model, size: 256 } };
  const b = fixtureRecord();
  const { eval_from: _, ...split } = b.config.split;
  b.config = {
    ...b.config,
    model: { ...b.config.model, size: 1024, dropout: 0.1, layers: 10 },
    split,
    loss: { ...b.config.loss, delta: 2 },
  };
  const text = diffRuns(a, b);
  const rows = text.split("\n").filter((l) => /^\| (model|split|loss)\./.test(l));
  assertEquals(rows, [
    "| loss.delta | changed | 1 | 2 |",
    "| model.dropout | changed | 0 | 0.1 |",
    "| model.layers | added | — | 10 |",
    "| model.size | changed | 256 | 1024 |",
    "| split.eval_from | removed | 1998-01-01 | — |",
  ]);
});

Deno.test("diffRuns shows the config change and each metric's delta", () => {
  const a = fixtureRecord();
  const b = variant({
    runId: "19990102T000000Z-9e8d7c6b",
    configHash: "9e8d7c6b" + a.configHash.slice(8),
    config: { ...a.config, model: { ...a.config.model, dropout: 0.2 } },
  });
  b.metrics = structuredClone(a.metrics)!;
  b.metrics.postTrain.eval = { ...b.metrics.postTrain.eval!, f1: 0.6500, loss: 0.7000 };
  b.backtest = structuredClone(a.backtest)!;
  b.backtest.stats.strategy = { ...b.backtest.stats.strategy, cagr: 0.0712, costs_total: 2843.22 };
  const text = diffRuns(a, b);
  assert(text.startsWith(
    "# direction-small/19990101T120000Z-3fa9c2d1 → direction-small/19990102T000000Z-9e8d7c6b",
  ));
  assert(text.includes("| model.dropout | changed | 0 | 0.2 |"));
  assert(text.includes("| config hash | 3fa9c2d1b07e | 9e8d7c6bb07e |"));
  // Metrics to 4 significant digits; returns in % with changes in percentage points; money.
  assert(text.includes("| F1 | 0.6275 | 0.6500 | +0.02250 | better |"));
  assert(text.includes("| loss | 0.6817 | 0.7000 | +0.01830 | worse |"));
  assert(text.includes("| accuracy | 0.5682 | 0.5682 | 0.000 | same |"));
  assert(text.includes("## Backtest: strategy"));
  assert(text.includes("| CAGR | 6.12% | 7.12% | +1.00 pp | better |"));
  assert(text.includes("| costs paid | 1,843.22 | 2,843.22 | +1,000.00 |  |"));
});

Deno.test("diffRuns of a run with itself says the configs are identical", () => {
  const text = diffRuns(fixtureRecord(), fixtureRecord());
  assert(text.includes("The resolved configs are identical."));
  assert(!text.includes("## Run\n"));
  assertEquals(text, diffRuns(fixtureRecord(), fixtureRecord()));
});

Deno.test("diffRuns compares the configs as data: config YAML text is never parsed", () => {
  const broken = variant({ configYaml: "model: [unclosed" });
  assert(diffRuns(fixtureRecord(), broken).includes("The resolved configs are identical."));
});

Deno.test("diffStoredRuns finds runs by folder, id or prefix", async () => {
  const results = await Deno.makeTempDir({ prefix: "alfred-diff-" });
  const a = fixtureRecord();
  const b = variant({ runId: "19990102T000000Z-9e8d7c6b" });
  const dirA = await writeRunRecord(results, a);
  await writeRunRecord(results, b);
  const byFolder = await diffStoredRuns(dirA, "19990102T", results);
  assert(byFolder.startsWith(`# direction-small/${a.runId} → direction-small/${b.runId}`));
  assertEquals(await diffStoredRuns(a.runId, b.runId, results), byFolder);
  await assertRejects(() => diffStoredRuns("1999", b.runId, results), Error, "ambiguous");
  await assertRejects(() => diffStoredRuns("nope", b.runId, results), Error, `No run "nope"`);
  await Deno.remove(results, { recursive: true });
});

Deno.test("diffRuns never calls one loss better than a loss of another kind", () => {
  const bce = magnitudeRecord();
  bce.config = { ...bce.config, loss: { ...bce.config.loss, name: "bce" } };
  const huber = magnitudeRecord("19990103T080000Z-8d2e3f4a");
  huber.config = { ...huber.config, loss: { ...huber.config.loss, name: "huber" } };
  huber.metrics!.postTrain.eval = { ...huber.metrics!.postTrain.eval!, loss: 0.1 };
  const text = diffRuns(bce, huber);
  assert(text.includes("| loss | 0.5659 | 0.1000 | — | not comparable |"), text);
  assert(text.includes("| loss | 1.514 | 1.514 | — | not comparable |"), text);
  assert(
    text.includes(
      "The runs train different losses (a: bce; b: huber (delta 1)): their loss values are " +
        "shown side by side but are not comparable: neither is better.",
    ),
    text,
  );
  // The other metrics do not depend on the loss and are still compared.
  assert(text.includes("| MAE | 0.1012 | 0.1012 | 0.000 | same |"), text);
});

Deno.test("diffRuns: one loss with other parameters is not comparable; unused ones do not matter", () => {
  const a = magnitudeRecord();
  a.config = { ...a.config, loss: { ...a.config.loss, delta: 0.5 } };
  const b = magnitudeRecord("19990103T080000Z-8d2e3f4a");
  b.metrics!.postTrain.eval = { ...b.metrics!.postTrain.eval!, loss: 0.1 };
  const text = diffRuns(a, b);
  assert(text.includes("| loss | 0.5659 | 0.1000 | — | not comparable |"), text);
  assert(
    text.includes("(a: huber-sign (delta 0.5, sign_weight 1); b: huber-sign (delta 1, "),
    text,
  );
  // value_ratio is not a parameter of huber-sign: the losses are the same kind.
  const c = magnitudeRecord();
  c.config = { ...c.config, loss: { ...c.config.loss, value_ratio: 9 } };
  const same = diffRuns(c, b);
  assert(same.includes("| loss | 0.5659 | 0.1000 | -0.4659 | better |"), same);
  assert(!same.includes("not comparable"), same);
});
