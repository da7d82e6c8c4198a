/**
 * Secrets never leave the process in text: `redact` (src/redact.ts) on its own, the console it
 * wraps, the causes Redis failures are told with, and a sweep on a password-protected Redis
 * (`redis-server --requirepass`) whose every output — the enqueuers' lines and `--wait` tables,
 * the workers' logs, every key and field in Redis (job records, failure reasons, stack traces,
 * event streams), the run records, models and journal — is searched for the password. A wrong
 * password, a missing one, a refused port and an unknown host each give exactly one clear line.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { Redis } from "ioredis";
import {
  redact,
  redactConsole,
  redactError,
  registerSecret,
  registerUrlSecrets,
} from "../src/redact.ts";
import {
  checkQueueUrl,
  enqueueExperiments,
  isRedisAuthFailure,
  isRedisConnectionError,
  redisFailureCause,
} from "../src/distributed/queue.ts";
import { waitForJobs } from "../src/distributed/wait_table.ts";
import { renderJournal } from "../src/report/journal.ts";
import { loadRuns } from "../src/store/run_record.ts";
import { freePort, RedisProcess, until, WorkerProcess } from "./distributed_helpers.ts";
import { testWith } from "./requirements.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;
const PAIR = new URL("./fixtures/distributed/secret-pair.yaml", import.meta.url).pathname;

Deno.test("redact hides URL passwords and keeps the rest of the URL", () => {
  const cases: [string, string][] = [
    ["redis://:hunter22@db:6379", "redis://:***@db:6379"],
    ["rediss://alice:hunter22@db:6380/2", "rediss://alice:***@db:6380/2"],
    [
      "mongodb://alice:p%40ss@h1:27017,h2:27017/alfred",
      "mongodb://alice:***@h1:27017,h2:27017/alfred",
    ],
    [
      "mongodb+srv://bob:pw@cluster0.example.net/db?retryWrites=true",
      "mongodb+srv://bob:***@cluster0.example.net/db?retryWrites=true",
    ],
    ["https://user:pw@example.com/path", "https://user:***@example.com/path"],
    // user info without a colon may be a token
    ["https://ghp_abcdef123456@github.com/x.git", "https://***@github.com/x.git"],
    // an unencoded @ in the password: the user info runs to the last @ before the path
    ["redis://:p@ss@db:6379/0", "redis://:***@db:6379/0"],
    // in a message, quoted, twice
    [
      'Cannot reach "redis://:a1b2@h:1" nor "mongodb://u:c3d4@h/db"',
      'Cannot reach "redis://:***@h:1" nor "mongodb://u:***@h/db"',
    ],
  ];
  for (const [input, expected] of cases) assertEquals(redact(input), expected, input);
});

Deno.test("redact hides credential query parameters, plain or encoded secrets, idempotently", () => {
  assertEquals(
    redact("GET https://www.alphavantage.co/query?function=EARNINGS&apikey=ABCD1234&symbol=IBM"),
    "GET https://www.alphavantage.co/query?function=EARNINGS&apikey=***&symbol=IBM",
  );
  assertEquals(
    redact("https://x.test/a?token=t0k&API_KEY=k3y#top"),
    "https://x.test/a?token=***&API_KEY=***#top",
  );
  // secrets given to the call, plain and URL-encoded (the old fetch maskSecrets cases)
  assertEquals(redact("a=K+Y/1&b=K%2BY%2F1", ["K+Y/1"]), "a=***&b=***");
  assertEquals(redact("nothing", [""]), "nothing");
  assertEquals(redact("market", ["k"]), "market", "too short to be a key: left alone");
  const once = redact("redis://:pw12@h:1/?apikey=zz99 and redis://u@h");
  assertEquals(redact(once), once, "redacting twice changes nothing more");
  // ordinary text, paths and e-mail addresses are left alone
  for (
    const text of [
      "user@example.com wrote",
      "/data/dow30-1991-2000/prices.parquet",
      "file:///tmp/x@y",
    ]
  ) {
    assertEquals(redact(text), text);
  }
});

Deno.test("registered secrets are hidden wherever they appear, also without their URL", () => {
  registerUrlSecrets("redis://:Reg1stered-Pw@queue.example:6379");
  assertEquals(redact("ERR AUTH Reg1stered-Pw failed"), "ERR AUTH *** failed");
  assertEquals(redact("user=Reg1stered-Pw%21"), "user=***%21");
  registerSecret("ApiKey-1234-5678");
  assertEquals(redact("key ApiKey-1234-5678 and ApiKey-1234-5678"), "key *** and ***");
  registerSecret("ab"); // too short to tell from text: ignored
  assertEquals(redact("abc tab"), "abc tab");
  assertEquals(redactError(new Error("refused ApiKey-1234-5678")), "refused ***");
  assertEquals(redactError("plain ApiKey-1234-5678"), "plain ***");
});

Deno.test("credentials in the environment are hidden, paths in PWD are not", async () => {
  const script = `
    import { redact } from "${new URL("../src/redact.ts", import.meta.url).href}";
    console.log(redact("key=" + Deno.env.get("ALPHAVANTAGE_API_KEY") + " uri=" +
      Deno.env.get("MONGODB_URI") + " cwd=" + Deno.cwd()));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: {
      ALPHAVANTAGE_API_KEY: "AVKEY123456",
      MONGODB_URI: "mongodb://u:EnvPass99@h/db",
      SOME_TOKEN: "tok-abcdef",
    },
    cwd: REPO,
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, new TextDecoder().decode(out.stderr));
  assertEquals(text, `key=*** uri=mongodb://u:***@h/db cwd=${REPO.replace(/\/$/, "")}`);
});

Deno.test("redactConsole redacts every console method, strings and inspected values", () => {
  const lines: string[] = [];
  const fake = {
    log: (s: string) => lines.push(`log ${s}`),
    info: (s: string) => lines.push(`info ${s}`),
    warn: (s: string) => lines.push(`warn ${s}`),
    error: (s: string) => lines.push(`error ${s}`),
    debug: (s: string) => lines.push(`debug ${s}`),
  } as unknown as Console;
  const restore = redactConsole(fake);
  fake.log("at redis://:pw99@h:1");
  fake.error("failed:", new Error("mongodb://u:pw99@h/db refused"));
  fake.warn({ url: "https://u:pw99@x.test" });
  fake.info("a", 1, "rediss://:pw99@h");
  fake.debug("?apikey=ABC");
  restore();
  fake.log("redis://:pw99@h:1");
  assertEquals(lines[0], "log at redis://:***@h:1");
  assertMatch(lines[1], /^error failed: Error: mongodb:\/\/u:\*\*\*@h\/db refused/);
  assertEquals(lines[2], 'warn { url: "https://u:***@x.test" }');
  assertEquals(lines[3], "info a 1 rediss://:***@h");
  assertEquals(lines[4], "debug ?apikey=***");
  assertEquals(lines[5], "log redis://:pw99@h:1", "restored");
  assert(!lines.slice(0, 5).some((l) => l.includes("pw99")));
});

Deno.test("Redis failures are told by cause, without the password", () => {
  const err = (message: string, code?: string) => Object.assign(new Error(message), { code });
  const refused = err("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED");
  assertEquals(redisFailureCause(refused), "connection refused (ECONNREFUSED)");
  assert(isRedisConnectionError(refused) && !isRedisAuthFailure(refused));
  const wrong = err("WRONGPASS invalid username-password pair or user is disabled.");
  assertEquals(
    redisFailureCause(wrong),
    "authentication failed: WRONGPASS invalid username-password pair or user is disabled",
  );
  assert(isRedisAuthFailure(wrong));
  assertEquals(
    redisFailureCause(err("NOAUTH Authentication required.")),
    "authentication failed: the server needs a password: NOAUTH Authentication required",
  );
  assertEquals(
    redisFailureCause(err("getaddrinfo ENOTFOUND nohost.invalid", "ENOTFOUND")),
    "host not found (DNS)",
  );
  assertEquals(
    redisFailureCause(err("connect ETIMEDOUT", "ETIMEDOUT")),
    "connection timed out (ETIMEDOUT)",
  );
  assertEquals(redisFailureCause(err("weird at redis://:pw77@h:1")), "weird at redis://:***@h:1");
  assert(!isRedisConnectionError(err("ERR unknown command 'FOO'")));
});

Deno.test("an invalid queue URL is named without its password", () => {
  for (const bad of ["http://:pw55@h:1", "redis//:pw55@h"]) {
    try {
      checkQueueUrl(bad);
      throw new Error("accepted");
    } catch (e) {
      assert(e instanceof TypeError, String(e));
      assert(!e.message.includes("pw55"), e.message);
      assertMatch(e.message, /^Invalid queue URL "/);
    }
  }
});

/** Runs `main.ts ARGS` and returns its exit code, stdout and stderr. */
async function cli(args: string[], timeoutMs = 60_000) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Every key and value in Redis as text lines `key [field] value`. */
async function dumpRedis(url: string): Promise<string[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const out: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "COUNT", 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === "hash") {
          for (const [f, v] of Object.entries(await redis.hgetall(key))) {
            out.push(`${key} ${f} ${v}`);
          }
        } else if (type === "string") {
          out.push(`${key} ${await redis.get(key)}`);
        } else if (type === "list") {
          for (const v of await redis.lrange(key, 0, -1)) out.push(`${key} ${v}`);
        } else if (type === "set") {
          for (const v of await redis.smembers(key)) out.push(`${key} ${v}`);
        } else if (type === "zset") {
          for (const v of await redis.zrange(key, 0, -1)) out.push(`${key} ${v}`);
        } else if (type === "stream") {
          for (const [id, fields] of await redis.xrange(key, "-", "+")) {
            out.push(`${key} ${id} ${fields.join(" ")}`);
          }
        } else out.push(`${key} (${type})`);
      }
    } while (cursor !== "0");
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Every file under `dir`, as text, with its path. */
async function filesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        out.push({ path: p, text: new TextDecoder().decode(await Deno.readFile(p)) });
      }
    }
  };
  await walk(dir).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  return out;
}

