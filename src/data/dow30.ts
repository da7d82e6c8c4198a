/**
 * The embedded real dataset `dow30-1991-2000`, built from the raw CSVs in
 * `data/raw/offline-real/` (extracted from Debian and npm packages; see its PROVENANCE.md and
 * `recipe/`). `scripts/build-dow30.ts` writes it with {@linkcode buildDow30}.
 *
 * @module
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { monthEnd, quarterNumber } from "@alfred/core";
import { dateSeries, type Manifest, type SeriesInfo, type TableName } from "./dataset.ts";

/** First and last date of the dataset's daily prices. */
export const DOW30_FROM = "1991-01-02";
/** Last date of the dataset's daily prices. */
export const DOW30_TO = "2000-12-29";
/** Market and macro values are kept from this date on (a year of history before the prices start). */
export const DOW30_MARKET_FROM = "1990-01-01";
/** Months between a quarter's end and the day its macro figures count as known. */
export const MACRO_PUBLICATION_LAG_MONTHS = 1;

/** A parsed CSV: header and rows of raw cell strings. */
export interface Csv {
  file: string;
  header: string[];
  rows: string[][];
}

/**
 * Parse a simple CSV (comma-separated, optional double quotes, no embedded commas or newlines).
 *
 * @param file the file name, for messages
 * @param text the file's text
 * @returns header and rows
 * @throws {SyntaxError} naming the file and line when a row has the wrong number of cells
 */
export function parseCsv(file: string, text: string): Csv {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const cells = (l: string) => l.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
  const header = cells(lines[0] ?? "");
  const rows = lines.slice(1).map((l, i) => {
    const r = cells(l);
    if (r.length !== header.length) {
      throw new SyntaxError(
        `Cannot parse "${file}" line ${i + 2}: expected ${header.length} cells, found ${r.length}`,
      );
    }
    return r;
  });
  return { file, header, rows };
}

function num(csv: Csv, row: number, col: number): number | null {
  const s = csv.rows[row][col];
  if (s === "NA" || s === "") return null;
  const v = Number(s);
  if (!Number.isFinite(v)) {
    throw new SyntaxError(
      `Cannot parse "${csv.file}" line ${row + 2} column "${
        csv.header[col]
      }": "${s}" is not a number`,
    );
  }
  return v;
}

/**
 * The day a quarterly macro value counts as known: the quarter's last day plus the publication lag,
 * taken as the last day of the month `lagMonths` after the quarter's last month.
 *
 * @param quarter `YYYYQn`
 * @param lagMonths months of publication lag
 * @returns an ISO date
 * @throws {RangeError} when `quarter` is not `YYYYQn`
 */
export function quarterKnownDate(quarter: string, lagMonths: number): string {
  const qn = quarterNumber(quarter);
  return monthEnd(Math.floor(qn / 4), (qn % 4 + 1) * 3 + lagMonths);
}

const MACRO_SERIES: Record<string, string> = {
  gdp: "real GDP, billions of 1996 dollars, seasonally adjusted annual rate",
  consumption: "real personal consumption expenditures, billions of 1996 dollars",
  invest: "real gross private domestic investment, billions of 1996 dollars",
  government: "real government expenditures, billions of 1996 dollars",
  dpi: "real disposable personal income, billions of 1996 dollars",
  cpi: "consumer price index (1982-84 = 100)",
  m1: "nominal M1 money stock, billions of dollars",
  tbill: "3-month Treasury bill rate, percent per year (quarterly average)",
  unemp: "unemployment rate, percent",
  population: "population, millions",
  inflation: "inflation rate, percent per year",
  interest: "ex-post real interest rate (tbill - inflation), percent",
};

/** The manifest and tables of `dow30-1991-2000`. */
export interface BuiltDataset {
  manifest: Manifest;
  tables: Partial<Record<TableName, pl.DataFrame>>;
}

