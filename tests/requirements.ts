/**
 * System pieces some tests need and a fresh machine (Node and npm only) lacks: a
 * system BLAS, a WebGPU adapter (Mesa's software one will do), `redis-server`
 * (or any Redis, for tests that need not restart it), a MongoDB server. A test
 * that needs one is declared with {@linkcode withNeeds} (or
 * {@linkcode testWith}): where the piece is missing the test is reported as
 * ignored, its name saying what is missing and the command that installs it,
 * and `deno task test` ends with one line summing up what was skipped
 * (`scripts/test.ts`).
 *
 * Under `ALFRED_REQUIRE_ALL=1` (set by `.ci/run`, which installs everything)
 * a missing piece is a failure, not a skip, so CI still runs everything. The
 * contract suites for services CI cannot run (MongoDB: `MONGODB_URI`) are
 * never required: they run where their URL is set.
 *
 * @module
 */
import { loadBlas } from "@alfred/engines";

/** A system piece a test may need. */
export type Requirement = "openblas" | "webgpu" | "redis-server" | "redis" | "mongodb" | "llm";

/** Whether a requirement is met on this machine, and what to do when it is not. */
export interface RequirementStatus {
  /** The piece, as a user would name it. */
  what: string;
  available: boolean;
  /** Why it is missing (empty when available). */
  why: string;
  /** The command or setting that provides it. */
  install: string;
  /** `ALFRED_REQUIRE_ALL=1` turns a missing piece into a failure (false for contract suites). */
  strict: boolean;
}

/** The variable under which a missing strict requirement fails instead of skipping. */
export const REQUIRE_ALL_ENV = "ALFRED_REQUIRE_ALL";

/** A Redis that `.ci/run` started for the tests (tests that restart Redis start their own). */
export const REDIS_URL_ENV = "ALFRED_TEST_REDIS_URL";

/** The marker `scripts/test.ts` counts in ignored tests' names. */
export const SKIP_MARKER = "skipped: ";

