/**
 * The deno.json tasks grant the least each needs (write access only to the folders it writes,
 * FFI only where Polars or BLAS is loaded) and work with it: each loads its command (`--help`),
 * and each command's subcommands run through `deno task` in a sandbox (tests/task_sandbox.ts)
 * writing only there. An option pointing where a task may not write is refused before any work.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { freePort, RedisProcess, until } from "./distributed_helpers.ts";
import { testWith } from "./requirements.ts";
import { openSandbox, taskArgs, type TaskResult } from "./task_sandbox.ts";
import { tinySynthYaml } from "./pipeline_helpers.ts";

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
function ok(result: { code: number | null; out: string; err: string }, what: string): string {
  assertEquals(result.code, 0, `${what} failed:\n${result.err}\n${result.out}`);
  assert(!/Requires \w+ access/.test(result.err), `${what} lacks a permission: ${result.err}`);
  return result.out;
}

Deno.test("every command task loads its command with the permissions it grants", async () => {
  const commands = Object.entries(TASKS).flatMap(([name, line]) => {
    const m = / src\/cli\/main\.ts (\w+)$/.exec(line);
    return m ? [[name, m[1]]] : [];
  });
  assertEquals(commands.length, 12);
  for (const [name, command] of commands) {
    const out = ok(await task(name, "--help"), `deno task ${name} --help`);
    assert(out.startsWith("Usage: "), `deno task ${name} --help: ${out}`);
    assertStringIncludes(out, command);
  }
});

/**
 * What each task may write, and why: the folders its commands write by default (their options
 * may point only inside them under the task), and nothing else.
 */
const WRITES: Record<string, string[]> = {
  run: ["results", ".alfred"], // run records; models, checkpoints
  portfolio: ["results", ".alfred"], // portfolio and analyst records; models, signal tables
  analyze: ["results", ".alfred"], // the rewritten record; models, checkpoints
  data: ["data", ".alfred"], // datasets; the fetch cache
  journal: ["JOURNAL.md"],
  schema: ["schemas"],
  worker: ["results", ".alfred", "data"], // records; models; datasets fetched from the share
  store: ["results", ".alfred"], // pulled runs and models
  bench: [".alfred"], // --pipeline's synthetic universes and runs, removed afterwards
};

/**
 * The tasks that load native code: Polars (a Node addon: validate, run, portfolio, data, scan, analyze,
 * worker, store, and journal and diff, which read a run's tables from Parquet) and BLAS (the
 * cpu-blas backend: run, worker, bench; getrusage in run's memory record).
 */
const FFI = [
  "run",
  "portfolio",
  "validate",
  "data",
  "scan",
  "analyze",
  "journal",
  "diff",
  "worker",
  "store",
  "bench",
];

Deno.test("every task grants write access only to its own folders, and FFI only where native code loads", () => {
  for (const [name, line] of Object.entries(TASKS)) {
    const flags = line.split(/\s+/).filter((w) => w.startsWith("-"));
    assert(!flags.includes("-A") && !flags.includes("--allow-all"), `${name}: ${line}`);
    const write = flags.filter((f) => f.startsWith("--allow-write"));
    assert(!write.includes("--allow-write"), `${name} may write anywhere: ${line}`);
    assertEquals(
      write.map((f) => f.slice("--allow-write=".length).split(",")).flat(),
      WRITES[name] ?? [],
      `${name}: ${line}`,
    );
    assertEquals(flags.includes("--allow-ffi"), FFI.includes(name), `${name}: ${line}`);
  }
});

const TINY = tinySynthYaml("tiny-task", { train: 4, eval: 2 });

/** Asserts a task was refused before any work: exit 2, the message, quickly. */
function refused(r: TaskResult, message: string, what: string): void {
  assertEquals(r.code, 2, `${what}:\n${r.err}\n${r.out}`);
  assertStringIncludes(r.err, message, what);
  assert(r.ms < 20_000, `${what} took ${r.ms.toFixed(0)} ms`);
}

