/**
 * The CSV fuzz corpus (`tests/fixtures/fuzz/csv/`, copied from `../shared/fuzz/csv/`): every
 * malformed price file is refused with its exact located message (file, line, field or column,
 * what is wrong), nothing is written for it, and `good.csv` imports cleanly; each case within a
 * time bound.
 *
 * The imports run in a child process (this file run as a script) that reports each case as one
 * JSON line, so a case that hangs is caught by its deadline instead of hanging the test run.
 */
import { assert, assertEquals } from "./assert.ts";
import { formatImportReport, importDataset } from "../src/data/import.ts";
import { loadDatasetFolder } from "../src/data/dataset.ts";

const CORPUS = "tests/fixtures/fuzz/csv";
const REPO = new URL("..", import.meta.url).pathname;
/** The most one case may take (the largest file imports in about 0.3 s on the CI machine). */
const CASE_DEADLINE_MS = 20_000;

/** What one case gave, as the child reports it. */
interface CaseResult {
  name: string;
  ms: number;
  ok: boolean;
  rows: number;
  problems: { kind: string; line?: number; message: string }[];
  /** Entries left in the output's parent folder (the dataset, or temporary folders). */
  left: string[];
  /** A throw instead of a report (a crash). */
  crash?: string;
}

if (import.meta.main) {
  // Child: import each file named on the command line into its own empty folder.
  for (const name of Deno.args) {
    const parent = await Deno.makeTempDir({ prefix: "alfred-fuzz-" });
    const started = performance.now();
    let result: CaseResult;
    try {
      const report = await importDataset({
        inputs: [`${CORPUS}/${name}`],
        form: "long",
        mapping: {},
        out: `${parent}/out`,
        maxGapDays: 10, // the command's defaults
        minHistoryDays: 20,
      });
      if (report.ok) await loadDatasetFolder(`${parent}/out`);
      result = {
        name,
        ms: performance.now() - started,
        ok: report.ok,
        rows: report.rows,
        problems: report.problems.map((p) => ({ kind: p.kind, line: p.line, message: p.message })),
        left: [...Deno.readDirSync(parent)].map((e) => e.name),
      };
    } catch (e) {
      result = {
        name,
        ms: performance.now() - started,
        ok: false,
        rows: 0,
        problems: [],
        left: [],
        crash: String((e as Error).stack ?? e),
      };
    }
    await Deno.remove(parent, { recursive: true });
    console.log(JSON.stringify(result));
  }
  Deno.exit(0);
}

const f = (name: string) => `${CORPUS}/${name}`;
const PRICE = '"close" must be a finite number > 0';

/** Every bad file's problems, exactly: kind, line and message. */
const EXPECTED: Record<string, { kind: string; line?: number; message: string }[]> = {
  "bad-date.csv": [{
    kind: "date",
    line: 1101,
    message: `${f("bad-date.csv")}: row 1100 (line 1101): unparseable date "1995-02-30" in ` +
      'column "date": expected YYYY-MM-DD',
  }],
  "dup-date-conflict.csv": [{
    kind: "duplicate",
    line: 802,
    message: `${f("dup-date-conflict.csv")}: row 801 (line 802): duplicate (ticker, date) ` +
      '("DD", 1991-05-23): already at row 800 (line 801) with "close" 15.99 there and 99.9 here',
  }],
  "dup-date.csv": [{
    kind: "duplicate",
    line: 802,
    message: `${f("dup-date.csv")}: row 801 (line 802): duplicate (ticker, date) ("DD", ` +
      "1991-05-23): already at row 800 (line 801) with the same values",
  }],
  "empty.csv": [{
    kind: "empty",
    message: `${f("empty.csv")}: the file is empty: expected a header line (e.g. ` +
      '"date,ticker,close")',
  }],
  "header-only.csv": [{
    kind: "empty",
    line: 1,
    message: `${f("header-only.csv")}: no data rows after the header (line 1)`,
  }],
  "inf.csv": [{
    kind: "price",
    line: 721,
    message: `${f("inf.csv")}: row 720 (line 721): price "inf" for "DD" in column "close" is ` +
      `not a finite number: ${PRICE}`,
  }],
  "missing-col.csv": [{
    kind: "missing-column",
    line: 1,
    message: `${f("missing-col.csv")}: header (line 1): missing required column "close": the ` +
      '"prices" table needs "date", "ticker", "close"; the file has "date", "ticker" (map ' +
      "other names with --map FIELD=COLUMN)",
  }],
  "nan-empty.csv": [{
    kind: "price",
    line: 501,
    message: `${f("nan-empty.csv")}: row 500 (line 501): missing "close" for "BA" in column ` +
      '"close"',
  }],
  "nan-literal.csv": [{
    kind: "price",
    line: 601,
    message: `${f("nan-literal.csv")}: row 600 (line 601): price "NaN" for "DD" in column ` +
      `"close" is not a finite number: ${PRICE}`,
  }],
  "negative.csv": [{
    kind: "price",
    line: 701,
    message: `${f("negative.csv")}: row 700 (line 701): price "-3.5" for "BA" in column "close" ` +
      `is not positive: ${PRICE}`,
  }],
  "non-numeric.csv": [{
    kind: "price",
    line: 1001,
    message: `${f("non-numeric.csv")}: row 1000 (line 1001): price "abc" for "DD" in column ` +
      `"close" is not a finite number: ${PRICE}`,
  }],
  "non-utf8.csv": [{
    kind: "encoding",
    line: 1301,
    message: `${f("non-utf8.csv")}: line 1301, field 2 ("ticker"), column 13 (byte offset ` +
      "26546): invalid UTF-8 byte 0xFF: the file must be UTF-8 text (convert it, e.g. iconv -f " +
      "latin1 -t utf-8)",
  }],
  "ragged.csv": [{
    kind: "layout",
    line: 1201,
    message: `${f("ragged.csv")}: line 1201 has 2 fields: the header has 3 ("date", "ticker", ` +
      '"close")',
  }],
  "unsorted.csv": [
    {
      kind: "unsorted",
      line: 1801,
      message: `${f("unsorted.csv")}: row 1800 (line 1801): dates of "BA" are not in ascending ` +
        "order: 1991-06-12 comes after 1991-11-19 at row 1796 (line 1797)",
    },
    {
      kind: "unsorted",
      line: 905,
      message: `${f("unsorted.csv")}: row 904 (line 905): dates of "DD" are not in ascending ` +
        "order: 1991-06-12 comes after 1991-11-19 at row 900 (line 901) (112 rows out of order " +
        "in this file)",
    },
  ],
  "zero.csv": [{
    kind: "price",
    line: 711,
    message: `${f("zero.csv")}: row 710 (line 711): price "0" for "C" in column "close" is not ` +
      `positive: ${PRICE}`,
  }],
};

