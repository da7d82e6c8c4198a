/**
 * A deterministic synthetic stock universe with every table and a planted signal.
 *
 * Prices follow a factor model (market + sector + idiosyncratic) with Student-t shocks and a
 * two-state Markov volatility regime. Fundamentals arrive in earnings seasons, insiders trade in
 * bursts, news sentiment follows recent returns. A known subset of quarterly features
 * ({@linkcode PLANTED_FEATURES}) linearly drives the drift of the NEXT quarter only; every other
 * feature is noise with respect to future returns. Everything is drawn from one seeded PRNG
 * (`@alfred/core`'s mulberry32 {@linkcode Prng}), so the same parameters give byte-identical
 * tables.
 *
 * @module
 */
import pl from "nodejs-polars";
import { dirname, resolve } from "node:path";
import {
  dayOfWeek,
  dayQuarter,
  dayToIso,
  isIsoDate,
  isoToDay,
  Prng,
  quarterEndDay,
  quarterOf,
} from "@alfred/core";
import { marketCloseMs } from "../news/point_in_time.ts";
import {
  dateSeries,
  type Manifest,
  type SeriesInfo,
  tableFrame,
  type TableName,
  writeDataset,
} from "./dataset.ts";

// The columns each table but prices is written with, in file order.
const FUNDAMENTAL_COLUMNS = [
  "ticker",
  "report_date",
  "fiscal_date_ending",
  "margin_gross",
  "margin_operating",
  "margin_net_profit",
  "reported_eps",
  "estimated_eps",
  "surprise",
  "surprise_percentage",
] as const;
const INSIDER_COLUMNS = ["ticker", "date", "acquisition", "disposal"] as const;
const SENTIMENT_COLUMNS = ["ticker", "date", "sentiment", "outlook"] as const;
const MARKET_COLUMNS = ["date", "series", "value"] as const;
const NEWS_COLUMNS = [
  "ticker",
  "published_at",
  "article_id",
  "headline",
  "summary",
  "source",
  "url",
] as const;
/** A row with these columns: dates and text are strings, the rest numbers. */
type Row<C extends readonly string[]> = Record<C[number], string | number>;

/** Parameters of {@linkcode generateSynthetic}. */
export interface SynthParams {
  /** PRNG seed (an integer); the same parameters give byte-identical tables. */
  seed: number;
  /** Number of tickers (named SYN01, SYN02, ...). */
  tickers: number;
  /** First calendar date (inclusive), `YYYY-MM-DD`. */
  from: string;
  /** Last calendar date (inclusive), `YYYY-MM-DD`. */
  to: string;
  /**
   * Strength of the planted signal: the standard deviation of the planted next-quarter return as a
   * multiple of the ticker's idiosyncratic quarterly volatility. 0 plants nothing.
   */
  signal: number;
  /** Number of sectors (default 4, or the number of tickers when fewer). */
  sectors?: number;
  /** Degrees of freedom of the Student-t shocks (default 5; lower is fatter-tailed). */
  tailDf?: number;
  /** Dataset name (default `synth-s<seed>-k<tickers>`). */
  name?: string;
  /**
   * Write a `news` table whose tone carries the planted score (what drives next quarter's drift)
   * with this strength (0 to 10; 0: tone is noise). Absent: no news table (the other tables are
   * the same either way: news has its own PRNG stream).
   */
  newsSignal?: number;
  /**
   * Listings and delistings: the yearly rate at which tickers leave the universe (0 to 1). A
   * `universe` table then says when each ticker was listed and delisted, and every table holds a
   * ticker's rows only while it is listed (its prices end at its last close). Absent or 0: every
   * ticker trades throughout and no `universe` table is written (the tables are as before).
   */
  turnover?: number;
  /**
   * Plant a temporal shape the quarterly roll-up cannot see (0 to 10; see
   * {@linkcode SYNTH_SHAPE_RULES}): the phase of a zigzag in each quarter's last weeks drives the
   * next quarter's drift with this strength. Absent or 0: no shape (the tables are as before).
   */
  shapeSignal?: number;
}

/** Defaults of the optional {@linkcode SynthParams}. */
export const SYNTH_DEFAULTS = { sectors: 4, tailDf: 5 } as const;

/**
 * The planted features, named as the feature columns are named, with their weights. The drift of
 * quarter q+1 is `signal * sigma_i * sqrt(days) * sum_k w_k z_k / sqrt(sum_k w_k^2)`, where `z_k`
 * is the feature's cross-sectional z-score at quarter q's last trading day.
 */
export const PLANTED_FEATURES: readonly { feature: string; weight: number; definition: string }[] =
  [
    {
      feature: "surprisePercentage",
      weight: 1,
      definition: "surprise_percentage of the earnings report released during the quarter",
    },
    {
      feature: "delta_Margin_Net_Profit",
      weight: 0.8,
      definition:
        "margin_net_profit of the report released during the quarter minus that of the report released the quarter before",
    },
    {
      feature: "insider_acquisition",
      weight: 0.6,
      definition: "sum of insider acquisition shares dated within the quarter",
    },
    {
      feature: "Close_diff_MA_90",
      weight: -0.6,
      definition:
        "quarter's last close divided by the mean of the last 90 closes, minus 1 (negative weight: mean reversion)",
    },
  ];

/** The market series every synthetic dataset has. */
export const SYNTH_SERIES: readonly string[] = [
  "^VIX",
  "SPY",
  "CL=F",
  "BZ=F",
  "BTC=F",
  "2year",
  "3year",
  "5year",
  "10year",
];

/** Every feature column name a full experiment on a synthetic dataset can build. */
export const SYNTH_FEATURE_NAMES: readonly string[] = (() => {
  const base = [
    "Close",
    ...[7, 30, 90, 180].map((n) => `Close_diff_MA_${n}`),
    "Volume",
    ...[7, 30, 90, 180].map((n) => `Volume_diff_MA_${n}`),
    "Margin_Gross",
    "Margin_Operating",
    "Margin_Net_Profit",
    "reportedEPS",
    "estimatedEPS",
    "surprise",
    "surprisePercentage",
    "insider_acquisition",
    "insider_disposal",
    "mean_sentiment",
    "mean_outlook",
    ...SYNTH_SERIES,
  ];
  return [...base, ...base.map((f) => `delta_${f}`)];
})();

/**
 * The generator's draws: `@alfred/core`'s {@linkcode Prng} (mulberry32, seeded with
 * `new Prng(seed)`) with uniform, integer, normal and Student-t draws on top.
 */
export class SynthRng extends Prng {
  #spare: number | null = null;

  /**
   * A uniform number in [lo, hi).
   *
   * @param lo lower bound, inclusive
   * @param hi upper bound, exclusive
   * @returns the draw
   */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /**
   * A uniform integer in [lo, hi], both inclusive.
   *
   * @param lo lower bound
   * @param hi upper bound
   * @returns the draw
   */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /**
   * A standard normal draw (Box-Muller; the second value of a pair is kept for the next call).
   *
   * @returns the draw
   */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * A Student-t draw scaled to unit variance.
   *
   * @param df degrees of freedom, an integer > 2
   * @returns the draw
   */
  studentT(df: number): number {
    let chi2 = 0;
    for (let k = 0; k < df; k++) {
      const n = this.normal();
      chi2 += n * n;
    }
    return this.normal() / Math.sqrt(chi2 / df) * Math.sqrt((df - 2) / df);
  }
}

function parseIso(d: string, what: string): number {
  if (!isIsoDate(d)) {
    throw new RangeError(`Invalid ${what} "${d}": expected a calendar date as YYYY-MM-DD`);
  }
  return isoToDay(d);
}

