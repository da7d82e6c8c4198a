import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { type LabelConfig, SplitConfig } from "../src/config/schema.ts";
import { dayQuarter, isoToDay, quarterNumber } from "@alfred/core";
import { type Fold, SHARED_QUARTERS_WARNING, splitRows } from "../src/dataset/split.ts";
import { quarterlyFrame } from "./fixtures/features/quarterly_frame.ts";
import { rng } from "./synth_helpers.ts";

const TRAIN = ["AAA", "BBB", "CCC"];
const EVAL = ["DDD", "EEE"];
const TICKERS = { train: TRAIN, eval: EVAL };

function columns(q: ReturnType<typeof quarterlyFrame>) {
  return {
    ticker: q.frame.getColumn("ticker").toArray() as string[],
    qn: (q.frame.getColumn("quarter").toArray() as string[]).map(quarterNumber),
    date: q.frame.getColumn("date").toArray() as string[],
    labelDate: q.frame.getColumn("label_date").toArray() as string[],
  };
}

function assertDisjointSorted(f: Fold) {
  for (const rows of [f.train, f.validation, f.eval]) {
    assertEquals(rows, [...rows].sort((a, b) => a - b));
  }
  const all = [...f.train, ...f.validation, ...f.eval];
  assertEquals(new Set(all).size, all.length, "a row is in two parts of a fold");
}

Deno.test("ticker_and_time: no eval ticker or eval quarter reaches training, purge respected (property)", () => {
  const r = rng(42);
  for (let trial = 0; trial < 40; trial++) {
    const horizon = 1 + Math.floor(r() * 3);
    const q = quarterlyFrame([...TRAIN, ...EVAL], "1991Q1", "2000Q4", horizon, trial);
    const c = columns(q);
    const purge = horizon + Math.floor(r() * 3);
    const embargo = Math.floor(r() * 3);
    const evalFrom = r() < 0.3
      ? undefined
      : `${1996 + Math.floor(r() * 3)}-${["01-01", "04-01", "05-15"][trial % 3]}`;
    const label: LabelConfig = { mode: "direction", horizon };
    const split = SplitConfig.parse({
      purge,
      embargo,
      eval_from: evalFrom,
      validation_fraction: 0.1 + 0.3 * r(),
    });
    const folds = splitRows(q, split, label, TICKERS);
    assertEquals(folds.length, 1);
    const f = folds[0];
    assertEquals(f.name, "holdout");
    assertDisjointSorted(f);
    const from = evalFrom ?? f.evalPeriod[0].slice(0, 8) + "01";
    const e = dayQuarter(isoToDay(from));
    for (const i of [...f.train, ...f.validation]) {
      assert(TRAIN.includes(c.ticker[i]), `eval ticker ${c.ticker[i]} in training`);
      assert(c.labelDate[i] < from, `label ${c.labelDate[i]} known after eval start ${from}`);
      assert(c.qn[i] + purge + embargo < e, "purge/embargo gap violated");
      assert(c.qn[i] + horizon < e, "training label window overlaps the eval period");
    }
    for (const i of f.eval) {
      assert(EVAL.includes(c.ticker[i]));
      assert(c.date[i] >= from);
    }
    // Every eval-ticker row from eval_from on is evaluated.
    assertEquals(
      f.eval.length,
      c.ticker.filter((t, i) => EVAL.includes(t) && c.date[i] >= from).length,
    );
    // Validation: the latest training quarters, after a purge of `horizon` quarters.
    const maxTrain = Math.max(...f.train.map((i) => c.qn[i]));
    const minVal = Math.min(...f.validation.map((i) => c.qn[i]));
    assert(maxTrain + horizon < minVal);
    assert(f.validation.every((i) => TRAIN.includes(c.ticker[i])));
    assert(f.trainPeriod[1] < f.evalPeriod[0]);
    assertEquals(f.warnings, []);
  }
});

Deno.test("default eval_from is the quarter at 70% of the range; validation is the latest fraction", () => {
  const q = quarterlyFrame([...TRAIN, ...EVAL], "1991Q1", "2000Q4"); // 40 quarters
  const [f] = splitRows(q, SplitConfig.parse({}), { mode: "direction", horizon: 1 }, TICKERS);
  const c = columns(q);
  assertEquals(f.evalPeriod[0], "1998-03-31"); // quarter index 28 of 40 = 1998Q1
  assertEquals(f.evalPeriod[1], "2000-12-31");
  // Training side: 1991Q1..1997Q3 (purge 1 drops 1997Q4) = 27 quarters; validation: round(0.2 * 27) = 5.
  const valQuarters = [
    ...new Set(f.validation.map((i) => q.frame.getColumn("quarter").toArray()[i])),
  ];
  assertEquals(valQuarters, ["1996Q3", "1996Q4", "1997Q1", "1997Q2", "1997Q3"]);
  assertEquals(Math.max(...f.train.map((i) => c.qn[i])), quarterNumber("1996Q1"));
  assertEquals(f.trainPeriod, ["1991-03-31", "1997-09-30"]);
});

