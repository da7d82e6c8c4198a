/**
 * The run command: errors a run finds in the data are located in the YAML like validation
 * errors, and found before any work.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import type { CommandIo } from "../src/cli/args.ts";
import { runCommand } from "../src/cli/run.ts";
import { locateConfigPath } from "../src/config/load.ts";
import { MissingColumnError } from "../src/features/families.ts";

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

function capture(): CommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

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
