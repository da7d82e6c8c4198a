/**
 * The results journal: snapshot, byte-identical renders, grouping and ordering, adding a run
 * changes only that run's lines, failed runs left out, interrupted runs marked, and the CLI's
 * `--check` on a stale and a fresh journal.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { renderJournal } from "../src/report/journal.ts";
import { diffHint, journalCommand, parseJournalArgs } from "../src/cli/journal.ts";
import { loadRuns, writeRunRecord } from "../src/store/run_record.ts";
import {
  fixtureRecord,
  FIXTURES,
  magnitudeMetrics,
  magnitudeRecord,
  variant,
} from "./report_helpers.ts";

const UPDATE = Deno.env.get("UPDATE_SNAPSHOTS") === "1";

function runs() {
  return [
    magnitudeRecord(),
    variant({ runId: "19990105T120000Z-3fa9c2d1", status: "interrupted" }),
    fixtureRecord(),
    variant({ runId: "19990103T120000Z-3fa9c2d1", status: "failed", error: "out of memory" }),
  ];
}

Deno.test("journal matches the snapshot", async () => {
  const text = renderJournal(runs());
  const url = new URL("journal.md.snap", FIXTURES);
  if (UPDATE) await Deno.writeTextFile(url, text);
  assertEquals(
    text,
    await Deno.readTextFile(url),
    "rerun with UPDATE_SNAPSHOTS=1 if the change is intended",
  );
});

Deno.test("journal is byte-identical for the same runs in any order", () => {
  const a = renderJournal(runs());
  const b = renderJournal(runs().reverse());
  assertEquals(a, b);
  assert(!/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(a), "no generation timestamps");
});

Deno.test("experiments are grouped and ordered by name, runs by run id", () => {
  const text = renderJournal(runs());
  const headings = text.split("\n").filter((l) => l.startsWith("## "));
  assertEquals(headings, ["## Experiments", "## direction-small", "## magnitude-huber-2048"]);
  const ids = [...text.matchAll(/^- \[(\d{8}T\d{6}Z-[0-9a-f]{8})\]/gm)].map((m) => m[1]);
  assertEquals(ids, [
    "19990101T120000Z-3fa9c2d1",
    "19990105T120000Z-3fa9c2d1",
    "19990102T080000Z-7c1d2e3f",
  ]);
  // Each group quotes its description and the metrics of its mode.
  const direction = text.slice(text.indexOf("## direction-small"), text.indexOf("## magnitude"));
  assert(direction.includes("The notes found eval accuracy 0.54 and F1 0.58"));
  assert(direction.includes("| F1 | baseline |"));
  assert(!direction.includes("sign accuracy | baseline"));
  const magnitude = text.slice(text.indexOf("## magnitude"));
  assert(magnitude.includes("| MAE | baseline | R² | baseline | Pearson | baseline |"));
  assert(
    magnitude.includes("| CAGR | benchmark | Sharpe | benchmark | max drawdown | benchmark |"),
  );
});

Deno.test("failed runs are left out; interrupted runs are shown and marked", () => {
  const text = renderJournal(runs());
  assert(!text.includes("19990103T120000Z-3fa9c2d1"));
  assert(text.includes("| interrupted ⚠ |"));
  assert(text.includes("19990105T120000Z-3fa9c2d1/report.md) **interrupted**:"));
});

Deno.test("each metric sits beside its best baseline, marked when not beaten", () => {
  const text = renderJournal([fixtureRecord()]);
  const row = text.split("\n").find((l) => l.startsWith("| [19990101T120000Z-3fa9c2d1]"))!;
  // F1 0.6275 trails majority's 0.6866; accuracy 0.5682 beats logistic's 0.5455.
  assert(row.includes("| 0.6275 ⚠ | 0.6866 (majority) |"));
  assert(row.includes("| 0.5682 | 0.5455 (logistic) |"));
  // Sharpe 0.3104 trails the index's 0.5421; the smaller drawdown (index -22.85%) is better.
  // Returns and drawdowns are percentages, metrics 4 significant digits.
  assert(row.includes("| 0.3104 ⚠ | 0.5421 (index) |"));
  assert(row.includes("| 26.83% ⚠ | 22.85% (index) |"));
  assert(row.includes("| 6.12% ⚠ | 9.85% (index) |"));
});

Deno.test("adding a run changes only that run's lines", () => {
  const before = renderJournal(runs());
  const added = variant({ runId: "19990201T000000Z-3fa9c2d1" });
  const after = renderJournal([...runs(), added]);
  const oldLines = new Set(before.split("\n"));
  const newLines = after.split("\n");
  for (const line of oldLines) assert(newLines.includes(line), `kept: ${line}`);
  const extra = newLines.filter((l) => !oldLines.has(l));
  assertEquals(extra.length, 2, "one table row and one run line");
  for (const line of extra) assert(line.includes(added.runId), line);
});

Deno.test("the journal opts out of deno fmt, which would re-wrap it", async () => {
  const text = renderJournal(runs());
  assert(text.startsWith("<!-- deno-fmt-ignore-file -->\n"));
  const dir = await Deno.makeTempDir({ prefix: "alfred-fmt-" });
  await Deno.writeTextFile(`${dir}/JOURNAL.md`, text);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--check", `${dir}/JOURNAL.md`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an empty results folder gives a journal that says so", () => {
  assert(renderJournal([]).includes("No runs yet"));
});

Deno.test("journal links are relative to where the journal is written", () => {
  const text = renderJournal([fixtureRecord()], { resultsPath: "../results" });
  assert(text.includes("(../results/direction-small/19990101T120000Z-3fa9c2d1/report.md)"));
});

Deno.test("journal arguments: defaults, values, and errors naming what is allowed", () => {
  assertEquals(parseJournalArgs([]), { results: "results", out: "JOURNAL.md", check: false });
  assertEquals(parseJournalArgs(["--check", "--results", "r", "--out=J.md"]), {
    results: "r",
    out: "J.md",
    check: true,
  });
  assertThrows(() => parseJournalArgs(["--results"]), Error, `"--results" needs a value`);
  assertThrows(() => parseJournalArgs(["--frob"]), Error, `Unknown argument "--frob": allowed are`);
});

Deno.test("journal --check fails on a stale journal and passes on a fresh one", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-journal-" });
  const results = `${root}/results`;
  const out = `${root}/JOURNAL.md`;
  const quiet = silence();
  try {
    await writeRunRecord(results, fixtureRecord());
    assertEquals(
      await journalCommand(["--results", results, "--out", out, "--check"]),
      1,
      "missing",
    );
    assertEquals(await journalCommand(["--results", results, "--out", out]), 0);
    const first = await Deno.readTextFile(out);
    assert(first.includes("(results/direction-small/19990101T120000Z-3fa9c2d1/report.md)"));
    assertEquals(await journalCommand(["--results", results, "--out", out, "--check"]), 0, "fresh");
    // A new run makes the committed journal stale until it is regenerated.
    await writeRunRecord(results, magnitudeRecord());
    assertEquals(await journalCommand(["--results", results, "--out", out, "--check"]), 1, "stale");
    assert(quiet.errors.some((e) => e.includes("is stale: first difference at line")));
    assertEquals(await Deno.readTextFile(out), first, "--check writes nothing");
    assertEquals(await journalCommand(["--results", results, "--out", out]), 0);
    assertEquals(await journalCommand(["--results", results, "--out", out, "--check"]), 0);
    // Regenerating again gives the same bytes.
    const second = await Deno.readTextFile(out);
    assertEquals(await journalCommand(["--results", results, "--out", out]), 0);
    assertEquals(await Deno.readTextFile(out), second);
    assertEquals(await journalCommand(["--nope"]), 2);
  } finally {
    quiet.restore();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("journal skips a truncated or unreadable record.json with a warning naming it", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-journal-" });
  const results = `${root}/results`;
  const out = `${root}/JOURNAL.md`;
  const quiet = silence();
  const logs: string[] = [];
  console.log = (...args: unknown[]) => logs.push(args.join(" "));
  try {
    await writeRunRecord(results, fixtureRecord());
    const good = renderJournal([fixtureRecord()], { resultsPath: "results" });
    const broken = await writeRunRecord(results, magnitudeRecord());
    const file = `${broken}/record.json`;
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, text.slice(0, text.length >> 1)); // truncated mid-write
    assertEquals(await journalCommand(["--results", results, "--out", out]), 0);
    assertEquals(await Deno.readTextFile(out), good, "the readable run, and only it");
    assertEquals(quiet.errors.length, 1);
    assert(
      quiet.errors[0].startsWith(
        `Warning: a run is left out of the journal: Cannot parse run record "${file}": `,
      ),
      quiet.errors[0],
    );
    assert(/JSON/.test(quiet.errors[0]), quiet.errors[0]);
    const last = () => logs[logs.length - 1];
    assert(last().endsWith("1 runs in 1 experiments (1 unreadable run left out)"), last());
    // --check still works: fresh against the readable runs, with the same warning
    assertEquals(await journalCommand(["--results", results, "--out", out, "--check"]), 0);
    assertEquals(quiet.errors.length, 2);
    assert(last().includes("is up to date (1 runs) (1 unreadable run left out)"), last());
    // a record that is JSON but not a run record is skipped the same way
    await Deno.writeTextFile(file, '{"runId": 42}');
    assertEquals(await journalCommand(["--results", results, "--out", out, "--check"]), 0);
    assert(
      quiet.errors[2].includes(`Invalid run record "${file}": runId: expected a string, got 42`),
    );
  } finally {
    quiet.restore();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("diffHint names the first differing line", () => {
  assertEquals(diffHint("a\nb\nc", "a\nB\nc"), "first difference at line 2:\n- b\n+ B");
  assertEquals(diffHint("a", "a\nb"), "first difference at line 2:\n- (end of file)\n+ b");
});

function silence(): { errors: string[]; restore(): void } {
  const log = console.log;
  const error = console.error;
  const errors: string[] = [];
  console.log = () => {};
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  return {
    errors,
    restore() {
      console.log = log;
      console.error = error;
    },
  };
}

Deno.test("the committed JOURNAL.md is what the committed results give (deno task journal)", async () => {
  const root = new URL("../", import.meta.url).pathname;
  // The committed runs only: a run the README's first command just wrote is not in the journal.
  const out = await new Deno.Command("git", {
    args: ["ls-files", "--", "results"],
    cwd: root,
    stdout: "piped",
  }).output();
  const tracked = new Set(
    new TextDecoder().decode(out.stdout).split("\n").filter((f) => f.endsWith("/record.json"))
      .map((f) => f.replace(/^results\//, "").replace(/\/record\.json$/, "")),
  );
  const records = (await loadRuns(`${root}results`)).filter((r) =>
    r.status !== "failed" && tracked.has(`${r.experiment}/${r.runId}`)
  );
  // Portfolio runs: their section after the runs' (src/cli/journal.ts), committed ones only.
  const { loadPortfolioRecords, portfolioJournalSection } = await import(
    "../src/portfolio/report.ts"
  );
  const portfolioFiles = new Set(
    new TextDecoder().decode(out.stdout).split("\n").filter((f) => f.endsWith("/portfolio.json")),
  );
  const portfolios = (await loadPortfolioRecords(`${root}results`)).filter((p) =>
    portfolioFiles.has(`results/${p.experiment}/${p.runId}/portfolio.json`)
  );
  const section = portfolioJournalSection(portfolios, "results");
  const expected = renderJournal(records, { resultsPath: "results" }) +
    (section ? `\n${section}` : "");
  const committed = await Deno.readTextFile(`${root}JOURNAL.md`);
  assertEquals(committed, expected, "JOURNAL.md is stale: run `deno task journal` and commit it");
});

Deno.test("each run's line says how training fitted the training rows: before, kept, last epoch", () => {
  const r = magnitudeRecord();
  const fit = (signAccuracy: number) => magnitudeMetrics(0.1, 0, 0, signAccuracy, 0.1);
  r.metrics!.preTrain.train = fit(0.6);
  r.metrics!.postTrain.train = fit(0.62);
  r.metrics!.lastEpoch = { train: fit(0.97) };
  r.training = { ...r.training!, bestEpoch: 3, history: Array(40).fill(r.training!.history[0]) };
  const text = renderJournal([r]);
  assert(
    text.includes(
      "training sign accuracy 0.6000 before training, 0.6200 with the kept weights (epoch 3), " +
        "0.9700 at the last epoch (40)",
    ),
    text,
  );
  // Without training-row metrics (older runs) the line says nothing about the fit.
  assert(!renderJournal([magnitudeRecord()]).includes("before training"));
});

Deno.test("a magnitude run shows IC, ICIR, rank IC and rank ICIR beside its best baseline", () => {
  const ic = (mean: number, std: number) => ({
    mean,
    std,
    icir: mean / std,
    quarters: 8,
    perQuarter: [],
    skipped: 0,
  });
  const rank = (mean: number, std: number) => ({ mean, std, icir: mean / std, quarters: 8 });
  const r = magnitudeRecord();
  const m = r.metrics!;
  const withIc = (set: ReturnType<typeof magnitudeMetrics>, a: number, b: number) => ({
    ...set,
    ic: ic(a, 0.1),
    rankIc: rank(b, 0.2),
  });
  const record = {
    ...r,
    metrics: {
      ...m,
      postTrain: { ...m.postTrain, eval: withIc(m.postTrain.eval as never, 0.05, 0.04) },
      baselines: {
        mean: m.baselines.mean,
        momentum: withIc(m.baselines.momentum as never, 0.02, 0.06),
        linear: withIc(m.baselines.linear as never, -0.01, 0.01),
      },
    },
  } as typeof r;
  const text = renderJournal([record]);
  assert(
    text.includes(
      "| IC | baseline | ICIR | baseline | rank IC | baseline | rank ICIR | baseline |",
    ),
    text,
  );
  // IC 0.05 (ICIR 0.5) beats momentum's 0.02 (0.2); rank IC 0.04 (0.2) is behind momentum's
  // 0.06 (0.3), and without a verdict a figure behind its best baseline is marked.
  const row = text.split("\n").find((l) => l.includes("7c1d2e3f") && l.startsWith("| ["))!;
  assert(
    row.includes(
      "| 0.05000 | 0.02000 (momentum) | 0.5000 | 0.2000 (momentum) | 0.04000 ⚠ | 0.06000 (momentum) " +
        "| 0.2000 ⚠ | 0.3000 (momentum) |",
    ),
    row,
  );
});
