import {
  dateToIso,
  dayOfWeek,
  dayQuarter,
  daysBetween,
  dayToIso,
  isIsoDate,
  isoToDay,
  monthEnd,
  nextQuarter,
  quarterEnd,
  quarterEndDay,
  quarterLabel,
  quarterNumber,
  quarterOf,
  quarterStart,
  quarterStartDay,
} from "./mod.ts";
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";

Deno.test("day numbers and ISO dates round-trip", () => {
  assertEquals(isoToDay("1970-01-01"), 0);
  assertEquals(isoToDay("1970-01-02"), 1);
  assertEquals(isoToDay("1969-12-31"), -1);
  assertEquals(dayToIso(isoToDay("2000-02-29")), "2000-02-29");
  assertEquals(dayToIso(isoToDay("0099-01-01")), "0099-01-01");
  for (let d = -800; d < 20000; d += 37) assertEquals(isoToDay(dayToIso(d)), d);
  assertEquals(dateToIso(new Date("2000-01-03T23:59:59Z")), "2000-01-03");
  assertThrows(() => dateToIso(new Date("nope")), RangeError, "Invalid date");
});

Deno.test("the calendar is strict: a string that names no day throws, naming it", () => {
  for (
    const bad of [
      "2000-02-30",
      "1999-02-29",
      "2000-13-01",
      "2000-00-10",
      "2000-1-1",
      "2000-02-31",
      "",
      "2000-01-01T00:00:00Z",
    ]
  ) {
    assert(!isIsoDate(bad), bad);
    assertThrows(() => isoToDay(bad), RangeError, `Invalid date "${bad}"`);
  }
  assertThrows(() => quarterOf("2000-02-30"), RangeError, '"2000-02-30"');
  assertThrows(() => daysBetween("2000-01-01", "2000-04-31"), RangeError, '"2000-04-31"');
  for (const bad of ["2000Q0", "2000Q5", "2000-Q1", "00Q1"]) {
    assertThrows(() => quarterNumber(bad), RangeError, `Invalid quarter "${bad}"`);
    assertThrows(() => quarterEnd(bad), RangeError, `Invalid quarter "${bad}"`);
  }
});

Deno.test("quarters: labels, numbers, first and last days", () => {
  assertEquals(quarterOf("1995-09-29"), "1995Q3");
  assertEquals(quarterOf("1995-10-01"), "1995Q4");
  assertEquals(quarterLabel(dayQuarter(isoToDay("2000-05-01"))), "2000Q2");
  assertEquals(quarterNumber("1996Q1") - quarterNumber("1995Q4"), 1);
  assertEquals(quarterLabel(quarterNumber("1995Q3")), "1995Q3");
  assertEquals(dayToIso(quarterStartDay(quarterNumber("1995Q3"))), "1995-07-01");
  assertEquals(dayToIso(quarterEndDay(quarterNumber("2000Q1"))), "2000-03-31");
  assertEquals(quarterStart("1995Q4"), "1995-10-01");
  assertEquals(nextQuarter("1995Q4"), "1996Q1");
  assertEquals(nextQuarter("1995Q2"), "1995Q3");
  assertEquals(
    ["1995Q1", "1995Q2", "1995Q3", "1995Q4"].map(quarterEnd),
    ["1995-03-31", "1995-06-30", "1995-09-30", "1995-12-31"],
  );
});

Deno.test("months, weekdays and day counts", () => {
  assertEquals(monthEnd(2000, 2), "2000-02-29");
  assertEquals(monthEnd(1900, 2), "1900-02-28");
  assertEquals(monthEnd(1999, 13), "2000-01-31");
  assertThrows(() => monthEnd(1999, 0), RangeError, "month >= 1");
  assertEquals(dayOfWeek(isoToDay("2000-01-01")), 6);
  assertEquals(dayOfWeek(isoToDay("2000-01-03")), 1);
  assertEquals(dayOfWeek(isoToDay("1969-12-28")), 0);
  assertEquals(daysBetween("2000-02-28", "2000-03-01"), 2);
  assertEquals(daysBetween("2000-03-01", "2000-02-28"), -2);
});