Deno.test("the tasks run their subcommands with their own permissions, writing only their folders", async () => {
  const box = await openSandbox();
  try {
    await Deno.writeTextFile(`${box.dir}/tiny.yaml`, TINY);
    ok(await box.task("validate", ["tiny.yaml"]), "validate (checks the data: Polars needs FFI)");
    ok(await box.task("run", ["tiny.yaml"]), "run");
    const [run] = [...Deno.readDirSync(`${box.dir}/results/tiny-task`)].map((e) => e.name);
    const runDir = `results/tiny-task/${run}`;
    ok(
      await box.task("analyze", [run, "--set", "analysis.ablation.enabled=true"]),
      "analyze",
    );
    ok(await box.task("diff", [runDir, runDir]), "diff of two runs");
    ok(await box.task("diff", ["tiny.yaml", "tiny.yaml"]), "diff of two configs");
    ok(await box.task("journal"), "journal");
    ok(await box.task("journal", ["--check"]), "journal --check");
    ok(await box.task("schema", ["--check"]), "schema --check");
    ok(await box.task("scan", ["--dataset", "synth-small", "--since", "2005-01-01"]), "scan");
    const synth = ["--seed", "1", "--tickers", "3", "--from", "2005-01-01", "--to", "2005-12-31"];
    ok(await box.task("data", ["synth", ...synth, "--signal", "0", "--out", "data/tiny"]), "synth");
    const share = "file:.alfred/share";
    ok(await box.task("store", ["push", runDir, "--store", share]), "store push");
    ok(await box.task("store", ["push-data", "data/tiny", "--store", share]), "store push-data");
    const listed = ok(await box.task("store", ["list", "--store", share]), "store list");
    assertStringIncludes(listed, `tiny-task/${run}`);
    ok(
      await box.task("store", ["pull", run, "--store", share, "--results", "results/pulled"]),
      "store pull",
    );
    assert((await Deno.stat(`${box.dir}/results/pulled/tiny-task/${run}/record.json`)).isFile);
    ok(
      await box.task("bench", [
        "--quick",
        "--epochs",
        "1",
        "--backends",
        "cpu-blas",
        "--engines",
        "fused-cpu",
        "--workloads",
        "10x256@64",
      ]),
      "bench (BLAS through FFI)",
    );

    const top = new Set((await box.written()).map((p) => p.split("/")[0]));
    assertEquals([...top].sort(), [".alfred", "JOURNAL.md", "data", "results", "tiny.yaml"]);
  } finally {
    await box.close();
  }
});

Deno.test("an option pointing where its task may not write is refused before any work", async () => {
  const box = await openSandbox();
  const outside = await Deno.makeTempDir({ prefix: "alfred-outside-" });
  try {
    await Deno.writeTextFile(`${box.dir}/tiny.yaml`, TINY);
    const noPermission = (option: string, value: string) =>
      `Cannot write to --${option} "${value}": no write permission there`;
    const cases: [string, string[], string][] = [
      ["run", ["tiny.yaml", "--results", `${outside}/r`], noPermission("results", `${outside}/r`)],
      ["run", ["tiny.yaml", "--store", `${outside}/m`], noPermission("store", `${outside}/m`)],
      ["analyze", ["x", "--results", outside], noPermission("results", outside)],
      ["journal", ["--out", `${outside}/J.md`], noPermission("out", `${outside}/J.md`)],
      ["data", ["synth", "--out", `${outside}/d`], noPermission("out", `${outside}/d`)],
      [
        "store",
        ["push", "x", "--store", `file:${outside}`],
        noPermission("store", `file:${outside}`),
      ],
      [
        "store",
        ["pull", "x", "--store", `file:${outside}`, "--results", outside],
        noPermission(
          "results",
          outside,
        ),
      ],
      [
        "worker",
        ["--queue", "redis://127.0.0.1:1", "--results", outside],
        noPermission(
          "results",
          outside,
        ),
      ],
    ];
    for (const [name, args, message] of cases) {
      refused(await box.task(name, args), message, `deno task ${name} ${args.join(" ")}`);
    }
    // Inside its folders, but a file where a folder goes.
    await Deno.mkdir(`${box.dir}/results`);
    await Deno.writeTextFile(`${box.dir}/results/file`, "");
    refused(
      await box.task("run", ["tiny.yaml", "--results", "results/file"]),
      'Cannot write to --results "results/file": it is a file, not a folder',
      "run --results FILE",
    );
    assertEquals([...Deno.readDirSync(outside)], []);
    assertEquals(await box.written(), ["results", "results/file", "tiny.yaml"]);
  } finally {
    await box.close();
    await Deno.remove(outside, { recursive: true });
  }
});

