/**
 * The per-run `report.md`: what was run, the data warnings, metrics against the baselines,
 * correlations, backtest statistics against the benchmarks, analysis, and SVG plots beside it.
 * Everything is derived from the run record, so the same record gives the same report, byte for
 * byte.
 *
 * @module
 */
import type {
  MetricSet,
  PredictionRow,
  RuinRecord,
  RunAnalysis,
  RunBacktest,
  RunRecord,
  SplitMetrics,
} from "../record/mod.ts";
import { TICKERS_INLINE_MAX } from "../record/mod.ts";
import { compareStrings } from "@alfred/core";
import {
  bestOf,
  formatCount,
  formatMoney,
  formatNumber,
  formatPercent,
  formatValue,
  isBetter,
  markdownTable,
  metricDirection,
  metricLabel,
  metricRank,
  type MetricTable,
  metricValue,
  numericMetricNames,
  orderMetricNames,
} from "./format.ts";
import { extent } from "@alfred/core";
import { universeWarnings } from "../data/universe.ts";
import { renderNews } from "./news.ts";
import { extremes, plotSpecs, renderSvg } from "./plots.ts";
import {
  backtestIntervalsNote,
  intervalText,
  metricIntervalsNote,
  seedsSection,
  testsSection,
  verdictLines,
} from "./inference.ts";
import {
  leakageChecks,
  levelFeatureWarning,
  MIN_EVAL_ROWS,
  smallEvalWarning,
  splitPhrase,
} from "./leakage.ts";

/** A rendered report: the Markdown and the SVG files it embeds. */
export interface RenderedReport {
  /** The `report.md` text. */
  markdown: string;
  /** File name (relative to `report.md`) → SVG document. */
  plots: Record<string, string>;
}

/** Marker shown beside a baseline value that is at least as good as the model's. */
export const NOT_BEATEN = "⚠";

/** Options for {@linkcode renderReport}. */
export interface ReportOptions {
  /** The run's eval predictions, for the predicted-vs-actual plot (magnitude runs). */
  predictions?: PredictionRow[];
}

/**
 * Render a run's report and its plots from its record (nothing is parsed: the record carries the
 * resolved config as data, and the report shows its YAML text as it is).
 *
 * @param record the run record
 * @param options predictions for the scatter plot
 * @returns the Markdown and the SVG plots, keyed by the file names the Markdown links
 * @example
 * ```ts
 * const { markdown, plots } = await renderReport(record);
 * ```
 */
export async function renderReport(
  record: RunRecord,
  options: ReportOptions = {},
): Promise<RenderedReport> {
  const entries = plotSpecs(record, options.predictions);
  const plots: Record<string, string> = {};
  for (const entry of entries) plots[entry.file] = await renderSvg(entry.spec);
  const images = new Map(entries.map((e) => [e.file, `![${e.alt}](${e.file})`]));
  const markdown = renderMarkdown(record, images);
  return { markdown, plots };
}

/**
 * A run's report and plots as files: `report.md` and each SVG, what the store writes beside the
 * record (pass it as `writeRunRecord`'s `render`).
 *
 * @param record the run record
 * @param predictions the run's eval predictions
 * @returns file name → text
 * @example
 * ```ts
 * await writeRunRecord("results", record, { predictions, render: reportFiles });
 * ```
 */
export async function reportFiles(
  record: RunRecord,
  predictions: PredictionRow[],
): Promise<Record<string, string>> {
  const { markdown, plots } = await renderReport(record, { predictions });
  return { ...plots, "report.md": markdown };
}

function recordedRuins(record: RunRecord): RuinRecord[] {
  return record.backtest?.ruin ?? [];
}

/** "The book" for the portfolio, `The book of "IBM"` for a per_ticker book. */
function bookName(book: string): string {
  const ticker = /^book "(.*)"$/.exec(book);
  return ticker ? `The book of "${ticker[1]}"` : "The book";
}

/**
 * One sentence per ruined book: when, at what equity, what the liquidation left, and what a
 * negative value means.
 *
 * @param record the run record
 * @returns the sentences, each "The book was ruined on DATE: …" (empty when no book was)
 */
export function ruinSentences(record: RunRecord): string[] {
  return recordedRuins(record).map((r) => {
    const closed = r.liquidatedOn === null
      ? "its positions were closed at the first close with a price for each, but one never had a price again and stays marked at its last close"
      : r.liquidatedOn === r.date
      ? "every position was closed at that close's prices"
      : `every position was closed at the first close with a price for it (the last on ${r.liquidatedOn})`;
    const debt = r.liquidationValue < 0
      ? `: a debt of ${
        formatMoney(-r.liquidationValue)
      } owed to the broker, because a short rose past the remaining equity between two closes (kept as a debt, not floored at zero)`
      : "";
    return `${bookName(r.book)} was ruined on ${r.date}: its equity was ${
      formatMoney(r.equity)
    } at that close (starting capital ${formatMoney(r.capital)}); ${closed}, paying ${
      formatMoney(r.liquidationCosts)
    } in costs and leaving ${formatMoney(r.liquidationValue)} (a return of ${
      formatPercent(r.liquidationValue / r.capital - 1)
    })${debt}. It never traded again, and the statistics are on this liquidated path`;
  });
}

