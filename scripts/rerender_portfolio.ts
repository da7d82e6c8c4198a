/**
 * Give committed portfolio runs what a run records today (each manager's bootstrap intervals and
 * its test against 1/N) without a new run: the analysts' signals are read back from their
 * committed runs (the run ids the record names), every manager is walked forward again on them,
 * and the script refuses to write unless every manager's statistics and weights are exactly
 * the recorded ones (the run is reproduced, not replaced). The record keeps its run id, timings,
 * attribution and analysts' "reused" flags; it gains `inference`, and its report is rendered again.
 *
 * ```
 * deno run --allow-read --allow-write=results --allow-env --allow-ffi --allow-sys scripts/rerender_portfolio.ts results/portfolio-synth/<run-id>/portfolio.json …
 * ```
 *
 * Analyst files are read relative to `experiments/` (where portfolio experiments live), or to
 * the folder given by `--experiments DIR`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { configHash } from "../src/config/hash.ts";
import { loadExperiment } from "../src/config/load.ts";
import { readRunRecord } from "../src/store/run_record.ts";
import { selectBackend } from "../src/train/backend.ts";
import { RESULTS_DIR } from "../src/paths.ts";
import { checkOutOfSample, type SignalTable, signalTableOfRun } from "../src/portfolio/signals.ts";
import { evaluatePortfolio, portfolioHash } from "../src/portfolio/run.ts";
import { PortfolioRecord } from "../src/portfolio/schema.ts";
import { portfolioReportFiles } from "../src/portfolio/report.ts";

/**
 * Re-evaluates one portfolio run and rewrites its record and report with the inference.
 *
 * @param file the run's `portfolio.json`
 * @param experimentsDir the folder the analysts' files are relative to
 * @param log progress lines
 * @returns the record written
 * @throws {RangeError} when the config hash, an analyst's config hash or backend differs from the
 *   record's, or a manager's statistics or weights are not the recorded ones
 */
export async function rerenderPortfolio(
  file: string,
  experimentsDir: string,
  log: (line: string) => void = console.log,
): Promise<PortfolioRecord> {
  const record = PortfolioRecord.parse(JSON.parse(await Deno.readTextFile(file)));
  const e = record.config;
  if (portfolioHash(e) !== record.configHash) {
    throw new RangeError(`${file}: its config no longer hashes to ${record.configHash}`);
  }
  const tables: SignalTable[] = [];
  for (const a of record.analysts) {
    const path = join(resolve(experimentsDir), a.file);
    const ex = await loadExperiment(path, { set: a.set });
    if (configHash(ex) !== a.configHash) {
      throw new RangeError(
        `${file}: analyst "${a.name}" (${a.file}) hashes to ${
          configHash(ex)
        } today, not ${a.configHash}`,
      );
    }
    const dir = join(RESULTS_DIR, ex.name, a.runId);
    const table = await signalTableOfRun(
      ex,
      { file: path, set: a.set },
      await readRunRecord(dir),
      dir,
    );
    checkOutOfSample(table);
    if (table.rows.length !== a.signals) {
      throw new RangeError(
        `${file}: analyst run ${dir} has ${table.rows.length} signals, not ${a.signals}`,
      );
    }
    tables.push({ ...table, analyst: a.name });
  }
  const { backend } = await selectBackend(e.backend);
  if (backend !== record.backend) {
    throw new RangeError(`${file}: recorded on tfjs backend ${record.backend}, not ${backend}`);
  }
  const ev = await evaluatePortfolio(e, tables, { log, attribution: false });
  if (ev.managers.length !== record.managers.length) {
    throw new RangeError(
      `${file}: ${ev.managers.length} managers now, ${record.managers.length} recorded`,
    );
  }
  for (const m of record.managers) {
    const now = ev.managers.find((x) => x.name === m.name);
    const same = now &&
      JSON.stringify(now.stats) === JSON.stringify(m.stats) &&
      JSON.stringify(now.weights) === JSON.stringify(m.weights) &&
      JSON.stringify(now.equity) === JSON.stringify(m.equity);
    if (!same) {
      throw new RangeError(
        `${file}: manager "${m.name}" is not reproduced: recorded ${JSON.stringify(m.stats)}, now ${
          JSON.stringify(now?.stats)
        }`,
      );
    }
    m.inference = now.inference;
  }
  record.inference = ev.inference;
  const checked = PortfolioRecord.parse(record);
  const dir = resolve(file, "..");
  await Deno.writeTextFile(file, JSON.stringify(checked, null, 1) + "\n");
  for (const [name, text] of Object.entries(await portfolioReportFiles(checked))) {
    await Deno.writeTextFile(join(dir, name), text);
  }
  return checked;
}

if (import.meta.main) {
  const args = [...Deno.args];
  let experimentsDir = "experiments";
  const at = args.indexOf("--experiments");
  if (at >= 0) [, experimentsDir] = args.splice(at, 2);
  if (args.length === 0) {
    console.error("Usage: rerender_portfolio.ts [--experiments DIR] PORTFOLIO_JSON...");
    Deno.exit(2);
  }
  for (const file of args) {
    const r = await rerenderPortfolio(file, experimentsDir);
    console.log(`${file}: reproduced; ${r.managers.length} managers given intervals`);
    for (const m of r.managers) {
      if (m.inference?.verdict) console.log(`  ${m.name} ${m.inference.verdict.statement}`);
    }
  }
}