/**
 * The synthetic trading calendar: weekdays from `from` to `to`, except January 1, July 4 and
 * December 25.
 *
 * @param from first date, inclusive
 * @param to last date, inclusive
 * @returns ISO dates
 */
export function syntheticCalendar(from: string, to: string): string[] {
  const a = parseIso(from, "from date");
  const b = parseIso(to, "to date");
  const out: string[] = [];
  for (let day = a; day <= b; day++) {
    const wd = dayOfWeek(day);
    if (wd === 0 || wd === 6) continue;
    const iso = dayToIso(day);
    const md = iso.slice(5, 10);
    if (md === "01-01" || md === "07-04" || md === "12-25") continue;
    out.push(iso);
  }
  return out;
}

/** The last day of the quarter before the one `iso` falls in. */
function previousQuarterEnd(iso: string): string {
  return dayToIso(quarterEndDay(dayQuarter(isoToDay(iso)) - 1));
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

function zScores(values: (number | null)[]): number[] {
  const ok = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (ok.length < 2) return values.map(() => 0);
  const mean = ok.reduce((s, v) => s + v, 0) / ok.length;
  const sd = Math.sqrt(ok.reduce((s, v) => s + (v - mean) ** 2, 0) / ok.length);
  return values.map((v) => (v === null || !Number.isFinite(v) || sd === 0 ? 0 : (v - mean) / sd));
}

/** The manifest and tables of a synthetic dataset, and the planted scores behind its drift. */
export interface SynthDataset {
  manifest: Manifest;
  /** Every table; `news` only when `newsSignal` is given. */
  tables: Record<Exclude<TableName, "news" | "universe">, pl.DataFrame> & {
    news?: pl.DataFrame;
    universe?: pl.DataFrame;
  };
  /** Per (quarter, ticker): the planted score at the quarter's end that drove the next quarter. */
  plantedScores: { quarter: string; ticker: string; score: number }[];
  /** Per (quarter, ticker) with `shapeSignal`: the planted shape's phase (+1 or −1). */
  plantedShapes?: { quarter: string; ticker: string; phase: 1 | -1 }[];
}

/** The most tickers the generator makes (the pipeline bench's largest size, measured). */
export const SYNTH_MAX_TICKERS = 10_000;

// The price process's constants, stated in the manifest.
const REGIME = { calmToTurbulent: 0.01, turbulentToCalm: 0.04, volMultiplier: [1, 2.2] };
const SIGMA_MARKET = 0.008;
const MU_MARKET = 0.0003;
const SIGMA_SECTOR = 0.006;

/** {@linkcode SynthParams} checked, with the defaults and the calendar filled in. */
interface CheckedParams {
  sectors: number;
  tailDf: number;
  newsSignal: number | undefined;
  turnover: number;
  shape: TemporalShape | null;
  /** The trading days. */
  days: string[];
}

/** Checks the parameters (in the order the messages are documented) and fills in defaults. */
function checkParams(params: SynthParams): CheckedParams {
  const sectors = params.sectors ?? Math.min(SYNTH_DEFAULTS.sectors, params.tickers);
  const tailDf = params.tailDf ?? SYNTH_DEFAULTS.tailDf;
  if (!Number.isInteger(params.seed)) {
    throw new RangeError(`Invalid seed "${params.seed}": expected an integer`);
  }
  if (
    !Number.isInteger(params.tickers) || params.tickers < 2 || params.tickers > SYNTH_MAX_TICKERS
  ) {
    throw new RangeError(
      `Invalid tickers "${params.tickers}": expected an integer from 2 to ${SYNTH_MAX_TICKERS}`,
    );
  }
  if (!Number.isFinite(params.signal) || params.signal < 0 || params.signal > 10) {
    throw new RangeError(`Invalid signal "${params.signal}": expected a number from 0 to 10`);
  }
  if (!Number.isInteger(sectors) || sectors < 1 || sectors > params.tickers) {
    throw new RangeError(`Invalid sectors "${sectors}": expected an integer from 1 to the tickers`);
  }
  if (!Number.isInteger(tailDf) || tailDf < 3 || tailDf > 100) {
    throw new RangeError(`Invalid tailDf "${tailDf}": expected an integer from 3 to 100`);
  }
  const newsSignal = params.newsSignal;
  if (
    newsSignal !== undefined && (!Number.isFinite(newsSignal) || newsSignal < 0 || newsSignal > 10)
  ) {
    throw new RangeError(`Invalid newsSignal "${newsSignal}": expected a number from 0 to 10`);
  }
  const shape = temporalShape(params);
  const turnover = params.turnover ?? 0;
  if (!Number.isFinite(turnover) || turnover < 0 || turnover > 1) {
    throw new RangeError(`Invalid turnover "${params.turnover}": expected a number from 0 to 1`);
  }
  const days = syntheticCalendar(params.from, params.to);
  if (days.length < 130) {
    throw new RangeError(
      `Invalid span "${params.from}".."${params.to}": expected at least 130 trading days, found ${days.length}`,
    );
  }
  return { sectors, tailDf, newsSignal, turnover, shape, days };
}

/** A quarter as day indices, inclusive. */
interface Quarter {
  key: string;
  start: number;
  end: number;
}

/** Price columns, ticker-major: in a quarter's block row `i · len + k` is ticker i on its k-th day. */
interface PriceColumns {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

/** The price columns kept apart from the full closes (which the simulation reads back). */
const BLOCK_COLUMNS = ["open", "high", "low", "volume"] as const;

/**
 * The rows of a ticker table with two number columns (insider, sentiment) as typed columns, in the
 * order they were made: day by day across tickers. 24 bytes a row instead of an object's hundred or
 * more; at 10,000 tickers over 25 years the sentiment table has 16 million rows.
 */
class TickerRows {
  ticker = new Int32Array(1 << 12);
  day = new Int32Array(1 << 12);
  a = new Float64Array(1 << 12);
  b = new Float64Array(1 << 12);
  length = 0;

  /** Appends a row: ticker index, day index and the two values. */
  push(ticker: number, day: number, a: number, b: number): void {
    if (this.length === this.ticker.length) this.#grow();
    const k = this.length++;
    this.ticker[k] = ticker;
    this.day[k] = day;
    this.a[k] = a;
    this.b[k] = b;
  }

  #grow(): void {
    const cap = Math.ceil(this.ticker.length * 1.5);
    const grow = <T extends Int32Array | Float64Array>(old: T, fresh: T) => {
      fresh.set(old);
      return fresh;
    };
    this.ticker = grow(this.ticker, new Int32Array(cap));
    this.day = grow(this.day, new Int32Array(cap));
    this.a = grow(this.a, new Float64Array(cap));
    this.b = grow(this.b, new Float64Array(cap));
  }

  /**
   * The rows grouped by ticker, each ticker's in the order made (a stable counting sort): rows
   * `order[start[i]] .. order[start[i + 1] - 1]` are ticker i's. Made day by day, they are in
   * (ticker, date) order, the tables' order, without a sort.
   */
  byTicker(tickers: number): { order: Int32Array; start: Int32Array } {
    const start = new Int32Array(tickers + 1);
    for (let k = 0; k < this.length; k++) start[this.ticker[k] + 1]++;
    for (let i = 0; i < tickers; i++) start[i + 1] += start[i];
    const next = start.slice(0, tickers);
    const order = new Int32Array(this.length);
    for (let k = 0; k < this.length; k++) order[next[this.ticker[k]]++] = k;
    return { order, start };
  }
}

/** What the simulation made, besides the price blocks it hands out quarter by quarter. */
interface Simulation {
  names: string[];
  quarters: Quarter[];
  sectorOf: number[];
  /** Every close, ticker-major: row `i · D + d` is ticker i on day d (D trading days). */
  close: Float64Array;
  fundamentals: Row<typeof FUNDAMENTAL_COLUMNS>[];
  /** Rows of acquisition and disposal shares. */
  insider: TickerRows;
  /** Rows of sentiment and outlook. */
  sentiment: TickerRows;
  market: Row<typeof MARKET_COLUMNS>[];
  planted: { quarter: string; ticker: string; score: number }[];
}

/**
 * Runs the simulation. Every draw is made in one order, day by day across tickers, whatever is
 * done with the output. Each quarter's open, high, low, close and volume go to `onQuarter` as one
 * block once the quarter is complete (its temporal shape planted); the full closes stay, as later
 * quarters read them back (the last five days' return, the 90-day moving average, listings).
 */
function simulate(
  params: SynthParams,
  c: CheckedParams,
  onQuarter: (q: Quarter, block: PriceColumns) => void,
): Simulation {
  const { sectors, tailDf, shape, days } = c;
  const rng = new SynthRng(params.seed);
  const n = params.tickers;
  const width = Math.max(2, String(n).length);
  const names = Array.from({ length: n }, (_, i) => `SYN${String(i + 1).padStart(width, "0")}`);

  // Quarters: [start, end] day indices.
  const quarters: Quarter[] = [];
  days.forEach((d, i) => {
    const k = quarterOf(d);
    const last = quarters[quarters.length - 1];
    if (last && last.key === k) last.end = i;
    else quarters.push({ key: k, start: i, end: i });
  });

  // Tickers.
  const sectorOf = names.map((_, i) => i % sectors);
  const beta = names.map(() => rng.uniform(0.7, 1.3));
  const gamma = names.map(() => rng.uniform(0.5, 1.0));
  const sigma = names.map(() => rng.uniform(0.01, 0.02));
  const alpha = names.map(() => rng.uniform(-0.0001, 0.0003));
  const baseVolume = names.map(() => 10 ** rng.uniform(5.5, 7));
  const logP = names.map(() => Math.log(rng.uniform(20, 120)));
  const epsLevel = names.map(() => rng.uniform(0.5, 3));
  const netMean = names.map(() => rng.uniform(0.04, 0.2));
  const netMargin = netMean.map((m) => m);
  const opSpread = names.map(() => rng.uniform(0.03, 0.08));
  const grossSpread = names.map(() => rng.uniform(0.15, 0.35));
  const prevNet: (number | null)[] = names.map(() => null);
  const planted = names.map(() => 0); // daily planted drift for the current quarter

  // Every ticker trades every day (listing spells are cut afterwards). The closes are one typed
  // array laid out ticker by ticker, day by day: row `i · D + d` is ticker i on day d, the order of
  // the sorted table. The other price columns live one quarter at a time (see `onQuarter`).
  const D = days.length;
  const C = new Float64Array(n * D);
  /** Ticker i's closes up to and including day `upTo`. */
  const closesOf = (i: number, upTo: number) => C.subarray(i * D, i * D + upTo + 1);
  // The other tables: typed rows for the two that grow with tickers × days, a list of rows for
  // the two that grow with tickers × quarters or days alone.
  const F: Row<typeof FUNDAMENTAL_COLUMNS>[] = [];
  const I = new TickerRows();
  const S = new TickerRows();
  const M: Row<typeof MARKET_COLUMNS>[] = [];

  let state = 0;
  let vixNoise = 0;
  let spy = 110;
  let oil = 35;
  let brentSpread = 0.03;
  let btc = 100;
  let r2 = 3;
  const slopes = [0.25, 0.6, 1.2];
  const slopeMeans = [0.25, 0.6, 1.2];
  const plantedLog: { quarter: string; ticker: string; score: number }[] = [];

  for (let qi = 0; qi < quarters.length; qi++) {
    const q = quarters[qi];
    const len = q.end - q.start + 1;
    const block: PriceColumns = {
      open: new Float64Array(n * len),
      high: new Float64Array(n * len),
      low: new Float64Array(n * len),
      close: new Float64Array(n * len),
      volume: new Float64Array(n * len),
    };
    const fiscalEnd = previousQuarterEnd(days[q.start]);
    // Earnings report for the previous fiscal quarter, released 12-30 trading days into this one.
    const reportDay = names.map(() => Math.min(q.start + rng.intBetween(12, 30), q.end));
    const surprisePct: (number | null)[] = names.map(() => null);
    const deltaNet: (number | null)[] = names.map(() => null);
    names.forEach((t, i) => {
      epsLevel[i] *= Math.exp(0.05 * rng.normal());
      const estimated = round(epsLevel[i], 2) || 0.01;
      const reported = round(estimated * (1 + (8 * rng.studentT(tailDf)) / 100), 2);
      const surprise = round(reported - estimated, 2);
      const sp = round((surprise / Math.abs(estimated)) * 100, 4);
      netMargin[i] = clamp(
        netMean[i] + 0.8 * (netMargin[i] - netMean[i]) + 0.01 * rng.normal(),
        -0.2,
        0.5,
      );
      const net = round(netMargin[i], 4);
      const op = round(net + opSpread[i] + 0.005 * rng.normal(), 4);
      const gross = round(op + grossSpread[i] + 0.01 * rng.normal(), 4);
      F.push({
        ticker: t,
        report_date: days[reportDay[i]],
        fiscal_date_ending: fiscalEnd,
        margin_gross: gross,
        margin_operating: op,
        margin_net_profit: net,
        reported_eps: reported,
        estimated_eps: estimated,
        surprise,
        surprise_percentage: sp,
      });
      surprisePct[i] = sp;
      deltaNet[i] = prevNet[i] === null ? null : round(net - prevNet[i]!, 4);
      prevNet[i] = net;
    });
    // Insider bursts: 1-5 consecutive trading days of acquisitions or disposals.
    const acq = names.map(() => new Map<number, number>());
    const disp = names.map(() => new Map<number, number>());
    names.forEach((_, i) => {
      for (const [map, p] of [[acq[i], 0.35], [disp[i], 0.45]] as const) {
        if (rng.next() >= p) continue;
        const start = rng.intBetween(q.start, q.end);
        const len = rng.intBetween(1, 5);
        for (let d = start; d < Math.min(start + len, q.end + 1); d++) {
          map.set(d, Math.round(Math.exp(9 + 0.5 * rng.normal())));
        }
      }
    });

    for (let d = q.start; d <= q.end; d++) {
      if (d > 0) {
        const u = rng.next();
        if (state === 0 && u < REGIME.calmToTurbulent) state = 1;
        else if (state === 1 && u < REGIME.turbulentToCalm) state = 0;
      }
      const mult = REGIME.volMultiplier[state];
      const rm = MU_MARKET + SIGMA_MARKET * mult * rng.studentT(tailDf);
      const rs = Array.from({ length: sectors }, () => SIGMA_SECTOR * mult * rng.studentT(tailDf));
      for (let i = 0; i < n; i++) {
        const shock = rng.studentT(tailDf);
        const r = alpha[i] + planted[i] + beta[i] * rm + gamma[i] * rs[sectorOf[i]] +
          sigma[i] * mult * shock;
        const prevClose = d > 0 ? C[i * D + d - 1] : Math.exp(logP[i]);
        logP[i] += r;
        const close = Math.max(0.01, round(Math.exp(logP[i]), 2));
        const open = Math.max(0.01, round(prevClose * Math.exp(0.3 * sigma[i] * rng.normal()), 2));
        const high = round(
          Math.max(open, close) * Math.exp(Math.abs(0.5 * sigma[i] * mult * rng.normal())),
          2,
        );
        const low = Math.max(
          0.01,
          round(
            Math.min(open, close) * Math.exp(-Math.abs(0.5 * sigma[i] * mult * rng.normal())),
            2,
          ),
        );
        const volume = Math.round(
          baseVolume[i] * Math.exp(0.4 * (mult - 1) + 0.3 * Math.abs(shock) + 0.25 * rng.normal()),
        );
        const row = i * len + d - q.start;
        block.open[row] = open;
        block.high[row] = high;
        block.low[row] = low;
        block.close[row] = close;
        block.volume[row] = volume;
        C[i * D + d] = close;
        // News: about one day in four; tone follows the last five days' return.
        if (rng.next() < 0.25) {
          // The last five daily log returns (fewer early on), summed in date order.
          let r5 = 0;
          for (let k = Math.max(1, d - 4); k <= d; k++) {
            r5 += Math.log(C[i * D + k] / C[i * D + k - 1]);
          }
          const sent = clamp(
            0.1 + 0.3 * Math.tanh(r5 / (sigma[i] * Math.sqrt(5))) + 0.25 * rng.normal(),
            -1,
            1,
          );
          S.push(
            i,
            d,
            round(sent, 4),
            round(clamp(0.05 + 0.5 * sent + 0.2 * rng.normal(), -1, 1), 4),
          );
        }
        const a = acq[i].get(d) ?? 0;
        const b = disp[i].get(d) ?? 0;
        if (a > 0 || b > 0) I.push(i, d, a, b);
      }
      // Market series, known at the day's close.
      vixNoise = 0.97 * vixNoise + 0.05 * rng.normal();
      const vix = round(
        100 * Math.sqrt(252) * SIGMA_MARKET * mult * Math.exp(vixNoise) + 400 * Math.abs(rm),
        2,
      );
      spy *= Math.exp(rm + 0.001 * rng.normal());
      oil *= Math.exp(0.022 * mult * rng.studentT(tailDf) + 0.3 * rm);
      brentSpread = 0.98 * brentSpread + 0.02 * 0.03 + 0.005 * rng.normal();
      btc *= Math.exp(0.0015 + 0.04 * rng.studentT(tailDf));
      r2 = Math.max(0.05, r2 + 0.002 * (3 - r2) + 0.05 * rng.normal());
      for (let k = 0; k < 3; k++) {
        slopes[k] = slopes[k] + 0.01 * (slopeMeans[k] - slopes[k]) + 0.02 * rng.normal();
      }
      const values: [string, number][] = [
        ["^VIX", vix],
        ["SPY", round(spy, 2)],
        ["CL=F", round(oil, 2)],
        ["BZ=F", round(oil * Math.exp(brentSpread), 2)],
        ["BTC=F", round(btc, 2)],
        ["2year", round(r2, 2)],
        ["3year", round(Math.max(0.05, r2 + slopes[0]), 2)],
        ["5year", round(Math.max(0.05, r2 + slopes[1]), 2)],
        ["10year", round(Math.max(0.05, r2 + slopes[2]), 2)],
      ];
      for (const [s, v] of values) {
        M.push({ date: days[d], series: s, value: v });
      }
    }

    if (shape) {
      shape.plant(q, names, block);
      // The planted closes are the ones later quarters read back.
      for (let i = 0; i < n; i++) {
        C.set(block.close.subarray(i * len, (i + 1) * len), i * D + q.start);
      }
    }
    onQuarter(q, block);
    // Quarter end: the planted features as known at the last trading day drive next quarter's drift.
    const insiderAcq = names.map((_, i) => [...acq[i].values()].reduce((s, v) => s + v, 0));
    const maDiff = names.map((_, i) => {
      const c = closesOf(i, q.end);
      if (c.length < 90) return null;
      const w = c.subarray(c.length - 90);
      return c[c.length - 1] / (w.reduce((s, v) => s + v, 0) / 90) - 1;
    });
    const z = [zScores(surprisePct), zScores(deltaNet), zScores(insiderAcq), zScores(maDiff)];
    const norm = Math.sqrt(PLANTED_FEATURES.reduce((s, f) => s + f.weight ** 2, 0));
    const next = quarters[qi + 1];
    const nextDays = next ? next.end - next.start + 1 : 0;
    names.forEach((t, i) => {
      const score = PLANTED_FEATURES.reduce((s, f, k) => s + f.weight * z[k][i], 0) / norm;
      planted[i] = next ? (params.signal * sigma[i] * Math.sqrt(nextDays) * score) / nextDays : 0;
      if (next) plantedLog.push({ quarter: q.key, ticker: t, score: round(score, 4) });
    });
    shape?.drift(q, nextDays, sigma, planted);
  }
  return {
    names,
    quarters,
    sectorOf,
    close: C,
    fundamentals: F,
    insider: I,
    sentiment: S,
    market: M,
    planted: plantedLog,
  };
}

/** The prices of tickers [i0, i1): columns of `(i1 − i0) · D` rows, ticker-major, as made. */
function pricesFrame(
  names: readonly string[],
  days: readonly string[],
  i0: number,
  i1: number,
  cols: PriceColumns,
): pl.DataFrame {
  // Every (ticker, day) in ticker-major order, built by Polars rather than as row arrays: the
  // cross join of the sorted names and days is already (ticker, date) order, so no sort (and no
  // second copy of the largest table) is needed.
  return pl.DataFrame([pl.Series("ticker", names.slice(i0, i1), pl.Utf8)])
    .join(pl.DataFrame([dateSeries("date", days)]), { how: "cross" })
    .select("date", "ticker")
    .withColumns(
      pl.Series("open", cols.open, pl.Float64),
      pl.Series("high", cols.high, pl.Float64),
      pl.Series("low", cols.low, pl.Float64),
      pl.Series("close", cols.close, pl.Float64),
      pl.Series("volume", cols.volume, pl.Float64),
    );
}

/**
 * The insider or sentiment rows of tickers [i0, i1) in (ticker, date) order: the order the sort
 * of the whole table gives, as each (ticker, day) has one row at most.
 */
function tickerRowsFrame(
  rows: TickerRows,
  grouped: { order: Int32Array; start: Int32Array },
  columns: readonly [string, string, string, string],
  names: readonly string[],
  days: readonly string[],
  i0: number,
  i1: number,
): pl.DataFrame {
  const from = grouped.start[i0], m = grouped.start[i1] - from;
  const ticker = new Array<string>(m), date = new Array<string>(m);
  const a = new Float64Array(m), b = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const r = grouped.order[from + k];
    ticker[k] = names[rows.ticker[r]];
    date[k] = days[rows.day[r]];
    a[k] = rows.a[r];
    b[k] = rows.b[r];
  }
  return pl.DataFrame([
    pl.Series(columns[0], ticker, pl.Utf8),
    dateSeries(columns[1], date),
    pl.Series(columns[2], a, pl.Float64),
    pl.Series(columns[3], b, pl.Float64),
  ]);
}

