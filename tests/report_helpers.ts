/**
 * Shared helpers for the report, journal and run record tests: the fixture record and variants.
 *
 * @module
 */
import { type MagnitudeMetrics, parseRecord, type RunRecord } from "../src/record/mod.ts";

/** Folder of the report fixtures. */
export const FIXTURES = new URL("./fixtures/report/", import.meta.url);

/**
 * The fixture record (a direction run with a backtest and analysis), as a run record of this
 * version with its tables inline: what the pipeline builds in memory.
 */
export function fixtureRecord(): RunRecord {
  const url = new URL("record.json", FIXTURES);
  return parseRecord(JSON.parse(Deno.readTextFileSync(url)), url.pathname);
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

/** Magnitude metrics with the given headline numbers (no quarters: no IC). */
export function magnitudeMetrics(
  mae: number,
  r2: number | null,
  pearson: number | null,
  signAccuracy: number,
  loss: number,
): MagnitudeMetrics {
  return {
    n: 44,
    loss,
    mse: loss,
    mae,
    r2,
    pearson,
    signAccuracy,
    ic: null,
    rankIc: null,
    notes: [],
  };
}

/** A magnitude-mode variant with regression metrics and no confusion matrix. */
export function magnitudeRecord(runId = "19990102T080000Z-7c1d2e3f"): RunRecord {
  const base = fixtureRecord();
  const m = magnitudeMetrics;
  return {
    ...base,
    runId,
    experiment: "magnitude-huber-2048",
    description: "Magnitude (PM) with Huber plus a sign penalty at width 2048.",
    configYaml: base.configYaml.replace("name: direction-small", "name: magnitude-huber-2048")
      .replace("mode: direction", "mode: magnitude").replace("name: bce", "name: huber-sign"),
    config: {
      ...base.config,
      name: "magnitude-huber-2048",
      label: { ...base.config.label, mode: "magnitude" },
      loss: { ...base.config.loss, name: "huber-sign" },
    },
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
        mean: m(0.1201, 0, null, 0.52, 0.61),
        momentum: m(0.1432, -0.21, 0.05, 0.54, 0.83),
        linear: m(0.1044, 0.031, 0.21, 0.66, 0.58),
      },
    },
  };
}
