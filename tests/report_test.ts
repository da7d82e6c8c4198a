/**
 * The run report: snapshot of the fixture's report.md, warnings at the top, baseline markers,
 * plots as SVG with the expected marks, and byte-identical SVG across renders and time zones.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { collectWarnings, NOT_BEATEN, renderReport } from "../src/report/report.ts";
import {
  drawdowns,
  perTickerReturns,
  perTickerSpec,
  renderSvg,
  scatterSpec,
} from "../src/report/plots.ts";
import { fixtureRecord, FIXTURES, magnitudeRecord, variant } from "./report_helpers.ts";

const UPDATE = Deno.env.get("UPDATE_SNAPSHOTS") === "1";

async function snapshot(name: string, actual: string): Promise<void> {
  const url = new URL(name, FIXTURES);
  if (UPDATE) {
    await Deno.writeTextFile(url, actual);
    return;
  }
  const expected = await Deno.readTextFile(url);
  assertEquals(
    actual,
    expected,
    `snapshot ${name} differs; rerun with UPDATE_SNAPSHOTS=1 if intended`,
  );
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("report.md of the fixture record matches the snapshot", async () => {
  const { markdown } = await renderReport(fixtureRecord());
  await snapshot("report.md.snap", markdown);
});

Deno.test("report embeds every plot it renders, and only those", async () => {
  const { markdown, plots } = await renderReport(fixtureRecord());
  const files = Object.keys(plots).sort();
  assertEquals(files, [
    "confusion.svg",
    "correlations.svg",
    "drawdown.svg",
    "equity.svg",
    "per-ticker.svg",
    "shap.svg",
    "training.svg",
  ]);
  const linked = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]).sort();
  assertEquals(linked, files);
});

Deno.test("plots are SVG with their titles and marks", async () => {
  const { plots } = await renderReport(fixtureRecord());
  const expectations: Record<string, [string, string[]]> = {
    "training.svg": ["Training and validation loss, learning rate", ["mark-line", "mark-symbol"]],
    "equity.svg": ["Equity: strategy against benchmarks", ["mark-line"]],
    "drawdown.svg": ["Drawdown", ["mark-line"]],
    "per-ticker.svg": ["Total return per eval ticker", ["mark-rect"]],
    "correlations.svg": ["Feature correlation with the label", ["mark-rect"]],
    "confusion.svg": ["Confusion matrix (eval)", ["mark-rect", "mark-text"]],
    "shap.svg": ["Mean |SHAP| per feature (eval)", ["mark-rect"]],
  };
  for (const [file, [title, marks]] of Object.entries(expectations)) {
    const svg = plots[file];
    assert(svg.startsWith("<svg"), `${file} is an SVG document`);
    assert(svg.includes(title), `${file} has its title "${title}"`);
    for (const mark of marks) assert(svg.includes(mark), `${file} draws ${mark}`);
  }
  // The legend names every equity series; the per-ticker plot names every eval ticker.
  for (const s of ["strategy", "index", "basket"]) assert(plots["equity.svg"].includes(`>${s}<`));
  for (const t of ["JPM", "PG", "WMT", "XOM"]) assert(plots["per-ticker.svg"].includes(`>${t}<`));
  // The confusion matrix prints the four counts from [[tn, fp], [fn, tp]] = [[9, 12], [7, 16]].
  for (const n of ["9", "12", "7", "16"]) assert(plots["confusion.svg"].includes(`>${n}</text>`));
});

Deno.test("SVG output is byte-identical across renders", async () => {
  const a = await renderReport(fixtureRecord());
  const b = await renderReport(fixtureRecord());
  assertEquals(Object.keys(a.plots), Object.keys(b.plots));
  for (const file of Object.keys(a.plots)) assertEquals(a.plots[file], b.plots[file], file);
  assertEquals(a.markdown, b.markdown);
});

Deno.test("SVG output does not depend on the time zone", async () => {
  const script = `
    import { renderReport } from "${new URL("../src/report/report.ts", import.meta.url).href}";
    import { parseRecord } from "${new URL("../src/record/mod.ts", import.meta.url).href}";
    const file = ${JSON.stringify(new URL("record.json", FIXTURES).pathname)};
    const record = parseRecord(JSON.parse(await Deno.readTextFile(file)), file);
    const { plots } = await renderReport(record);
    const out = {};
    for (const [f, svg] of Object.entries(plots)) {
      const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(svg));
      out[f] = Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
    }
    console.log(JSON.stringify(out));`;
  const { plots } = await renderReport(fixtureRecord());
  const local: Record<string, string> = {};
  for (const [f, svg] of Object.entries(plots)) local[f] = await sha256(svg);
  for (const tz of ["Pacific/Kiritimati", "America/Los_Angeles"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      env: { TZ: tz },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), local, `TZ=${tz}`);
  }
});

Deno.test("synthetic data is announced in bold at the very top", async () => {
  const record = fixtureRecord();
  record.data = { ...record.data, synthetic: true };
  const { markdown } = await renderReport(record);
  const lines = markdown.split("\n").filter((l) => l.trim());
  assertMatch(lines[1], /^\*\*⚠ SYNTHETIC DATA/);
  const journalLike = (await renderReport(fixtureRecord())).markdown;
  assert(!journalLike.includes("SYNTHETIC"));
});

Deno.test("the report says which closes returns use", async () => {
  const adjusted = fixtureRecord();
  adjusted.data = { ...adjusted.data, returns: "adj_close" };
  assertMatch(
    (await renderReport(adjusted)).markdown,
    /\| returns from \| adjusted closes \(`adj_close`: total return, dividends and splits included\) \|/,
  );
  const raw = fixtureRecord();
  raw.data = { ...raw.data, returns: "close" };
  assertMatch(
    (await renderReport(raw)).markdown,
    /\| returns from \| closes \(`close`: price return/,
  );
  // Records from before the field was recorded say nothing rather than guess.
  assert(!(await renderReport(fixtureRecord())).markdown.includes("returns from"));
});

Deno.test("interrupted runs are marked at the top of the report", async () => {
  const record = variant({ status: "interrupted", error: "stopped by Ctrl-C at epoch 24" });
  const { markdown } = await renderReport(record);
  const lines = markdown.split("\n").filter((l) => l.trim());
  assertMatch(lines[1], /^\*\*Status: INTERRUPTED\*\*/);
  assert(lines[1].includes("stopped by Ctrl-C at epoch 24"));
});

