/**
 * A portfolio run: load the portfolio experiment, get every analyst's out-of-sample signals
 * (from the signal store, or by running the analyst walk-forward), build the universe's panel
 * and decisions, walk every manager forward the same way, attribute the learned managers'
 * Sharpe to the analysts, and write `results/<name>/<run-id>/portfolio.json` with its report.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { dirname, join, resolve } from "node:path";
import { canonicalJson } from "../config/hash.ts";
import { createHash } from "node:crypto";
import { loadDataset } from "../data/dataset.ts";
import { marketSeries, priceSeries } from "../data/series.ts";
import type { PriceSeries } from "../backtest/types.ts";
import { selectBackend } from "../train/backend.ts";
import { newRunId } from "../store/run_record.ts";
import type { ModelStore } from "../store/model_store.ts";
import {
  type AnalystSignals,
  analystSignals,
  type SignalStore,
  type SignalTable,
} from "./signals.ts";
import { buildDecisions, buildPanel, type Decision, type Panel } from "./environment.ts";
import { getManager, type ManagerContext, type ManagerRun, runManager } from "./managers.ts";
import { PortfolioExperiment, type PortfolioRecord } from "./schema.ts";
import { portfolioReportFiles } from "./report.ts";
import { type ManagerCurve, portfolioInference } from "./inference.ts";

/** How a portfolio run goes. */
export interface PortfolioOptions {
  resultsDir: string;
  store: ModelStore;
  signals: SignalStore;
  log: (line: string) => void;
  write: (text: string) => void;
  tty: boolean;
  signal?: AbortSignal;
}

/**
 * Reads a portfolio experiment file.
 *
 * @param file the YAML file
 * @returns the resolved experiment
 * @throws {RangeError} listing the schema's complaints
 */
export async function loadPortfolioExperiment(file: string): Promise<PortfolioExperiment> {
  const parsed = PortfolioExperiment.safeParse(parseYaml(await Deno.readTextFile(file)));
  if (!parsed.success) {
    throw new RangeError(
      `${file}: not a portfolio experiment: ${
        parsed.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")
      }`,
    );
  }
  return parsed.data;
}

/**
 * The config hash of a portfolio experiment (sha256 of its canonical JSON).
 *
 * @param e the resolved experiment
 * @returns 64 hex digits
 */
export function portfolioHash(e: PortfolioExperiment): string {
  return createHash("sha256").update(canonicalJson(e), "utf8").digest("hex");
}

/** Daily closes per ticker and one market series, from a dataset. */
async function marketData(
  tables: readonly SignalTable[],
): Promise<{
  prices: Map<string, PriceSeries>;
  tickers: string[];
  index: { name: string; series: PriceSeries } | null;
  riskFree: PriceSeries | null;
}> {
  const dataset = await loadDataset(tables[0].dataset);
  const fingerprint = await dataset.fingerprint();
  for (const t of tables) {
    if (t.dataset !== tables[0].dataset || t.fingerprint !== fingerprint) {
      throw new RangeError(
        `Analyst "${t.analyst}" read dataset "${t.dataset}" (${
          t.fingerprint.slice(0, 12)
        }); the portfolio needs every analyst on "${tables[0].dataset}" as it is now (${
          fingerprint.slice(0, 12)
        })`,
      );
    }
  }
  const tickers = tables[0].tickers.filter((t) => tables.every((x) => x.tickers.includes(t)));
  // The pipeline's own readers: each ticker's return closes (adjusted where the manifest says so)
  // from one filter of the prices table, and the manifest's index and risk-free series.
  const prices = priceSeries(dataset, tickers);
  const indexSeries = marketSeries(dataset, dataset.manifest.index);
  return {
    prices,
    tickers,
    index: indexSeries ? { name: dataset.manifest.index!, series: indexSeries } : null,
    riskFree: marketSeries(dataset, dataset.manifest.riskFree),
  };
}

function managerContext(
  e: PortfolioExperiment,
  panel: Panel,
  analysts: number,
): ManagerContext {
  return {
    panel,
    env: e.environment,
    analysts,
    k: e.top_k,
    covarianceDays: e.covariance_days,
    policy: e.policy,
    ppo: e.ppo,
    seed: e.seed,
  };
}