/** Each ticker's listed span drawn from the closes, or null without turnover. */
function listingOf(
  params: SynthParams,
  c: CheckedParams,
  sim: Simulation,
): { from: number; to: number | null }[] | null {
  if (c.turnover === 0) return null;
  const D = c.days.length;
  return listingSpells(
    params.seed,
    c.turnover,
    c.days,
    sim.quarters,
    sim.names.map((_, i) => sim.close.subarray(i * D, (i + 1) * D)),
  );
}

/** The `universe` table of the listing spells. */
function universeFrame(
  names: readonly string[],
  days: readonly string[],
  listing: readonly { from: number; to: number | null }[],
): pl.DataFrame {
  return tableFrame(
    "universe",
    listing.map((l, i) => ({
      ticker: names[i],
      from: days[l.from],
      to: l.to === null ? null : days[l.to],
    })),
  );
}

/** The news table of a simulation (`newsSignal` given). */
function newsOf(params: SynthParams, c: CheckedParams, sim: Simulation): pl.DataFrame {
  return syntheticNews({
    seed: params.seed,
    newsSignal: c.newsSignal!,
    days: c.days,
    quarters: sim.quarters,
    names: sim.names,
    sectorOf: sim.sectorOf,
    planted: sim.planted,
  });
}

/**
 * Generate a synthetic universe with every table and a planted signal, in memory. At thousands of
 * tickers over decades prefer {@linkcode writeSynthetic}, which writes the same tables a batch of
 * tickers at a time.
 *
 * @param params seed, size, span, signal strength and optional shape parameters
 * @returns manifest and tables (write them with {@linkcode writeSynthetic} or `writeDataset`)
 * @throws {RangeError} when a parameter is out of range
 * @example
 * ```ts
 * const { manifest, tables } = generateSynthetic({ seed: 1, tickers: 8, from: "2010-01-01", to: "2012-12-31", signal: 1 });
 * ```
 */
