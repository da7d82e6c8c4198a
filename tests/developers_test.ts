/**
 * DEVELOPERS.md's layout table is the map of the code: every folder of `src/`, every top-level
 * module of `src/` and every workspace package has a row, and every row names something that
 * exists. A folder added without a row (or a row left behind by a move) fails here.
 */
import { assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The paths in the first column of the layout table (one cell may name several). */
function layoutPaths(markdown: string): string[] {
  const section = markdown.split("## Layout")[1]?.split("\n## ")[0] ?? "";
  const paths: string[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cell = line.split("|")[1];
    for (const m of cell.matchAll(/`([^`]+)`/g)) paths.push(m[1].replace(/\/$/, ""));
  }
  return paths;
}

/** What the table must cover: src/'s folders and top-level modules, and the packages. */
function codeParts(): string[] {
  const parts: string[] = [];
  for (const e of Deno.readDirSync(`${ROOT}src`)) {
    if (e.isDirectory) parts.push(`src/${e.name}`);
    else if (e.name.endsWith(".ts")) parts.push(`src/${e.name}`);
  }
  for (const e of Deno.readDirSync(`${ROOT}packages`)) {
    if (e.isDirectory) parts.push(`packages/${e.name}`);
  }
  return parts.sort();
}

Deno.test("DEVELOPERS.md's layout table has a row for every part of the code, and only those", () => {
  const listed = layoutPaths(Deno.readTextFileSync(`${ROOT}DEVELOPERS.md`));
  const parts = codeParts();
  assertEquals(parts.filter((p) => !listed.includes(p)), [], "parts without a row");
  assertEquals(listed.filter((p) => !parts.includes(p)), [], "rows naming nothing");
});

Deno.test("the layout parser reads the first column of the Layout table only, several paths a cell", () => {
  const table = [
    "## Layout",
    "",
    "| folder | stage | owns |",
    "| --- | --- | --- |",
    "| `src/a/` | a | things |",
    "| `src/b.ts`, `src/c.ts` | shared | more |",
    "",
    "## Next",
    "| `src/not-in-layout/` | x | y |",
  ].join("\n");
  assertEquals(layoutPaths(table), ["src/a", "src/b.ts", "src/c.ts"]);
});