/**
 * Every warning the report opens with, deduplicated in first-seen order: a ruined book first,
 * then the record's warnings, the dataset manifest's, the split's and the backtest's, plus what
 * the run itself implies (a by-ticker split shares quarters between train and eval; same-close
 * fills are optimistic; level features drift; an eval set is too small to judge).
 *
 * @param record the run record
 * @returns warning texts
 */
export function collectWarnings(record: RunRecord): string[] {
  const all = [
    ...ruinSentences(record),
    ...record.warnings,
    ...(record.data.universe === undefined ? record.data.manifestWarnings : universeWarnings(
      record.data.manifestWarnings,
      record.data.universe === "point-in-time",
      record.data.synthetic,
    )),
    ...(record.split?.warnings ?? []),
    ...(record.backtest?.warnings ?? []),
  ];
  const method = record.split?.method ?? record.config.split.method;
  if (method === "by_ticker" && !all.some((w) => /leak|share/i.test(w))) {
    all.push(
      "Leaking split: a by-ticker split shares quarters between train and eval, so eval metrics are optimistic",
    );
  }
  if (
    record.config.backtest.fill === "same_close" &&
    !all.some((w) => /same[- _]?(bar|close)/i.test(w))
  ) {
    all.push(
      "Same-bar fills: signals fill at the close they were formed on, a price nobody could trade at once the signal was known, which is optimistic",
    );
  }
  const levels = levelFeatureWarning(record);
  if (levels) all.push(levels);
  const small = smallEvalWarning(record);
  if (small) all.push(small);
  return [...new Set(all)];
}

/**
 * The one-line summary under the report title (also used by the journal).
 *
 * @param record the run record
 * @returns a sentence
 */