export function generateSynthetic(params: SynthParams): SynthDataset {
  const c = checkParams(params);
  const n = params.tickers, D = c.days.length;
  const full: PriceColumns = {
    open: new Float64Array(n * D),
    high: new Float64Array(n * D),
    low: new Float64Array(n * D),
    close: new Float64Array(0), // the simulation's own closes
    volume: new Float64Array(n * D),
  };
  const sim = simulate(params, c, (q, block) => {
    const len = q.end - q.start + 1;
    for (const k of BLOCK_COLUMNS) {
      for (let i = 0; i < n; i++) {
        full[k].set(block[k].subarray(i * len, (i + 1) * len), i * D + q.start);
      }
    }
  });
  const { names, days } = { names: sim.names, days: c.days };
  const insider = sim.insider.byTicker(n), sentiment = sim.sentiment.byTicker(n);
  const tables: SynthDataset["tables"] = {
    prices: pricesFrame(names, days, 0, n, { ...full, close: sim.close }),
    fundamentals: tableFrame("fundamentals", sim.fundamentals, FUNDAMENTAL_COLUMNS).sort([
      "ticker",
      "report_date",
    ]),
    insider: tickerRowsFrame(sim.insider, insider, INSIDER_COLUMNS, names, days, 0, n),
    sentiment: tickerRowsFrame(sim.sentiment, sentiment, SENTIMENT_COLUMNS, names, days, 0, n),
    market: tableFrame("market", sim.market, MARKET_COLUMNS).sort(["series", "date"]),
  };
  if (c.newsSignal !== undefined) tables.news = newsOf(params, c, sim);

  const listing = listingOf(params, c, sim);
  if (listing) {
    tables.universe = universeFrame(names, days, listing);
    for (const t of ["prices", "fundamentals", "insider", "sentiment"] as const) {
      tables[t] = keepListed(
        tables[t],
        tables.universe,
        t === "fundamentals" ? "report_date" : "date",
      );
    }
    if (tables.news) tables.news = keepListed(tables.news, tables.universe, "published_at");
  }
  return {
    manifest: syntheticManifest(params, c, sim, listing),
    tables,
    plantedScores: sim.planted,
    ...(c.shape ? { plantedShapes: c.shape.log } : {}),
  };
}

