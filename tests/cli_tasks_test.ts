/**
 * The deno.json tasks work with the permissions they grant: each loads its command (`--help`),
 * and the commands' real subcommands run through `deno task`, writing where their options point.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TASKS = (JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
  tasks: Record<string, string>;
}).tasks;

/** `deno task -q NAME ARGS...` from the repository root. */
async function task(
  name: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, out: text(stdout), err: text(stderr) };
}

/** Asserts a task exited 0, showing its output when it did not. */
function ok(result: { code: number; out: string; err: string }, what: string): string {
  assertEquals(result.code, 0, `${what} failed:\n${result.err}\n${result.out}`);
  assert(!/Requires \w+ access/.test(result.err), `${what} lacks a permission: ${result.err}`);
  return result.out;
}

Deno.test("every command task loads its command with the permissions it grants", async () => {
  const commands = Object.entries(TASKS).flatMap(([name, line]) => {
    const m = / src\/cli\/main\.ts (\w+)$/.exec(line);
    return m ? [[name, m[1]]] : [];
  });
  assertEquals(commands.length, 11);
  for (const [name, command] of commands) {
    const out = ok(await task(name, "--help"), `deno task ${name} --help`);
    assert(out.startsWith("Usage: "), `deno task ${name} --help: ${out}`);
    assertStringIncludes(out, command);
  }
});

const TINY = `name: tiny-task
data:
  dataset: synth-small
  train_tickers: [SYN01, SYN02, SYN03, SYN04]
  eval_tickers: [SYN05, SYN06]
features:
  families:
    price: { ma_windows: [7, 90], close: false }
label: { mode: direction }
model: { family: vanilla.small, size: 4, layers: 1 }
loss: { name: bce }
train: { epochs: 2, backend: wasm }
`;

Deno.test("the tasks run their subcommands and write where their options point", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-tasks-" });
  try {
    const file = `${dir}/tiny.yaml`;
    await Deno.writeTextFile(file, TINY);
    ok(await task("validate", file), "validate (checks the data: Polars needs FFI)");
    const results = `${dir}/results`;
    const models = `${dir}/models`;
    ok(await task("run", file, "--results", results, "--store", models), "run --results DIR");
    const [run] = [...Deno.readDirSync(`${results}/tiny-task`)].map((e) => e.name);
    const runDir = `${results}/tiny-task/${run}`;
    ok(
      await task(
        "analyze",
        run,
        "--results",
        results,
        "--store",
        models,
        "--set",
        "analysis.ablation.enabled=true",
      ),
      "analyze --results DIR",
    );
    ok(await task("diff", runDir, runDir), "diff of two runs");
    ok(await task("journal", "--results", results, "--out", `${dir}/JOURNAL.md`), "journal");
    ok(await task("schema", "--check"), "schema --check");
    ok(await task("scan", "--dataset", "synth-small", "--since", "2005-01-01"), "scan");
    const synth = ["--seed", "1", "--tickers", "3", "--from", "2005-01-01", "--to", "2005-12-31"];
    ok(
      await task("data", "synth", ...synth, "--signal", "0", "--out", `${dir}/synth`),
      "data synth",
    );
    const share = `file:${dir}/share`;
    ok(await task("store", "push", runDir, "--store", share), "store push");
    ok(await task("store", "push-data", `${dir}/synth`, "--store", share), "store push-data");
    const listed = ok(await task("store", "list", "--store", share), "store list");
    assertStringIncludes(listed, `tiny-task/${run}`);
    ok(
      await task("store", "pull", run, "--store", share, "--results", `${dir}/pulled`),
      "store pull",
    );
    assert((await Deno.stat(`${dir}/pulled/tiny-task/${run}/record.json`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