export function summaryLine(record: RunRecord): string {
  const parts: string[] = [];
  const model = record.model;
  const modelText = model
    ? `\`${model.family}\` (${model.layers}×${model.size}, ${
      formatCount(model.parameters)
    } parameters)`
    : "no model";
  const mode = record.metrics?.mode ?? "unknown";
  parts.push(`${capitalize(mode)} model ${modelText} on \`${record.data.dataset}\``);
  const metrics = record.metrics;
  if (metrics) {
    const evalMetrics = metrics.postTrain.eval;
    const keys = mode === "direction" ? ["accuracy", "f1"] : ["signAccuracy", "mae", "r2"];
    const shown = keys
      .map((k) => [k, metricValue(evalMetrics, k)] as const)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${metricLabel(k)} ${formatValue(k, v)}`);
    if (shown.length) parts.push(`eval ${shown.join(", ")}`);
    const headline = mode === "direction" ? "f1" : "signAccuracy";
    const best = bestBaseline(metrics.baselines, headline);
    if (best) {
      parts.push(
        `best baseline ${metricLabel(headline)} ${
          formatValue(headline, best.value)
        } (${best.name})`,
      );
    }
  }
  const stats = record.backtest?.stats;
  if (stats?.strategy) {
    const sharpe = metricValue(stats.strategy, "sharpe");
    const cagr = metricValue(stats.strategy, "cagr");
    let text = `backtest CAGR ${formatValue("cagr", cagr)}, Sharpe ${
      formatValue("sharpe", sharpe)
    }`;
    const indexSharpe = metricValue(stats.index, "sharpe");
    if (indexSharpe !== null) text += ` (index Sharpe ${formatValue("sharpe", indexSharpe)})`;
    const ruined = recordedRuins(record).map((r) => r.date).sort(compareStrings);
    if (ruined.length) {
      text += `, ${
        ruined.length === 1 ? "ruined" : `${ruined.length} books ruined, the first`
      } on ${ruined[0]}`;
    }
    parts.push(text);
  }
  return parts.join("; ") + ".";
}

/**
 * The best baseline on a metric.
 *
 * @param baselines baseline name → metrics
 * @param metric canonical metric name
 * @returns the best baseline's name and value, or null when none reports the metric
 */
export function bestBaseline(
  baselines: Record<string, MetricSet>,
  metric: string,
): { name: string; value: number } | null {
  const candidates: Record<string, number | null> = {};
  for (const [name, m] of Object.entries(baselines)) candidates[name] = metricValue(m, metric);
  return bestOf(metric, candidates);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function renderMarkdown(record: RunRecord, images: Map<string, string>): string {
  const out: string[] = [];
  const image = (file: string) => images.get(file);
  out.push(`# ${record.experiment} — run ${record.runId}\n`);
  if (record.data.synthetic) {
    out.push(
      "**⚠ SYNTHETIC DATA: these results come from generated prices, not a market. They test the pipeline, not a strategy.**\n",
    );
  }
  if (record.status !== "complete") {
    const what = record.status === "interrupted"
      ? "this run was interrupted; the numbers below are from the best checkpoint when it stopped"
      : "this run failed; the numbers below are incomplete";
    out.push(
      `**Status: ${record.status.toUpperCase()}** — ${what}${
        record.error ? `: ${record.error}` : ""
      }.\n`,
    );
  }
  out.push(summaryLine(record) + "\n");
  const verdicts = verdictLines(record);
  if (verdicts.length) out.push(verdicts.join("\n\n") + "\n");
  const ruins = ruinSentences(record);
  for (const ruin of ruins) out.push(`**⚠ RUINED: ${ruin}.**\n`);

  const warnings = collectWarnings(record).filter((w) => !ruins.includes(w));
  if (warnings.length) {
    out.push("## Warnings\n");
    out.push(warnings.map((w) => `- ⚠ ${w}`).join("\n") + "\n");
  }
  out.push(seedsSection(record));

  out.push(renderLeakage(record));
  out.push(renderWhatWasRun(record));
  out.push(renderModelAndTraining(record, image("training.svg")));
  out.push(renderMetrics(record, image("confusion.svg") ?? image("predicted-vs-actual.svg")));
  out.push(renderData(record, image("correlations.svg")));
  out.push(renderNews(record)); // news (issue 21)
  out.push(
    renderBacktest(record, [image("equity.svg"), image("drawdown.svg"), image("per-ticker.svg")]),
  );
  out.push(renderAnalysis(record, image("shap.svg"), image("shap-beeswarm.svg")));
  return out.filter((s) => s.length > 0).join("\n");
}

const CHECK_MARKS = { verified: "✓", warning: "⚠", stated: "–" } as const;

function renderLeakage(record: RunRecord): string {
  const checks = leakageChecks(record);
  if (checks.length === 0) return "";
  return "## Leakage checks\n\n" +
    "What kept eval data out of training in this run, from its record (✓ the record confirms it, " +
    "⚠ it does not hold or leaks by design, – the rule applied, which this run did not record " +
    "enough to confirm):\n\n" +
    checks.map((c) => `- ${CHECK_MARKS[c.status]} **${c.name}**: ${c.text}.`).join("\n") + "\n";
}

function renderWhatWasRun(record: RunRecord): string {
  const env = record.environment;
  const rows: string[][] = [
    ["run id", `\`${record.runId}\``],
    ["status", record.status],
    ["experiment", record.experiment],
    ["config hash", `\`${record.configHash}\``],
    ["dataset", `${record.data.dataset}${record.data.synthetic ? " (synthetic)" : ""}`],
    ["data fingerprint", `\`${record.data.fingerprint}\``],
  ];
  if (record.data.from || record.data.to) {
    rows.push(["data period", `${record.data.from ?? "…"} to ${record.data.to ?? "…"}`]);
  }
  if (record.data.returns) {
    rows.push([
      "returns from",
      record.data.returns === "adj_close"
        ? "adjusted closes (`adj_close`: total return, dividends and splits included)"
        : "closes (`close`: price return, dividends left out)",
    ]);
  }
  if (record.data.universe) {
    rows.push([
      "universe",
      record.data.universe === "point-in-time"
        ? "point-in-time (the dataset's universe table: a ticker counts only while a member, and leaves at its last price)"
        : "fixed (the dataset's tickers throughout)",
    ]);
  }
  rows.push(
    ["train tickers", tickerList(record.data.tickers.train)],
    ["eval tickers", tickerList(record.data.tickers.eval)],
    [
      "seeds",
      Object.entries(record.seeds).map(([k, v]) => `${k} ${v}`).join(", "),
    ],
    ["backend", `${env.backend} on ${env.device}`],
    [
      "git commit",
      env.git.commit ? `\`${env.git.commit}\`${env.git.dirty ? " (dirty tree)" : ""}` : "unknown",
    ],
    [
      "versions",
      `Alfred ${env.versions.alfred}, Deno ${env.versions.deno}, TensorFlow.js ${env.versions.tfjs}, Polars ${env.versions.polars}`,
    ],
    ["host", `${env.host} (${env.platform})`],
    ["started", record.timings.start],
    ["ended", record.timings.end],
  );
  const duration = (Date.parse(record.timings.end) - Date.parse(record.timings.start)) / 1000;
  if (Number.isFinite(duration)) rows.push(["duration", `${duration.toFixed(1)} s`]);
  const stages = Object.entries(record.timings.stages);
  if (stages.length) {
    rows.push(["stage timings", stages.map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(", ")]);
  }
  const mem = record.memory;
  if (mem) {
    const gb = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
    rows.push([
      "memory",
      `peak ${mem.peak === null ? "not measured" : gb(mem.peak)}, planned ${gb(mem.planned)}${
        mem.peak === null ? "" : ` (${((mem.peak / mem.planned - 1) * 100).toFixed(1)}% off)`
      }: ${mem.parts.map((p) => `${p.what} ${gb(p.bytes)}`).join(", ")}`,
    ]);
  }
  const parts = ["## What was run\n"];
  if (record.description.trim()) parts.push(quote(record.description.trim()) + "\n");
  parts.push(markdownTable(["", ""], rows, ["l", "l"]));
  parts.push(
    "<details><summary>Resolved config</summary>\n\n```yaml\n" +
      record.configYaml.replace(/\n*$/, "\n") + "```\n\n</details>\n",
  );
  return parts.join("\n");
}

function quote(text: string): string {
  return text.split("\n").map((line) => (line ? `> ${line}` : ">")).join("\n");
}

function renderModelAndTraining(record: RunRecord, image: string | undefined): string {
  const parts: string[] = [];
  const model = record.model;
  if (model) {
    parts.push("## Model\n");
    parts.push(
      markdownTable(["family", "size", "layers", "parameters", "memory", "model hash", "source"], [[
        `\`${model.family}\``,
        formatCount(model.size),
        formatCount(model.layers),
        formatCount(model.parameters),
        formatBytes(model.bytes),
        `\`${model.modelHash}\``,
        model.restoredFromStore ? "restored from the model store" : "trained in this run",
      ]], ["l", "r", "r", "r", "r", "l", "l"]),
    );
  }
  const training = record.training;
  if (training) {
    parts.push("## Training\n");
    if (training.stoppedBy === "restored") {
      parts.push(
        "Not trained in this run: the weights were restored from the model store (run with `--retrain` to train again).\n",
      );
      return parts.join("\n");
    }
    const epochs = training.history.length;
    const last = training.history[epochs - 1];
    parts.push(
      `${formatCount(epochs)} epochs; best validation loss ${
        formatNumber(training.bestValLoss)
      } at epoch ${formatCount(training.bestEpoch)} (its weights were kept); stopped by ${
        STOPPED_BY[training.stoppedBy] ?? training.stoppedBy
      }` + (last ? `; final learning rate ${formatNumber(last.lr)}` : "") + ".\n",
    );
    if (image) parts.push(image + "\n");
  }
  return parts.join("\n");
}

/** Why training stopped, in words. */
const STOPPED_BY: Readonly<Record<string, string>> = {
  patience: "early stopping (no better validation loss within the patience)",
  epochs: "reaching the last epoch",
  interrupted: "an interruption",
};

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/**
 * Metric names where a baseline is at least as good as the model on eval.
 *
 * @param record the run record
 * @returns baseline name → canonical metric names it matches or beats, in name order
 */
export function baselinesNotBeaten(record: RunRecord): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const metrics = record.metrics;
  if (!metrics) return out;
  const model = metrics.postTrain.eval;
  for (const name of Object.keys(metrics.baselines).sort(compareStrings)) {
    const baseline = metrics.baselines[name];
    const beaten: string[] = [];
    for (const metric of numericMetricNames([model, baseline])) {
      const m = metricValue(model, metric);
      const b = metricValue(baseline, metric);
      if (m === null || b === null || metricDirection(metric) === null) continue;
      if (!isBetter(metric, m, b)) beaten.push(metric);
    }
    if (beaten.length) out[name] = beaten;
  }
  return out;
}

