import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import {
  checkTableSchema,
  DatasetError,
  dateSeries,
  isoDates,
  loadDataset,
  type Manifest,
  MissingTableError,
  writeDataset,
} from "../src/data/dataset.ts";
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
    assert.equal(ds.has("prices"), true);
    assert.equal(ds.has("market"), false);
    const p = ds.table("prices");
    assert.equal(p.height, 6);
    assert.deepEqual(isoDates(p.getColumn("date")).slice(0, 2), ["2020-01-02", "2020-01-03"]);
    // a path works as well as a name, and no temporary folder is left behind
    const byPath = await loadDataset(join(root, "tiny"));
    assert.equal(await byPath.fingerprint(), await ds.fingerprint());
    const left = [...Deno.readDirSync(root)].map((e) => e.name);
    assert.deepEqual(left, ["tiny"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function assertEquals<T>(a: T, b: T): void {
  assert.deepEqual(a, b);
}

Deno.test("MissingTableError names dataset and table", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(join(root, "tiny"), tinyManifest(), { prices: tinyPrices() });
    const ds = await loadDataset("tiny", { root });
    assert.throws(() => ds.table("insider"), (e: Error) => {
      assert.ok(e instanceof MissingTableError);
      assert.equal(e.message, 'Dataset "tiny" has no "insider" table');
      assert.equal(e.dataset, "tiny");
      assert.equal(e.tableName, "insider");
      return true;
    });
    assert.equal(
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
    await assert.rejects(() => loadDataset("tiny", { root }), (e: Error) => {
      assert.ok(e instanceof DatasetError);
      assert.match(
        e.message,
        /Dataset "tiny" lists table "prices" but ".*prices\.parquet" is missing/,
      );
      return true;
    });
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
    await assert.rejects(() => loadDataset("tiny", { root }), (e: Error) => {
      assert.ok(e instanceof DatasetError);
      assert.equal(
        e.message,
        'Dataset "tiny" table "prices" column "close" has dtype "String": expected Float64',
      );
      assert.equal(e.column, "close");
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing required column is named with what the table has", () => {
  const df = tinyPrices().drop("close");
  assert.throws(() => checkTableSchema("x", "prices", df.schema), (e: Error) => {
    assert.match(
      e.message,
      /Dataset "x" table "prices" has no column "close": expected Float64; it has "date", "ticker"/,
    );
    return true;
  });
  // optional columns may be absent but must have the right dtype when present
  const withVolume = tinyPrices().withColumns(pl.lit("many").alias("volume"));
  assert.throws(
    () => checkTableSchema("x", "prices", withVolume.schema),
    /column "volume" has dtype "String"/,
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
    await assert.rejects(
      () => loadDataset("tiny", { root }),
      /manifest ".*manifest\.json" is invalid: licence:/,
    );
    await Deno.writeTextFile(file, "{not json");
    await assert.rejects(() => loadDataset("tiny", { root }), /is not valid JSON/);
    await Deno.remove(file);
    await assert.rejects(() => loadDataset("tiny", { root }), /Dataset "tiny" has no manifest/);
    await assert.rejects(
      () => loadDataset("nope", { root }),
      /Dataset "nope" not found: .*datasets in/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeDataset refuses tables that disagree with the manifest and leaves nothing behind", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () =>
        writeDataset(join(root, "bad"), tinyManifest({ tables: ["prices", "market"] }), {
          prices: tinyPrices(),
        }),
      /lists tables \["prices","market"\] but \["prices"\] were given/,
    );
    await assert.rejects(
      () =>
        writeDataset(join(root, "bad"), tinyManifest(), { prices: tinyPrices().drop("ticker") }),
      /has no column "ticker"/,
    );
    assert.deepEqual([...Deno.readDirSync(root)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fingerprint is stable and changes when a table or the manifest changes", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "tiny");
    await writeDataset(dir, tinyManifest(), { prices: tinyPrices() });
    const a = await (await loadDataset(dir)).fingerprint();
    assert.match(a, /^[0-9a-f]{64}$/);
    await writeDataset(dir, tinyManifest(), { prices: tinyPrices() });
    assert.equal(await (await loadDataset(dir)).fingerprint(), a);
    await writeDataset(dir, tinyManifest(), { prices: tinyPrices([1, 2, 3, 4, 5, 6.01]) });
    const b = await (await loadDataset(dir)).fingerprint();
    assert.notEqual(b, a);
    await writeDataset(dir, tinyManifest({ description: "changed" }), { prices: tinyPrices() });
    const c = await (await loadDataset(dir)).fingerprint();
    assert.notEqual(c, a);
    assert.notEqual(c, b);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dow30-1991-2000: 30 tickers, the decade, DJIA, honest manifest", async () => {
  const ds = await loadDataset("dow30-1991-2000");
  const m = ds.manifest;
  assert.equal(m.tickers.length, 30);
  assert.equal(m.synthetic, false);
  assert.deepEqual(m.tables, ["prices", "market"]);
  assert.equal(m.index, "DJIA");
  assert.equal(m.riskFree, "1year");
  assert.ok(m.warnings.some((w) => /survivorship/i.test(w)));
  assert.ok(m.warnings.some((w) => /volume/.test(w) && /sentiment/.test(w) && /BZ=F/.test(w)));
  for (
    const s of ["DJIA", "NYSE", "1year", "3year", "5year", "10year", "WTI", "gdp", "cpi", "unemp"]
  ) {
    assert.ok(m.series.some((x) => x.name === s), `series ${s}`);
  }
  const prices = ds.table("prices");
  assert.deepEqual(
    [...new Set(prices.getColumn("ticker").toArray() as string[])].sort(),
    m.tickers,
  );
  const dates = isoDates(prices.getColumn("date")) as string[];
  const sorted = [...new Set(dates)].sort();
  assert.equal(sorted[0], "1991-01-02");
  assert.equal(sorted[sorted.length - 1], "2000-12-29");
  assert.equal(prices.height, 30 * sorted.length);
  assert.ok((prices.getColumn("close").min() as number) > 0);

  const market = ds.table("market");
  const mDates = isoDates(market.getColumn("date")) as string[];
  const series = market.getColumn("series").toArray() as string[];
  const calendar = new Set(sorted);
  const djiaDates = mDates.filter((_, i) => series[i] === "DJIA");
  assert.equal(djiaDates.length, sorted.length);
  assert.ok(djiaDates.every((d) => calendar.has(d)), "DJIA only on trading days");
  // No value dated before it was known: monthly values at the month's last day, quarterly macro
  // no earlier than one month after the quarter's end.
  for (let i = 0; i < mDates.length; i++) {
    const info = m.series.find((s) => s.name === series[i])!;
    const d = new Date(mDates[i] + "T00:00:00Z");
    if (info.frequency === "monthly") {
      const next = new Date(d.getTime() + 86400000);
      assert.equal(next.getUTCDate(), 1, `${series[i]} ${mDates[i]} is a month end`);
    }
    if (info.frequency === "quarterly") {
      const month = d.getUTCMonth() + 1; // 1, 4, 7, 10: one month after a quarter's end
      assert.equal(month % 3, 1, `${series[i]} ${mDates[i]} is dated after the publication lag`);
    }
  }
  assert.equal(quarterKnownDate("1991Q1", 1), "1991-04-30");
  assert.equal(quarterKnownDate("1999Q4", 1), "2000-01-31");
  assert.ok(mDates.every((d) => d <= m.to));
});
