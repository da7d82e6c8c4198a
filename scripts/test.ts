/**
 * `deno task test`: runs `deno test` over `tests/`, `packages/core/` and `packages/engines/` with the suite's permissions
 * (extra arguments are passed on: a file, `--filter`), passes its output through
 * and its exit status back, and ends with one line saying which tests were
 * skipped for a missing system piece and how to install it (the tests declare
 * what they need with `tests/requirements.ts`).
 *
 * The test files that use WebGPU run each in a process of their own
 * ({@linkcode OWN_PROCESS}), the rest in one shared process. Every test file
 * that touches WebGPU creates a WebGPU instance and drops it when the file
 * ends; with Mesa's EGL adapter (Deno 2.9.6, Mesa 22.3), a process that does
 * this more than once now and then corrupts its heap and aborts at exit
 * ("corrupted size vs. prev_size in fastbins", "double free or corruption",
 * rc 134) after every test passed: 2 in 100 runs with 4 such files, 3 in 80
 * with 12 files that only requested an adapter, none in 100 with one file
 * holding two devices. A test file of the shared process that asks for an
 * adapter fails the run, naming itself (`scripts/test_webgpu_guard.ts`).
 *
 * @module
 */
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
  "--allow-net=127.0.0.1,localhost",
];

/** Test files that use WebGPU: each runs in its own process. */
export const OWN_PROCESS: readonly string[] = [
  "tests/backend_test.ts",
  "tests/cli_run_test.ts",
  "tests/engines_bench_test.ts",
  "tests/engines_fused_test.ts",
  "tests/engines_limits_test.ts",
  "tests/pipeline_test.ts",
];

/** What `scripts/test_webgpu_guard.ts` prints when a shared-process test file asks for an adapter. */
export const WEBGPU_MARKER = "alfred-test: WebGPU used in the shared test process by ";

const GUARD = new URL("./test_webgpu_guard.ts", import.meta.url).pathname;

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const IGNORED = / \.\.\. ignored \(/;
const REASON = /\(skipped: (.*)\) \.\.\. ignored/;
/** Deno's closing line: `ok | 12 passed | 0 failed | 2 ignored (3s)`. */
const TOTALS =
  /^(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/;

/** One summary line of the ignored tests, grouped by what was missing. */
export function skipSummary(lines: string[]): string | null {
  const byPiece = new Map<string, number>();
  let unexplained = 0;
  for (const raw of lines) {
    const line = raw.replace(ANSI, "");
    if (!IGNORED.test(line)) continue;
    const reason = REASON.exec(line)?.[1];
    if (!reason) {
      unexplained++;
      continue;
    }
    for (const part of reason.split("; ")) {
      // "OpenBLAS missing (why): install" → "OpenBLAS (install)"
      const m = /^(.*?) missing \(.*?\): (.*)$/.exec(part);
      const key = m ? `${m[1]} (${m[2]})` : part;
      byPiece.set(key, (byPiece.get(key) ?? 0) + 1);
    }
  }
  const total = lines.filter((l) => IGNORED.test(l.replace(ANSI, ""))).length;
  if (total === 0) return null;
  const parts = [...byPiece].map(([k, n]) => `${n} for ${k}`);
  if (unexplained) parts.push(`${unexplained} ignored with no reason given`);
  return `skipped ${total} test${total === 1 ? "" : "s"}: ${parts.join("; ")}`;
}

/** What one `deno test` process printed and how it ended. */
interface Run {
  code: number;
  /** Its closing line, parsed; null when it ended before printing one (a crash). */
  totals: { ok: boolean; passed: number; failed: number; ignored: number } | null;
  ignoredLines: string[];
  /** Test files that asked for a WebGPU adapter (shared process only). */
  webgpu: string[];
}

async function runDenoTest(args: string[]): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", ...PERMISSIONS, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const run: Run = { code: 0, totals: null, ignoredLines: [], webgpu: [] };
  const take = (raw: string) => {
    const line = raw.replace(ANSI, "");
    if (IGNORED.test(line)) run.ignoredLines.push(raw);
    const t = TOTALS.exec(line);
    if (t) {
      run.totals = { ok: t[1] === "ok", passed: +t[2], failed: +t[3], ignored: +(t[4] ?? 0) };
    }
    const at = line.indexOf(WEBGPU_MARKER);
    if (at >= 0) run.webgpu.push(line.slice(at + WEBGPU_MARKER.length).trim());
  };
  let partial = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    const split = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = split.pop() ?? "";
    split.forEach(take);
  }
  if (partial) take(partial);
  run.code = (await child.status).code; // 128 + the signal when the process was killed
  return run;
}

/** Whether the arguments name files or folders (then they run as given, in one process). */
function namesPaths(args: string[]): boolean {
  return args.some((a) => !a.startsWith("-"));
}

if (import.meta.main) {
  const args = [...Deno.args];
  let runs: Run[];
  if (namesPaths(args)) {
    runs = [await runDenoTest(args)];
  } else {
    runs = [
      await runDenoTest([
        ...args,
        `--preload=${GUARD}`,
        `--ignore=${OWN_PROCESS.join(",")}`,
        "tests/",
        "packages/core/",
        "packages/engines/",
      ]),
    ];
    for (const file of OWN_PROCESS) runs.push(await runDenoTest([...args, file]));
  }
  // A failing test's status first; an abort (128 + signal) next; else success.
  const codes = runs.map((r) => r.code);
  let code = codes.find((c) => c !== 0 && c < 128) ?? codes.find((c) => c !== 0) ?? 0;
  if (runs.length > 1) {
    const crashed = runs.filter((r) => !r.totals).length;
    const sum = (k: "passed" | "failed" | "ignored") =>
      runs.reduce((s, r) => s + (r.totals?.[k] ?? 0), 0);
    const ok = crashed === 0 && runs.every((r) => r.totals!.ok);
    console.log(
      `${ok ? "ok" : "FAILED"} | ${sum("passed")} passed | ${sum("failed")} failed | ${
        sum("ignored")
      } ignored (${runs.length} test processes: the shared one and one per file in OWN_PROCESS${
        crashed ? `; ${crashed} ended before its summary` : ""
      })`,
    );
  }
  const webgpu = runs.flatMap((r) => r.webgpu);
  if (webgpu.length) {
    console.log(
      `WebGPU used by test files of the shared process: ${
        webgpu.join(", ")
      }; list them in OWN_PROCESS in scripts/test.ts (WebGPU instances created and dropped ` +
        `in one process can corrupt its heap and abort it at exit)`,
    );
    if (code === 0) code = 1;
  }
  const summary = skipSummary(runs.flatMap((r) => r.ignoredLines));
  if (summary) console.log(summary);
  Deno.exit(code);
}