/** The manifest of a simulation. */
function syntheticManifest(
  params: SynthParams,
  c: CheckedParams,
  sim: Simulation,
  listing: { from: number; to: number | null }[] | null,
): Manifest {
  const { sectors, tailDf, newsSignal, turnover, shape, days } = c;
  const { names, sectorOf } = sim;
  const n = params.tickers;
  const series: SeriesInfo[] = [
    ["^VIX", "volatility index, follows the market volatility regime"],
    ["SPY", "market index (the market factor), the benchmark"],
    ["CL=F", "WTI crude oil, fat-tailed random walk with market beta"],
    ["BZ=F", "Brent crude oil, WTI times a mean-reverting spread"],
    ["BTC=F", "bitcoin, fat-tailed random walk with drift"],
    ["2year", "2-year yield, percent per year, mean-reverting (the risk-free rate)"],
    ["3year", "3-year yield, percent per year, 2-year plus a mean-reverting slope"],
    ["5year", "5-year yield, percent per year, 2-year plus a mean-reverting slope"],
    ["10year", "10-year yield, percent per year, 2-year plus a mean-reverting slope"],
  ].map(([name, description]) => ({
    name,
    frequency: "daily" as const,
    description: `Synthetic ${description}`,
  }));

  const datasetName = params.name ?? `synth-s${params.seed}-k${n}`;
  const plantedNames = new Set(PLANTED_FEATURES.map((f) => f.feature));
  const manifest: Manifest = {
    name: datasetName,
    description: `Synthetic universe of ${n} tickers in ${sectors} sectors, ${days[0]}..${
      days[days.length - 1]
    }, with every table and a planted signal of strength ${params.signal} on ${
      PLANTED_FEATURES.map((f) => f.feature).join(", ")
    }${
      listing
        ? `; ${listing.filter((l) => l.from > 0).length} tickers listed and ${
          listing.filter((l) => l.to !== null).length
        } delisted over time (turnover ${turnover} a year)`
        : ""
    }${shape ? `; a temporal shape of strength ${shape.signal} in each quarter's last weeks` : ""}`,
    synthetic: true,
    provenance:
      `Generated by src/data/synth.ts generateSynthetic (seed ${params.seed}); rebuild with: deno task data synth --seed ${params.seed} --tickers ${n} --from ${params.from} --to ${params.to} --signal ${params.signal} --sectors ${sectors} --tail-df ${tailDf}${
        newsSignal === undefined ? "" : ` --news-signal ${newsSignal}`
      }${listing ? ` --turnover ${turnover}` : ""}${
        shape ? ` --shape-signal ${shape.signal}` : ""
      } --out data/${datasetName}`,
    licence: "CC0-1.0 (generated data)",
    warnings: [
      "synthetic data: generated by a seeded simulator, not market data; results say nothing about real markets",
      params.signal > 0
        ? `Planted signal of strength ${params.signal}: ${
          PLANTED_FEATURES.map((f) => f.feature).join(", ")
        } drive next-quarter returns; every other feature is noise`
        : "No planted feature signal (strength 0): every quarterly feature is noise",
      ...(shape
        ? [
          `Planted temporal shape of strength ${shape.signal}: the phase of a 4-day zigzag in each quarter's last weeks drives next-quarter returns; only a daily window can see it`,
        ]
        : []),
    ],
    tables: [
      "prices",
      "fundamentals",
      "insider",
      "sentiment",
      "market",
      ...(newsSignal === undefined ? [] : ["news" as const]),
      ...(listing ? ["universe" as const] : []),
    ],
    tickers: names,
    from: days[0],
    to: days[days.length - 1],
    index: "SPY",
    riskFree: "2year",
    series,
    generator: {
      generator: "alfred synth v2 (mulberry32 PRNG, @alfred/core Prng)",
      seed: params.seed,
      tickers: n,
      from: params.from,
      to: params.to,
      signal: params.signal,
      sectors,
      tailDf,
      calendar: "weekdays except January 1, July 4 and December 25",
      returns:
        "daily log return = alpha + planted drift + beta * market + gamma * sector + sigma * regime * t(tailDf), t scaled to unit variance",
      market: { sigma: SIGMA_MARKET, mu: MU_MARKET },
      sectorSigma: SIGMA_SECTOR,
      regimes: REGIME,
      earnings:
        "one report per ticker per quarter for the previous fiscal quarter, released 12-30 trading days into the quarter",
      insider:
        "bursts of 1-5 trading days: acquisitions with probability 0.35, disposals 0.45 per quarter",
      sentiment:
        "about one news item per ticker every four trading days; tone follows the last five days' return",
      planted: PLANTED_FEATURES,
      plantedRule:
        "drift of quarter q+1 (spread evenly over its trading days) = signal * sigma_i * sqrt(days of q+1) * sum_k w_k z_k / sqrt(sum_k w_k^2); z_k is the feature's cross-sectional z-score at quarter q's last trading day (0 where unknown); the drift is realized over quarter q+1 only",
      noiseFeatures: SYNTH_FEATURE_NAMES.filter((f) => !plantedNames.has(f)),
      proxies:
        "not planted, but correlated with planted features by construction: surprise (with surprisePercentage); delta_Margin_Operating and delta_Margin_Gross (with delta_Margin_Net_Profit); Close_diff_MA_30/180, mean_sentiment and mean_outlook (with Close_diff_MA_90)",
      sectorOf: Object.fromEntries(names.map((t, i) => [t, sectorOf[i]])),
      ...(newsSignal === undefined ? {} : { news: { signal: newsSignal, ...SYNTH_NEWS_RULES } }),
      ...(listing ? { universe: { turnover, ...SYNTH_LISTING_RULES } } : {}),
      ...(shape ? { shape: { signal: shape.signal, ...SYNTH_SHAPE_RULES } } : {}),
    },
  };
  return manifest;
}

