/**
 * What a sceptical reader needs from every report: a ruined book said first and plainly, the
 * leakage checks the run applied (from its record, marked verified or not), warnings on level
 * features and on eval sets too small to judge, drawdown durations in trading days even for runs
 * recorded in calendar days, and no internal key names in the prose and tables.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { collectWarnings, renderReport, ruinSentences, summaryLine } from "../src/report/report.ts";
import {
  leakageChecks,
  levelFeatures,
  levelFeatureWarning,
  smallEvalWarning,
} from "../src/report/leakage.ts";
import { renderJournal } from "../src/report/journal.ts";
import {
  EARNINGS_COLUMNS,
  FUNDAMENTAL_COLUMNS,
  INSIDER_COLUMNS,
  SENTIMENT_COLUMNS,
} from "../src/features/families.ts";
import { parseRecord, type RunRecord } from "../src/record/mod.ts";
import { fixtureRecord } from "./report_helpers.ts";

/** A real record of the first version (quick-direction, trimmed), read as the store reads it. */
function versionOneRecord(): RunRecord {
  const url = new URL("./fixtures/record/v1-calendar-days.json", import.meta.url);
  return parseRecord(JSON.parse(Deno.readTextFileSync(url)), url.pathname);
}

/** The fixture with a portfolio book ruined by a short, as `runBacktest` records it. */
function ruinedRecord(): RunRecord {
  const record = fixtureRecord();
  record.backtest = {
    ...record.backtest!,
    mode: "portfolio",
    ruin: [{
      book: "portfolio",
      capital: 100_000,
      date: "1999-07-12",
      equity: -1451.84,
      liquidatedOn: "1999-07-12",
      liquidationValue: -1653.29,
      liquidationCosts: 201.45,
    }],
  };
  return record;
}

Deno.test("a ruined book is stated first, in bold, with its date, equity and liquidation value", async () => {
  const record = ruinedRecord();
  const [sentence] = ruinSentences(record);
  assertEquals(
    sentence,
    "The book was ruined on 1999-07-12: its equity was -1,451.84 at that close (starting capital 100,000.00); every position was closed at that close's prices, paying 201.45 in costs and leaving -1,653.29 (a return of -101.65%): a debt of 1,653.29 owed to the broker, because a short rose past the remaining equity between two closes (kept as a debt, not floored at zero). It never traded again, and the statistics are on this liquidated path",
  );
  const { markdown } = await renderReport(record);
  const lines = markdown.split("\n").filter((l) => l.trim());
  assertEquals(lines[2], `**⚠ RUINED: ${sentence}.**`, "right under the summary line");
  assertMatch(
    lines[1],
    /backtest CAGR 6\.12%, Sharpe 0\.3104 \(index Sharpe 0\.5421\), ruined on 1999-07-12\.$/,
  );
  // Not repeated in the warnings list, but repeated at the top of the backtest section.
  const warnings = markdown.slice(markdown.indexOf("## Warnings"), markdown.indexOf("## Leakage"));
  assert(!warnings.includes("ruined"));
  const backtest = markdown.slice(markdown.indexOf("## Backtest"));
  assert(backtest.startsWith(`## Backtest\n\n**⚠ ${sentence}.**`));
  // The journal, which lists each run's warnings, names the ruin first.
  assertEquals(collectWarnings(record)[0], sentence);
  assert(renderJournal([record]).includes(`- ⚠ ${sentence}`));
  assert(summaryLine(record).endsWith("ruined on 1999-07-12."));
});

Deno.test("a ruined per-ticker book is named; a liquidation left positive has no debt clause", () => {
  const record = ruinedRecord();
  record.backtest!.ruin = [{
    book: 'book "XOM"',
    capital: 25_000,
    date: "1999-03-01",
    equity: -10,
    liquidatedOn: "1999-03-02",
    liquidationValue: 12.5,
    liquidationCosts: 3,
  }];
  const [sentence] = ruinSentences(record);
  assert(sentence.startsWith('The book of "XOM" was ruined on 1999-03-01: its equity was -10.00'));
  assert(sentence.includes("(the last on 1999-03-02)"));
  assert(sentence.includes("leaving 12.50 (a return of -99.95%). It never traded again"));
  assert(!sentence.includes("debt"));
  assertEquals(ruinSentences(fixtureRecord()), []);
});

Deno.test("leakage checks: the fixture's record confirms cut-off, gap, scaler rows and split", async () => {
  const checks = leakageChecks(fixtureRecord());
  assertEquals(checks.map((c) => [c.name, c.status]), [
    ["Feature cut-off", "verified"],
    ["Purge and embargo", "verified"],
    ["Scaler rows", "verified"],
    ["Split", "verified"],
  ]);
  assert(
    checks[0].text.includes("training rows dated 1991-12-31 to 1997-06-30, eval rows 1998-03-31"),
  );
  assert(checks[1].text.includes("Label horizon 1 quarter"));
  assert(checks[1].text.includes("purge of 1 quarter and an embargo of 0 quarters"));
  assert(checks[1].text.includes("the latest training label is known on 1997-09-30, before"));
  assert(
    checks[2].text.includes(
      "fitted on 312 rows = its 312 training rows (the same row set, by hash)",
    ),
  );
  const { markdown } = await renderReport(fixtureRecord());
  assert(markdown.indexOf("## Leakage checks") < markdown.indexOf("## What was run"));
  assert(
    markdown.includes(
      "- ✓ **Scaler rows**: The feature scalers were fitted on training rows only.",
    ),
  );
});

