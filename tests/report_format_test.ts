/**
 * The report's one number format: metrics to 4 significant digits, percentages with 2 decimals,
 * money with thousands separators, counts as whole numbers; every kind by metric name; changes
 * in percentage points.
 */
import { assertEquals } from "./assert.ts";
import {
  formatCount,
  formatDelta,
  formatMoney,
  formatNumber,
  formatPercent,
  formatValue,
  metricKind,
  metricLabel,
} from "../src/report/format.ts";

Deno.test("metrics have 4 significant digits, without exponents between 0.0001 and 10 000", () => {
  assertEquals(formatNumber(0.53571), "0.5357");
  assertEquals(formatNumber(0.0021), "0.002100");
  assertEquals(formatNumber(-0.026436), "-0.02644");
  assertEquals(formatNumber(1), "1.000");
  assertEquals(formatNumber(0), "0.000");
  assertEquals(formatNumber(-0), "0.000");
  assertEquals(formatNumber(12.3456), "12.35");
  assertEquals(formatNumber(9999.7), "10,000"); // toPrecision(4) would say 1.000e+4
  assertEquals(formatNumber(123456.7), "123,457");
  assertEquals(formatNumber(3.1e-7), "3.100e-7");
  assertEquals(formatNumber(null), "—");
  assertEquals(formatNumber(NaN), "—");
  assertEquals(formatNumber(Infinity), "—");
  assertEquals(formatNumber("PQ"), "PQ");
});

Deno.test("percentages, money and counts", () => {
  assertEquals(formatPercent(0.46094), "46.09%");
  assertEquals(formatPercent(-1.016518), "-101.65%");
  assertEquals(formatPercent(-0.00001), "0.00%");
  assertEquals(formatPercent(18.315), "1,831.50%");
  assertEquals(formatMoney(283152.6912), "283,152.69");
  assertEquals(formatMoney(-1651.836), "-1,651.84");
  assertEquals(formatMoney(50), "50.00");
  assertEquals(formatMoney(-0.001), "0.00");
  assertEquals(formatCount(37799937), "37,799,937");
  assertEquals(formatCount(694.6), "695");
  assertEquals(formatCount(undefined), "—");
});

Deno.test("each metric is written in its kind, labelled with its unit", () => {
  assertEquals(metricKind("cagr"), "percent");
  assertEquals(metricKind("max_drawdown"), "percent");
  assertEquals(metricKind("maxDrawdownTradingDays"), "count");
  assertEquals(metricKind("costs_commission"), "money");
  assertEquals(metricKind("endEquity"), "money");
  assertEquals(metricKind("sharpe"), "metric");
  assertEquals(metricKind("something new"), "metric");
  assertEquals(formatValue("cagr", 0.46094), "46.09%");
  assertEquals(formatValue("sharpe", 0.97801), "0.9780");
  assertEquals(formatValue("costs_total", 3879.671), "3,879.67");
  assertEquals(formatValue("n", 165), "165");
  assertEquals(formatValue("maxDrawdownTradingDays", 243), "243");
  assertEquals(metricLabel("maxDrawdownTradingDays"), "max drawdown duration (trading days)");
  assertEquals(metricLabel("costs_total"), "costs paid");
  assertEquals(metricLabel("costs_slippage"), "slippage paid");
  assertEquals(metricLabel("buyHoldReturn"), "buy-and-hold return");
  assertEquals(metricLabel("volatility"), "volatility (annualized)");
  // An unknown key still reads as words, not as a camelCase key.
  assertEquals(metricLabel("someNewStatistic"), "some new statistic");
});

Deno.test("changes are signed, in percentage points for percentages", () => {
  assertEquals(formatDelta("cagr", 0.01), "+1.00 pp");
  assertEquals(formatDelta("maxDrawdown", -0.0525), "-5.25 pp");
  assertEquals(formatDelta("f1", 0.6500 - 0.6275), "+0.02250");
  assertEquals(formatDelta("costs", 1000), "+1,000.00");
  assertEquals(formatDelta("trades", -3), "-3");
  assertEquals(formatDelta("accuracy", 0), "0.000");
  assertEquals(formatDelta("accuracy", null), "—");
});
