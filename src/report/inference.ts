/**
 * What the report and the journal say about a run's inference (`record.inference`, issue 22):
 * the verdict lines, a figure beside its bootstrap interval, the paired tests, and a run of
 * several seeds as mean ± std with each seed's values in a collapsible table.
 *
 * @module
 */
import type { BootstrapRecord, RunRecord, RunSeeds, SeedSummaryRecord } from "../record/mod.ts";
import {
  formatNumber,
  formatValue,
  markdownTable,
  metricLabel,
  metricValue,
  orderMetricNames,
} from "./format.ts";
import type { SweepSelection, SweepTrial } from "../inference/sweep.ts";
import { TRADING_DAYS } from "../backtest/stats.ts";

/** A confidence level as a percentage: 0.95 → "95%". */
export function levelText(level: number): string {
  return `${Math.round(level * 1000) / 10}%`;
}

/**
 * A bootstrap interval in brackets, formatted as its metric is: `[0.5030, 0.6485]`.
 *
 * @param metric the metric's name (decides the format: percent, money, ...)
 * @param interval the interval, or undefined
 * @returns the bracketed interval, or "" without one
 */
export function intervalText(metric: string, interval: BootstrapRecord | undefined): string {
  if (!interval) return "";
  return `[${formatValue(metric, interval.lower)}, ${formatValue(metric, interval.upper)}]`;
}

/**
 * The report's verdict lines: whether the model beats its best baseline at the level, and the
 * strategy buy-and-hold, each with its test; with several seeds, how many seeds' verdicts agree.
 *
 * @param record the run record
 * @returns Markdown lines (empty for a record without inference)
 */
export function verdictLines(record: RunRecord): string[] {
  const inference = record.inference;
  if (!inference) return [];
  const lines: string[] = [];
  const seeds = record.seedRuns;
  const ofSeeds = (count: number) =>
    seeds
      ? ` (${count} of ${seeds.runs.length} seeds say it does; this is seed ${record.config.seed}'s test)`
      : "";
  if (inference.verdict) {
    lines.push(
      `**Verdict**: the model ${inference.verdict.statement}${
        ofSeeds(seeds?.beats.baseline ?? 0)
      }.`,
    );
  } else {
    lines.push("**Verdict**: no paired test of the model against a baseline could be made.");
  }
  if (inference.backtestVerdict) {
    lines.push(
      `**Backtest verdict**: the strategy ${inference.backtestVerdict.statement}${
        ofSeeds(seeds?.beats.buyAndHold ?? 0)
      }.`,
    );
  }
  return lines;
}

/**
 * The paired tests of a run as a Markdown table, with a sentence on how to read them.
 *
 * @param record the run record
 * @returns the section text, or "" without inference
 */
export function testsSection(record: RunRecord): string {
  const inference = record.inference;
  if (!inference || inference.tests.length === 0) return "";
  const parts = ["### Significance against the best baseline\n"];
  parts.push(
    `Paired tests on the same eval rows (the backtest: the same days), each against the best ` +
      `baseline or benchmark on its metric; the verdict is "beats" when the one-sided p-value ` +
      `of the model being better is below ${Math.round((1 - inference.level) * 1e4) / 1e4}.\n`,
  );
  parts.push(markdownTable(
    ["test", "metric", "against", "statistic", "two-sided p", "one-sided p (model better)"],
    inference.tests.map((t) => [
      t.name,
      metricLabel(t.metric),
      t.against,
      formatNumber(t.statistic),
      formatNumber(t.pValue),
      formatNumber(t.pValueModelBetter),
    ]),
    ["l", "l", "l", "r", "r", "r"],
  ));
  if (inference.notes.length) {
    parts.push("Not computed:\n\n" + inference.notes.map((n) => `- ${n}`).join("\n") + "\n");
  }
  return parts.join("\n");
}

/**
 * The sentence under the metrics table saying what the brackets are.
 *
 * @param record the run record
 * @returns the sentence, or "" without intervals
 */
export function metricIntervalsNote(record: RunRecord): string {
  const inference = record.inference;
  if (!inference || Object.keys(inference.metrics).length === 0) return "";
  const quarters = inference.metrics.ic ? "; IC and rank IC: quarters resampled" : "";
  return `Brackets beside the model's eval metrics: ${
    levelText(inference.level)
  } percentile bootstrap intervals (${inference.resamples} resamples, seed ${inference.seed}; ` +
    `eval rows resampled${quarters}).\n`;
}

/**
 * The sentence under the backtest table saying what the brackets are and the block length.
 *
 * @param record the run record
 * @returns the sentence, or "" without intervals
 */
export function backtestIntervalsNote(record: RunRecord): string {
  const inference = record.inference;
  if (!inference?.blockLength || Object.keys(inference.backtest).length === 0) return "";
  const b = inference.blockLength;
  return `Brackets beside the strategy's statistics: ${
    levelText(inference.level)
  } intervals of the stationary bootstrap of its ${b.days} daily returns (${inference.resamples} ` +
    `resamples, seed ${inference.seed}), expected block length ${
      formatNumber(b.stationary)
    } days chosen by Politis & White (bandwidth ${b.bandwidth}).\n`;
}

/**
 * A summary over seeds as `mean ± std`, formatted as the metric is.
 *
 * @param metric the metric's name
 * @param s the summary
 * @returns e.g. `0.5612 ± 0.0123`
 */
export function meanStd(metric: string, s: SeedSummaryRecord): string {
  // The spread of a percentage is a percentage too; of a count or ratio, a plain number.
  return `${formatValue(metric, s.mean)} ± ${formatValue(metric, s.std)}`;
}

