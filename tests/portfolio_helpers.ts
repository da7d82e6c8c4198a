/**
 * A synthetic universe for the portfolio manager's tests: quarterly periods, a planted signal
 * that moves each asset over the quarter after it is formed, an informative analyst reporting it
 * (optionally shuffled across assets, so it carries nothing) and a noise analyst.
 */
import { dayOfWeek, dayToIso, isoToDay, Prng, quarterOf } from "@alfred/core";
import type { PriceSeries } from "../src/backtest/types.ts";
import type { SignalTable } from "../src/portfolio/signals.ts";
import type { EnvironmentConfig } from "../src/portfolio/environment.ts";

/** Options of {@linkcode plantedUniverse}. */
export interface PlantedOptions {
  seed: number;
  assets?: number;
  years?: number;
  /** Expected quarterly move per unit of signal. */
  beta?: number;
  /** Daily volatility of the noise. */
  dailyVol?: number;
  /** Permute the informative analyst's signals across assets each quarter. */
  shuffleInformative?: boolean;
}

/** Standard normal draws from the seeded generator. */
function gauss(prng: Prng): number {
  const u = Math.max(prng.next(), 1e-12), v = prng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A universe with a planted signal, and the two analysts' signal tables. */
export function plantedUniverse(o: PlantedOptions): {
  prices: Map<string, PriceSeries>;
  tickers: string[];
  informative: SignalTable;
  noise: SignalTable;
  /** The planted signal per (quarter, asset). */
  planted: Map<string, Float64Array>;
} {
  const n = o.assets ?? 8;
  const prng = new Prng(o.seed);
  const tickers = Array.from({ length: n }, (_, i) => `S${String(i).padStart(2, "0")}`);
  const days: string[] = [];
  for (let d = isoToDay("2000-01-03"); days.length < 252 * (o.years ?? 12); d++) {
    const w = dayOfWeek(d);
    if (w !== 0 && w !== 6) days.push(dayToIso(d));
  }
  const quarters = [...new Set(days.map(quarterOf))];
  const quarterEnd = new Map<string, string>();
  for (const d of days) quarterEnd.set(quarterOf(d), d);
  const planted = new Map(
    quarters.map((q) => [q, Float64Array.from({ length: n }, () => gauss(prng))]),
  );
  const beta = o.beta ?? 0.04, vol = o.dailyVol ?? 0.012;
  const close = tickers.map(() => new Float64Array(days.length));
  const level = new Float64Array(n).fill(100);
  let prevQuarter: string | null = null;
  for (let k = 0; k < days.length; k++) {
    const q = quarterOf(days[k]);
    // The signal formed at the last close of the previous quarter drives this quarter.
    const s = prevQuarter === null ? null : planted.get(prevQuarter)!;
    const market = gauss(prng) * vol * 0.5;
    for (let i = 0; i < n; i++) {
      const drift = s ? (beta * s[i]) / 63 : 0;
      level[i] *= Math.exp(drift + market + gauss(prng) * vol);
      close[i][k] = level[i];
    }
    if (k + 1 < days.length && quarterOf(days[k + 1]) !== q) prevQuarter = q;
  }
  const prices = new Map(tickers.map((t, i) => [t, { dates: days, close: close[i] }]));
  const table = (name: string, score: (q: string, i: number) => number): SignalTable => ({
    version: 1,
    analyst: name,
    file: `${name}.yaml`,
    set: [],
    configHash: "0".repeat(63) + (name === "informative" ? "1" : "2"),
    runId: "synthetic",
    labelMode: "magnitude",
    horizon: 1,
    dataset: "synthetic",
    fingerprint: "synthetic",
    tickers,
    folds: [{
      name: "fold-1",
      trainPeriod: [days[0], days[0]],
      evalPeriod: [quarterEnd.get(quarters[0])!, quarterEnd.get(quarters[quarters.length - 1])!],
      lastTrainLabelDate: null,
    }],
    rows: quarters.flatMap((q) =>
      tickers.map((t, i) => ({
        ticker: t,
        quarter: q,
        date: quarterEnd.get(q)!,
        fold: "fold-1",
        score: score(q, i),
      }))
    ),
  });
  const shuffled = new Map(
    quarters.map((q) => [q, o.shuffleInformative ? prng.permutation(n) : null]),
  );
  const informative = table("informative", (q, i) => {
    const p = shuffled.get(q);
    return planted.get(q)![p ? p[i] : i];
  });
  const noiseScores = new Map(
    quarters.map((q) => [q, Float64Array.from({ length: n }, () => gauss(prng))]),
  );
  const noise = table("noise", (q, i) => noiseScores.get(q)![i]);
  return { prices, tickers, informative, noise, planted };
}

/** The environment the tests use unless they say otherwise. */
export const TEST_ENV: EnvironmentConfig = {
  period: "horizon",
  commission_bps: 5,
  spread_bps: 10,
  long_only: true,
  gross_leverage: 1,
  max_weight: 1,
  initial_capital: 100_000,
  lookback_days: 63,
};