function managerRecord(run: ManagerRun, panel: Panel): PortfolioRecord["managers"][number] {
  const s = run.outcome.stats;
  const equityAt = (day: number) => run.outcome.equity[day - run.decisions[0].fillDay];
  const last = run.decisions[run.decisions.length - 1];
  return {
    name: run.manager.name,
    kind: run.manager.kind,
    description: run.manager.description,
    stats: {
      cagr: s.cagr,
      sharpe: s.sharpe,
      sortino: s.sortino,
      maxDrawdown: s.maxDrawdown,
      turnover: s.turnover,
      costs: s.costs.total,
      exposure: run.outcome.grossExposure,
      endEquity: s.endEquity,
    },
    fits: run.fits.map((f) => ({
      from: f.from,
      trainedOn: f.trainedOn,
      seed: f.seed,
      ...(f.history ? { epochs: f.history.length, finalObjective: f.history.at(-1) ?? 0 } : {}),
      ...(f.secondsPerEpoch !== undefined ? { secondsPerEpoch: f.secondsPerEpoch } : {}),
    })),
    weights: run.weights.map((w) => (w ? [...w].map((x) => Math.round(x * 1e6) / 1e6) : null)),
    equity: [
      ...run.decisions.map((d) => ({
        date: panel.calendar[d.fillDay],
        equity: equityAt(d.fillDay),
      })),
      { date: panel.calendar[last.endDay], equity: equityAt(last.endDay) },
    ],
  };
}

/** A manager's daily net equity over the evaluated period, for {@linkcode portfolioInference}. */
export function managerCurve(run: ManagerRun, capital: number): ManagerCurve {
  return {
    name: run.manager.name,
    dates: run.outcome.dates,
    capital,
    equity: run.outcome.equity,
    riskFreeDaily: run.outcome.riskFreeDaily,
  };
}

/** What {@linkcode evaluatePortfolio} gives: the panel, decisions and every manager's record. */
export interface PortfolioEvaluation {
  market: Awaited<ReturnType<typeof marketData>>;
  panel: Panel;
  decisions: Decision[];
  /** One record per manager run (the index left out without one), inference included. */
  managers: PortfolioRecord["managers"];
  inference: NonNullable<PortfolioRecord["inference"]>;
  warnings: string[];
}

/**
 * Walks every manager of a portfolio experiment forward on the analysts' signal tables, the
 * learned ones attributed to each analyst (unless `attribution` is false here or in the
 * experiment), and gives each its intervals and test against 1/N ({@linkcode portfolioInference}).
 *
 * @param e the resolved experiment
 * @param tables the analysts' signal tables, named as the record names them
 * @param options progress output, and `attribution: false` to skip the reruns without each analyst
 * @returns the panel, decisions, manager records, inference settings and warnings
 * @throws {RangeError} on analysts on different data, or no decision to evaluate
 */
export async function evaluatePortfolio(
  e: PortfolioExperiment,
  tables: SignalTable[],
  options: { log: (line: string) => void; attribution?: boolean },
): Promise<PortfolioEvaluation> {
  const market = await marketData(tables);
  const panel = buildPanel(market.prices, market.tickers, market.index, market.riskFree);
  const { decisions } = buildDecisions(panel, tables, e.environment);
  const schedule = { warmup: e.walk_forward.warmup, refitEvery: e.walk_forward.refit_every };
  options.log(
    `${decisions.length} decisions over ${market.tickers.length} tickers; managers evaluated from decision ${
      schedule.warmup + 1
    }`,
  );
  const ctx = managerContext(e, panel, tables.length);
  const managers: PortfolioRecord["managers"] = [];
  const curves: ManagerCurve[] = [];
  const warnings: string[] = [];
  for (const name of e.managers) {
    const manager = getManager(name);
    if (manager.holdsIndex && !panel.index) {
      warnings.push(`The dataset has no index: the "index" baseline is left out`);
      continue;
    }
    const run = runManager(manager, decisions, ctx, schedule);
    const rec = managerRecord(run, panel);
    options.log(
      `${name}: CAGR ${fmt(rec.stats.cagr)}, Sharpe ${rec.stats.sharpe?.toFixed(2)}, turnover ${
        rec.stats.turnover?.toFixed(2)
      }`,
    );
    if (
      options.attribution !== false && e.attribution && manager.kind === "learned" &&
      tables.length > 1
    ) {
      rec.withoutAnalyst = {};
      for (let j = 0; j < tables.length; j++) {
        const others = tables.filter((_, k) => k !== j);
        const without: Decision[] = buildDecisions(panel, others, e.environment).decisions;
        const r = runManager(manager, without, managerContext(e, panel, others.length), schedule);
        const a = r.outcome.stats.sharpe, b = run.outcome.stats.sharpe;
        rec.withoutAnalyst[tables[j].analyst] = a === null || b === null ? null : a - b;
      }
    }
    managers.push(rec);
    curves.push(managerCurve(run, e.environment.initial_capital));
    warnings.push(...run.outcome.warnings);
  }
  const inference = portfolioInference(curves, { seed: e.seed });
  for (const m of managers) {
    m.inference = inference.managers[m.name];
    if (m.inference.verdict) options.log(`${m.name} ${m.inference.verdict.statement}`);
  }
  return { market, panel, decisions, managers, inference: inference.inference, warnings };
}

