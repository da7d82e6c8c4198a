/**
 * Sequence analysts on planted signals (issue 19), over three seeds each:
 *
 * - a temporal shape only a daily window can see (`shapeSignal`: the phase of a zigzag in each
 *   quarter's last weeks, same daily returns in another order): a GRU on a window of daily returns
 *   beats an MLP on the quarterly rows on eval IC, every seed;
 * - with shuffled labels the GRU sits at chance: each seed's eval IC is under a quarter of the
 *   trained GRU's, and their mean over the seeds is within the t interval of zero (the GRU trains
 *   on the fused recurrent engine, the same numbers as tfjs's within float32 rounding, faster);
 * - on the quarterly planted signal (`synth-small`) a GRU on a window of quarterly feature rows does
 *   not lose to the MLP on the same rows by more than noise (two standard errors of the difference
 *   of the seeds' mean ICs, from the per-quarter spread).
 *
 * Synthetic data: the tests check that the machinery can find what is there and nothing that is
 * not, not that markets behave so.
 */
import { assert } from "./assert.ts";
import { writeSynthetic } from "../src/data/synth.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import type { MagnitudeMetrics, RunRecord } from "../src/record/schema.ts";
import { quietRun } from "./pipeline_helpers.ts";
import { summarizeSeeds } from "../src/inference/seeds.ts";

const SEEDS = [1, 2, 3];

const syn = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `SYN${String(from + i).padStart(2, "0")}`).join(", ");

interface Case {
  dataset: string;
  train: string;
  eval: string;
  evalFrom: string;
  features: string;
  model: string;
  control?: boolean;
  /** The `train` block (default: 40 epochs at 0.003, patience 8). */
  training?: string;
}

function yaml(c: Case, seed: number): string {
  return `name: sequence-signal
seed: ${seed}
data:
  dataset: ${c.dataset}
  train_tickers: [${c.train}]
  eval_tickers: [${c.eval}]
features:
${c.features}
label: { mode: magnitude, horizon: 1 }
split: { method: ticker_and_time, eval_from: "${c.evalFrom}" }
model: ${c.model}
loss: { name: mse }
train: ${
    c.training ??
      "{ epochs: 40, batch_size: 64, learning_rate: 0.003, patience: 8, lr_patience: 4, backend: wasm }"
  }
analysis:
  ablation: { enabled: false }
  shap: { enabled: false }
  shuffled_control: { enabled: ${c.control ?? false} }
`;
}

async function run(c: Case, seed: number, root: string): Promise<RunRecord> {
  const [e] = await parseExperimentText(yaml(c, seed), `${root}/sequence-signal.yaml`);
  return (await runExperiment(e, quietRun(root))).record;
}

