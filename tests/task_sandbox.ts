/**
 * A sandbox to run the real `deno task` commands in: a temporary folder that looks like the
 * repository to Deno (links to `deno.json`, `src/`, `packages/` (the workspace members),
 * `node_modules/`, `schemas/`, and a real `data/` folder of links to each dataset, so a command
 * that writes a dataset writes it here), used as the working folder. The tasks' relative `--allow-write` lists (`results`, `.alfred`,
 * `data`, `JOURNAL.md`) then name folders inside the sandbox, so a test can run each task with
 * exactly the permissions it grants and see everything it wrote, and nothing in the repository
 * changes.
 *
 * @module
 */
const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** What a task run printed and how it ended. */
export interface TaskResult {
  /** Exit code (null when it was killed for running past its time limit). */
  code: number | null;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
  /** Wall time, in milliseconds. */
  ms: number;
  /** Whether it ran past its time limit and was killed. */
  timedOut: boolean;
}

/** A sandbox folder and how to run tasks in it. */
export interface Sandbox {
  /** The sandbox folder (the tasks' working folder), links resolved. */
  dir: string;
  /**
   * Runs `deno task -q NAME ARGS...` in the sandbox.
   *
   * @param name the task
   * @param args its arguments
   * @param options `timeoutMs`: kill it past this (default 300 s)
   */
  task(name: string, args?: string[], options?: { timeoutMs?: number }): Promise<TaskResult>;
  /**
   * Every file and folder the tasks created in the sandbox (paths relative to it, sorted), not
   * counting the sandbox's own links.
   */
  written(): Promise<string[]>;
  /** Removes the sandbox. */
  close(): Promise<void>;
}

/**
 * Creates a sandbox (see the module documentation). The repository's `node_modules/` must exist
 * (any earlier `deno` command in the repository creates it).
 *
 * @param options `linkData`: make `data/` a link to the repository's own (for tests that write no
 *   dataset and want the data root exactly as a user has it); writes to `data/` would then land
 *   in the repository
 * @returns the sandbox
 * @example
 * ```ts
 * const box = await openSandbox();
 * try {
 *   const r = await box.task("validate", ["experiments/quick-direction.yaml"]);
 * } finally {
 *   await box.close();
 * }
 * ```
 */
export async function openSandbox(options: { linkData?: boolean } = {}): Promise<Sandbox> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "alfred-sandbox-" }));
  const links = [
    "deno.json",
    "src",
    "packages",
    "node_modules",
    "schemas",
    ...(options.linkData ? ["data"] : []),
  ];
  for (const name of links) await Deno.symlink(`${REPO}/${name}`, `${dir}/${name}`);
  // A copy: Deno may rewrite the lock file, and the repository's must not change.
  await Deno.copyFile(`${REPO}/deno.lock`, `${dir}/deno.lock`);
  const datasetLinks = new Set<string>();
  if (!options.linkData) {
    await Deno.mkdir(`${dir}/data`);
    for await (const e of Deno.readDir(`${REPO}/data`)) {
      if (e.isDirectory && e.name !== "raw") {
        await Deno.symlink(`${REPO}/data/${e.name}`, `${dir}/data/${e.name}`);
        datasetLinks.add(`data/${e.name}`);
      }
    }
  }

  return {
    dir,
    async task(name, args = [], options = {}) {
      const timeoutMs = options.timeoutMs ?? 300_000;
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      const start = performance.now();
      try {
        const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
          args: ["task", "-q", name, ...args],
          cwd: dir,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
          signal: controller.signal,
        }).output();
        const text = (b: Uint8Array) => new TextDecoder().decode(b);
        return {
          code: timedOut ? null : code,
          out: text(stdout),
          err: text(stderr),
          ms: performance.now() - start,
          timedOut,
        };
      } finally {
        clearTimeout(timer);
      }
    },
    async written() {
      const out: string[] = [];
      const walk = async (rel: string) => {
        for await (const e of Deno.readDir(rel === "" ? dir : `${dir}/${rel}`)) {
          const path = rel === "" ? e.name : `${rel}/${e.name}`;
          if (rel === "" && (links.includes(e.name) || e.name === "deno.lock")) continue;
          if (datasetLinks.has(path)) continue;
          if (!(rel === "" && e.name === "data")) out.push(path);
          if (e.isDirectory) await walk(path);
        }
      };
      await walk("");
      return out.sort();
    },
    async close() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * A task's command line from `deno.json`, as `deno run` arguments (without the `env -u ...`
 * prefix): for running a task's exact permissions as a process a test can signal.
 *
 * @param name the task
 * @returns the arguments after `deno`, e.g. `["run", "--allow-read", ..., "src/cli/main.ts", "worker"]`
 */
export async function taskArgs(name: string): Promise<string[]> {
  const tasks = (JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)) as {
    tasks: Record<string, string>;
  }).tasks;
  const words = tasks[name].split(/\s+/);
  return words.slice(words.indexOf("deno") + 1);
}