/** How the generator lists and delists tickers (`SynthParams.turnover`), for the manifest. */
export const SYNTH_LISTING_RULES = {
  prng: "its own mulberry32 stream (seed XOR 0x756e6976), so the simulated paths do not change",
  listing:
    "a share min(0.5, turnover * years / 2) of the tickers is listed late, on a uniform trading day in the first 80% of the span; the others are listed from the start",
  delisting:
    "at each quarter end after a first listed quarter, a listed ticker is delisted with probability turnover / 4 x 2 when its trailing-year return (since listing, at most 252 days) is negative, x 0.5 otherwise; its last day is a uniform trading day of the next quarter",
  rows: "every table holds a ticker's rows from its listing day to its delisting day only",
} as const;

/** Each ticker's listed span as day indices (`to` null: listed to the end), drawn from its own stream. */
function listingSpells(
  seed: number,
  turnover: number,
  days: readonly string[],
  quarters: readonly { start: number; end: number }[],
  closes: readonly ArrayLike<number>[],
): { from: number; to: number | null }[] {
  const rng = new SynthRng((seed ^ 0x756e6976) | 0);
  const years = days.length / 252;
  const lateShare = Math.min(0.5, (turnover * years) / 2);
  return closes.map((c) => {
    const from = rng.next() < lateShare
      ? rng.intBetween(1, Math.floor(0.8 * (days.length - 1)))
      : 0;
    for (let qi = 0; qi + 1 < quarters.length; qi++) {
      const end = quarters[qi].end;
      if (end < from + 63) continue;
      const ret = c[end] / c[Math.max(from, end - 252)] - 1;
      if (rng.next() < (turnover / 4) * (ret < 0 ? 2 : 0.5)) {
        const next = quarters[qi + 1];
        return { from, to: rng.intBetween(next.start, next.end) };
      }
    }
    return { from, to: null };
  });
}

/** The rows of a ticker table dated inside the ticker's listed span. */
function keepListed(
  df: pl.DataFrame,
  universe: pl.DataFrame,
  date: "date" | "report_date" | "published_at",
): pl.DataFrame {
  const day = date === "published_at" ? pl.col(date).cast(pl.Date) : pl.col(date);
  const sortKey = date === "published_at" ? ["ticker", date, "article_id"] : ["ticker", date];
  return df.join(universe.rename({ from: "__alfred_from", to: "__alfred_to" }), { on: "ticker" })
    .filter(
      day.gtEq(pl.col("__alfred_from")).and(
        pl.col("__alfred_to").isNull().or(day.ltEq(pl.col("__alfred_to"))),
      ),
    )
    .drop(["__alfred_from", "__alfred_to"])
    .sort(sortKey);
}

/** Options of {@linkcode writeSynthetic}. */
export interface WriteSyntheticOptions {
  /**
   * Tickers per batch of the tables that grow with tickers × days (prices, insider, sentiment).
   * Default: every ticker at once up to {@linkcode SYNTH_UNBATCHED_ROWS} price rows (the files
   * are then byte for byte {@linkcode generateSynthetic}'s), else batches of about
   * {@linkcode SYNTH_BATCH_ROWS} price rows. Batches give the same values in the same order.
   */
  batchTickers?: number;
}

/** Up to this many price rows (tickers × trading days) {@linkcode writeSynthetic} does not batch. */
export const SYNTH_UNBATCHED_ROWS = 8_000_000;
/** About this many price rows go in one batch of {@linkcode writeSynthetic}. */
export const SYNTH_BATCH_ROWS = 4_000_000;

/**
 * Generate a synthetic dataset and write it atomically to `dir`. Large universes are written a
 * batch of tickers at a time (see {@linkcode WriteSyntheticOptions.batchTickers}): the simulation
 * keeps the closes and hands each quarter's other price columns to a scratch file beside `dir`,
 * and each batch's rows are read back, checked and written, so memory holds the closes, the
 * compact insider and sentiment rows and one batch, not every table whole.
 *
 * @param dir the dataset folder to create or replace
 * @param params generator parameters
 * @param options how many tickers go in a batch
 * @returns the manifest written
 * @throws {RangeError} when a parameter is out of range
 * @example
 * ```ts
 * await writeSynthetic("data/synth-k8", { seed: 1, tickers: 8, from: "2010-01-01", to: "2012-12-31", signal: 1 });
 * ```
 */
