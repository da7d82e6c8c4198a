/**
 * The daily execution engine for one book (one pot of capital): orders set
 * target weights, fills happen at closes, positions, cash and equity are
 * tracked every trading day, costs are charged in cash, and every position
 * is recorded as a round trip.
 *
 * Sizing: the targets of the names filled together are `weight × (equity −
 * this fill's costs)`, solved as a fixed point so a fully invested long ends
 * with zero cash; fractional shares are allowed.
 *
 * Ruin: equity is checked at every close after marking; at or below zero the
 * book is liquidated at that close and never trades again (see {@linkcode Ruin}).
 *
 * @module
 */
import type { CostBreakdown, Fill, FillReason, Ruin, Trade } from "./types.ts";

/** One order: at the close of calendar day `day`, trade the book to these weights. */
export interface Order {
  /** Calendar index of the fill. */
  day: number;
  /** Target weight per ticker; book tickers not listed go flat. */
  targets: ReadonlyMap<string, number>;
  /** False: a held position whose side the target keeps is not traded. */
  resize: boolean;
  reason: FillReason;
}

/** Costs in basis points of traded notional, and the annual borrow rate in basis points. */
export interface CostModel {
  commissionBps: number;
  slippageBps: number;
  borrowBps: number;
}

/** What {@linkcode simulateBook} needs. */
export interface BookInput {
  /** Name used in warnings ("portfolio", a ticker, "benchmark DJIA"). */
  name: string;
  tickers: readonly string[];
  capital: number;
  /** Orders sorted by day; a later order on the same day replaces an earlier one. */
  orders: readonly Order[];
  /** The trading calendar (ISO dates). */
  calendar: readonly string[];
  /** Closes per ticker aligned to the calendar; NaN where the ticker has no bar. */
  closes: ReadonlyMap<string, Float64Array>;
  /** First and last calendar index simulated (inclusive). */
  start: number;
  end: number;
  costs: CostModel;
  /**
   * Membership of a point-in-time universe per ticker, aligned to the calendar (1: a member). A
   * held ticker is closed at the close of its last member day; an order does not fill on a day
   * its ticker is not a member. Absent: always a member.
   */
  members?: ReadonlyMap<string, Uint8Array>;
}

/** What one book did. */
export interface BookResult {
  /** Equity at each close from `start` to `end`. */
  equity: Float64Array;
  /** 1 where a position was held into that day (earned that day's return); index 0 is always 0. */
  exposed: Uint8Array;
  trades: Trade[];
  fills: Fill[];
  costs: CostBreakdown;
  /** Sum of |traded notional|. */
  tradedNotional: number;
  /** Per ticker: pnl after costs, costs, days held. */
  byTicker: Map<string, { pnl: number; costs: number; heldDays: number }>;
  /** When the book lost its equity and was liquidated; null when it never did. */
  ruin: Ruin | null;
  warnings: string[];
}

interface Episode {
  side: 1 | -1;
  entryDay: number;
  entryPrice: number;
  entryNotional: number;
  pnl: number;
  costs: number;
}

interface Pending {
  weight: number;
  resize: boolean;
  reason: FillReason;
  orderDay: number;
}

/**
 * Runs one book day by day over `[start, end]` of the calendar.
 *
 * Each day: borrow on shorts accrues on the previous close's short value,
 * positions are marked to the day's closes, then pending orders fill at the
 * close for every ticker that has a bar that day (others wait for their next
 * bar). A ticker whose prices end while it is held is closed at its last
 * close. Positions still held after `end` are reported as open trades marked
 * at the last close. When the marked equity is at or below zero the book is
 * ruined: every held position is closed (reason `liquidation`) at that close,
 * or at a ticker's next close when it has no price that day, costs are
 * charged, orders are ignored from then on, and `ruin` records it.
 *
 * @param input the book's orders, prices, costs and span
 * @returns equity, exposure, trades, fills and costs
 * @throws {RangeError} when the span or an order day is outside the calendar
 */