Deno.test("warnings: manifest, split, backtest, leaking split and same-bar fills, deduplicated", () => {
  const record = fixtureRecord();
  record.config = {
    ...record.config,
    split: { ...record.config.split, method: "by_ticker" },
    backtest: { ...record.config.backtest, fill: "same_close" },
  };
  record.split = { ...record.split!, method: "by_ticker" };
  record.backtest = { ...record.backtest!, warnings: ["XOM has 3 missing days, forward-filled"] };
  const warnings = collectWarnings(record);
  assertEquals(warnings.filter((w) => w.startsWith("Survivorship")).length, 1, "deduplicated");
  assert(warnings.some((w) => w.startsWith("Leaking split")));
  assert(warnings.some((w) => w.startsWith("Same-bar fills")));
  assert(warnings.includes("XOM has 3 missing days, forward-filled"));
  // A split warning that already explains the leak is not repeated.
  record.split.warnings = ["by_ticker shares quarters between train and eval"];
  assertEquals(collectWarnings(record).filter((w) => /leak|share/i.test(w)).length, 1);
});

Deno.test("a baseline the model does not beat is marked, and one it beats is not", async () => {
  const { markdown } = await renderReport(fixtureRecord());
  // majority has F1 0.6866 > model 0.6275 and recall 1 > 0.6957; logistic is beaten everywhere.
  assert(
    markdown.includes(`| F1 | 0.000 | 0.7789 | 0.6420 | 0.6275 | 0.5116 | 0.6866 ${NOT_BEATEN} |`),
  );
  assert(markdown.includes("The model does not beat **majority** on eval recall, F1."));
  assert(!markdown.includes("does not beat **logistic**"));
  assert(!markdown.includes("does not beat **momentum**"));
  // The strategy trails the index on Sharpe: the index cell is marked.
  assert(markdown.includes(`| Sharpe | 0.3104 | 0.5421 ${NOT_BEATEN} | 0.4177 ${NOT_BEATEN} |`));
});

