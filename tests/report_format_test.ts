/**
 * The report's one number format: metrics to 4 significant digits, percentages with 2 decimals,
 * money with thousands separators, counts as whole numbers; every kind by metric name; changes
 * in percentage points.
 */
import { equal } from "node:assert/strict";
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
  equal(formatNumber(0.53571), "0.5357");
  equal(formatNumber(0.0021), "0.002100");
  equal(formatNumber(-0.026436), "-0.02644");
  equal(formatNumber(1), "1.000");
  equal(formatNumber(0), "0.000");
  equal(formatNumber(-0), "0.000");
  equal(formatNumber(12.3456), "12.35");
  equal(formatNumber(9999.7), "10,000"); // toPrecision(4) would say 1.000e+4
  equal(formatNumber(123456.7), "123,457");
  equal(formatNumber(3.1e-7), "3.100e-7");
  equal(formatNumber(null), "—");
  equal(formatNumber(NaN), "—");
  equal(formatNumber(Infinity), "—");
  equal(formatNumber("PQ"), "PQ");
});

Deno.test("percentages, money and counts", () => {
  equal(formatPercent(0.46094), "46.09%");
  equal(formatPercent(-1.016518), "-101.65%");
  equal(formatPercent(-0.00001), "0.00%");
  equal(formatPercent(18.315), "1,831.50%");
  equal(formatMoney(283152.6912), "283,152.69");
  equal(formatMoney(-1651.836), "-1,651.84");
  equal(formatMoney(50), "50.00");
  equal(formatMoney(-0.001), "0.00");
  equal(formatCount(37799937), "37,799,937");
  equal(formatCount(694.6), "695");
  equal(formatCount(undefined), "—");
});

Deno.test("each metric is written in its kind, labelled with its unit", () => {
  equal(metricKind("cagr"), "percent");
  equal(metricKind("max_drawdown"), "percent");
  equal(metricKind("maxDrawdownTradingDays"), "count");
  equal(metricKind("costs_commission"), "money");
  equal(metricKind("endEquity"), "money");
  equal(metricKind("sharpe"), "metric");
  equal(metricKind("something new"), "metric");
  equal(formatValue("cagr", 0.46094), "46.09%");
  equal(formatValue("sharpe", 0.97801), "0.9780");
  equal(formatValue("costs_total", 3879.671), "3,879.67");
  equal(formatValue("n", 165), "165");
  equal(formatValue("maxDrawdownTradingDays", 243), "243");
  equal(metricLabel("maxDrawdownTradingDays"), "max drawdown duration (trading days)");
  equal(metricLabel("costs_total"), "costs paid");
  equal(metricLabel("costs_slippage"), "slippage paid");
  equal(metricLabel("buyHoldReturn"), "buy-and-hold return");
  equal(metricLabel("volatility"), "volatility (annualized)");
  // An unknown key still reads as words, not as a camelCase key.
  equal(metricLabel("someNewStatistic"), "some new statistic");
});

Deno.test("changes are signed, in percentage points for percentages", () => {
  equal(formatDelta("cagr", 0.01), "+1.00 pp");
  equal(formatDelta("maxDrawdown", -0.0525), "-5.25 pp");
  equal(formatDelta("f1", 0.6500 - 0.6275), "+0.02250");
  equal(formatDelta("costs", 1000), "+1,000.00");
  equal(formatDelta("trades", -3), "-3");
  equal(formatDelta("accuracy", 0), "0.000");
  equal(formatDelta("accuracy", null), "—");
});