function renderMetrics(record: RunRecord, image: string | undefined): string {
  const metrics = record.metrics;
  if (!metrics) return "";
  const parts = [`## Metrics against baselines (${metrics.mode})\n`];
  const columns: { title: string; table: MetricSet | undefined }[] = [];
  const splitColumns = (prefix: string, split: SplitMetrics) => {
    const splits = ["train", "validation", "eval"] as const;
    for (const key of splits) {
      const table = split[key];
      if (table) columns.push({ title: `${prefix} ${key}`, table });
    }
    // Walk-forward: each fold's own tables, split by split.
    for (const key of splits) {
      for (const [fold, sets] of Object.entries(split.folds ?? {})) {
        const table = sets[key];
        if (table) columns.push({ title: `${prefix} ${key} ${fold}`, table });
      }
    }
  };
  splitColumns("pre-train", metrics.preTrain);
  splitColumns("model", metrics.postTrain);
  if (metrics.lastEpoch) splitColumns("last epoch", metrics.lastEpoch);
  const baselineNames = Object.keys(metrics.baselines).sort(compareStrings);
  for (const name of baselineNames) {
    columns.push({ title: `${name} (eval)`, table: metrics.baselines[name] });
  }
  const names = numericMetricNames(columns.map((c) => c.table));
  const modelEval = metrics.postTrain.eval;
  const intervals = record.inference?.metrics ?? {};
  const rows = names.map((name) => {
    const model = metricValue(modelEval, name);
    return [
      metricLabel(name),
      ...columns.map((c) => {
        const value = metricValue(c.table, name);
        if (c.table === modelEval && intervals[name]) {
          return `${formatValue(name, value)} ${intervalText(name, intervals[name])}`;
        }
        const isBaseline = c.title.endsWith("(eval)") && !c.title.startsWith("model") &&
          !c.title.startsWith("pre-train");
        const flag = isBaseline && value !== null && model !== null &&
          metricDirection(name) !== null && !isBetter(name, model, value);
        return formatValue(name, value) + (flag ? ` ${NOT_BEATEN}` : "");
      }),
    ];
  });
  parts.push(markdownTable(["metric", ...columns.map((c) => c.title)], rows));
  const intervalsNote = metricIntervalsNote(record);
  if (intervalsNote) parts.push(intervalsNote);
  if (metrics.lastEpoch && record.training) {
    parts.push(
      `The model columns are the weights of epoch ${record.training.bestEpoch}, the best on ` +
        `validation, which early stopping restored; "last epoch train" is how the weights of ` +
        `the last epoch (${record.training.history.length}) fit the training rows.\n`,
    );
  }
  const notBeaten = baselinesNotBeaten(record);
  const lines = Object.entries(notBeaten).map(([name, list]) =>
    `- ${NOT_BEATEN} The model does not beat **${name}** on eval ${
      list.map(metricLabel).join(", ")
    }.`
  );
  if (lines.length) {
    parts.push(
      `${NOT_BEATEN} marks a baseline at least as good as the trained model on eval.\n\n` +
        lines.join("\n") + "\n",
    );
  } else if (baselineNames.length) {
    parts.push("The trained model beats every baseline on every eval metric.\n");
  }
  const tests = testsSection(record);
  if (tests) parts.push(tests);
  const pre = metrics.preTrain.eval;
  if (pre && modelEval) {
    const worse = numericMetricNames([pre, modelEval]).filter((name) => {
      const a = metricValue(pre, name);
      const b = metricValue(modelEval, name);
      return a !== null && b !== null && metricDirection(name) !== null && !isBetter(name, b, a);
    });
    if (worse.length) {
      parts.push(
        `Training did not improve eval ${
          worse.map(metricLabel).join(", ")
        } over the untrained model.\n`,
      );
    }
  }
  if (image) parts.push(image + "\n");
  const allTickers = Object.keys(metrics.perTicker).sort(compareStrings);
  if (allTickers.length) {
    parts.push("### Per eval ticker\n");
    const tickerNames = numericMetricNames(allTickers.map((t) => metrics.perTicker[t]));
    const by = metrics.mode === "direction" ? "f1" : "signAccuracy";
    // Ranked among the tickers with a year of eval rows: a ticker with one or two rows scores
    // 1.000 or 0 by luck and would fill the best and worst with noise (a 3,000-ticker run's did).
    const rows = (t: string) => metricValue(metrics.perTicker[t], "n") ?? 0;
    const seasoned = allTickers.filter((t) => rows(t) >= MIN_RANKED_ROWS);
    const ranked = allTickers.length > MAX_TABLE_TICKERS && seasoned.length >= MAX_TABLE_TICKERS
      ? seasoned
      : allTickers;
    const tickers = extremes(
      ranked.map((ticker) => ({ ticker })),
      (r) => metricValue(metrics.perTicker[r.ticker], by),
      metricDirection(by) !== "lower",
      MAX_TABLE_TICKERS,
    ).map((r) => r.ticker);
    if (tickers.length < allTickers.length) {
      parts.push(
        cappedNote(allTickers.length, metricLabel(by), "ticker-metrics.parquet", ranked.length),
      );
    }
    parts.push(markdownTable(
      ["ticker", ...tickerNames.map(metricLabel)],
      tickers.map((t) => [
        t,
        ...tickerNames.map((n) => formatValue(n, metricValue(metrics.perTicker[t], n))),
      ]),
    ));
    const counts = allTickers.map((t) => metricValue(metrics.perTicker[t], "n"))
      .filter((n): n is number => n !== null);
    const most = extent(counts)?.max ?? null;
    if (most !== null && most < MIN_EVAL_ROWS) {
      parts.push(
        `Each eval ticker has at most ${
          formatCount(most)
        } eval rows (fewer than ${MIN_EVAL_ROWS}): too few to judge a ticker on its own metrics.\n`,
      );
    }
  }
  return parts.join("\n");
}

