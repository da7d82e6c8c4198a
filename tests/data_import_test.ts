import pl from "nodejs-polars";
import { join } from "node:path";
import { assertEquals, assertMatch, assertNotMatch, assertRejects } from "./assert.ts";
import {
  formatImportReport,
  importDataset,
  type ImportOptions,
  type ImportProblem,
  parseDateCell,
} from "../src/data/import.ts";
import { importCommand } from "../src/cli/data_import.ts";
import { loadDatasetFolder, type Manifest } from "../src/data/dataset.ts";
import { exists } from "./data_helpers.ts";
import { FeaturesConfig } from "../src/config/schema.ts";
import { buildQuarterly } from "../src/features/quarterly.ts";
import { priceSeries } from "../src/data/series.ts";
import { priceRows } from "../src/data/scan.ts";

const FIX = "tests/fixtures/data/import";
const fx = (name: string) => join(FIX, name);

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "alfred-import-" });
}

function opts(out: string, inputs: string[], extra: Partial<ImportOptions> = {}): ImportOptions {
  return { inputs, form: "long", mapping: {}, out, maxGapDays: 5, minHistoryDays: 3, ...extra };
}

/** Asserts exactly one problem of `kind` matched every pattern, and returns it. */
function problem(problems: ImportProblem[], kind: string, ...patterns: RegExp[]): ImportProblem {
  const hits = problems.filter((p) =>
    p.kind === kind && patterns.every((re) => re.test(p.message))
  );
  assertEquals(
    hits.length,
    1,
    `expected one "${kind}" problem matching ${patterns}, got:\n${
      problems.map((p) => `${p.kind}: ${p.message}`).join("\n")
    }`,
  );
  return hits[0];
}

async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
}

Deno.test("parseDateCell accepts ISO forms and rejects impossible dates", () => {
  const d = parseDateCell("2024-01-02")!;
  assertEquals(new Date(d * 86_400_000).toISOString().slice(0, 10), "2024-01-02");
  assertEquals(parseDateCell("2024/01/02"), d);
  assertEquals(parseDateCell("20240102"), d);
  assertEquals(parseDateCell("2024-01-02T16:00:00Z"), d);
  assertEquals(parseDateCell(new Date("2024-01-02T00:00:00Z")), d);
  assertEquals(parseDateCell("1/2/2024", "mdy"), d);
  assertEquals(parseDateCell("2/1/2024", "dmy"), d);
  assertEquals(parseDateCell("2023-02-29"), null);
  assertEquals(parseDateCell("2024-13-01"), null);
  assertEquals(parseDateCell("01/02/2024"), null);
  assertEquals(parseDateCell(null), null);
});

Deno.test("import: a well-formed long CSV with a column mapping", async () => {
  const out = join(await tempDir(), "my-set");
  const report = await importDataset(
    opts(out, [fx("long.csv")], { mapping: { close: "Close" }, licence: "CC0", name: "mine" }),
  );
  assertEquals(report.ok, true, formatImportReport(report));
  assertEquals(report.rows, 8);
  assertEquals(report.tickers, ["AAA", "BBB"]);
  const m = await readManifest(out);
  assertEquals(m.name, "mine");
  assertEquals(m.synthetic, false);
  assertEquals(m.licence, "CC0");
  assertMatch(m.provenance, /imported from .*long\.csv/);
  assertEquals(m.tables, ["prices"]);
  assertEquals(m.tickers, ["AAA", "BBB"]);
  assertEquals(m.from, "2024-01-02");
  assertEquals(m.to, "2024-01-05");
  const df = pl.readParquet(join(out, "prices.parquet"));
  assertEquals(df.columns, [
    "ticker",
    "date",
    "close",
    "open",
    "high",
    "low",
    "adj_close",
    "volume",
  ]);
  assertEquals(String(df.getColumn("date").dtype), "DataType(Date)");
  assertEquals(String(df.getColumn("close").dtype), "DataType(Float64)");
  assertEquals(df.getColumn("ticker").toArray(), [
    "AAA",
    "AAA",
    "AAA",
    "AAA",
    "BBB",
    "BBB",
    "BBB",
    "BBB",
  ]);
  assertEquals(df.getColumn("close").toArray().slice(4), [50.5, 51.5, 50.2, 50.6]);
  assertEquals(df.getColumn("adj_close").toArray().slice(0, 2), [10.1, 10.3]);
  assertEquals(df.getColumn("volume").toArray().slice(0, 1), [1000]);
  // the loader every stage uses accepts it
  const ds = await loadDatasetFolder(out);
  assertEquals(ds.table("prices").height, 8);
  assertEquals(ds.has("fundamentals"), false);
  // no temporary folders left beside it
  const siblings = [];
  for await (const e of Deno.readDir(join(out, ".."))) siblings.push(e.name);
  assertEquals(siblings, ["my-set"]);
});

Deno.test("import: the mapping decides which column is close", async () => {
  const out = join(await tempDir(), "adj");
  const report = await importDataset(
    opts(out, [fx("long.csv")], { mapping: { close: "Adj Close" } }),
  );
  assertEquals(report.ok, true, formatImportReport(report));
  const df = pl.readParquet(join(out, "prices.parquet"));
  assertEquals(df.getColumn("close").toArray().slice(0, 2), [10.1, 10.3]);
  // "Adj Close" is taken by close, so adj_close is not filled from it twice
  assertEquals(df.columns.includes("adj_close"), false);
});

