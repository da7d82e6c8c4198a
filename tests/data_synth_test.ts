import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "./assert.ts";
import { join } from "node:path";
import type pl from "nodejs-polars";
import { isoDates, loadDataset, loadDatasetFolder, TABLE_NAMES } from "../src/data/dataset.ts";
import {
  generateSynthetic,
  PLANTED_FEATURES,
  SYNTH_FEATURE_NAMES,
  SYNTH_SERIES,
  syntheticCalendar,
  SynthRng,
  writeSynthetic,
} from "../src/data/synth.ts";
import { dataCommand } from "../src/cli/data.ts";
import { pearson as corePearson, quarterOf } from "@alfred/core";

const PARAMS = { seed: 11, tickers: 12, from: "2004-01-01", to: "2011-12-31", signal: 1 };

/** `@alfred/core`'s Pearson correlation, which must exist (a constant series has none). */
function pearson(x: number[], y: number[]): number {
  const r = corePearson(x, y);
  assert(r !== null, "a correlation of a constant series");
  return r;
}

/** Per ticker: ISO dates and closes, in date order. */
function closesByTicker(prices: pl.DataFrame): Map<string, { dates: string[]; close: number[] }> {
  const out = new Map<string, { dates: string[]; close: number[] }>();
  const t = prices.getColumn("ticker").toArray() as string[];
  const d = isoDates(prices.getColumn("date")) as string[];
  const c = prices.getColumn("close").toArray() as number[];
  for (let i = 0; i < t.length; i++) {
    if (!out.has(t[i])) out.set(t[i], { dates: [], close: [] });
    out.get(t[i])!.dates.push(d[i]);
    out.get(t[i])!.close.push(c[i]);
  }
  return out;
}

/** Next-quarter return per (ticker, quarter), demeaned across tickers per quarter. */
function nextQuarterExcess(prices: pl.DataFrame): Map<string, number> {
  const lastClose = new Map<string, Map<string, number>>();
  for (const [t, s] of closesByTicker(prices)) {
    const m = new Map<string, number>();
    s.dates.forEach((d, i) => m.set(quarterOf(d), s.close[i]));
    lastClose.set(t, m);
  }
  const quarters = [...lastClose.values().next().value!.keys()];
  const out = new Map<string, number>();
  for (let k = 0; k + 1 < quarters.length; k++) {
    const r = [...lastClose].map(([t, m]) =>
      [t, m.get(quarters[k + 1])! / m.get(quarters[k])! - 1] as const
    );
    const mean = r.reduce((s, [, v]) => s + v, 0) / r.length;
    for (const [t, v] of r) out.set(`${t}|${quarters[k]}`, v - mean);
  }
  return out;
}

