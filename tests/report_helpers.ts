/**
 * Shared helpers for the report, journal and run record tests: the fixture record and variants.
 *
 * @module
 */
import type { RunRecord } from "../src/store/run_record.ts";

/** Folder of the report fixtures. */
export const FIXTURES = new URL("./fixtures/report/", import.meta.url);

/** The hand-written fixture record (a direction run with a backtest and analysis). */
export function fixtureRecord(): RunRecord {
  return JSON.parse(Deno.readTextFileSync(new URL("record.json", FIXTURES))) as RunRecord;
}

/**
 * A variant of the fixture record.
 *
 * @param patch fields to replace (shallow)
 * @returns a fresh record
 */
export function variant(patch: Partial<RunRecord>): RunRecord {
  return { ...fixtureRecord(), ...patch };
}

/** A magnitude-mode variant with regression metrics and no confusion matrix. */
export function magnitudeRecord(runId = "19990102T080000Z-7c1d2e3f"): RunRecord {
  const base = fixtureRecord();
  const m = (mae: number, r2: number, pearson: number, signAccuracy: number, loss: number) => ({
    loss,
    mae,
    r2,
    pearson,
    signAccuracy,
  });
  return {
    ...base,
    runId,
    experiment: "magnitude-huber-2048",
    description: "Magnitude (PM) with Huber plus a sign penalty at width 2048.",
    configYaml: base.configYaml.replace("name: direction-small", "name: magnitude-huber-2048")
      .replace("mode: direction", "mode: magnitude").replace("name: bce", "name: huber-sign"),
    configHash: "7c1d2e3f" + base.configHash.slice(8),
    metrics: {
      mode: "magnitude",
      preTrain: { eval: m(0.2511, -0.9289, 0.0359, 0.5060, 1.5135) },
      postTrain: {
        train: m(0.0593, 0.0498, 0.2697, 0.9113, 0.1136),
        eval: m(0.1012, 0.0496, 0.4119, 0.7371, 0.5659),
      },
      perTicker: { JPM: m(0.11, 0.04, 0.38, 0.7, 0.6), XOM: m(0.09, 0.06, 0.44, 0.77, 0.52) },
      baselines: {
        mean: m(0.1201, 0, null as unknown as number, 0.52, 0.61),
        momentum: m(0.1432, -0.21, 0.05, 0.54, 0.83),
        linear: m(0.1044, 0.031, 0.21, 0.66, 0.58),
      },
    },
  };
}