Deno.test("import: a wide CSV, a blank cell is a day the ticker did not trade", async () => {
  const out = join(await tempDir(), "wide");
  const report = await importDataset(opts(out, [fx("wide.csv")], { form: "wide" }));
  assertEquals(report.ok, true, formatImportReport(report));
  assertEquals(report.rows, 14);
  assertEquals(report.tickers, ["AAA", "BBB", "CCC"]);
  const df = pl.readParquet(join(out, "prices.parquet"));
  const bbb = df.filter(pl.col("ticker").eq(pl.lit("BBB")));
  assertEquals(bbb.getColumn("close").toArray(), [50.5, 51.5, 50.6, 50.9]);
});

Deno.test("import: a wide market CSV keeps negative values and names the series", async () => {
  const out = join(await tempDir(), "market");
  const report = await importDataset(
    opts(out, [fx("market_wide.csv")], { form: "wide", table: "market" }),
  );
  assertEquals(report.ok, true, formatImportReport(report));
  const m = await readManifest(out);
  assertEquals(m.tables, ["market"]);
  assertEquals(m.tickers, []);
  assertEquals(m.series.map((s) => [s.name, s.frequency]), [["10year", "daily"], [
    "^VIX",
    "daily",
  ]]);
  const df = pl.readParquet(join(out, "market.parquet"));
  assertEquals(df.columns, ["date", "series", "value"]);
  assertEquals(
    df.filter(pl.col("series").eq(pl.lit("10year"))).getColumn("value").toArray()[2],
    -0.5,
  );
});

Deno.test("import: a Parquet input with Date and Datetime columns", async () => {
  const dir = await tempDir();
  const file = join(dir, "in.parquet");
  pl.DataFrame({
    day: [
      new Date("2024-01-02T00:00:00Z"),
      new Date("2024-01-03T00:00:00Z"),
      new Date("2024-01-04T00:00:00Z"),
    ],
    sym: ["ZZZ", "ZZZ", "ZZZ"],
    px: [1.5, 1.6, 1.7],
  }).writeParquet(file);
  const out = join(dir, "pq");
  const report = await importDataset(
    opts(out, [file], { mapping: { date: "day", ticker: "sym", close: "px" } }),
  );
  assertEquals(report.ok, true, formatImportReport(report));
  const df = pl.readParquet(join(out, "prices.parquet"));
  assertEquals(df.getColumn("close").toArray(), [1.5, 1.6, 1.7]);
  assertEquals(report.from, "2024-01-02");
  // Parquet rows are located without a header line
  pl.DataFrame({ date: ["2024-01-02", "bad"], ticker: ["Z", "Z"], close: [1, 2] }).writeParquet(
    file,
  );
  const bad = await importDataset(opts(join(dir, "pq2"), [file], { minHistoryDays: 0 }));
  const p = problem(bad.problems, "date", /in\.parquet: row 2: unparseable date "bad"/);
  assertEquals(p.row, 2);
  assertNotMatch(p.message, /line/);
});

Deno.test("import malformed 1: unparseable dates, located by row and line", async () => {
  const out = join(await tempDir(), "x");
  const r = await importDataset(opts(out, [fx("bad_date.csv")], { minHistoryDays: 0 }));
  assertEquals(r.ok, false);
  const p = problem(
    r.problems,
    "date",
    /bad_date\.csv: row 2 \(line 3\): unparseable date "2024-13-01"/,
  );
  assertEquals(p.row, 2);
  assertEquals(p.column, "date");
  problem(r.problems, "date", /row 3 \(line 4\): unparseable date "2024-02-30"/);
  problem(
    r.problems,
    "date",
    /row 4 \(line 5\): unparseable date "yesterday".*expected YYYY-MM-DD/,
  );
  assertEquals(await exists(out), false);
});

Deno.test("import malformed 2: duplicate (ticker, date) rows name both rows", async () => {
  const r = await importDataset(opts(join(await tempDir(), "x"), [fx("duplicate.csv")]));
  const p = problem(
    r.problems,
    "duplicate",
    /duplicate\.csv: row 4 \(line 5\): duplicate \(ticker, date\) \("AAA", 2024-01-03\): already at row 2 \(line 3\)/,
  );
  assertEquals(p.ticker, "AAA");
});

Deno.test("import malformed 3: non-positive, non-finite and missing prices", async () => {
  const r = await importDataset(
    opts(join(await tempDir(), "x"), [fx("bad_price.csv")], { minHistoryDays: 0 }),
  );
  problem(
    r.problems,
    "price",
    /row 2 \(line 3\): price "0" for "AAA" in column "close" is not positive/,
  );
  problem(r.problems, "price", /row 3 \(line 4\): price "-3" .* is not positive/);
  problem(r.problems, "price", /row 4 \(line 5\): price "NaN" .* is not a finite number/);
  problem(r.problems, "price", /row 5 \(line 6\): price "inf" .* is not a finite number/);
  problem(r.problems, "price", /row 6 \(line 7\): price "abc" .* is not a finite number/);
  problem(r.problems, "price", /row 7 \(line 8\): missing "close" for "AAA"/);
  assertEquals(r.problems.length, 6);
});

Deno.test("import malformed 4: unsorted dates per ticker", async () => {
  const r = await importDataset(opts(join(await tempDir(), "x"), [fx("unsorted.csv")]));
  problem(
    r.problems,
    "unsorted",
    /unsorted\.csv: row 3 \(line 4\): dates of "AAA" are not in ascending order: 2024-01-03 comes after 2024-01-04 at row 2 \(line 3\)/,
  );
});