/** The eval IC summary of the model, or of a baseline. */
function evalIc(r: RunRecord, baseline?: string): { mean: number; se: number; t: number } {
  const m = (baseline ? r.metrics?.baselines[baseline] : r.metrics?.postTrain.eval) as
    | MagnitudeMetrics
    | undefined;
  const ic = m?.ic;
  assert(ic && ic.mean !== null && ic.std !== null && ic.quarters > 2, JSON.stringify(ic));
  const se = ic.std / Math.sqrt(ic.quarters);
  return { mean: ic.mean, se, t: ic.mean / se };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test({
  name:
    "a GRU on daily windows finds the planted temporal shape the quarterly MLP cannot see, and sits at chance on shuffled labels",
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-temporal-" });
    Deno.env.set("ALFRED_DATA_PATH", root);
    try {
      await writeSynthetic(`${root}/temporal`, {
        seed: 3,
        tickers: 80,
        from: "2001-01-01",
        to: "2014-12-31",
        signal: 0,
        shapeSignal: 2,
      });
      const common = { dataset: "temporal", train: syn(1, 56), eval: syn(57, 24) };
      const gru: Case = {
        ...common,
        evalFrom: "2011-01-01",
        features: "  sequence: { source: daily, length: 24, fields: [return] }",
        model: "{ family: gru, size: 32 }",
        control: true,
        // A recurrent net must learn to carry a period-4 phase from the block to the window's end
        // (an oscillating state), which it finds after a plateau: measured at 0.003 and 28 training
        // tickers it overfit the noise first on most seeds; at 0.01 and 56 it found the shape by
        // epoch 6 to 11 (eval IC about 0.8).
        training:
          "{ epochs: 30, batch_size: 32, learning_rate: 0.01, patience: 10, lr_patience: 5, backend: wasm, engine: fused }",
      };
      const mlp: Case = {
        ...common,
        evalFrom: "2011-01-01",
        features: "  families:\n    price: { ma_windows: [7, 30, 90], close: false }",
        model: "{ family: vanilla.small, size: 16, layers: 2 }",
      };
      const lines: string[] = [];
      const gruIc: number[] = [];
      const mlpIc: number[] = [];
      const shuffledIc: number[] = [];
      for (const seed of SEEDS) {
        const g = await run(gru, seed, root);
        const m = await run(mlp, seed, root);
        const gi = evalIc(g);
        const mi = evalIc(m);
        const shuffled = evalIc(g, "shuffled labels");
        lines.push(
          `seed ${seed}: GRU ${gi.mean.toFixed(3)} (t ${gi.t.toFixed(1)}), MLP ${
            mi.mean.toFixed(3)
          }, GRU on shuffled labels ${shuffled.mean.toFixed(3)} (t ${shuffled.t.toFixed(1)})`,
        );
        gruIc.push(gi.mean);
        mlpIc.push(mi.mean);
        assert(gi.mean > mi.mean, lines.join("\n"));
        assert(gi.t > 3, `the GRU's IC is not distinguishable from 0:\n${lines.join("\n")}`);
        shuffledIc.push(shuffled.mean);
        assert(
          Math.abs(shuffled.mean) < gi.mean / 4,
          `shuffled labels are not at chance:\n${lines.join("\n")}`,
        );
      }
      console.log(lines.join("\n"));
      assert(mean(gruIc) > mean(mlpIc), lines.join("\n"));
      // Chance is judged over seeds, not over one seed's quarters: a model that learned nothing
      // is still a fixed function of the window, which projects onto the planted phase with a
      // fixed coefficient, so its IC has the same sign every quarter (measured: one seed at
      // t 3.1 over the quarters) while that sign is random across seeds. The seeds' mean must be
      // within the 95% t interval of zero: the seeds' t interval of the mean holds 0.
      const { interval } = summarizeSeeds(shuffledIc);
      assert(
        interval !== null && interval.lower < 0 && 0 < interval.upper,
        `the shuffled-label ICs lean one way over the seeds:\n${lines.join("\n")}`,
      );
    } finally {
      Deno.env.delete("ALFRED_DATA_PATH");
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "on the quarterly planted signal a GRU over quarterly windows does not lose to the MLP by more than noise",
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-quarterly-signal-" });
    try {
      const families = `  families:
    price: { ma_windows: [7, 30, 90, 180], close: false }
    fundamentals: { deltas: true, missing: ffill, ffill_limit: 2 }
    earnings: { missing: ffill, ffill_limit: 2 }
    insider: { missing: zero }
    sentiment: { missing: zero }
  exclude: [reportedEPS, estimatedEPS]`;
      const common = {
        dataset: "synth-small",
        train: syn(1, 14),
        eval: syn(15, 10),
        evalFrom: "2012-01-01",
      };
      const gru: Case = {
        ...common,
        features: `${families}\n  sequence: { source: quarterly, length: 4, missing: zero }`,
        model: "{ family: gru, size: 16 }",
      };
      const mlp: Case = {
        ...common,
        features: families,
        model: "{ family: vanilla.small, size: 16, layers: 2 }",
      };
      const g = [];
      const m = [];
      for (const seed of SEEDS) {
        g.push(evalIc(await run(gru, seed, root)));
        m.push(evalIc(await run(mlp, seed, root)));
      }
      // Each seed's mean IC has the standard error se = std / sqrt(quarters) of its quarters; the
      // mean over n seeds has at most the mean of the seeds' se (the seeds share the quarters, so
      // no 1 / sqrt(n)), and the difference of two such means sqrt(se_g² + se_m²).
      const se = Math.hypot(mean(g.map((x) => x.se)), mean(m.map((x) => x.se)));
      const diff = mean(g.map((x) => x.mean)) - mean(m.map((x) => x.mean));
      const line = `GRU ${g.map((x) => x.mean.toFixed(3)).join(", ")}; MLP ${
        m.map((x) => x.mean.toFixed(3)).join(", ")
      }; difference ${diff.toFixed(3)}, noise (2 se) ${(2 * se).toFixed(3)}`;
      console.log(line);
      assert(mean(m.map((x) => x.t)) > 3, `the MLP should find the quarterly signal: ${line}`);
      assert(diff > -2 * se, line);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