testWith(["redis-server"], {
  name: "the worker task runs a queued job with its own permissions, writing only its folders",
  sanitizeResources: false,
  fn: async () => {
    const box = await openSandbox();
    const redis = new RedisProcess(freePort(), box.dir);
    let worker: Deno.ChildProcess | null = null;
    try {
      await redis.start();
      await Deno.writeTextFile(`${box.dir}/tiny.yaml`, TINY);
      ok(await box.task("run", ["tiny.yaml", "--queue", redis.url]), "run --queue");
      const args = await taskArgs("worker");
      worker = new Deno.Command(Deno.execPath(), {
        args: [...args, "--queue", redis.url, "--name", "tasks-test"],
        cwd: box.dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const record = await until("the worker's run record", async () => {
        try {
          for await (const e of Deno.readDir(`${box.dir}/results/tiny-task`)) {
            const path = `${box.dir}/results/tiny-task/${e.name}/record.json`;
            if (!e.name.startsWith(".") && await Deno.stat(path).then(() => true, () => false)) {
              return path;
            }
          }
        } catch { /* not yet */ }
        return null;
      }, 240_000);
      assert(record.endsWith("record.json"));
      worker.kill("SIGTERM");
      const { code, stdout, stderr } = await worker.output();
      worker = null;
      const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      assertEquals(code, 0, text);
      assert(!/Requires \w+ access/.test(text), text);
      const top = new Set((await box.written()).map((p) => p.split("/")[0]));
      // The Redis process keeps its append-only file in the sandbox too.
      top.delete("appendonlydir");
      assertEquals([...top].sort(), [".alfred", "results", "tiny.yaml"]);
    } finally {
      if (worker) {
        worker.kill("SIGKILL");
        await worker.output();
      }
      await redis.stop();
      await box.close();
    }
  },
});

Deno.test("writeProblem: the path must be the kind the option writes; store specs name their folder", async () => {
  const { writeProblem } = await import("../src/cli/args.ts");
  const dir = await Deno.makeTempDir({ prefix: "alfred-write-" });
  try {
    await Deno.writeTextFile(`${dir}/f`, "");
    assertEquals(writeProblem("results", `${dir}/new/deeper`, "folder"), null);
    assertEquals(writeProblem("results", dir, "folder"), null);
    assertEquals(
      writeProblem("results", `${dir}/f`, "folder"),
      `Cannot write to --results "${dir}/f": it is a file, not a folder`,
    );
    assertEquals(
      writeProblem("results", `${dir}/f/sub`, "folder"),
      `Cannot write to --results "${dir}/f/sub": "${dir}/f" is a file, not a folder`,
    );
    assertEquals(
      writeProblem("out", dir, "file"),
      `Cannot write to --out "${dir}": it is a folder, not a file`,
    );
    assertEquals(writeProblem("out", `${dir}/J.md`, "file"), null);
    assertEquals(writeProblem("store", "mongodb://h:27017/db", "store"), null);
    assertEquals(
      writeProblem("store", `file:${dir}/f`, "store"),
      `Cannot write to --store "file:${dir}/f": it is a file, not a folder`,
    );
    assertEquals(
      writeProblem("store", `file://${dir}/f`, "store"),
      `Cannot write to --store "file://${dir}/f": it is a file, not a folder`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
