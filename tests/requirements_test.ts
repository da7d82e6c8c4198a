/**
 * Tests that need a system piece: `tests/requirements.ts` decides to run, skip (naming the piece
 * and its install command) or, under `ALFRED_REQUIRE_ALL=1`, fail; `deno task test`
 * (`scripts/test.ts`) ends with one line summing up the skips and passes the exit status on.
 * The end-to-end cases run a fixture test file with `redis-server` hidden from PATH, so they hold
 * on any machine.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { OWN_PROCESS, skipSummary, WEBGPU_MARKER } from "../scripts/test.ts";

const TEST_TASK = new URL("../scripts/test.ts", import.meta.url).pathname;
const FIXTURE = new URL("./fixtures/requirements/needs_redis_server.ts", import.meta.url).pathname;

Deno.test("skipSummary: one line, counted per missing piece with its install command", () => {
  const lines = [
    "a (skipped: OpenBLAS missing (no BLAS library loads (libopenblas.so.0 and the others were tried)): apt-get install libopenblas0-pthread) ... ignored (0ms)",
    "\x1b[0mb (skipped: OpenBLAS missing (x): apt-get install libopenblas0-pthread) ... \x1b[33mignored\x1b[0m (0ms)",
    "c (skipped: OpenBLAS missing (x): apt-get install libopenblas0-pthread; a WebGPU adapter missing (requestAdapter returned null): apt-get install libgl1-mesa-dri libegl-mesa0) ... ignored (0ms)",
    "d ... ignored (0ms)",
    "e ... ok (3ms)",
  ];
  assertEquals(
    skipSummary(lines),
    "skipped 4 tests: 3 for OpenBLAS (apt-get install libopenblas0-pthread); " +
      "1 for a WebGPU adapter (apt-get install libgl1-mesa-dri libegl-mesa0); " +
      "1 ignored with no reason given",
  );
  assertEquals(skipSummary(["e ... ok (3ms)"]), null);
});

/** Runs `deno task test` on the fixture with redis-server hidden and a clean environment. */
async function runFixture(env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", "--allow-read", "--allow-env", TEST_TASK, "--no-check", FIXTURE],
    clearEnv: true,
    env: { HOME: Deno.env.get("HOME") ?? "/root", PATH: "/nonexistent", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const text = stdout + new TextDecoder().decode(out.stderr);
  return { code: out.code, text, last: stdout.trim().split("\n").at(-1) ?? "" };
}

Deno.test({
  name: "a missing piece: the test is ignored naming it and its install command; the run passes",
  sanitizeResources: false,
  fn: async () => {
    const r = await runFixture({});
    assertEquals(r.code, 0, r.text);
    assertStringIncludes(
      r.text,
      "needs redis-server (skipped: redis-server missing (redis-server is not installed): " +
        "apt-get install redis-server) ... ignored",
    );
    assertStringIncludes(r.text, "needs nothing ... ok");
    assertStringIncludes(r.text, "ok | 1 passed | 0 failed | 2 ignored");
    assertEquals(
      r.last,
      "skipped 2 tests: 1 for redis-server (apt-get install redis-server); " +
        "1 for a MongoDB server (set MONGODB_URI=mongodb://HOST:27017 (a contract suite: CI has no MongoDB))",
    );
  },
});

Deno.test({
  name:
    "ALFRED_REQUIRE_ALL=1: a missing piece fails its test with what to install; contract suites stay skipped",
  sanitizeResources: false,
  fn: async () => {
    const r = await runFixture({ ALFRED_REQUIRE_ALL: "1" });
    assert(r.code !== 0, r.text);
    assertStringIncludes(r.text, "needs redis-server ... FAILED");
    assertStringIncludes(
      r.text,
      "ALFRED_REQUIRE_ALL=1 and this test cannot run: redis-server missing " +
        "(redis-server is not installed): apt-get install redis-server",
    );
    assertStringIncludes(r.text, "needs MongoDB (skipped: a MongoDB server missing");
    assertStringIncludes(r.text, "FAILED | 1 passed | 1 failed | 1 ignored");
    assertEquals(
      r.last,
      "skipped 1 test: 1 for a MongoDB server (set MONGODB_URI=mongodb://HOST:27017 (a contract suite: CI has no MongoDB))",
    );
  },
});

Deno.test({
  name: "the WebGPU guard of the shared test process names a test file that asks for an adapter",
  sanitizeResources: false,
  fn: async () => {
    const guard = new URL("../scripts/test_webgpu_guard.ts", import.meta.url).pathname;
    const fixture = new URL("./fixtures/requirements/asks_for_webgpu.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", `--preload=${guard}`, fixture],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert(out.success, text + new TextDecoder().decode(out.stderr));
    assertStringIncludes(text, `${WEBGPU_MARKER}file://${fixture}`);
    // The files known to use WebGPU exist: a renamed one would silently join the shared process.
    for (const file of OWN_PROCESS) {
      await Deno.stat(new URL(`../${file}`, import.meta.url));
    }
  },
});