export function simulateBook(input: BookInput): BookResult {
  const { calendar, start, end, tickers, closes } = input;
  if (!(start >= 0 && end < calendar.length && start <= end)) {
    throw new RangeError(
      `Invalid book span for "${input.name}": days ${start}..${end} of a ${calendar.length}-day calendar`,
    );
  }
  const n = tickers.length;
  const index = new Map(tickers.map((t, i) => [t, i]));
  const price: Float64Array[] = tickers.map((t) => {
    const p = closes.get(t);
    if (!p || p.length !== calendar.length) {
      throw new RangeError(`Missing aligned closes for "${t}" in book "${input.name}"`);
    }
    return p;
  });
  const lastBar = price.map((p) => {
    for (let d = end; d >= 0; d--) if (!Number.isNaN(p[d])) return d;
    return -1;
  });
  const member = tickers.map((t) => input.members?.get(t) ?? null);
  // The last day of each membership spell: a held position closes at that close.
  const leaves = (i: number, d: number) => {
    const m = member[i];
    return m !== null && m[d] === 1 && d + 1 < calendar.length && m[d + 1] === 0;
  };
  const commission = input.costs.commissionBps / 10_000;
  const slippage = input.costs.slippageBps / 10_000;
  const rate = commission + slippage;
  const borrowDaily = input.costs.borrowBps / 10_000 / 252;

  const q = new Float64Array(n);
  const last = new Float64Array(n).fill(NaN);
  const pending: (Pending | null)[] = new Array(n).fill(null);
  const episode: (Episode | null)[] = new Array(n).fill(null);
  const stats = tickers.map(() => ({ pnl: 0, costs: 0, heldDays: 0 }));
  let cash = input.capital;
  const days = end - start + 1;
  const equity = new Float64Array(days);
  const exposed = new Uint8Array(days);
  const trades: Trade[] = [];
  const fills: Fill[] = [];
  const costs: CostBreakdown = { commission: 0, slippage: 0, borrow: 0, total: 0 };
  const warnings: string[] = [];
  let tradedNotional = 0;
  let ruin: Ruin | null = null;
  let orderAt = 0;
  const orders = input.orders;
  for (const o of orders) {
    if (o.day < 0 || o.day >= calendar.length) {
      throw new RangeError(`Order day ${o.day} outside the calendar in book "${input.name}"`);
    }
  }
  while (orderAt < orders.length && orders[orderAt].day < start) orderAt++;

  const closeEpisode = (i: number, day: number, p: number, open: boolean) => {
    const e = episode[i]!;
    trades.push({
      ticker: tickers[i],
      side: e.side > 0 ? "long" : "short",
      entryDate: calendar[e.entryDay],
      entryPrice: e.entryPrice,
      entryNotional: e.entryNotional,
      exitDate: calendar[day],
      exitPrice: p,
      open,
      pnl: e.pnl,
      return: e.entryNotional > 0 ? e.pnl / e.entryNotional : 0,
      costs: e.costs,
      bars: day - e.entryDay,
    });
    episode[i] = null;
  };

  const openEpisode = (i: number, side: 1 | -1, day: number, p: number, shares: number) => {
    episode[i] = {
      side,
      entryDay: day,
      entryPrice: p,
      entryNotional: Math.abs(shares) * p,
      pnl: 0,
      costs: 0,
    };
  };

  const charge = (i: number, amount: number) => {
    stats[i].pnl -= amount;
    stats[i].costs += amount;
    if (episode[i]) {
      episode[i]!.pnl -= amount;
      episode[i]!.costs += amount;
    }
  };

  for (let d = start; d <= end; d++) {
    const k = d - start;
    // Borrow on the previous close's short value, then mark to today's closes.
    let held = false;
    for (let i = 0; i < n; i++) {
      if (q[i] === 0) continue;
      held = true;
      stats[i].heldDays += d > start ? 1 : 0;
      if (q[i] < 0 && borrowDaily > 0 && d > start) {
        const b = borrowDaily * -q[i] * last[i];
        cash -= b;
        costs.borrow += b;
        costs.total += b;
        charge(i, b);
      }
      const p = price[i][d];
      if (!Number.isNaN(p)) {
        const move = q[i] * (p - last[i]);
        stats[i].pnl += move;
        episode[i]!.pnl += move;
      }
    }
    exposed[k] = held && d > start ? 1 : 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(price[i][d])) last[i] = price[i][d];

    // New orders become pending (a later order replaces an earlier one).
    while (orderAt < orders.length && orders[orderAt].day === d) {
      const o = orders[orderAt++];
      for (const t of o.targets.keys()) {
        if (!index.has(t)) {
          throw new RangeError(`Order for "${t}" which is not in book "${input.name}"`);
        }
      }
      for (let i = 0; i < n; i++) {
        const w = o.targets.get(tickers[i]) ?? 0;
        if (w === 0 && q[i] === 0) pending[i] = null;
        else pending[i] = { weight: w, resize: o.resize, reason: o.reason, orderDay: d };
      }
    }
    // A ticker whose prices end, or whose membership of the universe ends, today while held is
    // closed at this close; an order for a ticker that is not a member today does not fill.
    for (let i = 0; i < n; i++) {
      const m = member[i];
      if (m !== null && m[d] === 0 && pending[i] && pending[i]!.weight !== 0) {
        if (q[i] === 0) {
          warnings.push(
            `${input.name}: "${tickers[i]}" is not in the universe on ${
              calendar[d]
            }: its order was not filled`,
          );
          pending[i] = null;
        } else pending[i] = { weight: 0, resize: true, reason: "delisted", orderDay: d };
      }
      const pricesEnd = lastBar[i] === d && d < end;
      const left = leaves(i, d) && d < end;
      if ((pricesEnd || left) && (q[i] !== 0 || (pending[i] && pending[i]!.weight !== 0))) {
        if (q[i] !== 0) {
          warnings.push(
            pricesEnd
              ? `${input.name}: "${tickers[i]}" has no price after ${
                calendar[d]
              }: position closed at that close`
              : `${input.name}: "${tickers[i]}" left the universe on ${
                calendar[d]
              }: position closed at that close`,
          );
        }
        pending[i] = { weight: 0, resize: true, reason: "delisted", orderDay: d };
      }
    }

    let equityNow = cash;
    for (let i = 0; i < n; i++) if (q[i] !== 0) equityNow += q[i] * last[i];
    if (ruin === null && equityNow <= 0) {
      ruin = {
        book: input.name,
        capital: input.capital,
        date: calendar[d],
        equity: equityNow,
        liquidatedOn: null,
        liquidationValue: equityNow,
        liquidationCosts: 0,
      };
    }
    if (ruin !== null) {
      // A ruined book only closes what it holds: every order, pending or new, is dropped.
      for (let i = 0; i < n; i++) {
        if (q[i] === 0) pending[i] = null;
        else if (pending[i]?.reason !== "liquidation") {
          pending[i] = { weight: 0, resize: true, reason: "liquidation", orderDay: d };
        }
      }
    }

    // Fill what can fill today.
    const fillable: number[] = [];
    for (let i = 0; i < n; i++) {
      const pnd = pending[i];
      if (!pnd || Number.isNaN(price[i][d])) continue;
      if (!pnd.resize && pnd.weight !== 0 && Math.sign(pnd.weight) === Math.sign(q[i])) {
        pending[i] = null;
        continue;
      }
      fillable.push(i);
    }
    if (fillable.length > 0) {
      let x = equityNow;
      for (let iter = 0; iter < 200; iter++) {
        let gross = 0;
        for (const i of fillable) gross += Math.abs(pending[i]!.weight * x - q[i] * last[i]);
        const next = equityNow - rate * gross;
        const done = Math.abs(next - x) <= 1e-13 * Math.max(1, Math.abs(equityNow));
        x = next;
        if (done) break;
      }
      for (const i of fillable) {
        const pnd = pending[i]!;
        pending[i] = null;
        const p = last[i];
        const target = pnd.weight === 0 ? 0 : (pnd.weight * x) / p;
        const dq = target - q[i];
        const notional = Math.abs(dq) * p;
        // A negligible resize is skipped; a close (target 0) always trades.
        if (target !== 0 && notional <= 1e-12 * Math.max(1, Math.abs(equityNow))) continue;
        if (dq === 0) continue;
        const comm = commission * notional;
        const slip = slippage * notional;
        const cost = comm + slip;
        if (pnd.reason === "liquidation") ruin!.liquidationCosts += cost;
        cash -= dq * p + cost;
        costs.commission += comm;
        costs.slippage += slip;
        costs.total += cost;
        tradedNotional += notional;
        fills.push({
          date: calendar[d],
          ticker: tickers[i],
          quantity: dq,
          price: p,
          notional,
          commission: comm,
          slippage: slip,
          reason: pnd.reason,
        });
        if (pnd.orderDay !== d) {
          warnings.push(
            `${input.name}: "${tickers[i]}" had no price on ${
              calendar[pnd.orderDay]
            }: its order filled at the next close, ${calendar[d]}`,
          );
        }
        const before = q[i];
        q[i] = target;
        const oldSide = Math.sign(before);
        const newSide = Math.sign(target);
        if (oldSide !== 0 && newSide !== oldSide) {
          // Closing part of the cost goes to the old position, opening part to the new one.
          const closingShare = newSide === 0
            ? 1
            : Math.abs(before) / (Math.abs(before) + Math.abs(target));
          charge(i, cost * closingShare);
          closeEpisode(i, d, p, false);
          if (newSide !== 0) {
            openEpisode(i, newSide as 1 | -1, d, p, target);
            charge(i, cost * (1 - closingShare));
          }
        } else if (oldSide === 0) {
          openEpisode(i, newSide as 1 | -1, d, p, target);
          charge(i, cost);
        } else {
          charge(i, cost);
        }
      }
    }
    let eq = cash;
    let holds = false;
    for (let i = 0; i < n; i++) {
      if (q[i] === 0) continue;
      eq += q[i] * last[i];
      holds = true;
    }
    equity[k] = eq;
    if (ruin !== null && ruin.liquidatedOn === null) {
      ruin.liquidationValue = eq;
      if (!holds) ruin.liquidatedOn = calendar[d];
    }
  }

  for (let i = 0; i < n; i++) {
    if (pending[i] && pending[i]!.weight !== 0) {
      warnings.push(
        `${input.name}: order for "${tickers[i]}" from ${
          calendar[pending[i]!.orderDay]
        } never filled: no price for it by ${calendar[end]}`,
      );
    }
    if (episode[i]) closeEpisode(i, end, last[i], true);
  }
  const byTicker = new Map(tickers.map((t, i) => [t, stats[i]]));
  return { equity, exposed, trades, fills, costs, tradedNotional, byTicker, ruin, warnings };
}
