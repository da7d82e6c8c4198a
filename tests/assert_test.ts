/**
 * The one assertion module: `tests/assert.ts` keeps `@std/assert`'s semantics, and no test file
 * imports `node:assert`, defines its own `assert`/`assertEquals`/…, or compares values as JSON
 * text (which calls `NaN` and `null`, `-0` and `0`, an `undefined` key and a missing one equal).
 */
import * as asserts from "./assert.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
  equal,
} from "./assert.ts";

const ROOT = new URL("../", import.meta.url);
const NAMES = Object.keys(asserts);

Deno.test("assertEquals tells NaN, -0 and undefined keys apart as @std/assert does", () => {
  assertEquals(NaN, NaN);
  assertEquals({ a: [1, NaN] }, { a: [1, NaN] });
  assertNotEquals(-0, 0);
  assertNotEquals<Record<string, unknown>>({ a: undefined }, {});
  assertNotEquals<unknown>([null], [NaN]);
  assert(equal({ a: [1, 2] }, { a: [1, 2] }));
  assert(!equal({ a: undefined }, {}));
  assert(!equal(-0, 0));
  assert(!equal([null], [NaN]), "JSON text would call these equal");
});

Deno.test("assertAlmostEquals: std's relative default tolerance, NaN equals NaN, null fails", () => {
  assertAlmostEquals(NaN, NaN);
  assertAlmostEquals(Infinity, Infinity);
  assertAlmostEquals(1e9 + 50, 1e9); // within 1e-7 · 1e9 = 100
  assertThrows(() => assertAlmostEquals(1e9 + 200, 1e9));
  assertThrows(() => assertAlmostEquals(1e-9, 2e-9)); // 1e-7 · 2e-9 is far below 1e-9
  assertAlmostEquals(1.04, 1, 0.05);
  assertThrows(
    () => assertAlmostEquals(1.06, 1, 0.05, "the ratio"),
    Error,
    "within 0.05 of 1: the ratio",
  );
  assertThrows(() => assertAlmostEquals(null, 0, 1));
  assertThrows(() => assertAlmostEquals(undefined, 0, 1));
  assertThrows(() => assertAlmostEquals(NaN, 0, 1));
});

/** The ways a file breaks the one-module rule, one line each. */
function offences(path: string, text: string): string[] {
  const found: string[] = [];
  const lines = text.split("\n");
  const own = new RegExp(
    String.raw`^\s*(?:export\s+)?(?:(?:async\s+)?function\*?\s+|(?:const|let|var)\s+)(${
      NAMES.join("|")
    })\b`,
  );
  lines.forEach((line, i) => {
    const at = `${path}:${i + 1}`;
    if (/["']node:assert(?:\/strict)?["']/.test(line)) found.push(`${at} imports node:assert`);
    const m = own.exec(line);
    if (m) found.push(`${at} defines its own ${m[1]}`);
    if (/JSON\.stringify\([^;]*\)\s*[!=]==?\s*JSON\.stringify\(/.test(line)) {
      found.push(`${at} compares JSON text`);
    }
  });
  return found;
}

Deno.test("the scan flags each kind of offence", () => {
  assertEquals(
    offences(
      "x_test.ts",
      [
        'import { ok } from "node:assert/strict";',
        "import assert from 'node:assert';",
        "function assertEquals(a: unknown, b: unknown) {}",
        "export const assertAlmostEquals = () => {};",
        "  async function assertRejects() {}",
        "if (JSON.stringify(got) !== JSON.stringify(want)) fail();",
        "function assertClose() {}",
        'import { assert } from "./assert.ts";',
      ].join("\n"),
    ),
    [
      "x_test.ts:1 imports node:assert",
      "x_test.ts:2 imports node:assert",
      "x_test.ts:3 defines its own assertEquals",
      "x_test.ts:4 defines its own assertAlmostEquals",
      "x_test.ts:5 defines its own assertRejects",
      "x_test.ts:6 compares JSON text",
    ],
  );
});

/** Every test file and test helper: `tests/**` and the workspace packages' `*_test.ts`. */
async function testFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, all: boolean) => {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}${e.name}`;
      if (e.isDirectory && e.name !== "node_modules") await walk(`${path}/`, all);
      else if (e.isFile && (all ? e.name.endsWith(".ts") : e.name.endsWith("_test.ts"))) {
        out.push(path);
      }
    }
  };
  await walk("tests/", true);
  await walk("packages/", false);
  return out.sort();
}

Deno.test("every test file uses tests/assert.ts and no other assertions", async () => {
  const files = await testFiles();
  assert(files.includes("tests/assert_test.ts") && files.length > 50, `found ${files.length}`);
  assert(files.some((f) => f.startsWith("packages/")), "the packages' tests are scanned");
  const found: string[] = [];
  for (const path of files) {
    if (path === "tests/assert.ts" || path === "tests/assert_test.ts") continue;
    found.push(...offences(path, await Deno.readTextFile(new URL(path, ROOT))));
  }
  assertEquals(found, [], `use tests/assert.ts:\n${found.join("\n")}`);
});
