/**
 * The run record schema: a record and its tables round-trip through `record.json` and Parquet
 * rows, a record the schema refuses is refused with the field path, and every earlier shape of
 * a record (real records of the first version, trimmed, in `tests/fixtures/record/`) migrates to
 * this version once, as it is read.
 */
import { maxDrawdown } from "../src/backtest/stats.ts";
import {
  joinRecord,
  migrateRecord,
  parseRecord,
  RECORD_VERSION,
  RecordError,
  recordHeadJson,
  type RunRecord,
  splitRecord,
} from "../src/record/mod.ts";
import { renderReport } from "../src/report/report.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import { fixtureRecord } from "./report_helpers.ts";

const FIXTURES = new URL("./fixtures/record/", import.meta.url);

/** A record's raw JSON, which these tests edit freely before the schema checks it. */
// deno-lint-ignore no-explicit-any
type RawJson = Record<string, any>;

/** A real record of the first version, as its `record.json` held it. */
function versionOne(name: "v1-calendar-days" | "v1-trading-days"): RawJson {
  return JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, FIXTURES)));
}

Deno.test("a record round-trips through record.json and its tables", () => {
  for (const record of [fixtureRecord(), parseRecord(versionOne("v1-trading-days"), "v1")]) {
    const { head, tables } = splitRecord(record);
    const text = recordHeadJson(head);
    const back = parseRecord(joinRecord(JSON.parse(text), tables), "back");
    assertEquals(back, record);
  }
});

Deno.test("the IC's quarters are rows of ic.parquet, keyed by the metric set", () => {
  const record = parseRecord(versionOne("v1-trading-days"), "v1");
  const { head, tables } = splitRecord(record);
  const metrics = head.metrics as RunRecord["metrics"] & object;
  assertEquals("perQuarter" in (metrics.postTrain.eval as { ic: object }).ic, false);
  const evalRows = tables.ic.filter((r) => r.place === "postTrain" && r.name === "eval");
  const set = record.metrics!.postTrain.eval!;
  assert("ic" in set && set.ic !== null);
  assertEquals(evalRows.length, set.ic.perQuarter.length);
  assertEquals(evalRows[0], {
    place: "postTrain",
    name: "eval",
    fold: null,
    ...set.ic.perQuarter[0],
  });
});

Deno.test("a record the schema refuses is refused at the field, with the file", () => {
  const record: RawJson = structuredClone(fixtureRecord());
  record.metrics.postTrain.eval.f1 = "high";
  record.metrics.baselines["shuffled labels"] = structuredClone(record.metrics.baselines.majority);
  record.metrics.baselines["shuffled labels"].n = -1;
  record.backtest.stats.strategy.sharpeRatio = 0.3;
  delete record.data.fingerprint;
  const error = assertThrows(() => parseRecord(record, "results/x/record.json"), RecordError);
  assertEquals(error.file, "results/x/record.json");
  const issues = Object.fromEntries(error.issues.map((i) => [i.path.join("/"), i.message]));
  assertEquals(issues, {
    "data/fingerprint": "expected a string, got nothing",
    "metrics/postTrain/eval/f1": 'expected a number, got "high"',
    "metrics/baselines/shuffled labels/n": "too small: expected number to be >=0, got -1",
    "backtest/stats/strategy": 'unknown key "sharpeRatio"',
  });
  assertStringIncludes(
    error.message,
    'Invalid run record "results/x/record.json": data.fingerprint: expected a string, got nothing; ',
  );
  assertStringIncludes(error.message, 'metrics.baselines["shuffled labels"].n: too small');
  // Magnitude metrics in a direction run.
  const mixed: RawJson = structuredClone(fixtureRecord());
  mixed.metrics.perTicker.JPM = {
    n: 11,
    loss: 0.1,
    mse: 0.1,
    mae: 0.2,
    r2: null,
    pearson: null,
    signAccuracy: 0.5,
    ic: null,
    rankIc: null,
    notes: [],
  };
  assertThrows(
    () => parseRecord(mixed, "mixed"),
    RecordError,
    "metrics.perTicker.JPM: expected direction metrics in a direction run",
  );
});