Deno.test("import malformed 5: a gap longer than the allowed trading days", async () => {
  const r = await importDataset(opts(join(await tempDir(), "x"), [fx("gap.csv")]));
  const p = problem(
    r.problems,
    "gap",
    /gap\.csv: row 4 \(line 5\): gap in "AAA" from 2024-01-04 to 2024-02-01: 19 trading days missing \(more than --max-gap-days 5\)/,
  );
  assertEquals(p.row, 4);
  const ok = await importDataset(
    opts(join(await tempDir(), "y"), [fx("gap.csv")], { maxGapDays: 19 }),
  );
  assertEquals(ok.ok, true, formatImportReport(ok));
});

Deno.test("import malformed 6: tickers with too little history", async () => {
  const r = await importDataset(opts(join(await tempDir(), "x"), [fx("short_history.csv")]));
  problem(
    r.problems,
    "history",
    /"BBB" has 1 rows \(2024-01-02 to 2024-01-02\), fewer than --min-history-days 3/,
  );
  assertEquals(r.problems.length, 1);
});

Deno.test("import malformed 7: missing required columns name what exists and what is needed", async () => {
  const r = await importDataset(opts(join(await tempDir(), "x"), [fx("missing_column.csv")]));
  problem(
    r.problems,
    "missing-column",
    /missing_column\.csv: header \(line 1\): missing required column "close": the "prices" table needs "date", "ticker", "close"; the file has "date", "symbol", "open"/,
  );
});

Deno.test("import malformed 8: a mapped column that is not in the file", async () => {
  const r = await importDataset(
    opts(join(await tempDir(), "x"), [fx("long.csv")], { mapping: { close: "Adjusted" } }),
  );
  const p = problem(
    r.problems,
    "unknown-column",
    /long\.csv: mapped column "Adjusted" \(for "close"\) is not in the file: it has "Date", "Symbol", "Open"/,
  );
  assertEquals(p.column, "Adjusted");
});

Deno.test("import malformed 9: an unknown target field in the mapping", async () => {
  const r = await importDataset(
    opts(join(await tempDir(), "x"), [fx("long.csv")], { mapping: { closing: "Close" } }),
  );
  problem(
    r.problems,
    "unknown-field",
    /Unknown field "closing" for the "prices" table: allowed fields are "ticker", "date", "close"/,
  );
});

Deno.test("import malformed 10: an empty ticker cell", async () => {
  const r = await importDataset(opts(join(await tempDir(), "x"), [fx("empty_ticker.csv")]));
  problem(
    r.problems,
    "ticker",
    /empty_ticker\.csv: row 2 \(line 3\): empty ticker in column "ticker"/,
  );
});

Deno.test("import malformed 11: a file with a header and no rows, and a missing file", async () => {
  const r = await importDataset(
    opts(join(await tempDir(), "x"), [fx("header_only.csv"), fx("no_such_file.csv")]),
  );
  problem(r.problems, "empty", /header_only\.csv: no data rows/);
  problem(r.problems, "read", /Cannot read ".*no_such_file\.csv"/);
});

Deno.test("import malformed 12: a CSV that cannot be parsed names the file", async () => {
  const r = await importDataset(opts(join(await tempDir(), "x"), [fx("broken_quote.csv")]));
  const p = problem(
    r.problems,
    "layout",
    /broken_quote\.csv: line 3, field 2 \("ticker"\): a quoted field opened here is never closed$/,
  );
  assertEquals([p.line, p.column], [3, "ticker"]);
});

Deno.test("import: problems from several files are all reported at once, capped when printed", async () => {
  const dir = await tempDir();
  const lines = ["date,ticker,close"];
  for (let i = 0; i < 60; i++) lines.push(`2024-01-02,T${i},-1`);
  await Deno.writeTextFile(join(dir, "many.csv"), lines.join("\n") + "\n");
  const r = await importDataset(
    opts(join(dir, "x"), [join(dir, "many.csv"), fx("bad_date.csv"), fx("duplicate.csv")], {
      minHistoryDays: 0,
    }),
  );
  assertEquals(r.problems.filter((p) => p.kind === "price").length, 60);
  assertEquals(r.problems.filter((p) => p.kind === "date").length, 3);
  // AAA 2024-01-02 is in both bad_date.csv and duplicate.csv: located in both files
  assertEquals(r.problems.filter((p) => p.kind === "duplicate").length, 2);
  problem(
    r.problems,
    "duplicate",
    /duplicate\.csv: row 1 \(line 2\): .*already at .*bad_date\.csv: row 1 \(line 2\)/,
  );
  assertEquals(r.problems.filter((p) => p.kind === "unsorted").length, 1);
  const text = formatImportReport(r);
  assertMatch(text, /^Import failed with 66 problems; nothing was written/);
  assertEquals(text.split("\n").length, 1 + 50 + 1);
  assertMatch(text, /… and 16 more problems$/);
});

Deno.test("import: a failed import leaves no folder and does not clobber an existing dataset", async () => {
  const dir = await tempDir();
  const out = join(dir, "set");
  const first = await importDataset(opts(out, [fx("long.csv")]));
  assertEquals(first.ok, true);
  const before = await Deno.readFile(join(out, "prices.parquet"));
  const manifestBefore = await Deno.readTextFile(join(out, "manifest.json"));
  const failed = await importDataset(opts(out, [fx("bad_price.csv")]));
  assertEquals(failed.ok, false);
  assertEquals(await Deno.readFile(join(out, "prices.parquet")), before);
  assertEquals(await Deno.readTextFile(join(out, "manifest.json")), manifestBefore);
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assertEquals(names, ["set"]);
  // a successful import replaces it
  const second = await importDataset(opts(out, [fx("wide.csv")], { form: "wide" }));
  assertEquals(second.ok, true);
  assertEquals((await readManifest(out)).tickers, ["AAA", "BBB", "CCC"]);
  // a folder that is not a dataset is never replaced
  const other = join(dir, "other");
  await Deno.mkdir(other);
  await Deno.writeTextFile(join(other, "notes.txt"), "keep me");
  const refused = await importDataset(opts(other, [fx("long.csv")]));
  problem(refused.problems, "destination", /Refusing to replace .*not a dataset folder/);
  assertEquals(await Deno.readTextFile(join(other, "notes.txt")), "keep me");
});

