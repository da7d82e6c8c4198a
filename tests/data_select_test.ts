import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "./assert.ts";
import { join } from "node:path";
import pl from "nodejs-polars";
import type { DataConfig } from "../src/config/schema.ts";
import {
  type Dataset,
  dateSeries,
  loadDataset,
  loadDatasetFolder,
  writeDataset,
} from "../src/data/dataset.ts";
import { continuousTickers, scanContinuity } from "../src/data/scan.ts";
import {
  closeMatches,
  resolveTickers,
  returnCorrelations,
  selectUncorrelated,
  TickerSelectionError,
} from "../src/data/select.ts";
import { SynthRng } from "../src/data/synth.ts";
import { scanCommand } from "../src/cli/scan.ts";

/** Weekdays from 2020-01-01. */
function weekdays(n: number): string[] {
  const out: string[] = [];
  for (let t = Date.UTC(2020, 0, 1); out.length < n; t += 86400000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

const DAYS = weekdays(300);
const TRAIN_END = DAYS[199];

/**
 * A small universe: A, B, C follow factor 1; D, E factor 2; F factor 3; G and H are independent
 * until TRAIN_END and follow factor 1 after it. GAP misses 10 days, LATE starts on day 50, EARLY
 * stops on day 250.
 */
function universe(): { dates: string[]; tickers: string[]; closes: number[] }[] {
  const rng = new SynthRng(99);
  const f = [0, 1, 2].map(() => DAYS.map(() => rng.normal() * 0.01));
  const load: Record<string, (d: number) => number[]> = {
    A: () => [1, 0, 0],
    B: () => [0.9, 0, 0],
    C: () => [0.8, 0.1, 0],
    D: () => [0, 1, 0],
    E: () => [0.1, 0.9, 0],
    F: () => [0, 0, 1],
    G: (d) => (d < 200 ? [0, 0, 0] : [1.2, 0, 0]),
    H: (d) => (d < 200 ? [0, 0, 0.1] : [1.2, 0, 0]),
    GAP: () => [0.3, 0.3, 0.3],
    LATE: () => [0.5, 0, 0.5],
    EARLY: () => [0, 0.5, 0.5],
  };
  return Object.entries(load).map(([t, l]) => {
    let p = 50;
    const dates: string[] = [], closes: number[] = [];
    DAYS.forEach((date, d) => {
      const w = l(d);
      p *= Math.exp(w[0] * f[0][d] + w[1] * f[1][d] + w[2] * f[2][d] + 0.004 * rng.normal());
      if (t === "GAP" && d >= 100 && d < 110) return;
      if (t === "LATE" && d < 50) return;
      if (t === "EARLY" && d > 250) return;
      dates.push(date);
      closes.push(Math.round(p * 100) / 100);
    });
    return { dates, tickers: dates.map(() => t), closes };
  });
}

async function universeDataset(root: string): Promise<Dataset> {
  const u = universe();
  const prices = pl.DataFrame([
    dateSeries("date", u.flatMap((x) => x.dates)),
    pl.Series("ticker", u.flatMap((x) => x.tickers), pl.Utf8),
    pl.Series("close", u.flatMap((x) => x.closes), pl.Float64),
  ]);
  await writeDataset(join(root, "small"), {
    name: "small",
    description: "test universe",
    synthetic: true,
    provenance: "tests/data_select_test.ts",
    licence: "CC0",
    warnings: ["synthetic data"],
    tables: ["prices"],
    tickers: u.map((x) => x.tickers[0]).sort(),
    from: DAYS[0],
    to: DAYS[DAYS.length - 1],
    index: null,
    riskFree: null,
    series: [],
  }, { prices });
  return await loadDatasetFolder(join(root, "small"));
}

/** Brute force: every candidate's max |corr| to the picked set recomputed from scratch each step. */
function bruteForce(
  corr: number[][],
  names: string[],
  start: string,
  count: number,
  exclude: Set<string>,
) {
  const picked = [start];
  while (picked.length < count) {
    const scored = names
      .filter((n) => !picked.includes(n) && !exclude.has(n))
      .map((n) => ({
        n,
        s: Math.max(...picked.map((p) => {
          const v = corr[names.indexOf(n)][names.indexOf(p)];
          return Number.isFinite(v) ? Math.abs(v) : 1;
        })),
      }));
    // every order of the candidates must agree on the minimum (score, then name)
    scored.sort((a, b) => a.s - b.s || (a.n < b.n ? -1 : 1));
    picked.push(scored[0].n);
  }
  return picked;
}

/** Pearson correlation of daily log returns computed straightforwardly from per-ticker closes. */
function naiveCorr(u: ReturnType<typeof universe>, a: string, b: string, to: string): number {
  const series = (t: string) => {
    const x = u.find((s) => s.tickers[0] === t)!;
    const m = new Map<string, number>();
    x.dates.forEach((d, i) => m.set(d, x.closes[i]));
    return m;
  };
  const sa = series(a), sb = series(b);
  const ra: number[] = [], rb: number[] = [];
  for (let k = 1; k < DAYS.length; k++) {
    const d0 = DAYS[k - 1], d1 = DAYS[k];
    if (d1 > to) break;
    if (sa.has(d0) && sa.has(d1) && sb.has(d0) && sb.has(d1)) {
      ra.push(Math.log(sa.get(d1)! / sa.get(d0)!));
      rb.push(Math.log(sb.get(d1)! / sb.get(d0)!));
    }
  }
  const ma = ra.reduce((s, v) => s + v, 0) / ra.length;
  const mb = rb.reduce((s, v) => s + v, 0) / rb.length;
  let sab = 0, saa = 0, sbb = 0;
  ra.forEach((v, i) => {
    sab += (v - ma) * (rb[i] - mb);
    saa += (v - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  });
  return sab / Math.sqrt(saa * sbb);
}

function config(train: DataConfig["train_tickers"], evalT: DataConfig["eval_tickers"]): DataConfig {
  return { dataset: "small", train_tickers: train, eval_tickers: evalT };
}

Deno.test("selectUncorrelated matches a brute-force pick on random matrices", () => {
  const rng = new SynthRng(3);
  for (let trial = 0; trial < 40; trial++) {
    const n = 7;
    const names = ["T6", "T0", "T3", "T1", "T5", "T2", "T4"]; // unsorted on purpose
    const corr = Array.from({ length: n }, () => new Array(n).fill(1));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        // coarse values make ties common, so the name tie-break is exercised
        corr[i][j] = corr[j][i] = trial % 10 === 9 && i === 0
          ? NaN
          : Math.round(rng.uniform(-1, 1) * 4) / 4;
      }
    }
    const exclude = trial % 3 === 0 ? new Set(["T4"]) : new Set<string>();
    for (const start of names.filter((x) => !exclude.has(x))) {
      for (let count = 1; count <= n - exclude.size; count++) {
        const got = selectUncorrelated(corr, names, start, count, exclude);
        assertEquals(got.picked, bruteForce(corr, names, start, count, exclude));
        // The same pick from correlations given on demand, reading only picked tickers' entries.
        const read = new Set<string>();
        const lazy = selectUncorrelated(
          (i, j) => {
            read.add(`${Math.min(i, j)},${Math.max(i, j)}`);
            return corr[i][j];
          },
          names,
          start,
          count,
          exclude,
        );
        assertEquals(lazy, got);
        const pickedAt = new Set(got.picked.map((p) => names.indexOf(p)));
        for (const key of read) {
          const [i, j] = key.split(",").map(Number);
          assert(pickedAt.has(i) || pickedAt.has(j), `read (${i}, ${j}): neither was picked`);
        }
        assertEquals(got.maxAbsCorrelation[0], 0);
        assert(!got.picked.some((p) => exclude.has(p)));
      }
    }
  }
});

Deno.test("selectUncorrelated: hand-worked example, ties by name, and its errors", () => {
  const corr = [
    [1, 0.9, 0.1, -0.5],
    [0.9, 1, 0.2, 0.1],
    [0.1, 0.2, 1, 0.3],
    [-0.5, 0.1, 0.3, 1],
  ];
  const r = selectUncorrelated(corr, ["A", "B", "C", "D"], "A", 3, new Set());
  // A; then C (0.1); then max(|B-A|, |B-C|) = 0.9 vs max(|D-A|, |D-C|) = 0.5 -> D
  assertEquals(r, { picked: ["A", "C", "D"], maxAbsCorrelation: [0, 0.1, 0.5] });
  const tie = [[1, 0.5, -0.5], [0.5, 1, 0], [-0.5, 0, 1]];
  assertEquals(selectUncorrelated(tie, ["X", "Z", "Y"], "X", 2, new Set()).picked, ["X", "Y"]);
  assertThrows(
    () => selectUncorrelated(corr, ["A", "B", "C", "D"], "Q", 2, new Set()),
    Error,
    'Unknown start ticker "Q"',
  );
  assertThrows(
    () => selectUncorrelated(corr, ["A", "B", "C", "D"], "A", 2, new Set(["A"])),
    Error,
    "is excluded",
  );
  assertThrows(
    () => selectUncorrelated(corr, ["A", "B", "C", "D"], "A", 4, new Set(["B"])),
    Error,
    "Cannot pick 4 tickers: expected 1 to 3",
  );
});

Deno.test("returnCorrelations matches a straightforward computation and ignores later dates", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await universeDataset(root);
    const u = universe();
    const names = ["A", "B", "G", "GAP", "LATE"];
    const { corr, period } = returnCorrelations(ds, names, DAYS[0], TRAIN_END);
    assertEquals(period, [DAYS[0], TRAIN_END]);
    for (let i = 0; i < names.length; i++) {
      for (let j = 0; j < names.length; j++) {
        const want = i === j ? 1 : naiveCorr(u, names[i], names[j], TRAIN_END);
        assert(
          Math.abs(corr[i][j] - want) < 1e-12,
          `${names[i]}-${names[j]} ${corr[i][j]} vs ${want}`,
        );
      }
    }
    assert(corr[0][1] > 0.8, "A and B share factor 1");
    assert(Math.abs(corr[0][2]) < 0.25, "G is independent of A before the training end");
    const later = returnCorrelations(ds, names, DAYS[0], DAYS[299]).corr;
    assert(later[0][2] > corr[0][2] + 0.2, "after the training end G follows factor 1");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveTickers: uncorrelated pick equals brute force over training returns only", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await universeDataset(root);
    const u = universe();
    const r = resolveTickers(
      ds,
      config({ select: "uncorrelated", start: "A", count: 4 }, { select: "rest" }),
      TRAIN_END,
    );
    const names = [...ds.manifest.tickers].sort();
    const corr = names.map((a) => names.map((b) => (a === b ? 1 : naiveCorr(u, a, b, TRAIN_END))));
    assertEquals(r.train, bruteForce(corr, names, "A", 4, new Set()));
    assert(!r.train.includes("B") && !r.train.includes("C"), `factor-1 names avoided: ${r.train}`);
    assertEquals(r.eval, names.filter((t) => !r.train.includes(t)));
    assertEquals(r.selection!.side, "train");
    assertEquals(r.selection!.picked, r.train);
    assertEquals(r.selection!.period[1], TRAIN_END);
    const s = r.selection!.correlationSummary;
    assert(s.min <= s.mean && s.mean <= s.max && s.max < 0.5, JSON.stringify(s));
    // with every date allowed, G and H correlate with A and the pick changes
    const late = resolveTickers(
      ds,
      config({ select: "uncorrelated", start: "A", count: 4 }, { select: "rest" }),
      DAYS[299],
    );
    assertNotEquals(late.train, r.train);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveTickers: eval picks exclude train, since filters, default start", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await universeDataset(root);
    const r = resolveTickers(
      ds,
      config({ select: "uncorrelated", start: "D", count: 3 }, {
        select: "uncorrelated",
        count: 5,
        since: DAYS[0],
      }),
      TRAIN_END,
    );
    assertEquals(r.selections.length, 2);
    assert(!r.eval.some((t) => r.train.includes(t)));
    assertEquals(r.eval.length, 5); // the 8 continuous tickers less the 3 train picks
    assertEquals(
      r.eval.length + r.train.filter((t) => !["GAP", "LATE", "EARLY"].includes(t)).length,
      8,
    );
    assert(!r.eval.includes("LATE") && !r.eval.includes("GAP") && !r.eval.includes("EARLY"));
    const noStart = resolveTickers(
      ds,
      config({ select: "uncorrelated", count: 2 }, ["A"]),
      TRAIN_END,
    );
    assertEquals(noStart.train.length, 2);
    assert(!noStart.train.includes("A"));
    assertEquals(noStart.selection!.start, noStart.train[0]);
    const all = resolveTickers(ds, config({ select: "all", since: DAYS[0] }, ["LATE"]), TRAIN_END);
    assertEquals(all.train, ["A", "B", "C", "D", "E", "F", "G", "H"]);
    assertEquals(all.selection, undefined);
    const rest = resolveTickers(ds, config({ select: "rest" }, ["A", "B"]), TRAIN_END);
    assertEquals(rest.train, ["C", "D", "E", "EARLY", "F", "G", "GAP", "H", "LATE"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveTickers: located errors for unknown, duplicated, shared and impossible tickers", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await universeDataset(root);
    const check = (c: DataConfig, path: string, re: RegExp) => {
      const e = assertThrows(() => resolveTickers(ds, c, TRAIN_END), TickerSelectionError);
      assertEquals(e.path, path);
      assertMatch(e.message, re);
    };
    check(
      config(["A", "GAPP"], ["B"]),
      "data.train_tickers[1]",
      /Unknown ticker "GAPP" in data.train_tickers\[1\]: close matches "GAP".*dataset "small" has "A", "B"/,
    );
    check(config(["A"], ["B", "B"]), "data.eval_tickers[1]", /listed twice/);
    check(
      config(["A", "B"], ["B"]),
      "data.eval_tickers",
      /Tickers "B" are in both .* must not share a ticker/,
    );
    // A by_time split separates the sides by period: its lists may share tickers.
    const shared = resolveTickers(ds, config(["A", "B"], ["B"]), TRAIN_END, { shareTickers: true });
    assertEquals([shared.train, shared.eval], [["A", "B"], ["B"]]);
    check(
      config({ select: "rest" }, { select: "rest" }),
      "data.train_tickers",
      /both \{select: rest\}/,
    );
    check(
      config({ select: "uncorrelated", start: "A" }, { select: "rest" }),
      "data.train_tickers.count",
      /needs count/,
    );
    check(
      config({ select: "uncorrelated", start: "A", count: 20 }, ["B"]),
      "data.train_tickers.count",
      /asks for 20 tickers but only 10 are available and not in data.eval_tickers/,
    );
    check(
      config(["A"], { select: "uncorrelated", start: "A", count: 2 }),
      "data.eval_tickers.start",
      /already in data.train_tickers/,
    );
    check(
      config({ select: "uncorrelated", start: "AA", count: 2 }, ["B"]),
      "data.train_tickers.start",
      /Unknown start ticker "AA".*close matches "A"/,
    );
    check(
      config({ select: "all", since: "2010-01-01" }, ["A"]),
      "data.train_tickers.since",
      /starts on 2020-01-01, after "2010-01-01"/,
    );
    check(
      config({ select: "rest", since: DAYS[0] }, { select: "all" }),
      "data.train_tickers",
      /resolved to no tickers/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("closeMatches finds near names, closest first", () => {
  assertEquals(closeMatches("APPL", ["AAPL", "MSFT", "APP", "AMZN"]), ["AAPL", "APP"]); // both one edit away: by name
  assertEquals(closeMatches("ibm", ["IBM", "IBMX"]), ["IBM", "IBMX"]);
  assertEquals(closeMatches("ZZZZZ", ["AAPL"]), []);
});

Deno.test("continuousTickers: gaps, late starts and early ends; scan command", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await universeDataset(root);
    assertEquals(continuousTickers(ds, DAYS[0]), ["A", "B", "C", "D", "E", "F", "G", "H"]);
    assertEquals(continuousTickers(ds, DAYS[0], { maxGap: 10 }), [
      "A",
      "B",
      "C",
      "D",
      "E",
      "F",
      "G",
      "GAP",
      "H",
    ]);
    assert(continuousTickers(ds, DAYS[60]).includes("LATE"));
    assert(continuousTickers(ds, DAYS[0], { until: DAYS[240], maxGap: 10 }).includes("EARLY"));
    const gap = scanContinuity(ds, DAYS[0]).find((t) => t.ticker === "GAP")!;
    assertEquals(gap.maxGap, 10);
    assertEquals(gap.days, 290);
    assertThrows(
      () => continuousTickers(ds, "2030-01-01"),
      Error,
      'has no prices from "2030-01-01"',
    );
    assertEquals(await scanCommand(["--dataset", join(root, "small"), "--since", DAYS[0]]), 0);
    assertEquals(await scanCommand(["--dataset", join(root, "small")]), 2);
    assertEquals(await scanCommand(["--dataset", join(root, "nope"), "--since", DAYS[0]]), 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dow30: every ticker is continuous over the decade and uncorrelated selection is deterministic", async () => {
  const ds = await loadDataset("dow30-1991-2000");
  assertEquals(continuousTickers(ds, "1991-01-01").length, 30);
  const c = config({ select: "uncorrelated", start: "IBM", count: 5 }, { select: "rest" });
  c.dataset = "dow30-1991-2000";
  const a = resolveTickers(ds, c, "1996-12-31");
  const b = resolveTickers(ds, c, "1996-12-31");
  assertEquals(a, b);
  assertEquals(a.train[0], "IBM");
  assertEquals(a.eval.length, 25);
});