Deno.test("migration: version 1 with calendar-day durations (equity points, drawdown points)", () => {
  const raw = versionOne("v1-calendar-days");
  assertEquals(raw.version, undefined);
  const record = parseRecord(raw, "v1");
  assertEquals(record.version, RECORD_VERSION);
  // The resolved config is data now, read once from its YAML.
  assertEquals(record.config.name, "quick-direction");
  assertEquals(record.config.split.eval_from, "1998-01-01");
  // The gap the run applied, from that config.
  const { horizon, purge, embargo, evalFrom } = record.split!;
  assertEquals({ horizon, purge, embargo, evalFrom }, {
    horizon: 1,
    purge: 1,
    embargo: 0,
    evalFrom: "1998-01-01",
  });
  // Durations in trading days, counted from the recorded daily equity; no drawdown series.
  const b = raw.backtest;
  for (const series of ["strategy", "index", "basket"] as const) {
    const stats = record.backtest!.stats[series]!;
    const want = maxDrawdown(
      b.equity.map((p: { date: string }) => p.date),
      b.stats[series].startEquity,
      b.equity.map((p: Record<string, number>) => p[series]),
    ).tradingDays;
    assertEquals(stats.maxDrawdownTradingDays, want, series);
    assert(!("maxDrawdownDays" in stats) && !("maxDrawdownCalendarDays" in stats));
  }
  assert(!("drawdown" in record.backtest!));
  assertEquals(record.backtest!.equity, b.equity);
  assertEquals(record.backtest!.ruin, []);
  // Everything else as it was.
  assertEquals(record.metrics!.postTrain, raw.metrics.postTrain);
  assertEquals(record.training!.history, raw.training.history);
  assertEquals(record.analysis!.ablation!.rows, raw.analysis.ablation.rows);
});

Deno.test("migration: version 1 with trading days, memory, families and per-fold leakage fields", () => {
  const raw = versionOne("v1-trading-days");
  const record = parseRecord(raw, "v1");
  assertEquals(record.memory, raw.memory);
  assertEquals(record.featureFamilies, raw.featureFamilies);
  assertEquals(record.split!.folds, raw.split.folds);
  assertEquals(record.split!.evalFrom, raw.split.evalFrom);
  for (const series of ["strategy", "index", "basket"] as const) {
    assertEquals(
      record.backtest!.stats[series]!.maxDrawdownTradingDays,
      raw.backtest.stats[series].maxDrawdownTradingDays,
    );
  }
  assertEquals(record.metrics!.lastEpoch, raw.metrics.lastEpoch);
  assertEquals(record.config.train.engine, "fused");
});

Deno.test("migration: the backtest stage's own shape (columns, cost breakdowns, a null index row)", () => {
  const raw = versionOne("v1-calendar-days");
  const points: { date: string; strategy: number; basket: number }[] = raw.backtest.equity;
  const column = (name: "date" | "strategy" | "basket") => points.map((p) => p[name]);
  const costs = (row: Record<string, number>) => ({
    commission: row.costs_commission,
    slippage: row.costs_slippage,
    borrow: row.costs_borrow,
    total: row.costs_total,
  });
  const stage = (row: Record<string, number>) => {
    const { costs_commission: _c, costs_slippage: _s, costs_borrow: _b, costs_total: _t, ...rest } =
      row;
    return { ...rest, costs: costs(row), maxDrawdownPeak: "1998-07-17", riskFree: "1year" };
  };
  const b = raw.backtest;
  raw.backtest = {
    ...b,
    equity: undefined,
    drawdown: undefined,
    series: {
      dates: column("date"),
      strategy: column("strategy"),
      index: null,
      basket: column("basket"),
      drawdown: { strategy: [], index: null, basket: [] },
    },
    stats: { strategy: stage(b.stats.strategy), index: null, basket: stage(b.stats.basket) },
    labelMode: "direction",
    config: {},
    sameCloseFills: false,
    fills: [],
  };
  const record = parseRecord(raw, "stage");
  const bt = record.backtest!;
  assertEquals(Object.keys(bt.stats), ["strategy", "basket"]);
  assertEquals(bt.equity[3], {
    date: points[3].date,
    strategy: points[3].strategy,
    index: null,
    basket: points[3].basket,
  });
  assertEquals(bt.stats.strategy.costs_total, b.stats.strategy.costs_total);
  assertEquals(bt.stats.strategy.riskFree, "1year");
  assertEquals(bt.stats.strategy.maxDrawdownPeak, "1998-07-17");
  assert(bt.stats.strategy.maxDrawdownTradingDays! > 0);
});