export async function writeSynthetic(
  dir: string,
  params: SynthParams,
  options: WriteSyntheticOptions = {},
): Promise<Manifest> {
  const c = checkParams(params);
  const n = params.tickers, D = c.days.length;
  const batch = options.batchTickers ??
    (n * D <= SYNTH_UNBATCHED_ROWS ? n : Math.max(1, Math.floor(SYNTH_BATCH_ROWS / D)));
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`Invalid batchTickers "${batch}": expected a positive integer`);
  }
  if (batch >= n) {
    const { manifest, tables } = generateSynthetic(params);
    await writeDataset(dir, manifest, tables);
    return manifest;
  }
  const parent = dirname(resolve(dir));
  await Deno.mkdir(parent, { recursive: true });
  const scratch = await Deno.makeTempFile({ dir: parent, prefix: ".tmp-synth-prices-" });
  const file = await Deno.open(scratch, { read: true, write: true });
  try {
    // Each quarter's block: the BLOCK_COLUMNS one after another, each ticker-major.
    const offsets: number[] = [];
    let end = 0;
    const sim = simulate(params, c, (_q, block) => {
      offsets.push(end);
      for (const k of BLOCK_COLUMNS) {
        const bytes = new Uint8Array(block[k].buffer, block[k].byteOffset, block[k].byteLength);
        for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
        end += bytes.length;
      }
    });
    const { names, quarters } = sim;
    const days = c.days;
    /** Tickers [i0, i1)'s price columns, read back from the scratch file. */
    const pricesOf = (i0: number, i1: number): PriceColumns => {
      const m = i1 - i0;
      const cols = {
        open: new Float64Array(m * D),
        high: new Float64Array(m * D),
        low: new Float64Array(m * D),
        close: sim.close.subarray(i0 * D, i1 * D),
        volume: new Float64Array(m * D),
      };
      quarters.forEach((q, qi) => {
        const len = q.end - q.start + 1;
        const part = new Float64Array(m * len);
        const bytes = new Uint8Array(part.buffer);
        BLOCK_COLUMNS.forEach((k, j) => {
          file.seekSync(offsets[qi] + (j * n + i0) * len * 8, Deno.SeekMode.Start);
          for (let done = 0; done < bytes.length;) {
            const got = file.readSync(bytes.subarray(done));
            if (got === null) throw new RangeError(`Scratch file "${scratch}" ended early`);
            done += got;
          }
          for (let i = 0; i < m; i++) {
            cols[k].set(part.subarray(i * len, (i + 1) * len), i * D + q.start);
          }
        });
      });
      return cols;
    };
    const listing = listingOf(params, c, sim);
    const universe = listing ? universeFrame(names, days, listing) : null;
    const listed = (df: pl.DataFrame, date: "date" | "report_date" | "published_at") =>
      universe ? keepListed(df, universe, date) : df;
    /** A table's batches of whole tickers, in ticker order. */
    const batches = (make: (i0: number, i1: number) => pl.DataFrame) =>
      function* (): Generator<pl.DataFrame> {
        for (let i0 = 0; i0 < n; i0 += batch) {
          yield listed(make(i0, Math.min(n, i0 + batch)), "date");
        }
      };
    const insider = sim.insider.byTicker(n), sentiment = sim.sentiment.byTicker(n);
    const tables: Parameters<typeof writeDataset>[2] = {
      prices: batches((i0, i1) => pricesFrame(names, days, i0, i1, pricesOf(i0, i1))),
      fundamentals: listed(
        tableFrame("fundamentals", sim.fundamentals, FUNDAMENTAL_COLUMNS).sort([
          "ticker",
          "report_date",
        ]),
        "report_date",
      ),
      insider: batches((i0, i1) =>
        tickerRowsFrame(sim.insider, insider, INSIDER_COLUMNS, names, days, i0, i1)
      ),
      sentiment: batches((i0, i1) =>
        tickerRowsFrame(sim.sentiment, sentiment, SENTIMENT_COLUMNS, names, days, i0, i1)
      ),
      market: tableFrame("market", sim.market, MARKET_COLUMNS).sort(["series", "date"]),
      ...(c.newsSignal === undefined
        ? {}
        : { news: listed(newsOf(params, c, sim), "published_at") }),
      ...(universe ? { universe } : {}),
    };
    const manifest = syntheticManifest(params, c, sim, listing);
    await writeDataset(dir, manifest, tables);
    return manifest;
  } finally {
    file.close();
    await Deno.remove(scratch).catch(() => {});
  }
}

// --- news (issue 21) -----------------------------------------------------------------------------

/** Headline and summary templates of the synthetic news, by tone; `{t}` is the ticker. */
export const NEWS_TEMPLATES: Readonly<
  Record<"positive" | "negative" | "neutral", [string, string][]>
> = {
  positive: [
    [
      "{t} shares rally as quarterly profit beats expectations",
      "{t} reported strong results and raised its outlook, and analysts praised the solid growth.",
    ],
    [
      "Analysts upgrade {t} on robust demand",
      "Brokers see strong momentum and improving margins at {t}, citing excellent execution.",
    ],
    [
      "{t} wins major contract, shares gain",
      "The new deal is a big success for {t} and boosts confidence in its growth plans.",
    ],
    [
      "{t} posts record revenue",
      "{t} delivered impressive gains across its divisions and expects further improvement.",
    ],
    [
      "Investors cheer {t} product launch",
      "Early reviews of the launch are positive and {t} sees great opportunity ahead.",
    ],
    [
      "{t} raises dividend after a strong quarter",
      "The board of {t} is optimistic about cash flow and rewarded shareholders.",
    ],
  ],
  negative: [
    [
      "{t} shares slump after profit warning",
      "{t} cut its outlook, blaming weak demand and rising costs; analysts were disappointed.",
    ],
    [
      "Analysts downgrade {t} amid falling sales",
      "Brokers warn of losses and a difficult year for {t} as competition hurts margins.",
    ],
    [
      "{t} faces lawsuit over failed product",
      "Regulators and customers criticized {t} after the recall, a serious setback.",
    ],
    [
      "{t} misses earnings estimates, stock drops",
      "Results at {t} were poor and management warned of further decline.",
    ],
    [
      "Investors worry about {t} debt",
      "Concerns grow that {t} may struggle to refinance, and the outlook looks bleak.",
    ],
    [
      "{t} cuts jobs as orders weaken",
      "The layoffs at {t} follow a painful quarter of lost business.",
    ],
  ],
  neutral: [
    [
      "{t} to hold annual shareholder meeting in May",
      "The meeting will take place at the company's headquarters.",
    ],
    [
      "{t} files quarterly report with regulators",
      "The filing covers the period ended last month.",
    ],
    ["{t} names new chief financial officer", "The appointment takes effect next month."],
    ["{t} schedules earnings call", "{t} will publish its results before the call."],
    [
      "{t} completes move to new headquarters",
      "The company relocated its offices within the city.",
    ],
  ],
};

/** How the synthetic news is made, as the manifest states it. */
const SYNTH_NEWS_RULES = {
  prng: "its own mulberry32 stream (seed XOR 0x6e657773), so the other tables do not change",
  toned:
    "2-7 articles per ticker and quarter; u = newsSignal * (planted score at the quarter's end, which drives the next quarter's drift) + N(0, 1); u > 0.5 positive template, u < -0.5 negative, else neutral",
  noise:
    "1-3 neutral articles per ticker and quarter, and one neutral sector roundup per sector and quarter tagged with 2-3 of its tickers",
  times:
    "a uniform trading day of the quarter; 85% in the 8.5 hours before the 16:00 America/New_York close, 15% in the 5 hours after it (those count for the next trading day, and on a quarter's last day for the next quarter)",
  templates: "NEWS_TEMPLATES in src/data/synth.ts",
};

/** Arguments of {@linkcode syntheticNews}: what the price simulation produced. */
interface SyntheticNewsArgs {
  seed: number;
  newsSignal: number;
  days: string[];
  quarters: { key: string; start: number; end: number }[];
  names: string[];
  sectorOf: number[];
  planted: { quarter: string; ticker: string; score: number }[];
}

const HOUR_MS = 3_600_000;
const NYSE_CLOSE = { time_zone: "America/New_York", time: "16:00" };

