/**
 * Runs of several seeds (`runSeeds`): the data, features and folds are prepared once and every
 * seed trains on them, with the same numbers as a run of that seed alone.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { parseExperimentText } from "../src/config/load.ts";
import type { Experiment } from "../src/config/schema.ts";
import { checkPrepared, preparationKey, prepare } from "../src/dataset/prepare.ts";
import { runExperiment, runPrepared } from "../src/pipeline.ts";
import { runSeeds, seedRun, withSeed } from "../src/seeds.ts";
import { listRuns, readRunRecord } from "../src/store/run_record.ts";
import { quietRun, TINY_DOW30 } from "./pipeline_helpers.ts";

/** Three seeds of the pipeline tests' tiny Dow 30 run, smaller and with its shuffled control. */
const SEEDS = [
  "name=seeds-tiny",
  "description=Three seeds of a tiny direction run on the real Dow 30 data.",
  "seed=7",
  "seeds=3",
  "data.train_tickers=[AA, AXP, BA, CAT, DD, EK]",
  "model.layers=1",
  "train.epochs=4",
  "analysis.ablation=null",
  "analysis.shap=null",
  "analysis.loss_target=null",
  "analysis.shuffled_control.enabled=true",
];

async function experiment(): Promise<Experiment> {
  const [e] = await parseExperimentText(TINY_DOW30, "seeds-tiny.yaml", { set: SEEDS });
  return e;
}

/** The stages `prepare` times. */
const PREPARE_STAGES = ["data", "tickers", "features", "split"];

Deno.test({
  name: "runSeeds prepares the data once for three seeds; each seed's results equal its run alone",
  sanitizeResources: false,
  fn: async () => {
    const e = await experiment();
    const root = await Deno.makeTempDir({ prefix: "alfred-seeds-" });
    try {
      const lines: string[] = [];
      const outcome = await runSeeds(
        e,
        quietRun(`${root}/together`, { log: (line) => lines.push(line) }),
      );
      // prepare logs the tickers once per preparation; a run handed prepared data says so.
      assertEquals(lines.filter((l) => l.startsWith("train tickers:")).length, 1, lines.join("\n"));
      assertEquals(
        lines.filter((l) => l.startsWith("data, features and folds as prepared")).length,
        2,
      );
      assertEquals(outcome.seeds.map((r) => r.config.seed), [7, 8, 9]);
      const [first, ...later] = outcome.seeds;
      for (const stage of PREPARE_STAGES) {
        assert(stage in first.timings.stages, `the first seed's run times "${stage}"`);
        for (const r of later) {
          assert(!(stage in r.timings.stages), `seed ${r.config.seed} prepared "${stage}" again`);
        }
      }
      for (const r of later) assert("backtest" in r.timings.stages, "later seeds run the rest");
      // Only the first seed's run is kept, with every seed's results.
      const kept = await listRuns(`${root}/together/results`);
      assertEquals(kept.map((r) => r.dir), [outcome.dir]);
      const entries = [...Deno.readDirSync(`${root}/together/results`)].map((d) => d.name);
      assertEquals(entries, ["seeds-tiny"], "the later seeds' folder is gone");
      assertEquals((await readRunRecord(outcome.dir)).seedRuns, outcome.record.seedRuns);
      const runs = outcome.record.seedRuns!.runs;
      assertEquals(runs.map((r) => r.seed), [7, 8, 9]);

      // Each seed alone, with a model store of its own so that it trains rather than restores.
      for (const [i, seed] of [7, 8, 9].entries()) {
        const alone = await runExperiment(withSeed(e, seed), quietRun(`${root}/alone-${seed}`));
        assertEquals(runs[i], seedRun(alone.record), `seed ${seed}`);
        assertEquals(outcome.seeds[i].metrics, alone.record.metrics, `seed ${seed}'s metrics`);
        assertEquals(
          outcome.seeds[i].backtest?.stats,
          alone.record.backtest?.stats,
          `seed ${seed}'s backtest`,
        );
        assertEquals(outcome.seeds[i].inference, alone.record.inference, `seed ${seed}'s tests`);
      }
      assert(runs.every((r) => !r.restoredFromStore), "every seed trained");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "prepared data serves another seed or model, and is refused for other data or features",
  sanitizeResources: false,
  fn: async () => {
    const e = withSeed(await experiment(), 7);
    const p = await prepare(e, { log: () => {} });
    assertEquals(p.key, preparationKey(e));
    const otherModel = { ...e, seed: 8, model: { ...e.model, size: 16 } };
    assertEquals(checkPrepared(otherModel, p), p);
    const otherFeatures: Experiment = {
      ...e,
      features: { ...e.features, exclude: ["1year"] },
    };
    const refused = assertThrows(() => checkPrepared(otherFeatures, p), RangeError);
    assertEquals(
      refused.message,
      'Cannot run experiment "seeds-tiny" on data prepared for another: ' +
        "its data, features, label, split or benchmark differ",
    );
    const otherSplit: Experiment = {
      ...e,
      split: { ...e.split, eval_from: "1997-01-01" },
    };
    assertThrows(() => checkPrepared(otherSplit, p), RangeError);
    const root = await Deno.makeTempDir({ prefix: "alfred-seeds-refused-" });
    try {
      await assertRejects(
        () => runPrepared(otherFeatures, quietRun(root), p),
        RangeError,
      );
      assertEquals(await listRuns(`${root}/results`), [], "nothing is written");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
