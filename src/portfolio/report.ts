/**
 * The portfolio run's report (`report.md`, the equity curves of every manager and a stacked-area
 * plot of each learned manager's weights) and the journal's portfolio section.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import { renderSvg } from "../report/plots.ts";
import { PortfolioRecord } from "./schema.ts";
import { RESULTS_DIR } from "../paths.ts";

const pct = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null | undefined, d = 2) =>
  x === null || x === undefined ? "n/a" : x.toFixed(d);

/** The statistics table: every manager beside every baseline. */
function statsTable(r: PortfolioRecord): string {
  const rows = r.managers.map((m) =>
    `| ${m.name} | ${m.kind} | ${pct(m.stats.cagr)} | ${num(m.stats.sharpe)} | ${
      num(m.stats.sortino)
    } | ${pct(m.stats.maxDrawdown)} | ${num(m.stats.turnover)} | ${m.stats.costs.toFixed(0)} | ${
      num(m.stats.exposure)
    } |`
  );
  return [
    "| manager | kind | CAGR | Sharpe | Sortino | max drawdown | turnover (×/yr) | costs paid | exposure (mean gross) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

type Manager = PortfolioRecord["managers"][number];

/** A figure with its interval, `0.85 [0.12, 1.60]`, or the figure alone without one. */
function withInterval(
  m: Manager,
  name: string,
  value: number | null,
  show: (x: number | null) => string,
): string {
  const i = m.inference?.intervals[name];
  return i ? `${show(value)} [${show(i.lower)}, ${show(i.upper)}]` : show(value);
}

/** The verdict sentence of a manager against 1/N, or null for 1/N and runs without one. */
function verdictLine(m: Manager): string | null {
  return m.inference?.verdict ? `**${m.name}** ${m.inference.verdict.statement}` : null;
}

/** The report's section on what the figures support: intervals, tests against 1/N, verdicts. */
function inferenceSection(r: PortfolioRecord): string[] {
  const inf = r.inference;
  if (!inf) return [];
  const pctLevel = `${Math.round(inf.level * 1000) / 10}%`;
  const rows = r.managers.map((m) => {
    const t = m.inference?.test;
    return `| ${m.name} | ${m.kind} | ${withInterval(m, "sharpe", m.stats.sharpe, num)} | ${
      withInterval(m, "cagr", m.stats.cagr, pct)
    } | ${withInterval(m, "maxDrawdown", m.stats.maxDrawdown, pct)} | ${
      num(m.inference?.blockLength?.stationary, 1)
    } | ${
      t
        ? `${num(t.details.dailySharpeManager - t.details.dailySharpeOneOverN, 4)} | ${
          pValue(t.pValueModelBetter)
        }`
        : m.name === inf.against
        ? "(1/N) | "
        : "n/a | n/a"
    } |`;
  });
  const verdicts = r.managers.filter((m) => m.kind === "learned").map(verdictLine)
    .filter((v): v is string => v !== null);
  const notes = r.managers.flatMap((m) =>
    (m.inference?.notes ?? []).map((n) => `- ${m.name}: ${n}`)
  );
  return [
    "## Against 1/N, net of costs",
    "",
    `Each manager's daily net returns over the evaluated period (${
      r.managers[0]?.inference?.blockLength?.days ?? "n/a"
    } days) resampled by the stationary bootstrap (expected block length by Politis & White, chosen on the manager's own returns; ${inf.resamples} resamples, seed ${inf.seed}): ${pctLevel} percentile intervals in brackets. Every manager but 1/N (\`${inf.against}\`) is tested against 1/N on the same days by Ledoit & Wolf's HAC Sharpe-difference test of excess returns; p is one-sided, of a higher Sharpe than 1/N.`,
    "",
    `| manager | kind | Sharpe [${pctLevel}] | CAGR [${pctLevel}] | max drawdown [${pctLevel}] | block (days) | daily Sharpe − 1/N's | p |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    ...(verdicts.length ? [...verdicts.map((v) => `- ${v}`), ""] : []),
    ...(notes.length ? ["Not computed:", "", ...notes, ""] : []),
  ];
}

function pValue(p: number): string {
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}

function equitySpec(r: PortfolioRecord): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Equity of every manager (rebalance dates)",
    width: 640,
    height: 300,
    data: {
      values: r.managers.flatMap((m) => m.equity.map((p) => ({ manager: m.name, ...p }))),
    },
    mark: { type: "line" },
    encoding: {
      x: { field: "date", type: "temporal", title: null },
      y: { field: "equity", type: "quantitative", title: "equity", scale: { zero: false } },
      color: { field: "manager", type: "nominal" },
    },
  };
}

function weightsSpec(r: PortfolioRecord, m: PortfolioRecord["managers"][number]): TopLevelSpec {
  const dates = m.equity.slice(0, -1).map((p) => p.date);
  const values = m.weights.flatMap((w, k) => {
    if (!w) return [];
    const cash = 1 - w.reduce((s, x) => s + Math.max(0, x), 0);
    return [
      ...w.map((x, i) => ({ date: dates[k], asset: r.universe[i], weight: x })),
      ...(r.config.environment.long_only ? [{ date: dates[k], asset: "cash", weight: cash }] : []),
    ];
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `Weights of ${m.name} at each rebalance`,
    width: 640,
    height: 260,
    data: { values },
    mark: { type: "area", interpolate: "step-after" },
    encoding: {
      x: { field: "date", type: "temporal", title: null },
      y: { field: "weight", type: "quantitative", stack: "zero", title: "weight" },
      color: { field: "asset", type: "nominal", legend: { columns: 2 } },
    },
  };
}

/**
 * The files of a portfolio run's report.
 *
 * @param r the record
 * @returns file name → text (`report.md` and its SVG plots)
 */
export async function portfolioReportFiles(r: PortfolioRecord): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  files["equity.svg"] = await renderSvg(equitySpec(r));
  const learned = r.managers.filter((m) => m.kind === "learned");
  for (const m of learned) files[`weights-${m.name}.svg`] = await renderSvg(weightsSpec(r, m));
  const analysts = r.analysts.map((a) =>
    `| ${a.name} | \`${a.file}\`${
      a.set.length ? ` ${a.set.map((s) => `\`--set ${s}\``).join(" ")}` : ""
    } | ${a.labelMode}, horizon ${a.horizon} | ${a.folds} | ${a.signals} | ${
      a.configHash.slice(0, 12)
    } | ${a.reused ? "reused from the signal store (no training)" : `trained (run ${a.runId})`} |`
  );
  const attribution = learned.filter((m) => m.withoutAnalyst).map((m) =>
    `| ${m.name} | ${num(m.stats.sharpe)} | ${
      r.analysts.map((a) => num(m.withoutAnalyst![a.name] ?? null)).join(" | ")
    } |`
  );
  const fits = learned.map((m) =>
    `- ${m.name}: ${m.fits.length} fits (seeds ${
      m.fits.map((f) => f.seed).join(", ")
    }), trained on ${m.fits.map((f) => f.trainedOn).join(", ")} decisions; ${
      num(mean(m.fits.map((f) => f.secondsPerEpoch ?? 0)) * 1000, 1)
    } ms per epoch`
  );
  files["report.md"] = [
    `# ${r.experiment} (portfolio)`,
    "",
    r.description,
    "",
    `Run ${r.runId}, config ${
      r.configHash.slice(0, 12)
    }, learned managers on tfjs backend ${r.backend}.`,
    "",
    "## Analysts (out-of-sample signals)",
    "",
    "| analyst | file | label | folds | signals | config | signals were |",
    "| --- | --- | --- | ---: | ---: | --- | --- |",
    ...analysts,
    "",
    `Universe: ${
      r.universe.join(" ")
    }. ${r.decisions.total} rebalances; every manager is evaluated on the ${r.decisions.evaluated} from ${r.decisions.from} to ${r.decisions.to}, refitted every ${r.config.walk_forward.refit_every} on the rebalances whose periods had ended.`,
    "",
    `Environment: rebalance every ${r.config.environment.period}, fills at the next close, commission ${r.config.environment.commission_bps} bps + half of a ${r.config.environment.spread_bps} bps spread on traded notional, ${
      r.config.environment.long_only
        ? "long-only with cash"
        : `long-short, gross at most ${r.config.environment.gross_leverage}`
    }, at most ${r.config.environment.max_weight} per name; cash earns nothing.`,
    "",
    "## Managers",
    "",
    statsTable(r),
    "",
    ...r.managers.map((m) => `- **${m.name}**: ${m.description}`),
    "",
    ...inferenceSection(r),
    "![equity](equity.svg)",
    "",
    ...learned.flatMap((m) => [`![weights of ${m.name}](weights-${m.name}.svg)`, ""]),
    ...(attribution.length
      ? [
        "## Attribution by analyst",
        "",
        "Sharpe of the manager rerun without the analyst, minus its Sharpe with all of them (negative: the analyst helped).",
        "",
        `| manager | Sharpe | ${r.analysts.map((a) => `without ${a.name}`).join(" | ")} |`,
        `| --- | ---: | ${r.analysts.map(() => "---:").join(" | ")} |`,
        ...attribution,
        "",
      ]
      : []),
    ...(fits.length ? ["## Training", "", ...fits, ""] : []),
    ...(r.warnings.length ? ["## Warnings", "", ...r.warnings.map((w) => `- ${w}`), ""] : []),
  ].join("\n");
  return files;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/**
 * Every portfolio run under a results folder (`<experiment>/<run-id>/portfolio.json`).
 *
 * @param resultsDir the results folder
 * @returns the records, by experiment then run id
 */
export async function loadPortfolioRecords(resultsDir: string): Promise<PortfolioRecord[]> {
  const out: PortfolioRecord[] = [];
  let experiments: Deno.DirEntry[];
  try {
    experiments = [...Deno.readDirSync(resultsDir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const ex of experiments.filter((x) => x.isDirectory && !x.name.startsWith("."))) {
    for (const run of [...Deno.readDirSync(`${resultsDir}/${ex.name}`)]) {
      if (!run.isDirectory || run.name.startsWith(".")) continue;
      let text: string;
      try {
        text = await Deno.readTextFile(`${resultsDir}/${ex.name}/${run.name}/portfolio.json`);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      out.push(PortfolioRecord.parse(JSON.parse(text)));
    }
  }
  return out.sort((a, b) =>
    a.experiment === b.experiment
      ? (a.runId < b.runId ? -1 : 1)
      : (a.experiment < b.experiment ? -1 : 1)
  );
}

/**
 * The journal's portfolio section: per portfolio run, every manager's CAGR, Sharpe (with its
 * interval where the run has one), max drawdown and turnover, whether the analysts' signals were
 * reused, and each learned manager's verdict against 1/N net of costs.
 *
 * @param records the portfolio records
 * @param resultsPath the results folder relative to the journal
 * @returns Markdown (empty without records)
 */
export function portfolioJournalSection(
  records: readonly PortfolioRecord[],
  resultsPath = RESULTS_DIR,
): string {
  if (records.length === 0) return "";
  const parts = ["## Portfolio experiments", ""];
  for (const r of records) {
    parts.push(
      `### ${r.experiment} — [${r.runId}](${resultsPath}/${r.experiment}/${r.runId}/report.md)`,
      "",
      r.description,
      "",
      `Analysts: ${
        r.analysts.map((a) => `${a.name} (${a.reused ? "signals reused" : "trained"})`).join(", ")
      }; ${r.decisions.evaluated} rebalances ${r.decisions.from}..${r.decisions.to}.`,
      "",
      `| manager | kind | CAGR | Sharpe${
        r.inference ? ` [${Math.round(r.inference.level * 100)}%]` : ""
      } | max drawdown | turnover |`,
      "| --- | --- | ---: | ---: | ---: | ---: |",
      ...r.managers.map((m) =>
        `| ${m.name} | ${m.kind} | ${pct(m.stats.cagr)} | ${
          withInterval(m, "sharpe", m.stats.sharpe, num)
        } | ${pct(m.stats.maxDrawdown)} | ${num(m.stats.turnover)} |`
      ),
      "",
    );
    const verdicts = r.managers.filter((m) => m.kind === "learned").map(verdictLine)
      .filter((v): v is string => v !== null);
    if (verdicts.length) parts.push(...verdicts.map((v) => `- ${v}`), "");
  }
  return parts.join("\n");
}