/** The synthetic `news` table (see {@linkcode SYNTH_NEWS_RULES}). */
function syntheticNews(a: SyntheticNewsArgs): pl.DataFrame {
  const rng = new SynthRng((a.seed ^ 0x6e657773) >>> 0);
  const score = new Map(a.planted.map((p) => [`${p.quarter}|${p.ticker}`, p.score]));
  const N: Row<typeof NEWS_COLUMNS>[] = [];
  let serial = 0;
  const publish = (
    tickers: string[],
    tone: keyof typeof NEWS_TEMPLATES,
    start: number,
    end: number,
  ) => {
    const list = NEWS_TEMPLATES[tone];
    const [h, sm] = list[rng.int(list.length)];
    const day = isoToDay(a.days[rng.intBetween(start, end)]);
    const close = marketCloseMs(day, NYSE_CLOSE);
    const ms = rng.next() < 0.85
      ? close - Math.round(rng.uniform(0, 8.5) * HOUR_MS)
      : close + Math.round(rng.uniform(0, 5) * HOUR_MS);
    const id = `syn-${a.seed}-${String(++serial).padStart(7, "0")}`;
    const label = tickers.join(", ");
    for (const t of tickers) {
      N.push({
        ticker: t,
        published_at: Math.floor(ms / 1000) * 1000,
        article_id: id,
        headline: h.replaceAll("{t}", label),
        summary: sm.replaceAll("{t}", label),
        source: "Synthetic Wire",
        url: `https://news.invalid/synthetic/${id}`,
      });
    }
  };
  const sectors = a.sectorOf.reduce((m, s) => Math.max(m, s), 0) + 1;
  for (const q of a.quarters) {
    a.names.forEach((t) => {
      const tone = a.newsSignal * (score.get(`${q.key}|${t}`) ?? 0);
      const toned = rng.intBetween(2, 7);
      for (let k = 0; k < toned; k++) {
        const u = tone + rng.normal();
        publish([t], u > 0.5 ? "positive" : u < -0.5 ? "negative" : "neutral", q.start, q.end);
      }
      const noise = rng.intBetween(1, 3);
      for (let k = 0; k < noise; k++) publish([t], "neutral", q.start, q.end);
    });
    for (let s = 0; s < sectors; s++) {
      const members = a.names.filter((_, i) => a.sectorOf[i] === s);
      if (members.length < 2) continue;
      const k = Math.min(members.length, rng.intBetween(2, 3));
      const off = rng.int(members.length);
      const picked = Array.from({ length: k }, (_, i) => members[(off + i) % members.length])
        .sort();
      publish(picked, "neutral", q.start, q.end);
    }
  }
  return tableFrame("news", N, NEWS_COLUMNS).sort(["ticker", "published_at", "article_id"]);
}

// --- temporal shape (issue 19) -------------------------------------------------------------------

/** How the generator plants the temporal shape (`SynthParams.shapeSignal`), for the manifest. */
export const SYNTH_SHAPE_RULES = {
  prng:
    "its own mulberry32 stream (seed XOR 0x73686170) draws each phase, so the other draws do not change",
  block:
    "the 16 trading days ending 6 trading days before the quarter's last (quarters of at least 23 trading days), as 8 consecutive pairs of days",
  phase:
    "+1 or -1 with equal probability per ticker and quarter; in each pair the two days' returns are put in the order (lower, higher) for pair 0, 2, 4, 6 and (higher, lower) for pair 1, 3, 5, 7 under +1, the other way under -1: a 4-day zigzag whose phase is the shape",
  how:
    "swapping a pair's two returns changes only its middle close (rounded to the cent; that day's high and low and the next day's open follow), so each pair's end closes, the quarter's last close and return, and each pair's two returns are the same either way",
  invisible:
    "the quarter's close, return and mean daily return do not depend on the phase; Close_diff_MA_N does not for N <= 7 (the last 6 days are untouched) and, for N >= 22, moves by an alternating sum over the pairs whose distribution is the same under either phase",
  drift:
    "next quarter's daily drift += shapeSignal * sigma_i * sqrt(days of q+1) * phase / days of q+1, added to the planted features' drift",
} as const;

/** Days in the planted block, ending this many days before the quarter's last. */
const SHAPE_BLOCK = 16;
const SHAPE_GAP = 6;

/** The temporal shape's state: its phases, and how it plants them and their drift. */
interface TemporalShape {
  signal: number;
  log: { quarter: string; ticker: string; phase: 1 | -1 }[];
  /**
   * Plants this quarter's phases in the quarter's block of prices (after its days are drawn): row
   * `i · len + k` of each column is ticker i on the quarter's k-th day.
   */
  plant(
    q: { key: string; start: number; end: number },
    names: readonly string[],
    P: { open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array },
  ): void;
  /** Adds this quarter's phases to next quarter's daily drift. */
  drift(
    q: { key: string },
    nextDays: number,
    sigma: readonly number[],
    planted: number[],
  ): void;
}

/** The temporal shape of `params.shapeSignal`, or null when there is none. */
function temporalShape(params: SynthParams): TemporalShape | null {
  const signal = params.shapeSignal ?? 0;
  if (!Number.isFinite(signal) || signal < 0 || signal > 10) {
    throw new RangeError(
      `Invalid shapeSignal "${params.shapeSignal}": expected a number from 0 to 10`,
    );
  }
  if (signal === 0) return null;
  const rng = new SynthRng((params.seed ^ 0x73686170) | 0);
  const log: TemporalShape["log"] = [];
  let phases: (1 | -1)[] | null = null;
  return {
    signal,
    log,
    plant(q, names, P) {
      phases = null;
      const len = q.end - q.start + 1;
      if (len < SHAPE_BLOCK + SHAPE_GAP + 1) return;
      phases = names.map(() => (rng.next() < 0.5 ? 1 : -1));
      // The block's first day, counted from the quarter's first (its day before is in the quarter).
      const first = len - SHAPE_GAP - SHAPE_BLOCK;
      names.forEach((t, i) => {
        plantZigzag(P, i * len + first, phases![i]);
        log.push({ quarter: q.key, ticker: t, phase: phases![i] });
      });
    },
    drift(_q, nextDays, sigma, planted) {
      if (!phases || nextDays === 0) return;
      phases.forEach((phase, i) => {
        planted[i] += (signal * sigma[i] * Math.sqrt(nextDays) * phase) / nextDays;
      });
    },
  };
}

/**
 * Puts one ticker's block of {@linkcode SHAPE_BLOCK} days (from row `first` of the price columns)
 * in the zigzag of `phase`: pair j's two returns in the order (lower, higher) when j is even under
 * +1 (odd under −1), else (higher, lower). A swap changes only the pair's middle close, to
 * `before × after ÷ middle` (the same two returns, the other way round), rounded to the cent; that
 * day's high and low widen to hold it and the next day's open keeps its gap to it.
 *
 * @param P the price columns, changed in place
 * @param first the row of the block's first day (its previous row is the day before)
 * @param phase +1 or −1
 */
export function plantZigzag(
  P: { open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array },
  first: number,
  phase: 1 | -1,
): void {
  for (let j = 0; j < SHAPE_BLOCK / 2; j++) {
    const mid = first + 2 * j;
    const before = P.close[mid - 1], middle = P.close[mid], after = P.close[mid + 1];
    const risesSecond = middle / before <= after / middle; // first return <= second
    const wantRisesSecond = (j % 2 === 0) === (phase === 1);
    if (risesSecond === wantRisesSecond) continue;
    const swapped = Math.max(0.01, round((before * after) / middle, 2));
    const gap = P.open[mid + 1] / middle;
    P.close[mid] = swapped;
    P.high[mid] = Math.max(P.high[mid], swapped);
    P.low[mid] = Math.min(P.low[mid], swapped);
    const open = Math.max(0.01, round(swapped * gap, 2));
    P.open[mid + 1] = open;
    P.high[mid + 1] = Math.max(P.high[mid + 1], open);
    P.low[mid + 1] = Math.min(P.low[mid + 1], open);
  }
}