function commandRuns(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Whether Deno offers a WebGPU adapter, asked in a child process. Each test
 * file that touches `navigator.gpu` creates and drops a WebGPU instance in
 * the test process, and with Mesa's EGL adapter those cycles corrupt the heap
 * now and then (the suite's abort at exit, rc 134): asking here must not add one.
 */
function probeWebGpuElsewhere(): { available: boolean; description: string } {
  const code = `const gpu = navigator.gpu;
    const a = gpu ? await gpu.requestAdapter({ powerPreference: "high-performance" }) : null;
    console.log(JSON.stringify(a ? { available: true, description: a.info?.description ?? "" }
      : { available: false, description: gpu ? "requestAdapter returned null" : "navigator.gpu is undefined" }));`;
  try {
    const out = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const last = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    return JSON.parse(last);
  } catch (e) {
    if ((e as Error).name === "NotCapable" || (e as Error).name === "PermissionDenied") {
      return { available: false, description: "the test run has no --allow-run to probe it" };
    }
    return { available: false, description: `probing it failed: ${(e as Error).message}` };
  }
}

function check(r: Requirement): RequirementStatus {
  switch (r) {
    case "openblas": {
      let why = "";
      try {
        loadBlas();
      } catch (e) {
        why = "no BLAS library loads (libopenblas.so.0 and the others were tried)";
        if (/needs FFI/.test((e as Error).message)) why = "the test run has no --allow-ffi";
      }
      return {
        what: "OpenBLAS",
        available: !why,
        why,
        install: "apt-get install libopenblas0-pthread",
        strict: true,
      };
    }
    case "webgpu": {
      const webGpu = probeWebGpuElsewhere();
      return {
        what: "a WebGPU adapter",
        available: webGpu.available,
        why: webGpu.available ? "" : webGpu.description,
        install: "apt-get install libgl1-mesa-dri libegl-mesa0 (Mesa's software adapter)",
        strict: true,
      };
    }
    case "redis-server": {
      const ok = commandRuns("redis-server", ["--version"]);
      return {
        what: "redis-server",
        available: ok,
        why: ok ? "" : "redis-server is not installed",
        install: "apt-get install redis-server",
        strict: true,
      };
    }
    case "redis": {
      // A Redis to connect to: the one `.ci/run` started, or a redis-server the test starts.
      const url = Deno.env.get(REDIS_URL_ENV);
      const server = requirement("redis-server");
      return {
        what: "a Redis server",
        available: !!url || server.available,
        why: url || server.available ? "" : `${REDIS_URL_ENV} is not set and ${server.why}`,
        install: `${server.install} (or set ${REDIS_URL_ENV}=redis://HOST:6379)`,
        strict: true,
      };
    }
    case "mongodb": {
      const uri = Deno.env.get("MONGODB_URI");
      return {
        what: "a MongoDB server",
        available: !!uri,
        why: uri ? "" : "MONGODB_URI is not set",
        install: "set MONGODB_URI=mongodb://HOST:27017 (a contract suite: CI has no MongoDB)",
        strict: false,
      };
    }
    case "llm": {
      const url = Deno.env.get("ALFRED_LLM_URL");
      return {
        what: "an OpenAI-compatible chat-completions endpoint",
        available: !!url,
        why: url ? "" : "ALFRED_LLM_URL is not set",
        install:
          "set ALFRED_LLM_URL=http://HOST:11434/v1 and ALFRED_LLM_MODEL=NAME (a contract suite: CI has no model server)",
        strict: false,
      };
    }
  }
}

const cache = new Map<Requirement, RequirementStatus>();

/**
 * The status of a requirement on this machine (probed once per process).
 *
 * @param r the requirement
 * @returns whether it is met, why not, and how to install it
 */
export function requirement(r: Requirement): RequirementStatus {
  let s = cache.get(r);
  if (!s) cache.set(r, s = check(r));
  return s;
}

function requireAll(): boolean {
  return Deno.env.get(REQUIRE_ALL_ENV) === "1";
}

/** What {@linkcode needs} decided for a set of requirements. */
export interface Needs {
  /** Skip the test: something is missing and skipping is allowed. */
  ignore: boolean;
  /** Appended to the test's name: ` (skipped: … missing: install …)`, or empty. */
  suffix: string;
  /** Under `ALFRED_REQUIRE_ALL=1`: the message a test that cannot run fails with; else null. */
  failure: string | null;
  /** Every requirement is met. */
  met: boolean;
}

/**
 * Decides what a test needing `reqs` does on this machine: run, skip with a
 * named reason, or (under `ALFRED_REQUIRE_ALL=1`) fail naming what is missing.
 *
 * @param reqs what the test needs
 * @returns ignore flag, name suffix and failure message
 */
export function needs(...reqs: Requirement[]): Needs {
  const missing = reqs.map(requirement).filter((s) => !s.available);
  if (missing.length === 0) return { ignore: false, suffix: "", failure: null, met: true };
  const reason = missing.map((s) => `${s.what} missing (${s.why}): ${s.install}`).join("; ");
  const strict = missing.filter((s) => s.strict);
  if (requireAll() && strict.length > 0) {
    return {
      ignore: false,
      suffix: "",
      failure: `${REQUIRE_ALL_ENV}=1 and this test cannot run: ${
        strict.map((s) => `${s.what} missing (${s.why}): ${s.install}`).join("; ")
      }`,
      met: false,
    };
  }
  return { ignore: true, suffix: ` (${SKIP_MARKER}${reason})`, failure: null, met: false };
}

/**
 * A test definition for a test that needs system pieces: ignored with the
 * missing piece and its install command in the name, or failing under
 * `ALFRED_REQUIRE_ALL=1`. Pass it to `Deno.test` yourself, so a failure is
 * reported at the test's own line.
 *
 * @param reqs what the test needs
 * @param def the test
 * @returns the definition to register
 * @example
 * ```ts
 * Deno.test(withNeeds(["openblas"], { name: "cpu-blas matmuls match", fn: () => {} }));
 * ```
 */
export function withNeeds(reqs: Requirement[], def: Deno.TestDefinition): Deno.TestDefinition {
  const n = needs(...reqs);
  const failure = n.failure;
  return {
    ...def,
    name: `${def.name}${n.suffix}`,
    ignore: def.ignore || n.ignore,
    fn: failure ? () => Promise.reject(new Error(failure)) : def.fn,
  };
}

/**
 * `Deno.test(withNeeds(reqs, def))`. Deno reports a test at the line that
 * called `Deno.test`, so failures of tests registered here point at this file;
 * prefer {@linkcode withNeeds} in test files.
 *
 * @param reqs what the test needs
 * @param def the test
 * @example
 * ```ts
 * testWith(["openblas"], { name: "cpu-blas matmuls match", fn: () => {} });
 * ```
 */
export function testWith(reqs: Requirement[], def: Deno.TestDefinition): void {
  Deno.test(withNeeds(reqs, def));
}