Deno.test("import --add keeps the other tables of the dataset", async () => {
  const out = join(await tempDir(), "set");
  assertEquals((await importDataset(opts(out, [fx("long.csv")]))).ok, true);
  const r = await importDataset(
    opts(out, [fx("market_wide.csv")], {
      form: "wide",
      table: "market",
      add: true,
      riskFree: "10year",
    }),
  );
  assertEquals(r.ok, true, formatImportReport(r));
  const m = await readManifest(out);
  assertEquals(m.tables, ["prices", "market"]);
  assertEquals(m.tickers, ["AAA", "BBB"]);
  assertEquals(m.riskFree, "10year");
  assertEquals(pl.readParquet(join(out, "prices.parquet")).height, 8);
  const ds = await loadDatasetFolder(out);
  assertEquals(ds.table("market").height, 6);
});

Deno.test("import: fundamentals, insider and sentiment tables load with every documented column", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(
    join(dir, "f.csv"),
    "symbol,reportedDate,fiscalDateEnding,reportedEPS,estimatedEPS\nAAA,2024-02-01,2023-12-31,2.18,2.1\n",
  );
  await Deno.writeTextFile(
    join(dir, "i.csv"),
    "ticker,date,acquisition\nAAA,2024-01-03,100\nAAA,2024-01-04,-5\n",
  );
  const out = join(dir, "set");
  const f = await importDataset(opts(out, [join(dir, "f.csv")], { table: "fundamentals" }));
  assertEquals(f.ok, true, formatImportReport(f));
  const ds = await loadDatasetFolder(out);
  const fund = ds.table("fundamentals");
  assertEquals(fund.getColumn("reported_eps").toArray(), [2.18]);
  assertEquals(fund.getColumn("margin_gross").toArray() as unknown[], [null]);
  const bad = await importDataset(opts(out, [join(dir, "i.csv")], { table: "insider", add: true }));
  problem(
    bad.problems,
    "value",
    /i\.csv: row 2 \(line 3\): value "-5" for "AAA" in column "acquisition" is negative/,
  );
  await Deno.writeTextFile(join(dir, "i.csv"), "ticker,date,acquisition\nAAA,2024-01-03,100\n");
  const ok = await importDataset(opts(out, [join(dir, "i.csv")], { table: "insider", add: true }));
  assertEquals(ok.ok, true, formatImportReport(ok));
  const both = await loadDatasetFolder(out);
  assertEquals(both.manifest.tables, ["fundamentals", "insider"]);
  assertEquals(both.table("insider").getColumn("disposal").toArray() as unknown[], [null]);
});

Deno.test("importCommand: YAML mapping file, exit codes and printed problems", async () => {
  const out = join(await tempDir(), "cli");
  const logs: string[] = [];
  const errors: string[] = [];
  const origLog = console.log;
  const origError = console.error;
  console.log = (...a: unknown[]) => logs.push(a.join(" "));
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    const code = await importCommand([
      fx("long.csv"),
      "--mapping",
      fx("mapping.yaml"),
      "--out",
      out,
      "--min-history-days",
      "4",
      "--licence",
      "CC0",
    ]);
    assertEquals(code, 0, errors.join("\n"));
    assertMatch(logs.join("\n"), /Imported 8 rows into the "prices" table/);
    const df = pl.readParquet(join(out, "prices.parquet"));
    assertEquals(df.getColumn("close").toArray().slice(0, 1), [10.1]);
    assertEquals((await readManifest(out)).licence, "CC0");

    errors.length = 0;
    const bad = await importCommand([
      fx("bad_price.csv"),
      "--out",
      join(out, "..", "bad"),
      "--map",
      "close=close",
    ]);
    assertEquals(bad, 1);
    assertMatch(
      errors.join("\n"),
      /Import failed with \d+ problems.*\n.*bad_price\.csv: row 2 \(line 3\)/,
    );
    assertEquals(await exists(join(out, "..", "bad")), false);

    errors.length = 0;
    assertEquals(await importCommand([fx("long.csv"), "--out", out, "--map", "nonsense"]), 2);
    assertMatch(errors.join("\n"), /Invalid --map "nonsense": expected FIELD=COLUMN/);
    assertEquals(await importCommand([fx("long.csv")]), 2);
    assertEquals(await importCommand([fx("long.csv"), "--out", out, "--table", "bogus"]), 2);
    assertMatch(errors.join("\n"), /Unknown table "bogus"/);
  } finally {
    console.log = origLog;
    console.error = origError;
  }
});