/** Runs the child on every file, each case under its deadline. */
async function runCorpus(names: string[]): Promise<CaseResult[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, ...names],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const results: CaseResult[] = [];
  let buffered = "";
  try {
    while (results.length < names.length) {
      const next = names[results.length];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), CASE_DEADLINE_MS);
      });
      while (!buffered.includes("\n")) {
        const chunk = await Promise.race([reader.read(), deadline]);
        if (chunk === "timeout") {
          throw new Error(`Case "${next}" hung: no result within ${CASE_DEADLINE_MS} ms`);
        }
        if (chunk.done) throw new Error(`The importer died at "${next}": ${await stderr}`);
        buffered += chunk.value;
      }
      clearTimeout(timer);
      const nl = buffered.indexOf("\n");
      results.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await reader.cancel().catch(() => {});
  }
  return results;
}

Deno.test({
  name: "CSV fuzz corpus: every bad file gives its exact located message, nothing written, in time",
  sanitizeResources: false,
  fn: async () => {
    const names = [...Deno.readDirSync(CORPUS)].map((e) => e.name).filter((n) => n.endsWith(".csv"))
      .sort();
    assertEquals(names.length, 16, "the corpus has 16 files");
    assertEquals(
      names.filter((n) => n !== "good.csv"),
      Object.keys(EXPECTED).sort(),
      "every bad file has its expectation",
    );
    const results = await runCorpus(names);
    for (const r of results) {
      assert(r.crash === undefined, `${r.name} crashed:\n${r.crash}`);
      assert(r.ms < CASE_DEADLINE_MS, `${r.name} took ${r.ms} ms`);
      if (r.name === "good.csv") {
        assert(r.ok, `good.csv: ${r.problems.map((p) => p.message).join("\n")}`);
        assertEquals(r.rows, 20224);
        assertEquals(r.left, ["out"], "the dataset and nothing else is written");
        continue;
      }
      assert(!r.ok, `${r.name} imported`);
      assertEquals(r.problems, EXPECTED[r.name], r.name);
      assertEquals(r.left, [], `${r.name}: nothing may be written`);
    }
  },
});

Deno.test("the import command prints the non-UTF-8 file's located line and exits 1", async () => {
  const out = await Deno.makeTempDir({ prefix: "alfred-fuzz-cli-" });
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "src/cli/main.ts",
        "data",
        "import",
        f("non-utf8.csv"),
        "--out",
        `${out}/x`,
      ],
      cwd: REPO,
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assertEquals(run.code, 1, stderr);
    assertEquals(stderr.trimEnd().split("\n"), [
      `Import failed with 1 problem; nothing was written to ${out}/x:`,
      `  ${EXPECTED["non-utf8.csv"][0].message}`,
    ]);
    assertEquals([...Deno.readDirSync(out)], []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a formatted report of a bad corpus file names the file and the line", async () => {
  const out = await Deno.makeTempDir({ prefix: "alfred-fuzz-" });
  try {
    const report = await importDataset({
      inputs: [f("ragged.csv")],
      form: "long",
      mapping: {},
      out: `${out}/x`,
      maxGapDays: 10,
      minHistoryDays: 20,
    });
    assertEquals(
      formatImportReport(report),
      `Import failed with 1 problem; nothing was written to ${out}/x:\n` +
        `  ${EXPECTED["ragged.csv"][0].message}`,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
