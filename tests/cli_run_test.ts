/**
 * The run command: errors a run finds in the data are located in the YAML like validation
 * errors, and found before any work; a sweep shows its points and ranks them at the end, and
 * `--resume` continues an interrupted sweep. (Ctrl-C itself, `--resume` without a checkpoint and
 * the cleanup at start: `interrupt_test.ts`.)
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "./assert.ts";
import { capture } from "./cli_helpers.ts";
import { runCommand } from "../src/cli/run.ts";
import { locateConfigPath } from "../src/config/load.ts";
import { MissingColumnError } from "../src/features/families.ts";
import { formatNumber, metricValue } from "../src/report/format.ts";
import { bestBaseline } from "../src/report/report.ts";
import { readRunRecord } from "../src/store/run_record.ts";
import { loadExperiments } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import { tinySynthYaml } from "./pipeline_helpers.ts";
import { quietRun } from "./pipeline_helpers.ts";

const BASE = `name: base
data:
  dataset: dow30-1991-2000
  train_tickers: [AA, AXP]
  eval_tickers: [KO, DD]
label: { mode: direction }
loss: { name: bce }
`;

Deno.test("locateConfigPath follows extends and indexes into lists", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-locate-" });
  try {
    await Deno.writeTextFile(`${dir}/base.yaml`, BASE);
    await Deno.writeTextFile(
      `${dir}/child.yaml`,
      "extends: base.yaml\nname: child\nfeatures:\n  families:\n    volume: {}\n",
    );
    const ticker = await locateConfigPath(`${dir}/child.yaml`, "data.train_tickers[1]");
    assertEquals(ticker, { file: `${dir}/base.yaml`, line: 4, col: 23 });
    const family = await locateConfigPath(`${dir}/child.yaml`, "features.families.volume");
    assertEquals(family, { file: `${dir}/child.yaml`, line: 5, col: 13 });
    assertEquals(await locateConfigPath(`${dir}/missing.yaml`, "data"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("locateConfigPath locates a swept key at its value in a sweep point", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-locate-" });
  try {
    const file = `${dir}/sweep.yaml`;
    await Deno.writeTextFile(file, `${BASE}sweep:\n  backtest.benchmark: [DJIA, SPX]\n`);
    assertEquals(await locateConfigPath(file, "backtest.benchmark", { point: 1 }), {
      file,
      line: 9,
      col: 30,
    });
    assertEquals(await locateConfigPath(file, "data.eval_tickers[1]", { point: 0 }), {
      file,
      line: 5,
      col: 22,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run: data problems stop it before any work, located in the file; nothing is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-run-" });
  try {
    const file = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      file,
      BASE.replace("[AA, AXP]", "[AA, IMB]") + "backtest: { benchmark: SPX }\n",
    );
    const io = capture();
    const code = await runCommand(
      [file, "--results", `${dir}/results`, "--store", `${dir}/models`],
      io,
    );
    assertEquals(code, 1);
    assertEquals(io.stdout, []);
    assertEquals(io.stderr.length, 3, io.stderr.join("\n"));
    assertStringIncludes(io.stderr[0], `${file}:4:23 data.train_tickers[1]: Unknown ticker "IMB"`);
    assertStringIncludes(
      io.stderr[1],
      `${file}:8:24 backtest.benchmark: Dataset "dow30-1991-2000" table "market" has no series "SPX"`,
    );
    assertEquals(io.stderr[2], `${file}: 2 problems in the data: nothing was run`);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["bad.yaml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --queue: the data checks run before anything is enqueued or any server is reached", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-run-" });
  try {
    const file = `${dir}/bad.yaml`;
    await Deno.writeTextFile(file, BASE.replace("[AA, AXP]", "[AA, IMB]"));
    const io = capture();
    // Port 9 (discard) has no Redis: reaching the enqueue step would fail with a connection
    // error instead of the located data problem.
    const code = await runCommand([file, "--queue", "redis://127.0.0.1:9"], io);
    assertEquals(code, 1);
    assertEquals(io.stdout, []);
    assertEquals(io.stderr.length, 2, io.stderr.join("\n"));
    assertStringIncludes(io.stderr[0], `${file}:4:23 data.train_tickers[1]: Unknown ticker "IMB"`);
    assertEquals(io.stderr[1], `${file}: 1 problem in the data: nothing was enqueued`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run: an error found later in the run is located too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-run-" });
  try {
    const file = `${dir}/volume.yaml`;
    await Deno.writeTextFile(file, `${BASE}features:\n  families:\n    volume: {}\n`);
    await assertRejects(
      () =>
        runCommand([file, "--results", `${dir}/results`, "--store", `${dir}/models`], capture()),
      MissingColumnError,
      `${file}:10:13 features.families.volume: Dataset "dow30-1991-2000" table "prices" has no ` +
        'column "volume"',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const SWEEP = tinySynthYaml("tiny-sweep", {
  rest: "train: { epochs: 2, backend: wasm }\nsweep:\n  model.size: [4, 8]\n  seed: [1, 2]\n",
});

Deno.test("run: a sweep prints each point's values as it starts and ends with one ranked table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-sweep-" });
  try {
    const file = `${dir}/sweep.yaml`;
    await Deno.writeTextFile(file, SWEEP);
    const io = capture();
    const code = await runCommand(
      [file, "--results", `${dir}/results`, "--store", `${dir}/models`],
      io,
    );
    assertEquals(code, 0, io.stderr.join("\n"));
    assertEquals(io.stdout.filter((l) => /^\n\[\d\/4\]/.test(l)), [
      "\n[1/4] model.size=4 seed=1",
      "\n[2/4] model.size=4 seed=2",
      "\n[3/4] model.size=8 seed=1",
      "\n[4/4] model.size=8 seed=2",
    ]);
    const table = io.stdout[io.stdout.length - 1].trim().split("\n");
    assertEquals(table[0], "Sweep: 4 of 4 points, ranked by eval F1");
    assertEquals(
      table[2],
      "| rank | point | model.size | seed | eval F1 | best baseline F1 | run |",
    );
    // The ranked table, then (after a blank line) the sweep's selection statistics.
    const end = table.indexOf("", 4);
    assert(end > 4, "a blank line between the table and the statistics");
    const rows = table.slice(4, end).map((l) => l.slice(2, -2).split(" | "));
    assertMatch(table.slice(end).join("\n"), /\*\*Deflated Sharpe ratio\*\* of the best point/);
    assertMatch(table.slice(end).join("\n"), /PBO needs at least 8 points; this sweep has 4/);
    assertEquals(rows.map((r) => r[0]), ["1", "2", "3", "4"]);
    assertEquals(rows.map((r) => r[1]).sort(), ["1/4", "2/4", "3/4", "4/4"]);
    const f1s: number[] = [];
    for (const [, point, size, seed, f1, baseline, dir] of rows) {
      const record = await readRunRecord(dir);
      const e = record.metrics!;
      assertEquals(formatNumber(metricValue(e.postTrain.eval, "f1")), f1);
      const best = bestBaseline(e.baselines, "f1")!;
      assertEquals(baseline, `${formatNumber(best.value)} (${best.name})`);
      const i = Number(point.split("/")[0]) - 1;
      assertEquals([size, seed], [["4", "4", "8", "8"][i], ["1", "2", "1", "2"][i]]);
      assertStringIncludes(record.configYaml, `size: ${size}\n`);
      f1s.push(Number(f1));
    }
    assertEquals(f1s, [...f1s].sort((a, b) => b - a));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run: --resume of an interrupted sweep restores the done points, resumes the interrupted one and starts the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-sweep-resume-" });
  try {
    const file = `${dir}/sweep.yaml`;
    await Deno.writeTextFile(
      file,
      SWEEP.replace("  model.size: [4, 8]\n", "").replace("seed: [1, 2]", "seed: [1, 2, 3]"),
    );
    const where = quietRun(dir, { checkpointDir: `${dir}/ckpt` });
    // As an interrupted sweep leaves it: point 1 done (its model stored), point 2 interrupted
    // (a checkpoint, here of epoch 0), point 3 never started.
    const [p1, p2] = await loadExperiments(file);
    await runExperiment(p1, where);
    const stop = new AbortController();
    stop.abort();
    const cut = await runExperiment(p2, { ...where, signal: stop.signal });
    assertEquals(cut.record.status, "interrupted");
    assertStringIncludes(cut.record.error ?? "", "run again with --resume");
    const io = capture();
    const code = await runCommand([
      file,
      "--results",
      `${dir}/results`,
      "--store",
      `${dir}/models`,
      "--checkpoints",
      `${dir}/ckpt`,
      "--resume",
    ], io);
    assertEquals(code, 0, io.stderr.join("\n"));
    const out = io.stdout.join("\n");
    assertStringIncludes(out, "holdout: restored model");
    assertStringIncludes(out, "holdout: resumed from");
    assertStringIncludes(out, "holdout: no checkpoint");
    assertEquals(io.stdout.filter((l) => l.startsWith("holdout: restored model")).length, 1);
    assertEquals(io.stdout.filter((l) => l.startsWith("holdout: resumed from")).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
