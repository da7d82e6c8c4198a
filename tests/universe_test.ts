/**
 * Point-in-time universes: the `universe` table's checks, the synthetic generator's listings and
 * delistings, the backtest's exits when a ticker leaves, and a run on a synthetic universe with
 * delistings against the same data without its universe table.
 */
import pl from "nodejs-polars";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import {
  type Dataset,
  isoDates,
  loadDatasetFolder,
  type Manifest,
  tablePath,
  writeDataset,
} from "../src/data/dataset.ts";
import { generateSynthetic, writeSynthetic } from "../src/data/synth.ts";
import { FIXED_UNIVERSE_WARNING, Universe, universeWarnings } from "../src/data/universe.ts";
import { resolveTickers } from "../src/data/select.ts";
import { importDataset } from "../src/data/import.ts";
import { runBacktest } from "../src/backtest/mod.ts";
import { BacktestConfig, DataConfig } from "../src/config/schema.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import { memoryDataset } from "./fixtures/features/memory_dataset.ts";
import { quietRun } from "./pipeline_helpers.ts";
import { weekdays } from "./synth_helpers.ts";

const universeFrame = (rows: [string, string, string | null][]) =>
  pl.DataFrame([
    pl.Series("ticker", rows.map((r) => r[0]), pl.Utf8),
    pl.Series("from", rows.map((r) => new Date(`${r[1]}T00:00:00Z`))).cast(pl.Date),
    pl.Series("to", rows.map((r) => (r[2] === null ? null : new Date(`${r[2]}T00:00:00Z`))))
      .cast(pl.Date),
  ]);

const MANIFEST: Manifest = {
  name: "u",
  description: "universe checks",
  synthetic: true,
  provenance: "tests",
  licence: "CC0",
  warnings: [],
  tables: ["prices", "universe"],
  tickers: ["A", "B"],
  from: "2000-01-03",
  to: "2000-01-05",
  index: null,
  riskFree: null,
  series: [],
};

const PRICES = pl.DataFrame([
  pl.Series("date", ["2000-01-03", "2000-01-04", "2000-01-03"].map((d) => new Date(d))).cast(
    pl.Date,
  ),
  pl.Series("ticker", ["A", "A", "B"], pl.Utf8),
  pl.Series("close", [1, 2, 3], pl.Float64),
]);