/**
 * Build `dow30-1991-2000` from the raw CSVs.
 *
 * Choices (also stated in the manifest and `data/README.md`): prices are the 30 stocks' split-adjusted
 * closes from 1991-01-02 to 2000-12-29 (the file's 1990-12-31 row repeats 1991-01-02's closes and
 * its 2001-01-02 row lies outside the decade; both are dropped). DJIA and NYSE keep only the stock
 * file's trading days (the DJIA file repeats the last close on holidays). Monthly series are dated
 * the month's last calendar day; quarterly macro the quarter's last day plus one month.
 *
 * @param rawDir the folder holding the raw CSVs (`data/raw/offline-real`)
 * @returns manifest and tables, ready for `writeDataset`
 * @throws {SyntaxError} when a raw file is malformed
 */
export async function buildDow30(rawDir: string): Promise<BuiltDataset> {
  const read = async (f: string) => parseCsv(f, await Deno.readTextFile(join(rawDir, f)));
  const stocks = await read("dj30_daily_close_1991_2000.csv");
  const djia = await read("djia_daily_1980_2012.csv");
  const nyse = await read("nyse_daily_1990_2005.csv");
  const ust = await read("ust_cmt_monthly_1953_1999.csv");
  const wti = await read("wti_gold_monthly_1985_2010.csv");
  const macro = await read("us_macro_quarterly_1950_2000.csv");

  // Prices: long form, one row per (date, ticker).
  const tickers = stocks.header.slice(1);
  const pDate: string[] = [];
  const pTicker: string[] = [];
  const pClose: number[] = [];
  const calendar: string[] = [];
  stocks.rows.forEach((r, i) => {
    const date = r[0];
    if (date < DOW30_FROM || date > DOW30_TO) return;
    calendar.push(date);
    tickers.forEach((t, j) => {
      const v = num(stocks, i, j + 1);
      if (v === null) return;
      if (!(v > 0)) {
        throw new RangeError(
          `"${stocks.file}" line ${i + 2} ticker "${t}": close ${v} is not positive`,
        );
      }
      pDate.push(date);
      pTicker.push(t);
      pClose.push(v);
    });
  });
  const prices = pl.DataFrame([
    dateSeries("date", pDate),
    pl.Series("ticker", pTicker, pl.Utf8),
    pl.Series("close", pClose, pl.Float64),
  ]).sort(["ticker", "date"]);

  // Market: long form (date known, series, value).
  const mDate: string[] = [];
  const mSeries: string[] = [];
  const mValue: number[] = [];
  const push = (date: string, series: string, value: number | null) => {
    if (value === null || date < DOW30_MARKET_FROM || date > DOW30_TO) return;
    mDate.push(date);
    mSeries.push(series);
    mValue.push(value);
  };
  const tradingDays = new Set(calendar);
  const daily = (csv: Csv, series: string) => {
    csv.rows.forEach((r, i) => {
      if (tradingDays.has(r[0])) push(r[0], series, num(csv, i, 1));
    });
  };
  daily(djia, "DJIA");
  daily(nyse, "NYSE");
  const yieldCols: [string, string][] = [
    ["yield1y", "1year"],
    ["yield3y", "3year"],
    ["yield5y", "5year"],
    ["yield10y", "10year"],
  ];
  ust.rows.forEach((r, i) => {
    const [y, m] = r[0].split("-").map(Number);
    for (const [col, name] of yieldCols) {
      push(monthEnd(y, m), name, num(ust, i, ust.header.indexOf(col)));
    }
  });
  wti.rows.forEach((r, i) => {
    const [y, m] = r[0].split("-").map(Number);
    push(monthEnd(y, m), "WTI", num(wti, i, wti.header.indexOf("wti_usd")));
  });
  const macroNames = Object.keys(MACRO_SERIES);
  macro.rows.forEach((r, i) => {
    const known = quarterKnownDate(r[0], MACRO_PUBLICATION_LAG_MONTHS);
    for (const name of macroNames) push(known, name, num(macro, i, macro.header.indexOf(name)));
  });
  const market = pl.DataFrame([
    dateSeries("date", mDate),
    pl.Series("series", mSeries, pl.Utf8),
    pl.Series("value", mValue, pl.Float64),
  ]).sort(["series", "date"]);

  const series: SeriesInfo[] = [
    {
      name: "DJIA",
      frequency: "daily",
      description:
        "Dow Jones Industrial Average close (r-cran-aer DJIA8012); only the stock file's trading days are kept (the source repeats the last close on holidays)",
    },
    {
      name: "NYSE",
      frequency: "daily",
      description:
        "NYSE Composite index close (r-cran-aer NYSESW), on the stock file's trading days",
    },
    ...yieldCols.map(([, name]) => ({
      name,
      frequency: "monthly" as const,
      description: `US Treasury ${
        name.replace("year", "-year")
      } constant-maturity yield, percent per year, monthly average (Fed H.15, r-cran-tseries tcm); dated the month's last calendar day; ends 1999-09`,
    })),
    {
      name: "WTI",
      frequency: "monthly",
      description:
        "WTI crude oil, USD per barrel, monthly (r-cran-fportfolio ECON85LONG); dated the month's last calendar day",
    },
    ...macroNames.map((name) => ({
      name,
      frequency: "quarterly" as const,
      description: `${
        MACRO_SERIES[name]
      } (r-cran-aer USMacroG); dated the quarter's end plus a ${MACRO_PUBLICATION_LAG_MONTHS}-month publication lag (last day of the month after the quarter)`,
    })),
  ];

  const manifest: Manifest = {
    name: "dow30-1991-2000",
    description:
      "Daily split-adjusted closes of the 30 Dow Jones Industrial Average stocks of 2000, 1991-01-02..2000-12-29, with DJIA and NYSE Composite benchmarks, monthly Treasury yields (1, 3, 5, 10 year) and WTI, and quarterly US macro series. Real data, available offline from Debian packages.",
    synthetic: false,
    provenance:
      "Built by scripts/build-dow30.ts from data/raw/offline-real/ (see PROVENANCE.md there; recipe/extract_all.sh rebuilds the raw CSVs from the Debian packages). Stocks: Debian r-cran-fbasics 4021.93-1, object DowJones30. DJIA: r-cran-aer 1.2-10-1, DJIA8012. NYSE: r-cran-aer, NYSESW. Treasury yields: r-cran-tseries 0.10-53-1, tcm (Fed H.15). WTI: r-cran-fportfolio 3042.83.1, ECON85LONG. Macro: r-cran-aer, USMacroG.",
    licence:
      "Public historical prices and statistics (facts), shipped in packages licensed: r-cran-fbasics GPL, r-cran-aer GPL-2+, r-cran-tseries GPL-2, r-cran-fportfolio GPL",
    warnings: [
      "Survivorship bias: the universe is the 30 Dow Jones stocks of about 2000, chosen with hindsight; every one of them survived and prospered over 1991-2000, so returns and strategy results are biased upward",
      "Closes only: no volume, open, high or low",
      "Absent, so features that need them are refused: volume, fundamentals (margins, EPS reported/estimated/surprise), insider transactions, news sentiment, ^VIX, SPY, Brent (BZ=F), bitcoin (BTC=F), the 2-year Treasury yield",
      "Treasury yields end 1999-09; later quarters see the last known value",
      "Macro series are revised figures of the package's vintage, not first releases; they are dated one month after the quarter to approximate the publication lag",
    ],
    tables: ["prices", "market"],
    tickers: [...tickers].sort(),
    from: calendar[0],
    to: calendar[calendar.length - 1],
    index: "DJIA",
    riskFree: "1year",
    series,
  };
  return { manifest, tables: { prices, market } };
}
