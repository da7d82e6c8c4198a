import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";
import { join } from "node:path";
import pl from "nodejs-polars";
import {
  checkTableSchema,
  checkTableValues,
  DATA_PATH_ENV,
  datasetCandidates,
  DatasetError,
  DatasetNotFoundError,
  DatasetRefError,
  dateSeries,
  defaultDataRoot,
  isoDates,
  loadDataset,
  loadDatasetArgument,
  loadDatasetFolder,
  type Manifest,
  MissingTableError,
  sortedByTickerDay,
  tablePath,
  writeDataset,
} from "../src/data/dataset.ts";
import { priceSeries } from "../src/data/series.ts";
import { quarterKnownDate } from "../src/data/dow30.ts";

function tinyManifest(over: Partial<Manifest> = {}): Manifest {
  return {
    name: "tiny",
    description: "two tickers, three days",
    synthetic: false,
    provenance: "test",
    licence: "CC0",
    warnings: [],
    tables: ["prices"],
    tickers: ["AAA", "BBB"],
    from: "2020-01-02",
    to: "2020-01-06",
    index: null,
    riskFree: null,
    series: [],
    ...over,
  };
}

function tinyPrices(closes = [1, 2, 3, 4, 5, 6]): pl.DataFrame {
  return pl.DataFrame([
    dateSeries("date", [
      "2020-01-02",
      "2020-01-03",
      "2020-01-06",
      "2020-01-02",
      "2020-01-03",
      "2020-01-06",
    ]),
    pl.Series("ticker", ["AAA", "AAA", "AAA", "BBB", "BBB", "BBB"], pl.Utf8),
    pl.Series("close", closes, pl.Float64),
  ]);
}