Deno.test("the feature cut-off states the news close rule when the news family ran, and only then", () => {
  const plain = leakageChecks(fixtureRecord())[0];
  assert(!plain.text.includes("news"), plain.text);
  const record = fixtureRecord();
  record.news = {
    digester: "lexicon",
    model: "vader-sentiment",
    prompt: null,
    articles: 10,
    requests: 0,
    cacheHits: 0,
    cacheMisses: 0,
    cacheHitRate: null,
    tokens: { prompt: 0, completion: 0 },
    marketClose: { time_zone: "Asia/Tokyo", time: "15:00" },
  };
  const cutoff = leakageChecks(record)[0];
  assertEquals(cutoff.name, "Feature cut-off");
  assertEquals(cutoff.status, "verified");
  assert(
    cutoff.text.includes(
      "market series from the day each value was known, news from the articles published before that close (an article counts for the quarter whose last close, at 15:00 Asia/Tokyo, the exchange's time zone, comes after its published_at; one published at or after that close counts for the next quarter). The holdout: training rows dated",
    ),
    cutoff.text,
  );
});

Deno.test("leakage checks warn when the record shows a leak", () => {
  const record = fixtureRecord();
  const fold = record.split!.folds[0];
  fold.scalerRows = 390; // fitted on train + validation
  fold.scalerRowsHash = "0".repeat(64);
  fold.lastTrainLabelDate = "1998-03-31"; // a training label inside the eval period
  const checks = Object.fromEntries(leakageChecks(record).map((c) => [c.name, c]));
  assertEquals(checks["Scaler rows"].status, "warning");
  assert(checks["Scaler rows"].text.includes("fitted on 390 rows ≠ its 312 training rows"));
  assertEquals(checks["Purge and embargo"].status, "warning");
  assert(checks["Purge and embargo"].text.includes("known on 1998-03-31, NOT before"));
});

Deno.test("leakage checks of a by-ticker split and of a run recorded before the checks", () => {
  const byTicker = fixtureRecord();
  byTicker.split = {
    ...byTicker.split!,
    method: "by_ticker",
    folds: [{ ...byTicker.split!.folds[0], evalPeriod: ["1991-12-31", "2000-09-29"] }],
    warnings: ["by_ticker split: train and eval share quarters: market-wide moves leak"],
    evalFrom: null,
  };
  const checks = Object.fromEntries(leakageChecks(byTicker).map((c) => [c.name, c]));
  assertEquals(checks["Split"].status, "warning");
  assert(checks["Split"].text.includes("market-wide moves leak from training into eval"));
  assert(
    checks["Split"].text.includes("Its warnings: by_ticker split: train and eval share quarters"),
  );
  assertEquals(checks["Purge and embargo"].status, "warning");
  assertMatch(checks["Purge and embargo"].text, /^None applied/);
  assertEquals(checks["Feature cut-off"].status, "warning");

  // A record of the first version: no latest label date, no per-fold scaler rows; its gap from
  // its config (the migration reads it), the scaler's row count.
  const old = versionOneRecord();
  const stated = Object.fromEntries(leakageChecks(old).map((c) => [c.name, c]));
  assertEquals(stated["Purge and embargo"].status, "stated");
  assert(
    stated["Purge and embargo"].text.includes("(from 1998-01-01)"),
    "eval_from from the config",
  );
  assert(stated["Purge and embargo"].text.includes("predates recording"));
  assertEquals(stated["Scaler rows"].status, "stated");
  assert(stated["Scaler rows"].text.includes("saw 270 rows, its training row count"));
  assertEquals(leakageChecks({ ...old, split: null }), []);
});

Deno.test("walk-forward folds are checked one by one", () => {
  const record = fixtureRecord();
  const base = record.split!.folds[0];
  record.config = {
    ...record.config,
    split: { ...record.config.split, method: "walk_forward", window: "rolling" },
  };
  record.split = {
    ...record.split!,
    method: "walk_forward",
    folds: [
      { ...base, name: "fold-1", evalPeriod: ["1998-03-31", "1998-12-31"] },
      {
        ...base,
        name: "fold-2",
        trainPeriod: ["1992-12-31", "1998-06-30"],
        evalPeriod: ["1999-03-31", "1999-12-31"],
        lastTrainLabelDate: "1998-09-30",
      },
    ],
  };
  const checks = Object.fromEntries(leakageChecks(record).map((c) => [c.name, c]));
  assertEquals(checks["Purge and embargo"].status, "verified");
  assert(checks["Purge and embargo"].text.includes(
    "Fold-1: the latest training label is known on 1997-09-30, before its eval quarters start (1998-01-01); fold-2: the latest training label is known on 1998-09-30, before its eval quarters start (1999-01-01)",
  ));
  assert(checks["Split"].text.includes("walk forward"));
  assert(checks["Split"].text.includes("2 folds, a rolling window"));
});