Deno.test("a universe table is written, loaded and read as spells; backwards or overlapping spells are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-universe-" });
  try {
    const universe = universeFrame([
      ["A", "2000-01-03", "2000-01-04"],
      ["A", "2000-03-01", null],
      ["B", "2000-01-03", null],
    ]);
    await writeDataset(`${dir}/ok`, MANIFEST, { prices: PRICES, universe });
    const u = Universe.of(await loadDatasetFolder(`${dir}/ok`))!;
    assertEquals(u.spells("A"), [{ from: "2000-01-03", to: "2000-01-04" }, {
      from: "2000-03-01",
      to: null,
    }]);
    assertEquals(
      ["2000-01-04", "2000-01-05", "2000-02-29", "2000-03-01"].map((d) => u.isMember("A", d)),
      [true, false, false, true],
    );
    assert(u.memberDuring("A", "2000-01-05", "2000-03-01"));
    assert(!u.memberDuring("A", "2000-01-05", "2000-02-29"));
    assertEquals([...u.lastDays().keys()], []);

    await assertRejects(
      () =>
        writeDataset(`${dir}/backwards`, MANIFEST, {
          prices: PRICES,
          universe: universeFrame([["A", "2000-01-04", "2000-01-03"]]),
        }),
      Error,
      'the membership of "A" from 2000-01-04 (row 1) ends before it starts, on 2000-01-03',
    );
    await assertRejects(
      () =>
        writeDataset(`${dir}/overlap`, MANIFEST, {
          prices: PRICES,
          universe: universeFrame([["A", "2000-01-03", null], ["A", "2000-02-01", "2000-03-01"]]),
        }),
      Error,
      'the membership of "A" from 2000-02-01 (row 2) starts before the previous one ends (it has no end)',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a universe CSV is imported into a dataset with --add, an empty end meaning a current member", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-universe-import-" });
  try {
    await writeDataset(`${dir}/d`, { ...MANIFEST, tables: ["prices"] }, { prices: PRICES });
    await Deno.writeTextFile(
      `${dir}/members.csv`,
      "ticker,from,to\nA,2000-01-03,2000-01-04\nB,2000-01-03,\n",
    );
    const report = await importDataset({
      inputs: [`${dir}/members.csv`],
      form: "long",
      mapping: {},
      out: `${dir}/d`,
      table: "universe",
      add: true,
      maxGapDays: 10,
      minHistoryDays: 1,
    });
    assert(report.ok, JSON.stringify(report.problems));
    const ds = await loadDatasetFolder(`${dir}/d`);
    assertEquals([ds.manifest.tables, ds.manifest.from, ds.manifest.to], [
      ["prices", "universe"],
      "2000-01-03",
      "2000-01-05",
    ]);
    const u = Universe.of(ds)!;
    assertEquals([u.spells("A"), u.spells("B")], [[{ from: "2000-01-03", to: "2000-01-04" }], [{
      from: "2000-01-03",
      to: null,
    }]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("survivorship warnings are dropped for a point-in-time universe and kept or added for a fixed one", () => {
  const biased = "Survivorship bias: chosen with hindsight";
  assertEquals(universeWarnings([biased, "other"], true, false), ["other"]);
  assertEquals(universeWarnings([biased], false, false), [biased]);
  assertEquals(universeWarnings([], false, false), [FIXED_UNIVERSE_WARNING]);
  assertEquals(universeWarnings([], false, true), []);
});

Deno.test("synthetic turnover lists and delists tickers on the same paths; without it nothing changes", () => {
  const params = { seed: 5, tickers: 10, from: "2004-01-01", to: "2011-12-31", signal: 1 };
  const fixed = generateSynthetic(params);
  const listed = generateSynthetic({ ...params, turnover: 0.1 });
  assertEquals(fixed.tables.universe, undefined);
  assert(!fixed.manifest.tables.includes("universe"));
  assertEquals(listed.manifest.tables.at(-1), "universe");
  const u = listed.tables.universe!;
  const tickers = u.getColumn("ticker").toArray() as string[];
  const from = isoDates(u.getColumn("from")) as string[];
  const to = isoDates(u.getColumn("to"));
  assert(to.some((d) => d !== null), "some ticker is delisted");
  assert(from.some((d) => d !== "2004-01-01" && d !== fixed.manifest.from), "some listed late");
  const span = (df: pl.DataFrame, t: string) => {
    const dates = isoDates(df.filter(pl.col("ticker").eq(pl.lit(t))).getColumn("date"));
    return [dates[0], dates.at(-1)];
  };
  tickers.forEach((t, i) => {
    // Prices run exactly over the listed span, on the same path as without turnover.
    assertEquals(span(listed.tables.prices, t), [from[i], to[i] ?? fixed.manifest.to]);
    const inSpan = (df: pl.DataFrame) =>
      df.filter(
        pl.col("ticker").eq(pl.lit(t)).and(pl.col("date").gtEq(pl.lit(new Date(from[i])))),
      ).filter(to[i] === null ? pl.lit(true) : pl.col("date").ltEq(pl.lit(new Date(to[i]!))))
        .getColumn("close").toArray();
    assertEquals(inSpan(listed.tables.prices), inSpan(fixed.tables.prices));
    for (const table of ["insider", "sentiment"] as const) {
      const [first, last] = span(listed.tables[table], t);
      if (first === undefined) continue;
      assert(first! >= from[i] && (to[i] === null || last! <= to[i]!), `${table} of ${t}`);
    }
  });
});

Deno.test("a ticker leaving the universe is closed at its last close as a member, which changes the backtest", () => {
  const days = weekdays("2001-03-01", "2001-09-28");
  const prices = new Map([
    ["A", { dates: days, close: Float64Array.from(days, (_, i) => 100 + i) }],
    ["B", { dates: days, close: Float64Array.from(days, (_, i) => 100 - 0.2 * i) }],
  ]);
  const signals = [
    { ticker: "A", date: "2001-03-30", score: 0.9 },
    { ticker: "B", date: "2001-03-30", score: 0.9 },
  ];
  const args = {
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction" as const,
    config: BacktestConfig.parse({ strategy: "simple", mode: "portfolio" }),
  };
  const fixed = runBacktest(args);
  // A leaves the index on 2001-05-15 and trades on: with the universe its long closes there.
  const membership = new Map([
    ["A", [{ from: "2001-01-01", to: "2001-05-15" }]],
    ["B", [{ from: "2001-01-01", to: null }]],
  ]);
  const pit = runBacktest({ ...args, membership });
  const exitA = pit.fills.find((f) => f.ticker === "A" && f.quantity < 0)!;
  const lastA = days.indexOf("2001-05-15");
  assertEquals(
    [exitA.date, exitA.price, exitA.reason],
    ["2001-05-15", 100 + lastA, "delisted"],
  );
  const fixedExitA = fixed.fills.find((f) => f.ticker === "A" && f.quantity < 0)!;
  assertEquals([fixedExitA.date, fixedExitA.reason], ["2001-07-02", "exit"]);
  assert(
    pit.stats.strategy.endEquity < fixed.stats.strategy.endEquity,
    `${pit.stats.strategy.endEquity} vs ${fixed.stats.strategy.endEquity}`,
  );
  assert(pit.warnings.some((w) => w.includes('"A" left the universe on 2001-05-15')));
});

Deno.test("selection takes members only, and never on membership after the selection date", () => {
  const days = weekdays("2000-01-03", "2001-12-31");
  const prices = ["A", "B", "C"].flatMap((t, k) =>
    days.map((date, i) => ({ date, ticker: t, close: 10 + k + Math.sin(i * (k + 1)) }))
  );
  const universe = [
    { ticker: "A", from: "2000-01-03", to: null },
    { ticker: "B", from: "2000-01-03", to: "2000-06-30" },
    { ticker: "C", from: "2001-03-01", to: null },
  ];
  const ds: Dataset = memoryDataset("u", { prices, universe });
  const data = (train: unknown) =>
    DataConfig.parse({ dataset: "u", train_tickers: train, eval_tickers: ["A"] });
  // B left before the selection date, C joined after it: only A and B could be known on it.
  const all = resolveTickers(ds, data({ select: "all" }), "2000-12-31", { shareTickers: true });
  assertEquals(all.train, ["A", "B", "C"]);
  const picked = resolveTickers(
    ds,
    DataConfig.parse({
      dataset: "u",
      train_tickers: { select: "uncorrelated", count: 1 },
      eval_tickers: { select: "rest" },
    }),
    "2000-12-31",
  );
  assertEquals([...picked.train, ...picked.eval].sort(), ["A", "B", "C"]);
  assert(picked.selection!.picked.every((t) => t !== "C"), "C joined after the selection date");
});

const RUN = `
name: universe-run
seed: 1
data:
  dataset: DATASET
  train_tickers: { select: all }
  eval_tickers: { select: all }
features:
  families:
    price: { ma_windows: [7, 90], close: false }
label: { mode: direction }
split: { method: by_time, eval_from: "2010-01-01" }
model: { family: vanilla.small, size: 4, layers: 1 }
loss: { name: bce }
train: { epochs: 2, backend: wasm }
backtest: { strategy: simple, mode: portfolio }
`;

Deno.test("on a synthetic universe with delistings the universe table changes the run: members only, delisted positions closed at their last price", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-universe-run-" });
  Deno.env.set("ALFRED_DATA_PATH", root);
  try {
    const pit = `${root}/delisting`;
    await writeSynthetic(pit, {
      seed: 4,
      tickers: 24,
      from: "2004-01-01",
      to: "2013-12-31",
      signal: 1,
      turnover: 0.08,
    });
    // The same data without its universe table: a fixed universe of the same tickers.
    const fixed = `${root}/fixed`;
    const loaded = await loadDatasetFolder(pit);
    const tables = Object.fromEntries(
      loaded.manifest.tables.filter((t) => t !== "universe").map((t) => [
        t,
        pl.readParquet(tablePath(pit, t)),
      ]),
    );
    await writeDataset(fixed, {
      ...loaded.manifest,
      name: "fixed",
      tables: loaded.manifest.tables.filter((t) => t !== "universe"),
    }, tables);

    const run = async (dir: string) => {
      const [e] = await parseExperimentText(RUN.replace("DATASET", dir), "universe.yaml");
      return (await runExperiment(e, quietRun(root))).record;
    };
    const withUniverse = await run(pit);
    const without = await run(fixed);
    assertEquals([withUniverse.data.universe, without.data.universe], ["point-in-time", "fixed"]);

    const universe = Universe.of(loaded)!;
    const delisted = [...universe.lastDays().keys()];
    // Without the universe, `all` keeps only tickers trading throughout: no delisted one.
    assert(without.data.tickers.eval.every((t) => !delisted.includes(t)));
    assert(withUniverse.data.tickers.eval.some((t) => delisted.includes(t)));
    assert(
      withUniverse.backtest!.stats.strategy.endEquity !==
        without.backtest!.stats.strategy.endEquity,
      "the universe changes the backtest",
    );

    // Positions held into a delisting close on the ticker's last day, at its last price.
    const prices = loaded.table("prices");
    const closedByDelisting = withUniverse.backtest!.trades.filter((t) =>
      universe.lastDays().has(t.ticker) && universe.spells(t.ticker).at(-1)!.to === t.exitDate
    );
    assert(closedByDelisting.length > 0, "some position was closed by a delisting");
    for (const t of closedByDelisting) {
      const last = prices.filter(pl.col("ticker").eq(pl.lit(t.ticker))).tail(1);
      assertEquals(
        [t.exitDate, t.exitPrice, t.open],
        [isoDates(last.getColumn("date"))[0], last.getColumn("close").toArray()[0], false],
      );
    }
  } finally {
    Deno.env.delete("ALFRED_DATA_PATH");
    await Deno.remove(root, { recursive: true });
  }
});
