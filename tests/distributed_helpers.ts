/**
 * Helpers of the distributed tests: real redis-server processes on free local ports, worker
 * processes (`src/cli/worker.ts`) with their output in log files, and checks of what a sweep left
 * in the results folder and the model store.
 *
 * @module
 */
import { FileModelStore } from "../src/store/model_store.ts";
import { loadRuns, type RunRecord } from "../src/store/run_record.ts";

/** The tiny six-seed sweep every distributed test runs. */
export const SWEEP = new URL("./fixtures/distributed/tiny-sweep.yaml", import.meta.url).pathname;
const WORKER = new URL("../src/cli/worker.ts", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;

/**
 * A free TCP port on 127.0.0.1.
 *
 * @returns the port
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Poll `cond` until it is truthy or `timeoutMs` passes.
 *
 * @param what described in the timeout error
 * @param cond the condition
 * @param timeoutMs the bound
 * @returns the condition's value
 */
export async function until<T>(
  what: string,
  cond: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await cond();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function ping(port: number, password?: string): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const auth = password === undefined ? "" : `AUTH ${password}\r\n`;
      await c.write(new TextEncoder().encode(`${auth}PING\r\n`));
      const want = password === undefined ? "+PONG" : "+OK\r\n+PONG";
      let text = "";
      const buf = new Uint8Array(64);
      while (text.length < want.length) {
        const n = await c.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text.startsWith(want);
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

/** A redis-server process of a test, persisting to its own folder (so a restart keeps jobs). */
export class RedisProcess {
  #child: Deno.ChildProcess | null = null;
  /** The queue URL. */
  readonly url: string;

  /**
   * @param port the port
   * @param dir folder of its append-only file
   * @param password when given, the server requires it (`--requirepass`) and the URL carries it
   */
  constructor(readonly port: number, readonly dir: string, readonly password?: string) {
    this.url = password === undefined
      ? `redis://127.0.0.1:${port}`
      : `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  }

  /** Start it and wait until it answers PING (10 s at most). */
  async start(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        ...(this.password === undefined ? [] : ["--requirepass", this.password]),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await until(
      `redis-server on port ${this.port}`,
      () => ping(this.port, this.password),
      10_000,
    );
  }

  /** Stop it with SIGTERM (it flushes its append-only file) and wait for it to exit. */
  async stop(): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.#child.status;
    this.#child = null;
  }
}

/** A worker process of a test. */
export class WorkerProcess {
  #child: Deno.ChildProcess;
  /** Its log file (stdout and stderr). */
  readonly log: string;

  /**
   * Start `src/cli/worker.ts` with its output in `<dir>/<name>.log`.
   *
   * @param name worker name
   * @param dir the test's temporary folder
   * @param args the worker's arguments (queue, results, store, timing)
   */
  constructor(readonly name: string, dir: string, args: string[]) {
    this.log = `${dir}/${name}.log`;
    const quoted = [
      Deno.execPath(),
      "run",
      "--allow-all",
      WORKER,
      "--name",
      name,
      ...args,
    ].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    this.#child = new Deno.Command("bash", {
      args: ["-c", `exec ${quoted} > '${this.log}' 2>&1`],
      cwd: REPO,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
  }

  /** Send a signal. */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Stop it (SIGTERM, then SIGKILL after 5 s) and wait for it. */
  async stop(): Promise<void> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), 5_000);
    await this.#child.status;
    clearTimeout(timer);
  }

  /** The exit status. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  /** The log so far. */
  output(): string {
    try {
      return Deno.readTextFileSync(this.log);
    } catch {
      return "";
    }
  }
}

/**
 * Check that a sweep finished each config exactly once: one complete record per config hash, each
 * naming a model that the store holds complete, one stored model per hash, no stray folders.
 *
 * @param results the results folder
 * @param models the model store folder
 * @param hashes the config hashes expected
 * @returns the records
 */
export async function assertEachOnce(
  results: string,
  models: string,
  hashes: string[],
): Promise<RunRecord[]> {
  const records = await loadRuns(results);
  const byHash = new Map<string, RunRecord[]>();
  for (const r of records) byHash.set(r.configHash, [...(byHash.get(r.configHash) ?? []), r]);
  for (const h of hashes) {
    const n = byHash.get(h)?.length ?? 0;
    if (n !== 1) {
      throw new Error(`Config ${h.slice(0, 8)} has ${n} run records: expected exactly 1`);
    }
  }
  if (records.length !== hashes.length) {
    throw new Error(`${records.length} run records for ${hashes.length} configs`);
  }
  const store = new FileModelStore(models);
  const stored = await store.list();
  const used = new Set(records.map((r) => r.model!.modelHash));
  if (stored.length !== used.size || !stored.every((h) => used.has(h))) {
    throw new Error(`Stored models ${stored.length} do not match the runs' ${used.size} models`);
  }
  for (const r of records) {
    if (r.status !== "complete") throw new Error(`Run ${r.runId} is ${r.status}`);
    if (!(await store.has(r.model!.modelHash))) {
      throw new Error(`Model ${r.model!.modelHash.slice(0, 12)} of ${r.runId} is not complete`);
    }
  }
  return records;
}