Deno.test("split errors: purge below the horizon, shared tickers, empty folds", () => {
  const q = quarterlyFrame([...TRAIN, ...EVAL], "1991Q1", "2000Q4", 2);
  const label: LabelConfig = { mode: "direction", horizon: 2 };
  assertThrows(
    () => splitRows(q, SplitConfig.parse({ purge: 1 }), label, TICKERS),
    Error,
    "purge 1 is below the label horizon 2",
  );
  assertThrows(
    () => splitRows(q, SplitConfig.parse({}), label, { train: TRAIN, eval: ["AAA", ...EVAL] }),
    Error,
    'needs disjoint train and eval tickers: both list "AAA"',
  );
  assertMatch(
    assertThrows(() => splitRows(q, SplitConfig.parse({ eval_from: "2005-01-01" }), label, TICKERS))
      .message,
    /Fold "holdout" of split "ticker_and_time" has no eval rows: eval starts "2005-01-01".*eval tickers "DDD", "EEE" have rows dated "1991-03-31" to "2000-12-31"/,
  );
  assertMatch(
    assertThrows(() => splitRows(q, SplitConfig.parse({ eval_from: "1991-04-01" }), label, TICKERS))
      .message,
    /has no training rows: .*train tickers "AAA", "BBB", "CCC" have rows dated "1991-03-31" to "2000-12-31"/,
  );
  assertThrows(
    () => splitRows(q, SplitConfig.parse({ eval_from: "1992-01-01" }), label, TICKERS),
    Error,
    "too few training quarters for validation",
  );
  const [f] = splitRows(q, SplitConfig.parse({}), label, { train: [...TRAIN, "ZZZ"], eval: EVAL });
  assertEquals(f.warnings, ['train ticker "ZZZ" has no rows in the quarterly frame']);
});

Deno.test("by_time allows shared tickers with a warning; by_ticker shares quarters and says so", () => {
  const q = quarterlyFrame([...TRAIN, ...EVAL], "1991Q1", "2000Q4");
  const label: LabelConfig = { mode: "magnitude", horizon: 1 };
  const [t] = splitRows(
    q,
    SplitConfig.parse({ method: "by_time", eval_from: "1999-01-01" }),
    label,
    {
      train: TRAIN,
      eval: TRAIN,
    },
  );
  assertMatch(t.warnings[0], /share tickers "AAA", "BBB", "CCC"/);
  assert(t.trainPeriod[1] < "1999-01-01" && t.evalPeriod[0] >= "1999-01-01");
  const [b] = splitRows(q, SplitConfig.parse({ method: "by_ticker" }), label, TICKERS);
  assertEquals(b.warnings, [SHARED_QUARTERS_WARNING]);
  assertMatch(
    b.warnings[0],
    /train and eval share quarters: market-wide moves leak between tickers/,
  );
  assertEquals(b.evalPeriod, ["1991-03-31", "2000-12-31"]);
  const c = columns(q);
  assert(b.train.every((i) => TRAIN.includes(c.ticker[i])));
  assert(b.eval.every((i) => EVAL.includes(c.ticker[i])));
  assertEquals(b.eval.length, 80);
});

Deno.test("walk_forward folds are ordered, non-overlapping, purged and expanding or rolling", () => {
  const q = quarterlyFrame([...TRAIN, ...EVAL], "1991Q1", "2000Q4", 2);
  const c = columns(q);
  const label: LabelConfig = { mode: "direction", horizon: 2 };
  for (const window of ["expanding", "rolling"] as const) {
    const folds = splitRows(
      q,
      SplitConfig.parse({
        method: "walk_forward",
        folds: 5,
        window,
        eval_from: "1996-01-01",
        embargo: 1,
      }),
      label,
      TICKERS,
    );
    assertEquals(folds.map((f) => f.name), ["fold-1", "fold-2", "fold-3", "fold-4", "fold-5"]);
    const sizes: number[] = [];
    const spans: number[] = [];
    folds.forEach((f, k) => {
      assertDisjointSorted(f);
      const evalQ = f.eval.map((i) => c.qn[i]);
      const start = Math.min(...evalQ);
      for (const i of [...f.train, ...f.validation]) {
        assert(TRAIN.includes(c.ticker[i]));
        assert(c.qn[i] + 2 + 1 < start, "purge + embargo violated");
      }
      assert(f.eval.every((i) => EVAL.includes(c.ticker[i])));
      if (k > 0) {
        assert(
          folds[k - 1].evalPeriod[1] < f.evalPeriod[0],
          "eval blocks overlap or are out of order",
        );
      }
      const side = [...f.train, ...f.validation].map((i) => c.qn[i]);
      sizes.push(side.length);
      spans.push(new Set(side).size);
    });
    // 20 eval quarters (1996Q1..2000Q4) in 5 blocks of 4.
    assertEquals(folds[0].evalPeriod[0], "1996-03-31");
    assertEquals(folds[4].evalPeriod[1], "2000-12-31");
    assert(folds.every((f) => f.eval.length === 4 * EVAL.length));
    if (window === "expanding") assert(sizes.every((s, k) => k === 0 || s > sizes[k - 1]));
    else assert(spans.every((s) => s === spans[0]));
  }
  assertThrows(
    () =>
      splitRows(
        q,
        SplitConfig.parse({ method: "walk_forward", folds: 30, eval_from: "1996-01-01" }),
        label,
        TICKERS,
      ),
    Error,
    "needs at least 30 eval quarters for 30 folds: eval tickers have 20",
  );
});

Deno.test("walk_forward without eval_from: the first fold trains on about 1/(folds + 1) of the quarters", () => {
  const q = quarterlyFrame([...TRAIN, ...EVAL], "1991Q1", "2000Q4"); // 40 quarters
  const folds = splitRows(q, SplitConfig.parse({ method: "walk_forward", folds: 4 }), {
    mode: "direction",
    horizon: 1,
  }, TICKERS);
  // Eval starts at quarter index floor(40 / 5) = 8 (1993Q1); 32 eval quarters in 4 blocks of 8.
  assertEquals(folds.map((f) => f.evalPeriod), [
    ["1993-03-31", "1994-12-31"],
    ["1995-03-31", "1996-12-31"],
    ["1997-03-31", "1998-12-31"],
    ["1999-03-31", "2000-12-31"],
  ]);
  assertEquals(folds[0].trainPeriod[1], "1992-09-30");
});