/** Writes `bytes` (text or raw) to a CSV file in a new temporary folder and imports it. */
async function importBytes(bytes: string | Uint8Array, extra: Partial<ImportOptions> = {}) {
  const dir = await tempDir();
  const file = join(dir, "in.csv");
  await Deno.writeFile(file, typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  const report = await importDataset(opts(join(dir, "out"), [file], extra));
  return { report, file, dir };
}

const DAYS3 = ["2024-01-02", "2024-01-03", "2024-01-04"];

Deno.test("import CSV layout: a quoted field spanning lines keeps rows located by the file's lines", async () => {
  const text = "date,ticker,close,note\r\n" +
    `${DAYS3[0]},AAA,1,"two\r\nlines"\r\n` +
    `${DAYS3[1]},AAA,-2,plain\r\n` +
    `${DAYS3[2]},AAA,3,"say ""hi"""\r\n`;
  const { report, file } = await importBytes("\ufeff" + text);
  const p = problem(report.problems, "price", /price "-2"/);
  assertEquals(p.line, 4);
  assertMatch(p.message, new RegExp(`^${file}: row 2 \\(line 4\\): price "-2" for "AAA"`));
});

Deno.test("import CSV layout: trailing blank lines are fine, a blank line inside is located", async () => {
  const rows = DAYS3.map((d, i) => `${d},AAA,${i + 1}`).join("\n");
  const ok = await importBytes(`date,ticker,close\n${rows}\n\n\r\n`);
  assertEquals(ok.report.ok, true, formatImportReport(ok.report));
  assertEquals(ok.report.rows, 3);
  const bad = await importBytes(`date,ticker,close\n${DAYS3[0]},AAA,1\n\n${DAYS3[1]},AAA,2\n`);
  assertEquals(bad.report.problems.map((p) => [p.kind, p.line, p.message]), [[
    "layout",
    3,
    `${bad.file}: line 3 is blank: every line needs the header's 3 fields ("date", "ticker", "close")`,
  ]]);
  const first = await importBytes(`\ndate,ticker,close\n${DAYS3[0]},AAA,1\n`);
  assertEquals(
    first.report.problems[0].message,
    `${first.file}: line 1 is blank: the first line must be the header`,
  );
});

Deno.test("import CSV layout: too many fields and text after a closing quote are located", async () => {
  const many = await importBytes(`date,ticker,close\n${DAYS3[0]},AAA,1,9\n${DAYS3[1]},AAA,2\n`);
  assertEquals(
    many.report.problems[0].message,
    `${many.file}: line 2 has 4 fields: the header has 3 ("date", "ticker", "close")`,
  );
  const quote = await importBytes(`date,ticker,close\n${DAYS3[0]},"AAA"x,1\n`);
  assertEquals(
    quote.report.problems[0].message,
    `${quote.file}: line 2, field 2 ("ticker"), column 17: text after a closing quote (a quote ` +
      'inside a quoted field is written "")',
  );
  // more ragged lines than are listed are counted
  const lines = Array.from(
    { length: 30 },
    (_, i) => `2024-01-${String(i + 1).padStart(2, "0")},AAA`,
  );
  const ragged = await importBytes(`date,ticker,close\n${lines.join("\n")}\n`);
  assertEquals(ragged.report.problems.length, 21);
  assertEquals(
    ragged.report.problems[20].message,
    `${ragged.file}: 10 more lines do not have the header's 3 fields`,
  );
});

Deno.test("import CSV encoding: the first bad UTF-8 sequence is located by line, field and byte", async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases: [Uint8Array, string][] = [
    // a Latin-1 é in a ticker, after a valid two-byte character on the same line
    [
      new Uint8Array([...enc(`date,ticker,close\n${DAYS3[0]},ü`), 0xe9, ...enc(",1\n")]),
      'line 2, field 2 ("ticker"), column 13 (byte offset 31): invalid UTF-8 byte 0xE9',
    ],
    // an overlong encoding of "/"
    [
      new Uint8Array([...enc("date,ticker,close\n"), 0xc0, 0xaf, ...enc(",AAA,1\n")]),
      'line 2, field 1 ("date"), column 1 (byte offset 18): invalid UTF-8 byte 0xC0',
    ],
    // a UTF-16 surrogate encoded in UTF-8 (CESU)
    [
      new Uint8Array([...enc(`date,ticker,close\n${DAYS3[0]},AAA,1 `), 0xed, 0xa0, 0x80, 0x0a]),
      'line 2, field 3 ("close"), column 18 (byte offset 35): invalid UTF-8 sequence 0xED 0xA0',
    ],
    // a sequence cut short at the end of the file
    [
      new Uint8Array([...enc(`date,ticker,close\n${DAYS3[0]},AAA,1`), 0xe2, 0x82]),
      'line 2, field 3 ("close"), column 17 (byte offset 34): invalid UTF-8 sequence 0xE2 0x82',
    ],
    // in the header itself
    [
      new Uint8Array([...enc("date,tick"), 0xff, ...enc("er,close\n")]),
      "line 1, field 2, column 10 (byte offset 9): invalid UTF-8 byte 0xFF",
    ],
  ];
  for (const [bytes, where] of cases) {
    const { report, file, dir } = await importBytes(bytes);
    assertEquals(report.problems.map((p) => [p.kind, p.message]), [[
      "encoding",
      `${file}: ${where}: the file must be UTF-8 text (convert it, e.g. iconv -f latin1 -t utf-8)`,
    ]]);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["in.csv"], "nothing written");
  }
});

// Data as people download it: Yahoo, Stooq and Alpha Vantage files, per-ticker folders.