Deno.test("migration: walk-forward fold tables go under folds", () => {
  const raw = versionOne("v1-calendar-days");
  const set = raw.metrics.postTrain.eval;
  raw.metrics.preTrain = { eval: { "fold-1": set, "fold-2": set } };
  raw.metrics.postTrain = { eval: set, "fold-1": set, "fold-2": set };
  raw.metrics.lastEpoch = { train: { "fold-2": set } };
  const m = parseRecord(raw, "wf").metrics!;
  assertEquals(m.preTrain, { folds: { "fold-1": { eval: set }, "fold-2": { eval: set } } });
  assertEquals(m.postTrain, {
    eval: set,
    folds: { "fold-1": { eval: set }, "fold-2": { eval: set } },
  });
  assertEquals(m.lastEpoch, { folds: { "fold-2": { train: set } } });
});

Deno.test("migration: calendar days are counted again in trading days, or kept and named so", async () => {
  const raw = versionOne("v1-calendar-days");
  // Peak at the capital on Friday 1999-01-08, trough on Monday, back on Friday 1999-01-15:
  // 4 trading days later, 7 calendar days.
  const point = (date: string, strategy: number) => ({ date, strategy, index: 100, basket: 100 });
  raw.backtest.equity = [
    point("1999-01-08", 100),
    point("1999-01-11", 90),
    point("1999-01-12", 95),
    point("1999-01-14", 99),
    point("1999-01-15", 100.5),
  ];
  for (const s of ["strategy", "index", "basket"]) raw.backtest.stats[s].startEquity = 100;
  raw.backtest.stats.strategy.maxDrawdownDays = 7;
  const record = parseRecord(structuredClone(raw), "v1");
  assertEquals(record.backtest!.stats.strategy.maxDrawdownTradingDays, 4);
  const { markdown } = await renderReport(record);
  assertStringIncludes(markdown, "| max drawdown duration (trading days) | 4 | 0 | 0 |");
  // Without the daily equity the recorded figure stays, named as what it is.
  raw.backtest.equity = [];
  const without = parseRecord(raw, "v1");
  assertEquals(without.backtest!.stats.strategy.maxDrawdownCalendarDays, 7);
  const { markdown: text } = await renderReport(without);
  assertStringIncludes(
    text,
    "| max drawdown duration (calendar days, as runs before trading days recorded it) | 7 |",
  );
});

Deno.test("migration refuses what it cannot bring to this version, naming the field", () => {
  assertThrows(
    () => migrateRecord({ ...fixtureRecord(), version: 5 }, "f"),
    RecordError,
    'Invalid run record "f": version: expected 4, 3 or 2, or none for a record of version 1, got 5',
  );
  // A version 2 record is a version 3 one without inference or seeds, and a version 3 one is a
  // version 4 one in memory (version 4 stores its per-ticker parts as tables).
  const { version: _, ...v2 } = fixtureRecord();
  assertEquals(migrateRecord({ ...v2, version: 2 }, "f"), { ...v2, version: 4 });
  assertEquals(migrateRecord({ ...v2, version: 3 }, "f"), { ...v2, version: 4 });
  assertThrows(
    () => migrateRecord({ ...versionOne("v1-calendar-days"), configYaml: "model: [unclosed" }, "f"),
    RecordError,
    "configYaml: cannot parse it as YAML",
  );
  assertThrows(
    () => migrateRecord({ ...versionOne("v1-calendar-days"), configYaml: "seed: -1\n" }, "f"),
    RecordError,
    "configYaml: not a valid config",
  );
  assertThrows(() => parseRecord([], "f"), RecordError, '"f": (record): expected an object');
});