testWith(["redis-server"], {
  name: "a sweep on a password-protected Redis never shows the password anywhere",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const PW = "Zq7pW0rdS3cret";
    const dir = await Deno.makeTempDir({ prefix: "alfred-secrets-" });
    await Deno.mkdir(`${dir}/redis`);
    const redis = new RedisProcess(freePort(), `${dir}/redis`, PW);
    const shown = `redis://:***@127.0.0.1:${redis.port}`;
    const queueName = `secrets-${crypto.randomUUID().slice(0, 8)}`;
    const workers: WorkerProcess[] = [];
    try {
      await redis.start();
      const common = ["--queue", redis.url, "--queue-name", queueName];
      // The two runs, and a job that fails with the password in its error: a ticker named like
      // it (the worker must redact the secret it knows from its URL, also outside the URL).
      const good = cli(["run", PAIR, ...common, "--wait", "--timeout", "240"], 300_000);
      // The CLI checks the data before enqueueing, so it refuses the poisoned ticker itself,
      // redacted; a client that enqueues without that check (the queue API) gets it to a
      // worker, which must redact the secret it knows from its URL, also outside the URL.
      const refused = await cli([
        "run",
        PAIR,
        ...common,
        "--set",
        `data.train_tickers=[AA, ${PW}, BA]`,
      ], 120_000);
      assertEquals(refused.code, 1, refused.stdout + refused.stderr);
      assertMatch(refused.stderr, /Unknown ticker "\*\*\*"/);
      assertStringIncludes(refused.stderr, "nothing was enqueued");
      const poisoned = await enqueueExperiments(PAIR, {
        queue: redis.url,
        queueName,
        set: [`data.train_tickers=[AA, ${PW}, BA]`],
      });
      assertEquals(poisoned.length, 2, "one job per seed");
      for (const name of ["w1", "w2"]) {
        workers.push(
          new WorkerProcess(name, dir, [
            ...common,
            "--results",
            `${dir}/results`,
            "--store",
            `file:${dir}/share`,
          ]),
        );
      }
      let waited = "";
      const p = await waitForJobs({
        queue: redis.url,
        queueName,
        ids: poisoned.map((j) => j.id),
        tty: false,
        write: (text) => waited += text,
        timeoutMs: 240_000,
      });
      assertEquals(p.failed, 2, waited);
      assertMatch(
        waited,
        /failed +[0-9a-f]{8} \(distributed-secret-pair\): .*Unknown ticker "\*\*\*"/,
      );
      const g = await good;
      assertEquals(g.code, 0, g.stdout + g.stderr);
      assert(g.stdout.includes(`2 jobs on ${shown}`), g.stdout);
      await until(
        "both workers' start lines",
        () => Promise.resolve(workers.every((w) => w.output().includes(" on "))),
        10_000,
      );
      for (const w of workers) await w.stop();
      const logs = workers.map((w) => w.output());
      for (const log of logs) assert(log.includes(`on ${shown} (queue "${queueName}")`), log);
      assert(
        logs.some((l) => l.includes('Unknown ticker "***"')),
        "a worker logged the poisoned job",
      );

      const outputs: [string, string][] = [
        ["enqueue --wait stdout", g.stdout],
        ["enqueue --wait stderr", g.stderr],
        ["refused enqueue stdout", refused.stdout],
        ["refused enqueue stderr", refused.stderr],
        ["waiting on the poisoned jobs", waited],
        ...logs.map((l, i): [string, string] => [`worker w${i + 1} log`, l]),
      ];
      for (const [what, text] of outputs) {
        assert(!text.includes(PW), `${what} shows the password:\n${text}`);
      }

      // Redis: every key. The poisoned job's own data holds the ticker as configured (it is the
      // config, not an output); everything else, its failure reason and stack trace included,
      // must not show it.
      const lines = await dumpRedis(redis.url);
      const leaks = lines.filter((l) =>
        l.includes(PW) && !/^alfred:[^ ]+:[0-9a-f]{64} data /.test(l)
      );
      assertEquals(leaks, [], "Redis holds the password outside the configured job data");
      const reasons = lines.filter((l) => /^alfred:[^ ]+:[0-9a-f]{64} failedReason /.test(l));
      assertEquals(reasons.length, 2, "one per poisoned seed");
      const events = lines.filter((l) => /:events \S+ .*failedReason/.test(l));
      assertEquals(events.length, 2, "the event stream tells each failure too");
      for (const r of events) assertMatch(r, /Unknown ticker "\*\*\*"/);
      for (const r of reasons) assertMatch(r, /Unknown ticker "\*\*\*"/);
      assert(
        lines.some((l) => / stacktrace .*\*\*\*/.test(l)),
        "the stored stack trace is redacted",
      );

      // Run records, models, the shared store and the journal.
      const files = [
        ...await filesUnder(`${dir}/results`),
        ...await filesUnder(`${dir}/share`),
      ];
      assert(files.some((f) => f.path.endsWith("record.json")), "runs were written");
      for (const f of files) assert(!f.text.includes(PW), `${f.path} holds the password`);
      assert(!renderJournal(await loadRuns(`${dir}/results`)).includes(PW), "journal");
    } catch (error) {
      for (const w of workers) console.error(`--- ${w.name} log:\n${w.output().slice(-3000)}`);
      throw error;
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await redis.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

testWith(["redis-server"], {
  name: "a wrong password, a missing one, a refused port and an unknown host each give one line",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const PW = "Right-Pa55word";
    const dir = await Deno.makeTempDir({ prefix: "alfred-secrets-" });
    const redis = new RedisProcess(freePort(), dir, PW);
    const worker = (
      url: string,
    ) => ["worker", "--queue", url, "--results", `${dir}/r`, "--store", `${dir}/m`];
    const enqueue = (url: string) => ["run", PAIR, "--queue", url];
    try {
      await redis.start();
      const wrong = `redis://:Wr0ng-Pa55word@127.0.0.1:${redis.port}`;
      const none = `redis://127.0.0.1:${redis.port}`;
      const refused = `redis://:Wr0ng-Pa55word@127.0.0.1:${freePort()}`;
      const unknown = "redis://:Wr0ng-Pa55word@alfred-no-such-host.invalid:6379";
      const masked = (url: string) => url.replace("Wr0ng-Pa55word", "***");
      const checks: [string[], RegExp][] = [
        [
          enqueue(wrong),
          new RegExp(
            `^Cannot connect to Redis at "${
              esc(masked(wrong))
            }": authentication failed: WRONGPASS invalid username-password pair or user is disabled$`,
          ),
        ],
        [
          worker(wrong),
          new RegExp(
            `^Cannot connect to Redis at "${esc(masked(wrong))}": authentication failed: WRONGPASS`,
          ),
        ],
        [
          enqueue(none),
          new RegExp(
            `^Cannot connect to Redis at "${
              esc(none)
            }": authentication failed: the server needs a password: NOAUTH`,
          ),
        ],
        [
          enqueue(refused),
          new RegExp(
            `^Cannot reach Redis at "${
              esc(masked(refused))
            }" within 10 s: connection refused \\(ECONNREFUSED\\)$`,
          ),
        ],
        // Without a resolver the lookup may time out instead of failing: either cause is clear.
        [
          enqueue(unknown),
          new RegExp(
            `^Cannot reach Redis at "${
              esc(masked(unknown))
            }" within 10 s: (host not found \\(DNS\\)|connection timed out \\(ETIMEDOUT\\))$`,
          ),
        ],
      ];
      const results = await Promise.all(checks.map(([args]) => cli(args)));
      results.forEach((r, i) => {
        const [args, pattern] = checks[i];
        const what = `${args[0]} ${args.find((a) => a.startsWith("redis"))}`;
        assertEquals(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
        assertEquals(r.stdout, "", `${what} stdout`);
        // Deno's own note while another process installs node_modules is not the command's output.
        const lines = r.stderr.trimEnd().split("\n")
          .filter((l) => !l.startsWith("Blocking waiting for file lock"));
        assertEquals(lines.length, 1, `${what} printed:\n${r.stderr}`);
        assertMatch(lines[0], pattern);
        assert(!r.stderr.includes("Wr0ng-Pa55word"));
      });
      // A worker waits for a refused Redis, saying so once (not once per retry).
      const w = new WorkerProcess("w-refused", dir, [
        "--queue",
        refused,
        "--results",
        `${dir}/r`,
        "--store",
        `${dir}/m`,
      ]);
      try {
        await until(
          "the worker's line",
          () => Promise.resolve(w.output().includes("unreachable")),
          20_000,
        );
        await new Promise((r) => setTimeout(r, 2500)); // several reconnections
      } finally {
        await w.stop();
      }
      // Besides that line, only what stopping it says (the test's SIGINT).
      const lines = w.output().trimEnd().split("\n")
        .filter((l) => !l.startsWith("Finishing the running jobs, then stopping"));
      assertEquals(lines.length, 1, w.output());
      assertEquals(
        lines[0],
        `[w-refused] Redis at "${
          masked(refused)
        }" unreachable: connection refused (ECONNREFUSED); reconnecting`,
      );
    } finally {
      await redis.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
