/**
 * The import graph of the runner (`src/`) and the packages (`packages/*`) has no cycle: built from
 * the source files' own `import`/`export … from` statements (type-only imports included: a cycle
 * of types still ties two modules' shapes together), resolved to files, searched with Tarjan's
 * strongly connected components. Arrows point down: `core` ← `engines` ← the runner.
 */
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TOP = ["src", "packages"];

/** Every .ts file under the given folders (relative to the repository), tests excluded. */
async function sourceFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${ROOT}${rel}`)) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory) {
        if (e.name === "node_modules" || e.name.startsWith(".")) continue;
        await walk(path);
      } else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        out.push(path);
      }
    }
  };
  for (const top of TOP) {
    try {
      await walk(top);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return out.sort();
}

/** Workspace package names → their entry module (from each member's deno.json). */
async function packageEntries(): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  try {
    for await (const e of Deno.readDir(`${ROOT}packages`)) {
      if (!e.isDirectory) continue;
      const json = JSON.parse(await Deno.readTextFile(`${ROOT}packages/${e.name}/deno.json`));
      const exports = typeof json.exports === "string" ? json.exports : json.exports?.["."];
      if (json.name && exports) {
        map.set(json.name, `packages/${e.name}/${exports.replace(/^\.\//, "")}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return map;
}

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The files a module imports, resolved; bare npm specifiers are left out. */
function imports(file: string, text: string, packages: Map<string, string>): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith(".")) {
      out.push(new URL(spec, `file:///${file}`).pathname.slice(1));
    } else if (packages.has(spec)) {
      out.push(packages.get(spec)!);
    }
  }
  return out;
}

/** Tarjan's strongly connected components with more than one module (or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

Deno.test("the import graph of src/ and packages/ has no cycle", async () => {
  const files = await sourceFiles();
  const packages = await packageEntries();
  const graph = new Map<string, string[]>();
  for (const f of files) {
    graph.set(f, imports(f, await Deno.readTextFile(`${ROOT}${f}`), packages));
  }
  assert(graph.size > 50, `only ${graph.size} modules found`);
  const found = cycles(graph);
  assertEquals(found, [], found.map((c) => c.join(" → ")).join("\n"));
});

Deno.test("the cycle finder finds a planted cycle, and none in a chain", () => {
  assertEquals(
    cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])),
    [["a", "b", "c"]],
  );
  assertEquals(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), []);
  assertEquals(cycles(new Map([["a", ["a"]]])), [["a"]]);
});

Deno.test("packages import nothing from the runner, and core imports no other package", async () => {
  const files = (await sourceFiles()).filter((f) => f.startsWith("packages/"));
  const packages = await packageEntries();
  for (const f of files) {
    const deps = imports(f, await Deno.readTextFile(`${ROOT}${f}`), packages);
    assertEquals(deps.filter((d) => d.startsWith("src/")), [], `${f} reaches into src/`);
    if (f.startsWith("packages/core/")) {
      assertEquals(
        deps.filter((d) => !d.startsWith("packages/core/")),
        [],
        `${f}: core is a leaf`,
      );
    }
  }
});