/**
 * The report's section for a run of several seeds: each eval metric and backtest statistic as
 * mean ± std with the t interval of the mean, and every seed's values in a collapsible table.
 *
 * @param record the run record
 * @returns the section, or "" for a run of one seed
 */
export function seedsSection(record: RunRecord): string {
  const seeds = record.seedRuns;
  if (!seeds) return "";
  const n = seeds.runs.length;
  const parts = [`## Over ${n} seeds\n`];
  parts.push(
    `The experiment was trained and evaluated once per seed (${
      seeds.runs.map((r) => r.seed).join(", ")
    }) on the same data and features. Each figure is the mean ± standard deviation over the ` +
      `seeds, with the t interval of the mean; the rest of this report is seed ${record.config.seed}'s run. The model beats its best baseline at ${
        levelText(record.inference?.level ?? 0.95)
      } in ${seeds.beats.baseline} of ${n} seeds; the strategy beats buy-and-hold in ${seeds.beats.buyAndHold} of ${n}.\n`,
  );
  const table = (kind: string, summaries: Record<string, SeedSummaryRecord>) => {
    const names = orderMetricNames(Object.keys(summaries));
    return markdownTable(
      [kind, "mean ± std", "interval of the mean", "min", "max"],
      names.map((name) => {
        const s = summaries[name];
        return [
          metricLabel(name),
          meanStd(name, s),
          s.interval
            ? `[${formatValue(name, s.interval.lower)}, ${formatValue(name, s.interval.upper)}]`
            : "—",
          formatValue(name, s.min),
          formatValue(name, s.max),
        ];
      }),
      ["l", "r", "r", "r", "r"],
    );
  };
  parts.push(table("eval metric", seeds.metrics));
  if (Object.keys(seeds.backtest).length) parts.push(table("strategy statistic", seeds.backtest));
  parts.push(perSeedDetails(seeds));
  return parts.join("\n");
}

function perSeedDetails(seeds: RunSeeds): string {
  const metricNames = orderMetricNames(Object.keys(seeds.metrics));
  const statNames = orderMetricNames(Object.keys(seeds.backtest));
  const rows = seeds.runs.map((r) => [
    String(r.seed),
    r.status,
    ...metricNames.map((m) => formatValue(m, metricValue(r.eval ?? undefined, m))),
    ...statNames.map((s) => formatValue(s, r.backtest?.[s] ?? null)),
    r.verdict ? (r.verdict.beats ? "beats" : "does not beat") : "—",
    r.backtestVerdict ? (r.backtestVerdict.beats ? "beats" : "does not beat") : "—",
  ]);
  const header = [
    "seed",
    "status",
    ...metricNames.map((m) => `eval ${metricLabel(m)}`),
    ...statNames.map((s) => `strategy ${metricLabel(s)}`),
    "vs best baseline",
    "vs buy-and-hold",
  ];
  return "<details>\n<summary>Each seed's values</summary>\n\n" +
    markdownTable(header, rows, header.map((_, i) => (i < 2 ? "l" : "r"))) +
    "\n</details>\n";
}

/**
 * Each record's backtest as a sweep trial (records without a strategy Sharpe are left out).
 *
 * @param records the points' run records
 * @param label how a record is named in the text
 * @returns the trials
 */
export function sweepTrials(
  records: RunRecord[],
  label: (record: RunRecord) => string,
): SweepTrial[] {
  const trials: SweepTrial[] = [];
  for (const r of records) {
    const bt = r.backtest;
    const sharpe = bt?.stats.strategy.sharpe;
    if (!bt || sharpe === null || sharpe === undefined || !Number.isFinite(sharpe)) continue;
    trials.push({
      label: label(r),
      sharpe,
      dates: bt.equity.map((p) => p.date),
      equity: bt.equity.map((p) => p.strategy),
      capital: bt.stats.strategy.startEquity,
    });
  }
  return trials;
}

/**
 * What a sweep's selection means, in Markdown: the deflated Sharpe ratio of its best point and,
 * with at least 8 points, the probability of backtest overfitting.
 *
 * @param s the selection statistics
 * @returns a paragraph (with a list), ending with a newline
 */
export function sweepSelectionText(s: SweepSelection): string {
  const sqrtDays = Math.sqrt(TRADING_DAYS);
  const lines = [
    `- **Deflated Sharpe ratio** of the best point (${s.best}, Sharpe ${
      formatNumber(s.bestSharpe)
    }): ${formatNumber(s.dsr.dsr)}, the probability that its true Sharpe ratio exceeds ${
      formatNumber(s.dsr.benchmark * sqrtDays)
    }, the best Sharpe ratio ${s.trials} skill-less points with this spread (standard deviation ${
      formatNumber(Math.sqrt(s.trialVariance) * sqrtDays)
    }, annualized) would show by luck (Bailey & López de Prado 2014).`,
    s.pbo
      ? `- **Probability of backtest overfitting**: ${
        formatNumber(s.pbo.pbo)
      } (CSCV over ${s.pbo.blocks} blocks of the daily returns, ${s.pbo.splits} splits): the share of splits whose in-sample best point ranks in the lower half out of sample; its out-of-sample Sharpe ratio is below 0 in ${
        formatNumber(s.pbo.probabilityOfLoss)
      } of them.`
      : `- Probability of backtest overfitting: not computed (${s.pboNote}).`,
  ];
  return `Selecting the best of ${s.trials} points by backtest Sharpe ratio:\n\n${
    lines.join("\n")
  }\n`;
}