function renderData(record: RunRecord, image: string | undefined): string {
  const parts = ["## Data, split and features\n"];
  const split = record.split;
  if (split) {
    parts.push(`Split ${splitPhrase(split.method)}.\n`);
    parts.push(markdownTable(
      ["fold", "train period", "eval period", "train rows", "validation rows", "eval rows"],
      split.folds.map((f) => [
        f.name,
        `${f.trainPeriod[0]} to ${f.trainPeriod[1]}`,
        `${f.evalPeriod[0]} to ${f.evalPeriod[1]}`,
        formatCount(f.trainRows),
        formatCount(f.validationRows),
        formatCount(f.evalRows),
      ]),
      ["l", "l", "l", "r", "r", "r"],
    ));
  }
  if (record.features.length) {
    parts.push(
      `Features (${record.features.length}, model input order): ${
        record.features.map((f) => `\`${f}\``).join(", ")
      }.\n`,
    );
  }
  if (record.missing.length) {
    parts.push(markdownTable(
      ["family", "missing-value rule", "rows touched"],
      record.missing.map((m) => [m.family, missingRule(m.rule), formatCount(m.rows)]),
      ["l", "l", "r"],
    ));
  }
  if (record.correlations.length) {
    parts.push("### Feature correlation with the label (training rows)\n");
    parts.push(markdownTable(
      ["feature", "Pearson", "Spearman", "strength"],
      record.correlations.map((c) => [
        c.feature,
        formatNumber(c.pearson),
        formatNumber(c.spearman),
        c.strength,
      ]),
      ["l", "r", "r", "l"],
    ));
    if (image) parts.push(image + "\n");
  }
  return parts.join("\n");
}

/** A missing-value rule as the features stage records it (`ffill (limit 2)`), in words. */
function missingRule(rule: string): string {
  const ffill = /^ffill \(limit (\d+)\)(: unfilled, dropped)?$/.exec(rule);
  if (ffill) {
    const limit = `${ffill[1]} quarter${ffill[1] === "1" ? "" : "s"}`;
    return ffill[2]
      ? `not fillable within ${limit}: row dropped`
      : `forward-filled from the last value (up to ${limit})`;
  }
  if (rule === "drop") return "row dropped";
  if (rule === "zero") return "set to 0";
  return rule;
}

/** Backtest statistics where the strategy is compared with the best benchmark. */
const COMPARED_STATS = new Set([
  "totalReturn",
  "cagr",
  "sharpe",
  "sortino",
  "calmar",
  "maxDrawdown",
  "volatility",
]);

function renderBacktest(record: RunRecord, images: (string | undefined)[]): string {
  const backtest = record.backtest;
  if (!backtest) return "";
  const parts = ["## Backtest\n"];
  for (const ruin of ruinSentences(record)) parts.push(`**⚠ ${ruin}.**\n`);
  const about = backtestAbout(backtest);
  if (about) parts.push(about + "\n");

  const stats: Record<string, MetricTable> = backtest.stats;
  const ordered = ["strategy", "index", "basket"].filter((s) => stats[s] !== undefined);
  const names = numericMetricNames(ordered.map((s) => stats[s]));
  const benchmarks = ordered.filter((s) => s !== "strategy");
  const behind: string[] = [];
  const intervals = record.inference?.backtest ?? {};
  const rows = names.map((name) => {
    const strategy = metricValue(stats.strategy, name);
    return [
      metricLabel(name),
      ...ordered.map((s) => {
        const value = metricValue(stats[s], name);
        if (s === "strategy" && intervals[name]) {
          return `${formatValue(name, value)} ${intervalText(name, intervals[name])}`;
        }
        const flag = s !== "strategy" && COMPARED_STATS.has(name) && value !== null &&
          strategy !== null && !isBetter(name, strategy, value);
        if (flag && !behind.includes(name)) behind.push(name);
        return formatValue(name, value) + (flag ? ` ${NOT_BEATEN}` : "");
      }),
    ];
  });
  parts.push(markdownTable(["statistic", ...ordered], rows));
  const intervalsNote = backtestIntervalsNote(record);
  if (intervalsNote) parts.push(intervalsNote);
  if (benchmarks.length && behind.length) {
    parts.push(
      `${NOT_BEATEN} marks a benchmark at least as good as the strategy: the strategy does not beat buy-and-hold on ${
        orderMetricNames(behind).map(metricLabel).join(", ")
      }.\n`,
    );
  }
  const assumptions = backtest.assumptions;
  if (assumptions.length) {
    parts.push("Assumptions:\n\n" + assumptions.map((a) => `- ${a}`).join("\n") + "\n");
  }
  for (const image of images.slice(0, 2)) if (image) parts.push(image + "\n");
  if (backtest.perTicker.length) {
    parts.push("### Per eval ticker\n");
    const perTicker: MetricTable[] = backtest.perTicker;
    const keys: string[] = [];
    for (const row of perTicker) {
      for (const key of Object.keys(row)) {
        // A column with no value in any row (a per-book drawdown in portfolio mode) is left out.
        if (key === "ticker" || keys.includes(key)) continue;
        if (perTicker.some((r) => r[key] !== null && r[key] !== undefined)) keys.push(key);
      }
    }
    keys.sort((a, b) => metricRank(a) - metricRank(b) || compareStrings(a, b));
    const rows = extremes(backtest.perTicker, (r) => r.totalReturn, true, MAX_TABLE_TICKERS)
      .sort((a, b) => compareStrings(a.ticker, b.ticker));
    if (rows.length < perTicker.length) {
      parts.push(
        cappedNote(perTicker.length, metricLabel("totalReturn"), "ticker-backtest.parquet"),
      );
    }
    const cells = (row: MetricTable) => keys.map((k) => formatValue(k, row[k]));
    parts.push(markdownTable(
      ["ticker", ...keys.map(metricLabel)],
      rows.map((row) => [row.ticker, ...cells(row)]),
    ));
    if (images[2]) parts.push(images[2] + "\n");
  }
  return parts.join("\n");
}

/** The most rows a per-ticker table shows: past it, the best and worst half each. */
export const MAX_TABLE_TICKERS = 30;
/** Eval rows (a year of quarters) a ticker needs to be ranked among a capped table's best and worst. */
export const MIN_RANKED_ROWS = 4;

/**
 * A ticker list as the report names it: all of it while `record.json` holds it
 * (`TICKERS_INLINE_MAX`), else its first tickers and how many more are in `tickers.parquet`.
 */
function tickerList(tickers: readonly string[]): string {
  if (tickers.length <= TICKERS_INLINE_MAX) return tickers.join(", ");
  return `${tickers.slice(0, MAX_TABLE_TICKERS).join(", ")} and ${
    formatCount(tickers.length - MAX_TABLE_TICKERS)
  } more (every one in \`tickers.parquet\` beside the record)`;
}

/**
 * The sentence above a per-ticker table that shows only the best and worst tickers, ranked among
 * `ranked` of them (those with {@linkcode MIN_RANKED_ROWS} eval rows, when fewer than all).
 */
function cappedNote(tickers: number, by: string, file: string, ranked = tickers): string {
  const among = ranked < tickers
    ? ` among the ${formatCount(ranked)} with at least ${MIN_RANKED_ROWS} eval rows`
    : "";
  return `${formatCount(tickers)} eval tickers: the ${MAX_TABLE_TICKERS / 2} best and ${
    MAX_TABLE_TICKERS / 2
  } worst by ${by}${among} are shown, in ticker order; every ticker's row is in \`${file}\` ` +
    "beside the record.\n";
}

/** Labels of the loss-target helper's keys (`src/analysis/loss_target.ts`). */
const LOSS_TARGET_LABELS: Readonly<Record<string, string>> = {
  n: "labels",
  mean: "label mean",
  variance: "label variance (the MSE of predicting the mean)",
  std: "label standard deviation",
  min: "smallest label",
  max: "largest label",
  range: "label range",
  desiredR2: "desired R²",
  targetMseR2: "target MSE for the desired R² ((1 − R²) × variance)",
  targetMseRange: "target MSE for an RMSE of 10% of the range",
  suggestedMse: "suggested MSE (the larger target)",
  suggestedRmse: "suggested RMSE",
  suggestedRmsePercentOfRange: "suggested RMSE as a share of the range",
  achievedEvalLoss: "achieved eval loss",
};

function lossTargetLabel(key: string): string {
  return LOSS_TARGET_LABELS[key] ?? metricLabel(key);
}

function lossTargetValue(key: string, value: unknown): string {
  if (key === "n") return formatCount(value);
  if (key === "suggestedRmsePercentOfRange" && typeof value === "number") {
    return formatPercent(value / 100);
  }
  return formatNumber(value);
}

/** The loss-target table: one column per split, then the achieved eval loss. */
function renderLossTarget(target: NonNullable<RunAnalysis["lossTarget"]>): string {
  const splits: [string, Readonly<Record<string, number>>][] = [
    ["train", target.train],
    ["eval", target.eval],
  ];
  const rows = Object.keys(target.train).map((k) => [
    lossTargetLabel(k),
    ...splits.map(([, t]) => lossTargetValue(k, t[k])),
  ]);
  rows.push([lossTargetLabel("achievedEvalLoss"), formatNumber(target.achievedEvalLoss), ""]);
  return markdownTable(["", ...splits.map(([name]) => name)], rows);
}

/** Backtest modes in words. */
const MODE_PHRASES: Readonly<Record<RunBacktest["mode"], string>> = {
  per_ticker: "per-ticker mode (each eval ticker trades alone with an equal share of the capital)",
  portfolio: "portfolio mode (one book across the eval tickers)",
};

/** One sentence on what was backtested. */
function backtestAbout(backtest: RunBacktest): string {
  const { strategy, mode, period, benchmarks } = backtest;
  const bits = [
    `Strategy \`${strategy}\` in ${MODE_PHRASES[mode]}`,
    `from ${period.start} to ${period.end} (${formatCount(period.days)} trading days)`,
  ];
  const against: string[] = [];
  if (benchmarks.index) against.push(`buy-and-hold of ${benchmarks.index}`);
  if (benchmarks.basket.length) {
    against.push(`the equal-weight basket of ${tickerList(benchmarks.basket)}`);
  }
  if (against.length) bits.push(`against ${against.join(" and ")}`);
  return bits.join(", ") + ".";
}

function renderAnalysis(
  record: RunRecord,
  image: string | undefined,
  beeswarm: string | undefined,
): string {
  const analysis = record.analysis;
  if (!analysis) return "";
  const parts = ["## Analysis\n"];
  const ablation = analysis.ablation;
  if (ablation && ablation.rows.length) {
    parts.push("### Ablation\n");
    parts.push(
      `Each input neutralized with ${ablation.neutralizedWith}; change in eval loss and ${
        metricLabel(ablation.metric)
      }. Needed: removal raises loss and lowers ${
        metricLabel(ablation.metric)
      }. Candidate to drop: removal lowers loss.\n`,
    );
    parts.push(markdownTable(
      ["input", "kind", "Δ loss", `Δ ${metricLabel(ablation.metric)}`, "verdict"],
      ablation.rows.map((r) => [
        r.name,
        r.kind,
        formatNumber(r.deltaLoss),
        formatValue(ablation.metric, r.deltaMetric),
        r.verdict,
      ]),
      ["l", "l", "r", "r", "l"],
    ));
  }
  const retrained = ablation?.retrained ?? [];
  if (ablation && retrained.length) {
    const metric = metricLabel(ablation.metric);
    parts.push(
      "Retrained from scratch without each top drop candidate (its column neutralized in training and eval):\n",
    );
    parts.push(markdownTable(
      ["input", "eval loss", "Δ loss", metric, `Δ ${metric}`, "epochs", "verdict"],
      retrained.map((r) => [
        r.feature,
        formatNumber(r.loss),
        formatNumber(r.deltaLoss),
        formatValue(ablation.metric, r.metric),
        formatValue(ablation.metric, r.deltaMetric),
        formatCount(r.epochs),
        r.verdict,
      ]),
      ["l", "r", "r", "r", "r", "r", "l"],
    ));
  }
  const shap = analysis.shap;
  if (shap) {
    parts.push("### SHAP\n");
    const deviation = Number.isFinite(shap.maxAdditivityError)
      ? shap.maxAdditivityError.toExponential(2)
      : "—";
    parts.push(
      `Largest additivity deviation (|base value + Σ attributions − model output|): ${deviation}; ` +
        `base value ${formatNumber(shap.baseValue)}.\n`,
    );
    const ranking = Object.entries(shap.meanAbs)
      .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]));
    parts.push(markdownTable(
      ["feature", "mean |SHAP|"],
      ranking.map(([f, v]) => [f, formatNumber(v)]),
    ));
    if (image) parts.push(image + "\n");
    if (beeswarm) parts.push(beeswarm + "\n");
    if (shap.topConfident.length) {
      parts.push("Top attributions for the most confident eval predictions:\n");
      parts.push(markdownTable(
        ["row", "output", "largest attributions"],
        shap.topConfident.map((c) => [
          c.row,
          formatNumber(c.output),
          c.top.map((t) => `${t.feature} ${t.value >= 0 ? "+" : ""}${formatNumber(t.value)}`).join(
            ", ",
          ) || "—",
        ]),
        ["l", "r", "l"],
      ));
    }
  }
  if (analysis.lossTarget) {
    parts.push("### Loss target\n");
    parts.push(renderLossTarget(analysis.lossTarget));
  }
  return parts.length > 1 ? parts.join("\n") : "";
}