/**
 * Runs a portfolio experiment and writes its record and report.
 *
 * @param file the portfolio experiment file
 * @param options stores, results folder and progress output
 * @returns the record and the folder written
 * @throws {RangeError} on a bad experiment, analysts on different data, or no decision to evaluate
 */
export async function runPortfolio(
  file: string,
  options: PortfolioOptions,
): Promise<{ record: PortfolioRecord; dir: string }> {
  const started = new Date();
  const e = await loadPortfolioExperiment(file);
  const hash = portfolioHash(e);
  const base = dirname(resolve(file));
  const t0 = performance.now();
  const analysts: AnalystSignals[] = [];
  for (const a of e.analysts) {
    const path = join(base, a.file);
    analysts.push(await analystSignals({ file: path, set: a.set }, options.signals, options));
  }
  const analystsSeconds = (performance.now() - t0) / 1000;
  // Analysts are named by their experiment; the same experiment twice (other overrides) is numbered.
  const labels = analysts.map((a, i) =>
    analysts.filter((b) => b.table.analyst === a.table.analyst).length > 1
      ? `${a.table.analyst}#${i + 1}`
      : a.table.analyst
  );
  const tables = analysts.map((a, i) => ({ ...a.table, analyst: labels[i] }));
  const { backend } = await selectBackend(e.backend);
  options.log(`managers train on tfjs backend ${backend}`);
  const { market, panel, decisions, managers, inference, warnings } = await evaluatePortfolio(
    e,
    tables,
    options,
  );
  const evaluated = decisions.slice(e.walk_forward.warmup);
  const runId = newRunId(started, hash);
  const record: PortfolioRecord = {
    version: 1,
    kind: "portfolio",
    runId,
    experiment: e.name,
    description: e.description,
    configHash: hash,
    config: e,
    backend,
    analysts: analysts.map((a, i) => ({
      name: labels[i],
      file: e.analysts[i].file,
      set: a.table.set,
      configHash: a.table.configHash,
      runId: a.table.runId,
      reused: a.reused,
      labelMode: a.table.labelMode,
      horizon: a.table.horizon,
      folds: a.table.folds.length,
      signals: a.table.rows.length,
    })),
    universe: market.tickers,
    decisions: {
      total: decisions.length,
      evaluated: evaluated.length,
      from: evaluated[0].date,
      to: panel.calendar[evaluated[evaluated.length - 1].endDay],
    },
    managers,
    inference,
    timings: { start: started.toISOString(), end: new Date().toISOString(), analystsSeconds },
    warnings: [...new Set(warnings)],
  };
  const dir = join(options.resultsDir, e.name, runId);
  const tmp = join(options.resultsDir, e.name, `.tmp-${runId}`);
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.writeTextFile(join(tmp, "portfolio.json"), JSON.stringify(record, null, 1) + "\n");
  for (const [name, text] of Object.entries(await portfolioReportFiles(record))) {
    await Deno.writeTextFile(join(tmp, name), text);
  }
  await Deno.rename(tmp, dir);
  return { record, dir };
}

function fmt(x: number | null): string {
  return x === null ? "n/a" : `${(x * 100).toFixed(1)}%`;
}