Deno.test("level features are named with what level they are; changes and ratios are not", () => {
  const record = fixtureRecord();
  assertEquals(levelFeatures(record), [{ feature: "Close", level: "the price level" }]);
  record.features = [
    "Close_diff_MA_7",
    "delta_Close",
    "Volume",
    "Margin_Gross",
    "reportedEPS",
    "surprisePercentage",
    "cpi",
    "unemp",
    "inflation",
    "10year",
    "delta_10year",
  ];
  record.featureFamilies = undefined; // an older record: families read from the names
  assertEquals(levelFeatures(record).map((f) => f.feature), [
    "Volume",
    "reportedEPS",
    "cpi",
    "unemp",
    "10year",
  ]);
  assertEquals(
    levelFeatureWarning(record)!.split(". ")[0],
    "Non-stationary level features: `Volume` (the volume level); `reportedEPS` (earnings per share, a currency level); `cpi`, `unemp`, `10year` (market series values: index, price, yield or macro levels)",
  );
  // Recorded families win over names: a market series the names would not know.
  record.features = ["Margin_Gross", "delta_Margin_Gross"];
  record.featureFamilies = { market: ["Margin_Gross"] };
  assertEquals(levelFeatures(record).map((f) => f.feature), ["Margin_Gross"]);
  record.features = ["Close_diff_MA_30", "delta_1year"];
  assertEquals(levelFeatureWarning(record), null);
  assert(
    collectWarnings(fixtureRecord()).some((w) => w.startsWith("Non-stationary level features")),
  );
});

Deno.test("the report knows every non-market feature column of the families", () => {
  // The report reads families from names in records that predate featureFamilies; a column
  // added to a family must be classified there too.
  const record = fixtureRecord();
  record.featureFamilies = undefined;
  for (
    const columns of [FUNDAMENTAL_COLUMNS, EARNINGS_COLUMNS, INSIDER_COLUMNS, SENTIMENT_COLUMNS]
  ) {
    for (const column of Object.keys(columns)) {
      record.features = [column];
      const level = levelFeatures(record)[0]?.level ?? "";
      assert(!level.startsWith("market"), `${column} is read as a market series`);
    }
  }
});

Deno.test("eval sets under 30 rows are too small to judge, and the report says how many", () => {
  const record = fixtureRecord();
  assertEquals(smallEvalWarning(record), null);
  record.split!.folds[0].evalRows = 22;
  assertEquals(
    smallEvalWarning(record),
    "Eval set too small to judge: 22 eval rows (fewer than 30); one prediction moves accuracy by 4.5 percentage points",
  );
  assert(collectWarnings(record).includes(smallEvalWarning(record)!));
  const base = record.split!.folds[0];
  record.split!.folds = [
    { ...base, name: "fold-1", evalRows: 12 },
    { ...base, name: "fold-2", evalRows: 40 },
    { ...base, name: "fold-3", evalRows: 1 },
  ];
  assertEquals(
    smallEvalWarning(record),
    "Eval sets too small to judge: fold-1 has 12 eval rows, fold-3 has 1 eval row (fewer than 30 each; 53 eval rows pooled over 3 folds)",
  );
});

Deno.test("runs recorded in calendar days show their drawdown duration in trading days", async () => {
  // The migration counted them from the recorded daily equity (see tests/record_test.ts).
  const { markdown } = await renderReport(versionOneRecord());
  assert(markdown.includes("| max drawdown duration (trading days) |"));
  assert(!markdown.includes("calendar days, as runs"));
});

/** The report's prose and tables: no code spans, code blocks, or text quoted from the record. */
function prose(markdown: string, record: RunRecord): string {
  let text = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`]*`/g, "");
  const quoted = [
    record.description,
    ...record.warnings,
    ...record.data.manifestWarnings,
    ...(record.backtest?.warnings ?? []),
    ...(record.backtest?.assumptions ?? []),
    ...record.features,
  ];
  for (const q of quoted) text = text.split(q).join("");
  return text.replace(/!\[[^\]]*\]\([^)]*\)/g, "").replace(/\]\([^)]*\)/g, "]");
}

Deno.test("reports show no internal key names: no camelCase or snake_case keys in prose and tables", async () => {
  const record = fixtureRecord();
  record.analysis!.ablation!.retrained = [{
    feature: "Close",
    loss: 0.68,
    metric: 0.61,
    deltaLoss: -0.0017,
    deltaMetric: -0.0175,
    verdict: "drop candidate",
    epochs: 12,
  }];
  const { markdown } = await renderReport(record);
  const text = prose(markdown, record);
  const camel = text.match(/\b[a-z]+[A-Z][A-Za-z]*\b/g) ?? [];
  const snake = text.match(/\b[a-z]+_[a-z_]+\b/g) ?? [];
  assertEquals([...new Set([...camel, ...snake])], []);
  assert(
    markdown.includes("| Close | 0.6800 | -0.001700 | 0.6100 | -0.01750 | 12 | drop candidate |"),
  );
});
