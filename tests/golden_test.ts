/**
 * Behaviour is unchanged by refactoring: the quick experiments (and the fused engine's run of
 * quick-direction) give exactly the numbers recorded in `tests/fixtures/golden/quick.json` —
 * every epoch's losses, the best epoch, every eval metric beside its baselines, the shuffled
 * control, the ablation and the backtest's statistics. The backends are deterministic (tfjs's wasm
 * backend; the fused CPU engine's own wasm sgemm, compared where its run record says its
 * multiply-adds were fused, as on the machine that recorded it: relaxed SIMD may round twice
 * elsewhere).
 *
 * A change that moves these numbers on purpose regenerates the fixture with
 * `UPDATE_GOLDEN=1 deno task test tests/golden_test.ts` and says why in its commit.
 */
import { loadExperiments } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import type { RunRecord } from "../src/store/run_record.ts";
import { assertEquals } from "./assert.ts";
import { quietRun } from "./pipeline_helpers.ts";

const FIXTURE = new URL("./fixtures/golden/quick.json", import.meta.url);
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

/** The experiments and overrides compared. */
const CASES: { name: string; file: string; set: string[]; fused?: boolean }[] = [
  { name: "quick-direction", file: "experiments/quick-direction.yaml", set: [] },
  { name: "quick-magnitude", file: "experiments/quick-magnitude.yaml", set: [] },
  {
    name: "quick-direction, fused engine on wasm",
    file: "experiments/quick-direction.yaml",
    set: ["train.engine=fused", "train.epochs=40"],
    fused: true,
  },
];

/** The numbers a run produced, in a stable shape. */
function numbers(r: RunRecord): unknown {
  const t = r.training;
  return JSON.parse(JSON.stringify({
    history: t?.history.map((h) => ({
      epoch: h.epoch,
      loss: h.loss,
      valLoss: h.valLoss,
      lr: h.lr,
    })),
    bestEpoch: t?.bestEpoch,
    stoppedBy: t?.stoppedBy,
    preTrain: r.metrics?.preTrain,
    postTrain: r.metrics?.postTrain,
    lastEpoch: r.metrics?.lastEpoch ?? null,
    baselines: r.metrics?.baselines,
    perTicker: r.metrics?.perTicker,
    ablation: r.analysis?.ablation?.rows ?? null,
    backtest: r.backtest ? statNumbers(r.backtest.stats) : null,
  }));
}

/** Each curve's statistics that are numbers (or null): not the drawdown dates or risk-free source. */
function statNumbers(stats: Record<string, object | undefined>): unknown {
  return Object.fromEntries(
    Object.entries(stats).map(([series, row]) => [
      series,
      Object.fromEntries(
        Object.entries(row ?? {}).filter(([, v]) => v === null || typeof v === "number"),
      ),
    ]),
  );
}

async function runCase(
  c: (typeof CASES)[number],
  root: string,
): Promise<{ numbers: unknown; device: string }> {
  const [e] = await loadExperiments(c.file, { set: c.set });
  const { record } = await runExperiment(e, quietRun(root, { checkpointDir: `${root}/ckpt` }));
  return { numbers: numbers(record), device: record.environment.device };
}

Deno.test({
  name: "golden: the quick experiments give exactly the recorded numbers",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-golden-" });
    try {
      const got: Record<string, unknown> = {};
      for (const c of CASES) {
        const run = await runCase(c, root);
        if (c.fused && !run.device.includes("fused multiply-add")) {
          console.log(`${c.name}: not compared: ${run.device}`);
          continue;
        }
        got[c.name] = run.numbers;
      }
      if (UPDATE) {
        await Deno.mkdir(new URL(".", FIXTURE), { recursive: true });
        await Deno.writeTextFile(FIXTURE, JSON.stringify(got, null, 1) + "\n");
        return;
      }
      const want = JSON.parse(await Deno.readTextFile(FIXTURE)) as Record<string, unknown>;
      for (const name of Object.keys(got)) assertEquals(got[name], want[name], name);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