/** `n` consecutive weekdays from 2024-01-02, ISO. */
function weekdays(n: number): string[] {
  const out: string[] = [];
  for (
    const d = new Date("2024-01-02T00:00:00Z");
    out.length < n;
    d.setUTCDate(d.getUTCDate() + 1)
  ) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

/** Source rows of a downloaded OHLCV file: day i closes at `base + i`, adjusted at 90% of it. */
function ohlcvRows(base: number, n: number) {
  return weekdays(n).map((date, i) => {
    const close = base + i;
    return {
      date,
      open: close - 0.5,
      high: close + 1,
      low: close - 1,
      close,
      adj: Math.round(close * 90) / 100,
      volume: 1000 + i,
    };
  });
}

/** A Yahoo download: `Date,Open,High,Low,Close,Adj Close,Volume`, oldest first. */
function yahooCsv(rows: ReturnType<typeof ohlcvRows>): string {
  return "Date,Open,High,Low,Close,Adj Close,Volume\n" +
    rows.map((r) => `${r.date},${r.open},${r.high},${r.low},${r.close},${r.adj},${r.volume}`)
      .join("\n") +
    "\n";
}

/** Writes files into a new folder and returns its path. */
async function folderOf(files: Record<string, string>): Promise<string> {
  const dir = join(await tempDir(), "downloads");
  await Deno.mkdir(dir);
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
  return dir;
}

/** One ticker's column of a prices or market table, by date. */
function columnOf(df: pl.DataFrame, key: string, value: string, keyColumn = "ticker") {
  return df.filter(pl.col(keyColumn).eq(pl.lit(key))).getColumn(value).toArray() as number[];
}

Deno.test("import layouts: a folder of Yahoo files, tickers from file names, an index as a market series", async () => {
  const aaa = ohlcvRows(10, 6);
  const bbb = ohlcvRows(50, 5);
  const gspc = ohlcvRows(4000, 6);
  const dir = await folderOf({
    "AAA.csv": yahooCsv(aaa),
    "BBB.csv": yahooCsv(bbb),
    "^GSPC.csv": yahooCsv(gspc),
    ".DS_Store": "not a data file",
  });
  const out = join(await tempDir(), "yahoo");
  const report = await importDataset(opts(out, [dir], { index: "^GSPC" }));
  assertEquals(report.ok, true, formatImportReport(report));
  assertEquals(report.layouts.map((l) => l.layout), ["yahoo", "yahoo", "yahoo"]);
  assertEquals(report.tickers, ["AAA", "BBB"]);
  assertEquals(report.marketSeries, ["^GSPC"]);
  assertEquals(report.frequencies, { AAA: "daily", BBB: "daily", "^GSPC": "daily" });
  assertEquals(report.returns, "adj_close");
  const m = await readManifest(out);
  assertEquals(m.tickers, ["AAA", "BBB"]);
  assertEquals(m.tables, ["prices", "market"]);
  assertEquals(m.returns, "adj_close");
  assertEquals(m.index, "^GSPC");
  assertEquals(m.series.map((s) => [s.name, s.frequency]), [["^GSPC", "daily"]]);
  assertEquals([m.from, m.to], [aaa[0].date, aaa[5].date]);
  const ds = await loadDatasetFolder(out);
  const prices = ds.table("prices");
  assertEquals(columnOf(prices, "AAA", "close"), aaa.map((r) => r.close));
  assertEquals(columnOf(prices, "AAA", "adj_close"), aaa.map((r) => r.adj));
  assertEquals(columnOf(prices, "BBB", "open"), bbb.map((r) => r.open));
  assertEquals(columnOf(prices, "BBB", "volume"), bbb.map((r) => r.volume));
  // The index is a market series valued at its adjusted close, not a ticker.
  assertEquals(columnOf(ds.table("market"), "^GSPC", "value", "series"), gspc.map((r) => r.adj));
  const text = formatImportReport(report);
  assertMatch(text, /layout: Yahoo \(Date,Open,High,Low,Close,Adj Close,Volume\) in 3 files/);
  assertMatch(text, /frequency: daily/);
  assertMatch(text, /returns: from adjusted closes \(adj_close: total return/);
  assertMatch(text, /market series: "\^GSPC"/);
});

Deno.test("import layouts: a single-ticker Stooq file with --ticker, and the error without it", async () => {
  const rows = ohlcvRows(20, 5);
  const csv = "Date,Open,High,Low,Close,Volume\n" +
    rows.map((r) => `${r.date},${r.open},${r.high},${r.low},${r.close},${r.volume}`).join("\n");
  const dir = await tempDir();
  const file = join(dir, "ibm_us_d.csv");
  await Deno.writeTextFile(file, csv);

  const bare = await importDataset(opts(join(dir, "bare"), [file]));
  assertEquals(bare.ok, false);
  const p = problem(bare.problems, "missing-column", /no ticker column/, /--ticker SYMBOL/);
  assertEquals(p.line, 1);
  assertMatch(p.message, /layout Stooq \(Date,Open,High,Low,Close,Volume\)/);

  const out = join(dir, "ibm");
  const report = await importDataset(opts(out, [file], { ticker: "IBM" }));
  assertEquals(report.ok, true, formatImportReport(report));
  assertEquals(report.layouts, [{ file, layout: "stooq" }]);
  assertEquals(report.tickers, ["IBM"]);
  assertEquals(report.returns, "close");
  const df = pl.readParquet(join(out, "prices.parquet"));
  assertEquals(df.columns.includes("adj_close"), false);
  assertEquals(columnOf(df, "IBM", "close"), rows.map((r) => r.close));
  assertEquals(columnOf(df, "IBM", "low"), rows.map((r) => r.low));
  assertEquals((await readManifest(out)).returns, "close");
  assertMatch(formatImportReport(report), /returns: from raw closes/);

  // --ticker is for one file without a ticker column
  await assertRejects(
    () => importDataset(opts(join(dir, "two"), [file, file], { ticker: "IBM" })),
    TypeError,
    "names the ticker of one file, but 2 files were given",
  );
});

Deno.test("import layouts: Stooq's tagged <TICKER>,<PER>,<DATE>… file keeps its own tickers", async () => {
  const rows = ohlcvRows(30, 4);
  const csv = "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\n" +
    rows.map((r) =>
      `AAPL.US,D,${
        r.date.replaceAll("-", "")
      },000000,${r.open},${r.high},${r.low},${r.close},${r.volume},0`
    ).join("\n");
  const { report, dir } = await importBytes(csv);
  assertEquals(report.ok, true, formatImportReport(report));
  assertEquals(report.layouts.map((l) => l.layout), ["stooq-tagged"]);
  const df = pl.readParquet(join(dir, "out", "prices.parquet"));
  assertEquals(columnOf(df, "AAPL.US", "close"), rows.map((r) => r.close));
  assertEquals(columnOf(df, "AAPL.US", "volume"), rows.map((r) => r.volume));
  assertEquals(
    (df.getColumn("date").toArray() as unknown as Date[]).map((d) => d.toISOString().slice(0, 10)),
    rows.map((r) => r.date),
  );
});

Deno.test("import layouts: an adjusted Alpha Vantage file, newest first, returns from adjusted closes", async () => {
  const rows = ohlcvRows(100, 5);
  const csv =
    "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\n" +
    [...rows].reverse().map((r) =>
      `${r.date},${r.open},${r.high},${r.low},${r.close},${r.adj},${r.volume},0.0000,1.0`
    ).join("\n");
  const { report, dir } = await importBytes(csv, { ticker: "KO" });
  assertEquals(report.ok, true, formatImportReport(report));
  assertEquals(report.layouts.map((l) => l.layout), ["alpha-vantage"]);
  assertEquals(report.returns, "adj_close");
  const out = join(dir, "out");
  const df = pl.readParquet(join(out, "prices.parquet"));
  // Read oldest first; the raw close stays beside the adjusted one.
  assertEquals(columnOf(df, "KO", "close"), rows.map((r) => r.close));
  assertEquals(columnOf(df, "KO", "adj_close"), rows.map((r) => r.adj));
  assertEquals((await readManifest(out)).returns, "adj_close");
  assertMatch(formatImportReport(report), /Alpha Vantage/);
});

Deno.test("import layouts: adjusted closes for some tickers only: returns use raw closes, with a warning", async () => {
  const aaa = ohlcvRows(10, 4);
  const bbb = ohlcvRows(50, 4);
  const dir = await folderOf({
    "AAA.csv": yahooCsv(aaa),
    "BBB.csv": "Date,Open,High,Low,Close,Volume\n" +
      bbb.map((r) => `${r.date},${r.open},${r.high},${r.low},${r.close},${r.volume}`).join("\n"),
  });
  const out = join(await tempDir(), "mixed");
  const report = await importDataset(opts(out, [dir]));
  assertEquals(report.ok, true, formatImportReport(report));
  assertEquals(report.layouts.map((l) => l.layout), ["yahoo", "stooq"]);
  assertEquals(report.returns, "close");
  const m = await readManifest(out);
  assertEquals(m.returns, "close");
  assertEquals(m.warnings, [
    'Returns use raw closes: adjusted closes are missing for "BBB", so dividends are left out for every ticker',
  ]);
});

Deno.test("import layouts: a monthly file is refused for the daily prices table, located; the market table takes it", async () => {
  const ends = ["2024-01-31", "2024-02-29", "2024-03-29", "2024-04-30", "2024-05-31"];
  const csv = "Date,Open,High,Low,Close,Adj Close,Volume\n" +
    ends.map((d, i) => `${d},${10 + i},${11 + i},${9 + i},${10 + i},${10 + i},100`).join("\n");
  const dir = await tempDir();
  const file = join(dir, "SPY_monthly.csv");
  await Deno.writeTextFile(file, csv);
  const report = await importDataset(opts(join(dir, "out"), [file], { ticker: "SPY" }));
  assertEquals(report.ok, false);
  assertEquals(report.frequencies, { SPY: "monthly" });
  // One located problem about the frequency, not a gap per row.
  assertEquals(report.problems.map((p) => p.kind), ["frequency"]);
  const p = problem(
    report.problems,
    "frequency",
    /SPY_monthly\.csv: row 1 \(line 2\): "SPY" is monthly, not daily/,
    /5 rows, 2024-01-31 to 2024-05-31/,
    /the "prices" table needs daily rows/,
    /--table market/,
  );
  assertEquals([p.row, p.line, p.ticker], [1, 2, "SPY"]);
  assertEquals(await exists(join(dir, "out")), false);

  const market = await importDataset(
    opts(join(dir, "macro"), [file], { table: "market", ticker: "SPY" }),
  );
  assertEquals(market.ok, true, formatImportReport(market));
  assertEquals(market.manifest!.series.map((s) => [s.name, s.frequency]), [["SPY", "monthly"]]);
  assertMatch(formatImportReport(market), /frequency: monthly/);
  const df = pl.readParquet(join(dir, "macro", "market.parquet"));
  assertEquals(df.getColumn("value").toArray(), [10, 11, 12, 13, 14]);
});

Deno.test("import layouts: a wide import whose columns are OHLCV fields is refused", async () => {
  const { report, dir } = await importBytes(yahooCsv(ohlcvRows(10, 4)), { form: "wide" });
  assertEquals(report.ok, false);
  const p = problem(
    report.problems,
    "layout",
    /header \(line 1\): columns "Open", "High", "Low", "Close", "Adj Close", "Volume" are price fields, not tickers/,
    /--ticker SYMBOL/,
  );
  assertEquals([p.line, p.column], [1, "Open"]);
  assertEquals(await exists(join(dir, "out")), false);
  // Two field-named columns among tickers are refused too; one ("LOW", Lowe's) is a ticker.
  const mixed = await importBytes("date,AAA,Close,Volume\n2024-01-02,1,2,3\n", { form: "wide" });
  problem(mixed.report.problems, "layout", /columns "Close", "Volume" are price fields/);
  const lowes = await importBytes(
    "date,AAA,LOW\n2024-01-02,1,2\n2024-01-03,1,2\n2024-01-04,1,2\n",
    { form: "wide" },
  );
  assertEquals(lowes.report.ok, true, formatImportReport(lowes.report));
  assertEquals(lowes.report.tickers, ["AAA", "LOW"]);
});

Deno.test("import --add of a market series never changes the price span", async () => {
  const out = join(await tempDir(), "span");
  assertEquals((await importDataset(opts(out, [fx("long.csv")]))).ok, true);
  const before = await readManifest(out);
  const dir = await tempDir();
  const file = join(dir, "rates.csv");
  // A monthly series reaching well before and after the prices.
  await Deno.writeTextFile(file, "date,rate\n2023-06-30,5.1\n2023-12-29,5.3\n2024-06-28,5.2\n");
  const r = await importDataset(opts(out, [file], { form: "wide", table: "market", add: true }));
  assertEquals(r.ok, true, formatImportReport(r));
  const after = await readManifest(out);
  assertEquals([after.from, after.to], [before.from, before.to]);
  assertEquals([after.from, after.to], ["2024-01-02", "2024-01-05"]);
  assertEquals(after.returns, before.returns);

  // Replacing the prices sets the span to the new prices', narrower or not.
  const short = await importBytes(
    "date,ticker,close\n2024-01-03,AAA,1\n2024-01-04,AAA,2\n2024-01-05,AAA,3\n",
  );
  const replaced = await importDataset(opts(out, [short.file], { add: true }));
  assertEquals(replaced.ok, true, formatImportReport(replaced));
  const m = await readManifest(out);
  assertEquals([m.from, m.to], ["2024-01-03", "2024-01-05"]);
  assertEquals(m.tables, ["prices", "market"]);
});

Deno.test("importCommand: --ticker and a folder, reporting layout, frequency and returns", async () => {
  const dir = await folderOf({ "MSFT.csv": yahooCsv(ohlcvRows(300, 5)) });
  const out = join(await tempDir(), "cli-folder");
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
  assertEquals(await importCommand([dir, "--out", out, "--min-history-days", "3"], io), 0);
  const text = lines.join("\n");
  assertMatch(text, /Imported 5 rows into the "prices" table .*: 1 tickers/);
  assertMatch(text, /layout: Yahoo/);
  assertMatch(text, /frequency: daily/);
  assertMatch(text, /returns: from adjusted closes/);
  lines.length = 0;
  const file = join(dir, "MSFT.csv");
  const out2 = join(await tempDir(), "cli-file");
  assertEquals(
    await importCommand([file, "--ticker", "MSFT", "--out", out2, "--min-history-days", "3"], io),
    0,
    lines.join("\n"),
  );
  assertEquals((await readManifest(out2)).tickers, ["MSFT"]);
  assertEquals(
    await importCommand([file, file, "--ticker", "MSFT", "--out", out2], io),
    2,
  );
  assertMatch(lines.join("\n"), /--ticker "MSFT" names the ticker of one file/);
});

Deno.test("import: adjusted closes drive labels, selection and backtest prices; the raw close feeds Close", async () => {
  const days = weekdays(260); // 2024-01-02 into 2024-12
  // A flat raw close (a stock paying out its gains) and a rising adjusted close (total return).
  const rows = days.map((date, i) => ({
    date,
    open: 100,
    high: 101,
    low: 99,
    close: 100 + (i % 5),
    adj: Math.round((100 + (i % 5)) * (0.8 + 0.2 * i / 260) * 1e4) / 1e4,
    volume: 500,
  }));
  const dir = await folderOf({ "AAA.csv": yahooCsv(rows) });
  const out = join(await tempDir(), "adjusted");
  const report = await importDataset(opts(out, [dir]));
  assertEquals(report.ok, true, formatImportReport(report));
  const ds = await loadDatasetFolder(out);
  const q = buildQuarterly(
    ds,
    FeaturesConfig.parse({ families: { price: { ma_windows: [7] } } }),
    { mode: "magnitude", horizon: 1 },
    { tickers: ["AAA"] },
  );
  const lastOf = (quarter: string) =>
    rows.findLast((r) =>
      `${r.date.slice(0, 4)}Q${Math.ceil(+r.date.slice(5, 7) / 3)}` === quarter
    )!;
  const records = q.frame.toRecords() as Record<string, number | string>[];
  assertEquals(records.map((r) => r.quarter), ["2024Q1", "2024Q2", "2024Q3"]);
  for (const r of records) {
    const now = lastOf(r.quarter as string);
    const next = lastOf(
      r.quarter === "2024Q1" ? "2024Q2" : r.quarter === "2024Q2" ? "2024Q3" : "2024Q4",
    );
    assertEquals(r.Close, now.close);
    assertEquals(r.close, now.adj);
    assertEquals(r.PM, next.adj / now.adj - 1);
  }
  assertEquals(Array.from(priceSeries(ds, ["AAA"]).get("AAA")!.close), rows.map((x) => x.adj));
  assertEquals(Array.from(priceRows(ds).close), rows.map((x) => x.adj));

  // The same file without adjusted closes: returns come from the raw close.
  const raw = await folderOf({
    "AAA.csv": "Date,Open,High,Low,Close,Volume\n" +
      rows.map((r) => `${r.date},${r.open},${r.high},${r.low},${r.close},${r.volume}`).join("\n"),
  });
  const rawOut = join(await tempDir(), "raw");
  assertEquals((await importDataset(opts(rawOut, [raw]))).ok, true);
  const rawDs = await loadDatasetFolder(rawOut);
  assertEquals(Array.from(priceSeries(rawDs, ["AAA"]).get("AAA")!.close), rows.map((x) => x.close));
});
