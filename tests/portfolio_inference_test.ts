/**
 * What a portfolio run may claim (issue 20 against issue 22's library): each manager's bootstrap
 * intervals of its daily net returns and its Ledoit–Wolf test against 1/N, the verdict the report
 * and journal print, and the record that keeps them.
 */
import { Prng } from "@alfred/core";
import { assert, assertAlmostEquals, assertEquals, assertStringIncludes } from "./assert.ts";
import { type ManagerCurve, ONE_OVER_N, portfolioInference } from "../src/portfolio/inference.ts";
import { equityFromReturns, statsOfReturns } from "../src/inference/sharpe.ts";
import { PortfolioRecord } from "../src/portfolio/schema.ts";
import { portfolioJournalSection, portfolioReportFiles } from "../src/portfolio/report.ts";

const CAPITAL = 100_000;

function weekdays(n: number): string[] {
  const out: string[] = [];
  const d = new Date(Date.UTC(2006, 0, 2));
  while (out.length < n) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

function gauss(prng: Prng): number {
  const u = Math.max(prng.next(), 1e-12), v = prng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const DAYS = 750;
const DATES = weekdays(DAYS);

/** 1/N's daily net returns: a market with some drift and 1% daily volatility. */
function oneOverNReturns(seed: number): Float64Array {
  const prng = new Prng(seed);
  return Float64Array.from({ length: DAYS }, () => 0.0003 + 0.01 * gauss(prng));
}

/** 1/N's returns plus a daily drift and noise of its own. */
function alongside(base: Float64Array, drift: number, noise: number, seed: number): Float64Array {
  const prng = new Prng(seed);
  return base.map((r) => r + drift + noise * gauss(prng));
}

function curve(name: string, returns: Float64Array): ManagerCurve {
  return {
    name,
    dates: DATES,
    capital: CAPITAL,
    equity: equityFromReturns(CAPITAL, returns),
    riskFreeDaily: null,
  };
}

function curves(): ManagerCurve[] {
  const base = oneOverNReturns(1);
  return [
    curve(ONE_OVER_N, base),
    // A clear edge over 1/N on the same days: 10 bps a day on top, little noise of its own.
    curve("eiie", alongside(base, 0.001, 0.002, 2)),
    // No edge: 1/N's returns plus zero-mean noise.
    curve("ppo", alongside(base, 0, 0.004, 3)),
  ];
}

Deno.test("the verdict says beats where a manager is 1/N plus a clear drift, does not beat on 1/N plus noise", () => {
  const { managers } = portfolioInference(curves(), { seed: 7, resamples: 400 });
  const eiie = managers.eiie, ppo = managers.ppo;
  assert(eiie.verdict && ppo.verdict, "every manager but 1/N has a verdict");
  assertEquals(eiie.verdict.beats, true, eiie.verdict.statement);
  assert(eiie.verdict.pValue < 0.001, `p = ${eiie.verdict.pValue}`);
  assertStringIncludes(
    eiie.verdict.statement,
    "beats 1/N net of costs at 95% (Ledoit-Wolf Sharpe difference, one-sided p = ",
  );
  assertEquals(ppo.verdict.beats, false, ppo.verdict.statement);
  assert(ppo.verdict.statement.startsWith("does not beat 1/N net of costs at 95% ("));
  assertEquals(eiie.verdict.against, ONE_OVER_N);
  assertEquals(eiie.test?.against, ONE_OVER_N);
  // The test's one-sided p is the verdict's, and the edge shows in the daily Sharpe ratios.
  assertEquals(eiie.test!.pValueModelBetter, eiie.verdict.pValue);
  assert(eiie.test!.details.dailySharpeManager > eiie.test!.details.dailySharpeOneOverN);
  // 1/N is what the others are tested against: no test, no verdict of its own.
  assertEquals(managers[ONE_OVER_N].test, null);
  assertEquals(managers[ONE_OVER_N].verdict, null);
});

Deno.test("the intervals are the statistics table's figures, bootstrapped with a recorded block length", () => {
  const cs = curves();
  const { inference, managers } = portfolioInference(cs, { seed: 7, resamples: 400 });
  assertEquals(inference, { level: 0.95, resamples: 400, seed: 7, against: ONE_OVER_N });
  for (const c of cs) {
    const m = managers[c.name];
    assert(m.blockLength && m.blockLength.stationary >= 1, c.name);
    assertEquals(m.blockLength.days, DAYS);
    const table = statsOfReturns(
      Float64Array.from(c.equity, (e, i) => e / (i ? c.equity[i - 1] : CAPITAL) - 1),
      { dates: DATES, capital: CAPITAL },
    );
    for (const name of ["sharpe", "cagr", "maxDrawdown", "sortino"] as const) {
      const i = m.intervals[name];
      assert(i, `${c.name} ${name}`);
      assertAlmostEquals(i.estimate, table[name]!, 1e-9);
      assert(i.lower <= i.estimate && i.estimate <= i.upper, `${c.name} ${name}`);
      assertEquals(i.scheme, "stationary");
      assertEquals(i.blockLength, m.blockLength.stationary);
      assertEquals(i.blockLengthSource, "politis-white");
      assertEquals(i.seed, 7);
    }
  }
});

Deno.test("the bootstrap is deterministic per seed, and another seed resamples otherwise", () => {
  const a = portfolioInference(curves(), { seed: 11, resamples: 300 });
  const b = portfolioInference(curves(), { seed: 11, resamples: 300 });
  const c = portfolioInference(curves(), { seed: 12, resamples: 300 });
  assertEquals(a, b);
  assert(
    a.managers.eiie.intervals.sharpe.lower !== c.managers.eiie.intervals.sharpe.lower,
    "seed 12 drew the same resamples as seed 11",
  );
  // The test is not resampled: the seed leaves it alone.
  assertEquals(a.managers.eiie.test, c.managers.eiie.test);
});

Deno.test("without 1/N among the managers, no test and a note; curves on other days are refused", () => {
  const [base, eiie] = curves();
  // A manager that is 1/N day for day cannot be tested against it: a note, not a verdict.
  const twin = portfolioInference([base, { ...base, name: "twin" }], { seed: 1, resamples: 50 });
  assertEquals(twin.managers.twin.verdict, null);
  assertStringIncludes(twin.managers.twin.notes.join(" "), "Sharpe difference against 1/N");
  const { managers } = portfolioInference([eiie], { seed: 1, resamples: 100 });
  assertEquals(managers.eiie.verdict, null);
  assertStringIncludes(managers.eiie.notes.join(" "), `"${ONE_OVER_N}" is not among the managers`);
  let threw = false;
  try {
    portfolioInference([curves()[0], { ...eiie, dates: weekdays(DAYS + 1).slice(1) }], {
      seed: 1,
    });
  } catch (e) {
    threw = e instanceof RangeError;
  }
  assert(threw, "curves on different days were tested against each other");
});

/** A committed portfolio record without what this test adds, as records made before it were. */
async function olderRecord(): Promise<unknown> {
  const dir = new URL("../results/portfolio-synth/", import.meta.url);
  const run = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory && !e.name.startsWith("."))
    .map((e) => e.name).sort()[0];
  const json = JSON.parse(await Deno.readTextFile(new URL(`${run}/portfolio.json`, dir)));
  delete json.inference;
  for (const m of json.managers) delete m.inference;
  return json;
}

Deno.test("the record keeps the inference and round-trips; records without it stay valid; the report and journal print the verdicts", async () => {
  const old = PortfolioRecord.parse(await olderRecord());
  assert(old.managers.every((m) => m.inference === undefined));
  const names = old.managers.map((m) => m.name);
  assert(names.includes(ONE_OVER_N) && names.includes("eiie") && names.includes("ppo"), `${names}`);
  const [base, edge, noise] = curves();
  const made = portfolioInference(
    names.map((n, k) =>
      n === "eiie"
        ? edge
        : n === "ppo"
        ? { ...noise, name: n }
        : n === ONE_OVER_N
        ? base
        : curve(n, alongside(oneOverNReturns(1), 0, 0.003, 10 + k))
    ),
    { seed: old.config.seed, resamples: 200 },
  );
  const record: PortfolioRecord = {
    ...old,
    managers: old.managers.map((m) => ({ ...m, inference: made.managers[m.name] })),
    inference: made.inference,
  };
  const back = PortfolioRecord.parse(JSON.parse(JSON.stringify(record)));
  assertEquals(back, record);

  const report = (await portfolioReportFiles(back))["report.md"];
  assertStringIncludes(report, "## Against 1/N, net of costs");
  assertStringIncludes(report, `**eiie** ${made.managers.eiie.verdict!.statement}`);
  assertStringIncludes(report, `**ppo** ${made.managers.ppo.verdict!.statement}`);
  const sharpe = made.managers.eiie.intervals.sharpe;
  assertStringIncludes(report, `[${sharpe.lower.toFixed(2)}, ${sharpe.upper.toFixed(2)}]`);
  const journal = portfolioJournalSection([back]);
  assertStringIncludes(journal, `- **eiie** beats 1/N net of costs at 95%`);
  assertStringIncludes(journal, `- **ppo** does not beat 1/N net of costs at 95%`);
  // An older record renders without any of it.
  assert(!portfolioJournalSection([old]).includes("1/N net of costs"));
  assert(!(await portfolioReportFiles(old))["report.md"].includes("Against 1/N"));
});