Deno.test("SynthRng is deterministic and its draws have the right moments", () => {
  const a = new SynthRng(5), b = new SynthRng(5), c = new SynthRng(6);
  const xa = Array.from({ length: 5 }, () => a.uint32());
  assertEquals(xa, Array.from({ length: 5 }, () => b.uint32()));
  assertNotEquals(xa, Array.from({ length: 5 }, () => c.uint32()));
  const r = new SynthRng(1);
  const t = Array.from({ length: 40000 }, () => r.studentT(5));
  const mean = t.reduce((s, v) => s + v, 0) / t.length;
  const v = t.reduce((s, x) => s + (x - mean) ** 2, 0) / t.length;
  const k = t.reduce((s, x) => s + (x - mean) ** 4, 0) / t.length / v ** 2;
  assert(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert(Math.abs(v - 1) < 0.08, `variance ${v}`);
  assert(k > 4, `kurtosis of t(5) is 9 in theory, got ${k}`);
});

Deno.test("synthetic calendar skips weekends and fixed holidays", () => {
  const d = syntheticCalendar("2004-12-23", "2005-01-04");
  assertEquals(d, [
    "2004-12-23",
    "2004-12-24",
    "2004-12-27",
    "2004-12-28",
    "2004-12-29",
    "2004-12-30",
    "2004-12-31",
    "2005-01-03",
    "2005-01-04",
  ]);
  assertThrows(
    () => syntheticCalendar("2004-02-30", "2005-01-01"),
    Error,
    'Invalid from date "2004-02-30"',
  );
});

Deno.test("same seed gives the same fingerprint, another seed another", async () => {
  const root = await Deno.makeTempDir();
  try {
    const small = { ...PARAMS, tickers: 4, from: "2010-01-01", to: "2011-06-30", newsSignal: 1 };
    await writeSynthetic(join(root, "a"), small);
    await writeSynthetic(join(root, "b"), small);
    await writeSynthetic(join(root, "c"), { ...small, seed: 12 });
    const fa = await (await loadDatasetFolder(join(root, "a"))).fingerprint();
    const fb = await (await loadDatasetFolder(join(root, "b"))).fingerprint();
    const fc = await (await loadDatasetFolder(join(root, "c"))).fingerprint();
    assertEquals(fa, fb);
    assertNotEquals(fa, fc);
    // With listings and delistings too: every table, the universe included, is byte-identical.
    await writeSynthetic(join(root, "d"), { ...small, turnover: 0.5 });
    await writeSynthetic(join(root, "e"), { ...small, turnover: 0.5 });
    for (const [p, q] of [["a", "b"], ["d", "e"]]) {
      const { tables } = (await loadDatasetFolder(join(root, p))).manifest;
      assertEquals(tables.includes("universe"), p === "d");
      for (const t of tables) {
        const x = await Deno.readFile(join(root, p, `${t}.parquet`));
        const y = await Deno.readFile(join(root, q, `${t}.parquet`));
        assertEquals(x, y, `${t} byte-identical`);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synthetic manifest is honest and complete", () => {
  const { manifest: m, tables } = generateSynthetic({
    ...PARAMS,
    tickers: 3,
    to: "2004-12-31",
    newsSignal: 1,
  });
  assertEquals(m.synthetic, true);
  assert(m.warnings.some((w) => w.startsWith("synthetic data")));
  assertEquals(m.tables, TABLE_NAMES.filter((t) => t !== "universe"));
  assertEquals(m.tickers, ["SYN01", "SYN02", "SYN03"]);
  assertEquals(m.index, "SPY");
  assertEquals(m.riskFree, "2year");
  assertEquals(m.series.map((s) => s.name), [...SYNTH_SERIES]);
  const planted = (m.generator!.planted as { feature: string }[]).map((p) => p.feature);
  assertEquals(planted, PLANTED_FEATURES.map((p) => p.feature));
  for (const f of planted) assert(SYNTH_FEATURE_NAMES.includes(f), f);
  const noise = m.generator!.noiseFeatures as string[];
  assert(noise.includes("Margin_Gross") && !noise.includes("surprisePercentage"));
  const market = tables.market;
  assertEquals(
    [...new Set(market.getColumn("series").toArray() as string[])].sort(),
    [...SYNTH_SERIES].sort(),
  );
  // every report is released after its fiscal quarter's end, within the following quarter
  const f = tables.fundamentals;
  const rd = isoDates(f.getColumn("report_date")) as string[];
  const fe = isoDates(f.getColumn("fiscal_date_ending")) as string[];
  rd.forEach((r, i) => {
    assert(r > fe[i]);
    const days = (Date.parse(r) - Date.parse(fe[i])) / 86400000;
    assert(days >= 14 && days <= 60, `report ${r} for ${fe[i]}`);
  });
  assertThrows(() => generateSynthetic({ ...PARAMS, signal: -1 }), Error, 'Invalid signal "-1"');
  assertThrows(() => generateSynthetic({ ...PARAMS, tickers: 1 }), Error, 'Invalid tickers "1"');
  assertThrows(
    () => generateSynthetic({ ...PARAMS, tickers: 10_001 }),
    Error,
    'Invalid tickers "10001": expected an integer from 2 to 10000',
  );
});

Deno.test("synthetic prices: fat tails, factor correlation, and a planted signal that is realized next quarter", () => {
  const { tables, plantedScores } = generateSynthetic(PARAMS);
  const series = closesByTicker(tables.prices);
  // fat tails: pooled standardized daily log returns
  const rets: number[][] = [];
  for (const { close } of series.values()) {
    const r = close.slice(1).map((c, i) => Math.log(c / close[i]));
    rets.push(r);
  }
  const pooled: number[] = [];
  for (const r of rets) {
    const m = r.reduce((s, v) => s + v, 0) / r.length;
    const sd = Math.sqrt(r.reduce((s, v) => s + (v - m) ** 2, 0) / r.length);
    pooled.push(...r.map((v) => (v - m) / sd));
  }
  const kurt = pooled.reduce((s, v) => s + v ** 4, 0) / pooled.length;
  assert(kurt > 4, `kurtosis ${kurt} > 3`);
  // cross-sectional correlation through market and sector factors
  let sum = 0, pairs = 0;
  for (let i = 0; i < rets.length; i++) {
    for (let j = i + 1; j < rets.length; j++) {
      sum += pearson(rets[i], rets[j]);
      pairs++;
    }
  }
  assert(sum / pairs > 0.1, `mean pairwise correlation ${sum / pairs}`);

  // planted signal: the generator's score and the observable surprisePercentage both predict the
  // next quarter's excess return; a noise column does not
  const excess = nextQuarterExcess(tables.prices);
  const sx: number[] = [], sy: number[] = [];
  for (const p of plantedScores) {
    const e = excess.get(`${p.ticker}|${p.quarter}`);
    if (e !== undefined) {
      sx.push(p.score);
      sy.push(e);
    }
  }
  const scoreCorr = pearson(sx, sy);
  assert(scoreCorr > 0.3, `planted score vs next-quarter excess return ${scoreCorr}`);
  const f = tables.fundamentals;
  const ft = f.getColumn("ticker").toArray() as string[];
  const fq = (isoDates(f.getColumn("report_date")) as string[]).map(quarterOf);
  const sp = f.getColumn("surprise_percentage").toArray() as number[];
  const gross = f.getColumn("margin_gross").toArray() as number[];
  const px: number[] = [], py: number[] = [], gx: number[] = [];
  ft.forEach((t, i) => {
    const e = excess.get(`${t}|${fq[i]}`);
    if (e === undefined) return;
    px.push(sp[i]);
    gx.push(gross[i]);
    py.push(e);
  });
  const spCorr = pearson(px, py);
  const grossCorr = pearson(gx, py);
  assert(spCorr > 0.1, `surprisePercentage vs next-quarter excess return ${spCorr}`);
  assert(Math.abs(grossCorr) < spCorr, `noise Margin_Gross ${grossCorr} vs ${spCorr}`);
  // same-quarter return is not driven by this quarter's score (the drift starts next quarter)
  const sameQ = new Map<string, number>();
  for (const [k, v] of excess) {
    const [t, q] = k.split("|");
    const y = Number(q.slice(0, 4)), n = Number(q.slice(5));
    const next = n === 4 ? `${y + 1}Q1` : `${y}Q${n + 1}`;
    sameQ.set(`${t}|${next}`, v);
  }
  const cx: number[] = [], cy: number[] = [];
  for (const p of plantedScores) {
    const e = sameQ.get(`${p.ticker}|${p.quarter}`);
    if (e !== undefined) {
      cx.push(p.score);
      cy.push(e);
    }
  }
  assert(pearson(cx, cy) < scoreCorr / 2, `score vs the same quarter's return ${pearson(cx, cy)}`);
});

Deno.test("signal 0 plants nothing", () => {
  const { tables, plantedScores } = generateSynthetic({ ...PARAMS, signal: 0 });
  const excess = nextQuarterExcess(tables.prices);
  const x: number[] = [], y: number[] = [];
  for (const p of plantedScores) {
    const e = excess.get(`${p.ticker}|${p.quarter}`);
    if (e !== undefined) {
      x.push(p.score);
      y.push(e);
    }
  }
  assert(Math.abs(pearson(x, y)) < 0.15, `correlation without signal ${pearson(x, y)}`);
});

Deno.test("data synth command writes a loadable dataset and refuses bad arguments", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = join(root, "synth-cli");
    const code = await dataCommand([
      "synth",
      "--seed",
      "3",
      "--tickers",
      "3",
      "--from",
      "2010-01-01",
      "--to",
      "2010-12-31",
      "--signal",
      "0.5",
      "--out",
      out,
    ]);
    assertEquals(code, 0);
    const ds = await loadDatasetFolder(out);
    assertEquals(ds.manifest.synthetic, true);
    assertEquals(ds.manifest.generator!.signal, 0.5);
    assertEquals(await dataCommand(["synth", "--seed", "x", "--out", out]), 2);
    assertEquals(await dataCommand(["bogus"]), 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the committed synth-small is exactly what its manifest's parameters generate", async () => {
  const committed = await loadDataset("synth-small");
  const g = committed.manifest.generator as Record<string, number | string>;
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "synth-small");
    await writeSynthetic(dir, {
      seed: g.seed as number,
      tickers: g.tickers as number,
      from: g.from as string,
      to: g.to as string,
      signal: g.signal as number,
      sectors: g.sectors as number,
      tailDf: g.tailDf as number,
      name: committed.manifest.name,
    });
    assertEquals(
      await (await loadDatasetFolder(dir)).fingerprint(),
      await committed.fingerprint(),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prices come out in (ticker, date) order without a sort: ticker-major typed columns", () => {
  // Three-digit names (SYN001...) and a year of days; the generator relies on this order.
  const { tables } = generateSynthetic({
    seed: 5,
    tickers: 120,
    from: "2011-01-01",
    to: "2011-12-31",
    signal: 1,
  });
  const prices = tables.prices;
  assert(prices.frameEqual(prices.sort(["ticker", "date"])));
  const tickers = prices.getColumn("ticker").toArray() as string[];
  assertEquals([tickers[0], tickers.at(-1)], ["SYN001", "SYN120"]);
  assertEquals(prices.height, 120 * new Set(isoDates(prices.getColumn("date"))).size);
});

Deno.test("a synthetic dataset written a batch of tickers at a time equals the one written whole", async () => {
  const root = await Deno.makeTempDir();
  try {
    const base = { seed: 3, tickers: 7, from: "2010-01-01", to: "2011-12-31", signal: 1 };
    // Every path: plain, and with listings, the temporal shape and news (cut to listed spells).
    for (const params of [base, { ...base, turnover: 0.4, shapeSignal: 2, newsSignal: 1 }]) {
      const whole = join(root, "whole"), batched = join(root, "batched");
      const manifest = await writeSynthetic(whole, params);
      // 3 does not divide 7: the last batch is short.
      assertEquals(await writeSynthetic(batched, params, { batchTickers: 3 }), manifest);
      const a = await loadDatasetFolder(whole), b = await loadDatasetFolder(batched);
      assertEquals(b.manifest, a.manifest);
      for (const t of a.manifest.tables) {
        assert(b.table(t).frameEqual(a.table(t)), `table ${t} differs`);
      }
      // No scratch file or part folder is left beside or in the dataset.
      assertEquals(
        [...Deno.readDirSync(root)].map((e) => e.name).sort(),
        ["batched", "whole"],
      );
      assertEquals(
        [...Deno.readDirSync(batched)].map((e) => e.name).sort(),
        ["manifest.json", ...a.manifest.tables.map((t) => `${t}.parquet`)].sort(),
      );
      await Deno.remove(whole, { recursive: true });
      await Deno.remove(batched, { recursive: true });
    }
    await assertRejects(
      () => writeSynthetic(join(root, "x"), base, { batchTickers: 0 }),
      RangeError,
      'Invalid batchTickers "0"',
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