Deno.test("writeDataset then loadDataset round-trips and reads tables lazily", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(join(root, "tiny"), tinyManifest(), { prices: tinyPrices() });
    const ds = await loadDataset("tiny", { root });
    assertEquals(ds.name, "tiny");
    assertEquals(ds.has("prices"), true);
    assertEquals(ds.has("market"), false);
    const p = ds.table("prices");
    assertEquals(p.height, 6);
    assertEquals(isoDates(p.getColumn("date")).slice(0, 2), ["2020-01-02", "2020-01-03"]);
    // a path works as well as a name, and no temporary folder is left behind
    const byPath = await loadDatasetFolder(join(root, "tiny"));
    assertEquals(await byPath.fingerprint(), await ds.fingerprint());
    const left = [...Deno.readDirSync(root)].map((e) => e.name);
    assertEquals(left, ["tiny"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("MissingTableError names dataset and table", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(join(root, "tiny"), tinyManifest(), { prices: tinyPrices() });
    const ds = await loadDataset("tiny", { root });
    const e = assertThrows(() => ds.table("insider"), MissingTableError);
    assertEquals(e.message, 'Dataset "tiny" has no "insider" table');
    assertEquals(e.dataset, "tiny");
    assertEquals(e.tableName, "insider");
    assertEquals(
      new MissingTableError("d", "sentiment", "the sentiment feature family").message,
      'Dataset "d" has no "sentiment" table, which the sentiment feature family needs',
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadDataset refuses a listed table whose file is missing", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(join(root, "tiny"), tinyManifest(), { prices: tinyPrices() });
    await Deno.remove(join(root, "tiny", "prices.parquet"));
    const e = await assertRejects(() => loadDataset("tiny", { root }), DatasetError);
    assertMatch(
      e.message,
      /Dataset "tiny" lists table "prices" but ".*prices\.parquet" is missing/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadDataset refuses a column of the wrong dtype, naming dataset, table and column", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(join(root, "tiny"), tinyManifest(), { prices: tinyPrices() });
    // overwrite the table with close as strings, bypassing writeDataset's own check
    const bad = tinyPrices().withColumns(pl.col("close").cast(pl.Utf8));
    bad.writeParquet(join(root, "tiny", "prices.parquet"));
    const e = await assertRejects(() => loadDataset("tiny", { root }), DatasetError);
    assertEquals(
      e.message,
      'Dataset "tiny" table "prices" column "close" has dtype "String": expected Float64',
    );
    assertEquals(e.column, "close");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing required column is named with what the table has", () => {
  const df = tinyPrices().drop("close");
  const e = assertThrows(() => checkTableSchema("x", "prices", df.schema));
  assertMatch(
    e.message,
    /Dataset "x" table "prices" has no column "close": expected Float64; it has "date", "ticker"/,
  );
  // optional columns may be absent but must have the right dtype when present
  const withVolume = tinyPrices().withColumns(pl.lit("many").alias("volume"));
  assertThrows(
    () => checkTableSchema("x", "prices", withVolume.schema),
    Error,
    'column "volume" has dtype "String"',
  );
});

Deno.test("loadDataset refuses a manifest with a missing field or an unknown dataset", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(join(root, "tiny"), tinyManifest(), { prices: tinyPrices() });
    const file = join(root, "tiny", "manifest.json");
    const m = JSON.parse(await Deno.readTextFile(file));
    delete m.licence;
    await Deno.writeTextFile(file, JSON.stringify(m));
    await assertMatch(
      (await assertRejects(() => loadDataset("tiny", { root }))).message,
      /manifest ".*manifest\.json" is invalid: licence:/,
    );
    await Deno.writeTextFile(file, "{not json");
    await assertRejects(() => loadDataset("tiny", { root }), Error, "is not valid JSON");
    await Deno.remove(file);
    // A folder without a manifest is broken, not absent: the type tells the two apart.
    const broken = await assertRejects(
      () => loadDataset("tiny", { root }),
      DatasetError,
      'Dataset "tiny" has no manifest',
    );
    assertEquals(broken instanceof DatasetNotFoundError, false);
    await assertMatch(
      (await assertRejects(() => loadDataset("nope", { root }), DatasetNotFoundError)).message,
      /Dataset "nope" not found: .*datasets in/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeDataset refuses tables that disagree with the manifest and leaves nothing behind", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assertRejects(
      () =>
        writeDataset(join(root, "bad"), tinyManifest({ tables: ["prices", "market"] }), {
          prices: tinyPrices(),
        }),
      Error,
      'lists tables ["prices","market"] but ["prices"] were given',
    );
    await assertRejects(
      () =>
        writeDataset(join(root, "bad"), tinyManifest(), { prices: tinyPrices().drop("ticker") }),
      Error,
      'has no column "ticker"',
    );
    assertEquals([...Deno.readDirSync(root)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fingerprint is stable and changes when a table or the manifest changes", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "tiny");
    await writeDataset(dir, tinyManifest(), { prices: tinyPrices() });
    const a = await (await loadDatasetFolder(dir)).fingerprint();
    assertMatch(a, /^[0-9a-f]{64}$/);
    await writeDataset(dir, tinyManifest(), { prices: tinyPrices() });
    assertEquals(await (await loadDatasetFolder(dir)).fingerprint(), a);
    await writeDataset(dir, tinyManifest(), { prices: tinyPrices([1, 2, 3, 4, 5, 6.01]) });
    const b = await (await loadDatasetFolder(dir)).fingerprint();
    assertNotEquals(b, a);
    await writeDataset(dir, tinyManifest({ description: "changed" }), { prices: tinyPrices() });
    const c = await (await loadDatasetFolder(dir)).fingerprint();
    assertNotEquals(c, a);
    assertNotEquals(c, b);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dow30-1991-2000: 30 tickers, the decade, DJIA, honest manifest", async () => {
  const ds = await loadDataset("dow30-1991-2000");
  const m = ds.manifest;
  assertEquals(m.tickers.length, 30);
  assertEquals(m.synthetic, false);
  assertEquals(m.tables, ["prices", "market"]);
  assertEquals(m.index, "DJIA");
  assertEquals(m.riskFree, "1year");
  assert(m.warnings.some((w) => /survivorship/i.test(w)));
  assert(m.warnings.some((w) => /volume/.test(w) && /sentiment/.test(w) && /BZ=F/.test(w)));
  for (
    const s of ["DJIA", "NYSE", "1year", "3year", "5year", "10year", "WTI", "gdp", "cpi", "unemp"]
  ) {
    assert(m.series.some((x) => x.name === s), `series ${s}`);
  }
  const prices = ds.table("prices");
  assertEquals([...new Set(prices.getColumn("ticker").toArray() as string[])].sort(), m.tickers);
  const dates = isoDates(prices.getColumn("date")) as string[];
  const sorted = [...new Set(dates)].sort();
  assertEquals(sorted[0], "1991-01-02");
  assertEquals(sorted[sorted.length - 1], "2000-12-29");
  assertEquals(prices.height, 30 * sorted.length);
  assert((prices.getColumn("close").min() as number) > 0);

  const market = ds.table("market");
  const mDates = isoDates(market.getColumn("date")) as string[];
  const series = market.getColumn("series").toArray() as string[];
  const calendar = new Set(sorted);
  const djiaDates = mDates.filter((_, i) => series[i] === "DJIA");
  assertEquals(djiaDates.length, sorted.length);
  assert(djiaDates.every((d) => calendar.has(d)), "DJIA only on trading days");
  // No value dated before it was known: monthly values at the month's last day, quarterly macro
  // no earlier than one month after the quarter's end.
  for (let i = 0; i < mDates.length; i++) {
    const info = m.series.find((s) => s.name === series[i])!;
    const d = new Date(mDates[i] + "T00:00:00Z");
    if (info.frequency === "monthly") {
      const next = new Date(d.getTime() + 86400000);
      assertEquals(next.getUTCDate(), 1, `${series[i]} ${mDates[i]} is a month end`);
    }
    if (info.frequency === "quarterly") {
      const month = d.getUTCMonth() + 1; // 1, 4, 7, 10: one month after a quarter's end
      assertEquals(month % 3, 1, `${series[i]} ${mDates[i]} is dated after the publication lag`);
    }
  }
  assertEquals(quarterKnownDate("1991Q1", 1), "1991-04-30");
  assertEquals(quarterKnownDate("1999Q4", 1), "2000-01-31");
  assert(mDates.every((d) => d <= m.to));
});

/** Run `f` with a temporary folder, removed after. */
async function withRoot(f: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "alfred-dataset-" });
  try {
    await f(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Rejects with a DatasetError whose message is exactly `message`. */
async function rejectsWith(p: () => Promise<unknown>, message: string): Promise<DatasetError> {
  const e = await assertRejects(p, DatasetError);
  assertEquals(e.message, message);
  return e;
}

Deno.test("data.dataset is a name in a data root or a path inside one; anything else is refused", async () => {
  const data = defaultDataRoot().replace(/\/$/, "");
  assertEquals(datasetCandidates("dow30-1991-2000", [data]), [`${data}/dow30-1991-2000`]);
  assertEquals(datasetCandidates(`${data}/x/../synth-small`, [data]), [`${data}/synth-small`]);
  for (const ref of ["../../../../etc", "/etc", "data/../../etc", "..", ".", "", "/", data]) {
    const e = assertThrows(() => datasetCandidates(ref, [data]), DatasetRefError);
    assert(e instanceof RangeError, String(e));
    assertEquals(
      e.message,
      `Dataset "${ref}" is outside the data roots: name a dataset folder in "${data}" or give ` +
        `a path inside one (ALFRED_DATA_PATH adds roots)`,
      ref,
    );
    assertEquals(e.ref, ref);
  }
  // the loader refuses before reading anything
  await assertRejects(() => loadDataset("../../../../etc"), DatasetRefError);
  await assertRejects(() => loadDataset("/etc/passwd"), DatasetRefError);
  // names and paths inside the root load
  assertEquals((await loadDataset("dow30-1991-2000")).name, "dow30-1991-2000");
  assertEquals((await loadDataset(`${data}/dow30-1991-2000`)).name, "dow30-1991-2000");
});

Deno.test("ALFRED_DATA_PATH adds data roots; a command-line argument may name any folder", async () => {
  await withRoot(async (root) => {
    await writeDataset(join(root, "tiny"), tinyManifest(), { prices: tinyPrices() });
    await assertRejects(() => loadDataset(join(root, "tiny")), DatasetRefError);
    await assertMatch(
      (await assertRejects(() => loadDataset("tiny"))).message,
      /Dataset "tiny" not found: .*datasets in "/,
    );
    Deno.env.set(DATA_PATH_ENV, `/nonexistent-alfred-root:${root}`);
    try {
      assertEquals((await loadDataset("tiny")).dir, join(root, "tiny"));
      assertEquals((await loadDataset(join(root, "tiny"))).dir, join(root, "tiny"));
      await assertRejects(() => loadDataset(join(root, "..")), DatasetRefError);
    } finally {
      Deno.env.delete(DATA_PATH_ENV);
    }
    assertEquals((await loadDatasetArgument(join(root, "tiny"))).name, "tiny");
    assertEquals((await loadDatasetArgument("dow30-1991-2000")).name, "dow30-1991-2000");
  });
});

/** Writes the tiny dataset with `prices` as given, bypassing writeDataset's value checks. */
async function tinyWith(root: string, prices: pl.DataFrame): Promise<string> {
  const dir = join(root, "tiny");
  await writeDataset(dir, tinyManifest(), { prices: tinyPrices() });
  prices.writeParquet(tablePath(dir, "prices"));
  return dir;
}

Deno.test("a dataset's prices are checked on load, naming the dataset, file, ticker and date", async () => {
  await withRoot(async (root) => {
    const file = join(root, "tiny", "prices.parquet");
    const at = `Dataset "tiny" table "prices" in "${file}"`;
    const cases: [number[] | (number | null)[], string][] = [
      [[1, 2, 3, -3.5, 5, 6], `close of "BBB" on 2020-01-02 (row 4) is -3.5`],
      [[1, 0, 3, 4, 5, 6], `close of "AAA" on 2020-01-03 (row 2) is 0`],
      [[1, 2, NaN, 4, 5, 6], `close of "AAA" on 2020-01-06 (row 3) is NaN`],
      [[1, 2, 3, 4, Infinity, 6], `close of "BBB" on 2020-01-03 (row 5) is Infinity`],
      [[1, 2, 3, 4, 5, null], `close of "BBB" on 2020-01-06 (row 6) is missing (null)`],
    ];
    for (const [closes, what] of cases) {
      const prices = tinyPrices().withColumns(pl.Series("close", closes, pl.Float64));
      await tinyWith(root, prices);
      const e = await rejectsWith(
        () => loadDataset("tiny", { root }),
        `${at}: ${what}: expected a finite number > 0`,
      );
      assertEquals(e.tableName, "prices");
      assertEquals(e.column, "close");
    }
    // several wrong rows: the first is named and the rest counted
    await tinyWith(root, tinyPrices([1, -1, 3, -4, 5, -6]));
    await rejectsWith(
      () => loadDataset("tiny", { root }),
      `${at}: close of "AAA" on 2020-01-03 (row 2) is -1: expected a finite number > 0 ` +
        "(3 rows are wrong)",
    );
    // optional price columns may be missing but never wrong; volume may be 0, never negative
    const withOpen = (open: (number | null)[], volume: (number | null)[]) =>
      tinyPrices().withColumns(
        pl.Series("open", open, pl.Float64),
        pl.Series("volume", volume, pl.Float64),
      );
    await tinyWith(root, withOpen([1, null, 3, 4, 5, 6], [0, 0, null, 1, 1, 1]));
    assertEquals((await loadDataset("tiny", { root })).table("prices").height, 6);
    await tinyWith(root, withOpen([1, 2, 3, 4, -5, 6], [0, 0, 0, 0, 0, 0]));
    await rejectsWith(
      () => loadDataset("tiny", { root }),
      `${at}: open of "BBB" on 2020-01-03 (row 5) is -5: expected a finite number > 0`,
    );
    await tinyWith(root, withOpen([1, 2, 3, 4, 5, 6], [0, 0, 0, -1, 0, 0]));
    await rejectsWith(
      () => loadDataset("tiny", { root }),
      `${at}: volume of "BBB" on 2020-01-02 (row 4) is -1: expected a finite number ≥ 0`,
    );
  });
});

Deno.test("dates ascend strictly per ticker: duplicates and disorder are named", async () => {
  await withRoot(async (root) => {
    const file = join(root, "tiny", "prices.parquet");
    const at = `Dataset "tiny" table "prices" in "${file}"`;
    const withDates = (dates: string[]) =>
      tinyPrices().withColumns(dateSeries("date", dates).alias("date"));
    await tinyWith(
      root,
      withDates([
        "2020-01-02",
        "2020-01-03",
        "2020-01-06",
        "2020-01-02",
        "2020-01-02",
        "2020-01-06",
      ]),
    );
    await rejectsWith(
      () => loadDataset("tiny", { root }),
      `${at}: dates of "BBB" are not strictly ascending: 2020-01-02 appears twice ` +
        "(row 5 repeats an earlier row)",
    );
    await tinyWith(
      root,
      withDates([
        "2020-01-02",
        "2020-01-06",
        "2020-01-03",
        "2020-01-02",
        "2020-01-03",
        "2020-01-06",
      ]),
    );
    await rejectsWith(
      () => loadDataset("tiny", { root }),
      `${at}: dates of "AAA" are not strictly ascending: 2020-01-03 (row 3) comes after 2020-01-06`,
    );
    // tickers may interleave: only the order within each ticker matters
    const interleaved = pl.DataFrame([
      dateSeries("date", ["2020-01-02", "2020-01-02", "2020-01-03", "2020-01-03"]),
      pl.Series("ticker", ["AAA", "BBB", "AAA", "BBB"], pl.Utf8),
      pl.Series("close", [1, 2, 3, 4], pl.Float64),
    ]);
    await tinyWith(root, interleaved);
    assertEquals((await loadDataset("tiny", { root })).table("prices").height, 4);
    // a row without a ticker
    await tinyWith(
      root,
      tinyPrices().withColumns(
        pl.Series("ticker", ["AAA", "AAA", null, "BBB", "BBB", "BBB"], pl.Utf8),
      ),
    );
    await rejectsWith(
      () => loadDataset("tiny", { root }),
      `${at}: row 3 has no ticker: every row needs a ticker and a date`,
    );
  });
});

Deno.test("the other tables follow their value rules too (market values, insider counts)", () => {
  const market = pl.DataFrame([
    dateSeries("date", ["2020-01-02", "2020-01-03", "2020-01-02"]),
    pl.Series("series", ["DJIA", "DJIA", "1year"], pl.Utf8),
    pl.Series("value", [-0.5, NaN, 1.2], pl.Float64),
  ]);
  // The error's name and message, as String(error) gives them.
  assertMatch(
    String(assertThrows(() => checkTableValues("m", "market", market, "m/market.parquet"))),
    new RegExp(
      '^DatasetError: Dataset "m" table "market" in "m/market.parquet": value of "DJIA" on ' +
        "2020-01-03 \\(row 2\\) is NaN: expected a finite number$",
    ),
  );
  const insider = pl.DataFrame([
    pl.Series("ticker", ["AAA", "AAA"], pl.Utf8),
    dateSeries("date", ["2020-01-02", "2020-01-03"]),
    pl.Series("acquisition", [10, null], pl.Float64),
    pl.Series("disposal", [0, -3], pl.Float64),
  ]);
  assertMatch(
    assertThrows(() => checkTableValues("i", "insider", insider, "i.parquet")).message,
    /disposal of "AAA" on 2020-01-03 \(row 2\) is -3: expected a finite number ≥ 0$/,
  );
  // negative yields and null fundamentals are data, not errors
  checkTableValues("m", "market", market.filter(pl.col("value").isFinite()), "m.parquet");
});

Deno.test("writeDataset refuses wrong values and leaves nothing behind", async () => {
  await withRoot(async (root) => {
    await assertRejects(
      () =>
        writeDataset(join(root, "tiny"), tinyManifest(), {
          prices: tinyPrices([1, 2, 3, 4, 5, -1]),
        }),
      Error,
      'close of "BBB" on 2020-01-06 (row 6) is -1: expected a finite number > 0',
    );
    assertEquals([...Deno.readDirSync(root)], []);
  });
});

Deno.test("a corrupt or truncated table file is named in the error", async () => {
  await withRoot(async (root) => {
    const dir = await tinyWith(root, tinyPrices());
    const file = tablePath(dir, "prices");
    const bytes = await Deno.readFile(file);
    await Deno.writeFile(file, bytes.slice(0, bytes.length >> 1));
    const e = await loadDataset("tiny", { root }).catch((e) => e);
    assert(e instanceof DatasetError, String(e));
    assertMatch(
      e.message,
      new RegExp(`^Dataset "tiny" table "prices" cannot be read from "${file}": \\S`),
    );
    assertEquals(e.message.split("\n").length, 1, "one line");
    await Deno.writeFile(file, new TextEncoder().encode("PAR1 not a parquet file PAR1"));
    const unreadable = await assertRejects(() => loadDatasetFolder(dir));
    assertStringIncludes(unreadable.message, file);
  });
});

Deno.test("priceSeries: every ticker's own closes by date, in the order asked, from one pass", async () => {
  const ds = await loadDataset("synth-small");
  const prices = ds.table("prices");
  // Unsorted, and a ticker asked twice: each gets exactly its rows, as a filter of it alone gives.
  const asked = ["SYN07", "SYN01", "SYN24", "SYN07", "SYN12"];
  const got = priceSeries(ds, asked);
  assertEquals([...got.keys()], ["SYN07", "SYN01", "SYN24", "SYN12"]);
  for (const t of new Set(asked)) {
    const rows = prices.filter(pl.col("ticker").eq(pl.lit(t))).sort("date");
    assertEquals(got.get(t)!.dates, isoDates(rows.getColumn("date")));
    assertEquals(Array.from(got.get(t)!.close), rows.getColumn("close").toArray());
    assert(got.get(t)!.dates.length > 2000, t);
  }
});

Deno.test("a released table is scanned from its file and read again whole, unchanged", async () => {
  const ds = await loadDataset("synth-small");
  const held = ds.table("prices");
  const asked = ["SYN03", "SYN01"];
  const before = priceSeries(ds, asked);
  for (const t of ds.manifest.tables) ds.release(t);
  // The backtest's series come from a lazy scan of the file, the same as from the held table.
  assertEquals(priceSeries(ds, asked), before);
  assertEquals(ds.scan("prices").select("ticker").collectSync().height, held.height);
  // A stage that asks for the table whole after the release gets it read again.
  const again = ds.table("prices");
  assertEquals(again.height, held.height);
  assert(again.frameEqual(held));
  assertThrows(() => ds.scan("news"), MissingTableError);
});

Deno.test("sortedByTickerDay: a frame in (ticker, day) order as it is, any other sorted", () => {
  const frame = (ticker: (string | null)[], day: (number | null)[]) =>
    pl.DataFrame([pl.Series("ticker", ticker, pl.Utf8), pl.Series("day", day, pl.Int32)]);
  const sorted = frame(["A", "A", "B", "C", "C"], [1, 2, 1, 0, 5]);
  assert(sortedByTickerDay(sorted, "day") === sorted);
  assert(sortedByTickerDay(frame([], []), "day").height === 0);
  for (
    const [ticker, day] of [
      [["B", "A", "C"], [1, 2, 3]], // tickers out of order
      [["A", "A", "B"], [2, 1, 3]], // days out of order within a ticker
      [["A", "A", "B"], [1, 1, 3]], // a repeated key
      [["A", null, "B"], [1, 2, 3]], // a null ticker
      [["A", "B", "B"], [1, null, 3]], // a null day
    ] as [(string | null)[], (number | null)[]][]
  ) {
    const df = frame(ticker, day);
    assert(
      sortedByTickerDay(df, "day").frameEqual(df.sort(["ticker", "day"]), true),
      ticker.join(),
    );
  }
});

Deno.test("isoDates: Date columns (before 1970, leap days, nulls), Datetime columns, and refusals", () => {
  const days = ["1969-12-31", "2000-02-29", "2024-12-31", "1970-01-01", "2000-02-29"];
  assertEquals(isoDates(dateSeries("d", days)), days);
  const withNull = pl.Series("d", ["2020-01-02", null, "1950-06-01"], pl.Utf8)
    .str.strptime(pl.Date, "%Y-%m-%d");
  assertEquals(isoDates(withNull), ["2020-01-02", null, "1950-06-01"]);
  const stamps = pl.Series("t", [new Date("2021-03-04T15:00:00Z")], pl.Datetime("ms"));
  assertEquals(isoDates(stamps), ["2021-03-04"]);
  assertThrows(() => isoDates(pl.Series("n", [1, 2], pl.Float64)), TypeError, 'column "n"');
});