Deno.test("magnitude runs plot predicted against actual from eval predictions", async () => {
  const row = (quarter: string, actual: number, predicted: number) => ({
    ticker: "JPM",
    quarter,
    date: "1998-03-31",
    split: "eval",
    actual,
    predicted,
  });
  const predictions = [
    row("1998Q1", 0.05, 0.03),
    row("1998Q2", -0.02, 0.01),
    row("1998Q3", 0.11, 0.07),
  ];
  const { markdown, plots } = await renderReport(magnitudeRecord(), { predictions });
  assert("predicted-vs-actual.svg" in plots);
  assert(!("confusion.svg" in plots));
  assert(plots["predicted-vs-actual.svg"].includes("mark-symbol"));
  assert(markdown.includes("![Predicted against actual](predicted-vs-actual.svg)"));
  assert(markdown.includes("| sign accuracy |"));
  // A mean-prediction baseline with R² 0 and a model with R² 0.0496: the model wins on R².
  assert(!/does not beat \*\*mean\*\* on eval[^\n]*R²/.test(markdown));
});

Deno.test("a record without training, metrics or backtest still renders", async () => {
  const record = variant({
    status: "failed",
    error: "out of memory",
    training: null,
    metrics: null,
    backtest: null,
    model: null,
    analysis: undefined,
    correlations: [],
  });
  const { markdown, plots } = await renderReport(record);
  assertEquals(Object.keys(plots), []);
  assert(markdown.includes("**Status: FAILED**"));
  assert(!markdown.includes("## Backtest"));
});

Deno.test("a record whose config YAML is garbage still renders: the report parses nothing", async () => {
  const record = variant({ configYaml: "{{{ not: [yaml" });
  const { markdown } = await renderReport(record);
  // The text is shown as it is; everything else comes from the record's typed config.
  assert(markdown.includes("```yaml\n{{{ not: [yaml\n```"));
  assert(markdown.includes("## Leakage checks"));
  assert(markdown.includes("| F1 |"));
});

Deno.test("drawdowns are measured from the running peak, the starting equity the first", () => {
  const point = (date: string, strategy: number) => ({ date, strategy, index: null, basket: 100 });
  const equity = [
    point("2000-01-03", 95),
    point("2000-01-04", 120),
    point("2000-01-05", 90),
    point("2000-01-06", 130),
  ];
  const dd = drawdowns(equity, { strategy: { startEquity: 100 }, basket: { startEquity: 100 } });
  assertEquals(dd.strategy, [-(1 - 95 / 100), 0, -(1 - 90 / 120), 0]);
  assertEquals(dd.basket, [0, 0, 0, 0]);
  assertEquals(dd.index, undefined, "no index, no drawdown");
});

Deno.test("renderSvg draws a spec with no data without failing", async () => {
  const svg = await renderSvg(scatterSpec([]));
  assert(svg.startsWith("<svg"));
});

Deno.test("per-ticker bars put the strategy beside the ticker's buy-and-hold", async () => {
  const rows = perTickerReturns([
    { ticker: "XOM", totalReturn: -0.05, buyHoldReturn: 0.12 },
    { ticker: "AA", totalReturn: 0.2, buyHoldReturn: null },
    { ticker: "BB", totalReturn: NaN, buyHoldReturn: null },
  ]);
  assertEquals(rows, [
    { ticker: "AA", series: "strategy", totalReturn: 0.2 },
    { ticker: "XOM", series: "strategy", totalReturn: -0.05 },
    { ticker: "XOM", series: "buy and hold", totalReturn: 0.12 },
  ]);
  const svg = await renderSvg(perTickerSpec(rows));
  assert(svg.includes(">buy and hold<"), "legend names both series");
  const bars = svg.slice(
    svg.indexOf('class="mark-rect'),
    svg.indexOf("</g>", svg.indexOf("mark-rect")),
  );
  assertEquals((bars.match(/<path /g) ?? []).length, 3);
  // Ticker names sort as strings (XOM after AA, "A10" before "A9"); of thousands of tickers the
  // 15 best and 15 worst are drawn.
  const many = perTickerReturns(
    Array.from({ length: 3000 }, (_, i) => ({
      ticker: `T${3000 - i}`,
      totalReturn: i / 3000,
      buyHoldReturn: null,
    })),
  );
  const big = await renderSvg(perTickerSpec(many));
  const labels = [...big.matchAll(/>(T\d+)<\/text>/g)].map((m) => m[1]);
  assertEquals(labels.length, 30);
  assertEquals(labels, [...labels].sort());
  assertEquals(labels.slice(0, 3), ["T1", "T10", "T11"]);
  assert(labels.includes("T3000") && !labels.includes("T16"), "the best and the worst");
});
