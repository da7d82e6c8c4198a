/**
 * `deno task validate` checks a config against its dataset with the run's own checks (tickers,
 * market series, benchmark, risk-free series), located in the YAML, and says which checks it
 * could not make.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import { capture } from "./cli_helpers.ts";
import { configPathOf } from "../src/cli/data_checks.ts";
import { validateCommand } from "../src/cli/validate.ts";
import { loadExperiment } from "../src/config/load.ts";
import { loadDatasetFolder, MissingTableError } from "../src/data/dataset.ts";
import { TickerSelectionError } from "../src/data/select.ts";
import { writeSynthetic } from "../src/data/synth.ts";
import { MissingColumnError, requireMarketSeries } from "../src/features/families.ts";
import { memoryDataset } from "./fixtures/features/memory_dataset.ts";
import { checkData } from "../src/dataset/prepare.ts";

const DOW = `name: data-checks
data:
  dataset: dow30-1991-2000
  train_tickers: [AA, IMB]
  eval_tickers: [KO, DD]
features:
  families:
    market: { series: [DJIA, 10yr] }
label: { mode: direction }
loss: { name: bce }
backtest: { benchmark: SPX }
`;

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "alfred-data-checks-" });
  // Datasets the tests write there are data roots' datasets, as a config may name.
  Deno.env.set("ALFRED_DATA_PATH", dir);
  try {
    await f(dir);
  } finally {
    Deno.env.delete("ALFRED_DATA_PATH");
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("validate: tickers, market series and benchmark the dataset lacks, each located", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/x.yaml`;
    await Deno.writeTextFile(file, DOW);
    const io = capture();
    assertEquals(await validateCommand([file], io), 1);
    assertEquals(io.stdout, [
      '  checked against dataset "dow30-1991-2000": tickers, series, benchmark, risk-free, ' +
      "tables, window, memory",
    ]);
    assertEquals(io.stderr.length, 4, io.stderr.join("\n"));
    assert(
      io.stderr[0].startsWith(
        `${file}:4:23 data.train_tickers[1]: Unknown ticker "IMB" in data.train_tickers[1]: ` +
          'close matches "GM", "IBM"',
      ),
      io.stderr[0],
    );
    assert(
      io.stderr[1].startsWith(
        `${file}:8:30 features.families.market.series[1]: Dataset "dow30-1991-2000" table "market" ` +
          'has no series "10yr", which features.families.market.series needs: it has "DJIA", ',
      ),
      io.stderr[1],
    );
    assert(
      io.stderr[2].startsWith(
        `${file}:11:24 backtest.benchmark: Dataset "dow30-1991-2000" table "market" has no ` +
          'series "SPX", which backtest.benchmark needs: it has "DJIA", "NYSE", ',
      ),
      io.stderr[2],
    );
    assertEquals(io.stderr[3], `${file}: 3 problems`);
  });
});

Deno.test("validate: a dataset that is not there is not an error; the checks not made are named", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/x.yaml`;
    await Deno.writeTextFile(file, DOW.replace("dow30-1991-2000", "no-such-data"));
    const io = capture();
    assertEquals(await validateCommand([file], io), 0, io.stderr.join("\n"));
    assertEquals(io.stdout.length, 2);
    assert(io.stdout[0].startsWith(`${file}: ok (1 experiment, hash `), io.stdout[0]);
    assertEquals(
      io.stdout[1],
      '  not checked: tickers, series, benchmark, risk-free, tables, window, memory: dataset "no-such-data" ' +
        "not found under data/",
    );
  });
});

Deno.test("validate: a dataset folder without a manifest is a problem, not a skip", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/broken`);
    const file = `${dir}/x.yaml`;
    await Deno.writeTextFile(file, DOW.replace("dow30-1991-2000", `${dir}/broken`));
    const io = capture();
    assertEquals(await validateCommand([file], io), 1);
    assertStringIncludes(io.stderr[0], `${file}: dataset: Dataset "${dir}/broken" has no manifest`);
  });
});

Deno.test("validate: a problem in some sweep points is located at the swept value and names them", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/x.yaml`;
    await Deno.writeTextFile(
      file,
      DOW.replace("[AA, IMB]", "[AA, IBM]").replace("10yr", "10year")
        .replace("backtest: { benchmark: SPX }\n", "sweep:\n  backtest.benchmark: [DJIA, SPX]\n"),
    );
    const io = capture();
    assertEquals(await validateCommand([file], io), 1);
    assertEquals(io.stderr.length, 2, io.stderr.join("\n"));
    assert(io.stderr[0].startsWith(`${file}:12:30 backtest.benchmark: `), io.stderr[0]);
    assert(io.stderr[0].endsWith(" (sweep point 2 of 2)"), io.stderr[0]);
  });
});

Deno.test("checkData reports the risk-free series a manifest names but lacks, with no config key", async () => {
  await withDir(async (dir) => {
    const data = `${dir}/tiny`;
    await writeSynthetic(data, {
      seed: 3,
      tickers: 4,
      from: "2005-01-01",
      to: "2006-12-31",
      signal: 0,
    });
    const manifest = JSON.parse(await Deno.readTextFile(`${data}/manifest.json`));
    await Deno.writeTextFile(
      `${data}/manifest.json`,
      JSON.stringify({ ...manifest, riskFree: "nope" }),
    );
    const file = `${dir}/x.yaml`;
    await Deno.writeTextFile(
      file,
      `name: x\ndata: { dataset: ${data}, train_tickers: [${manifest.tickers.slice(0, 2)}], ` +
        `eval_tickers: [${manifest.tickers.slice(2)}] }\n` +
        "label: { mode: direction }\nloss: { name: bce }\n",
    );
    const e = await loadExperiment(file);
    const checked = checkData(e, await loadDatasetFolder(data));
    assertEquals(checked.checks.map((c) => [c.name, c.error === null]), [
      ["tickers", true],
      ["benchmark", true],
      ["risk-free", false],
    ]);
    assertEquals(checked.index?.name, manifest.index);
    assertEquals(checked.riskFree, null);
    const io = capture();
    assertEquals(await validateCommand([file], io), 1);
    assert(
      io.stderr[0].startsWith(
        `${file}: risk-free: Dataset "${manifest.name}" table "market" has no series "nope", which the ` +
          "backtest's Sharpe ratio (the manifest's riskFree) needs",
      ),
      io.stderr[0],
    );
  });
});

Deno.test("configPathOf names the key behind selection and missing-data errors", () => {
  assertEquals(
    configPathOf(new TickerSelectionError("unknown", "data.eval_tickers[0]", "ZZ")),
    "data.eval_tickers[0]",
  );
  assertEquals(
    configPathOf(
      new MissingTableError(
        "d",
        "insider",
        'the "insider" feature family',
        "features.families.insider",
      ),
    ),
    "features.families.insider",
  );
  assertEquals(
    configPathOf(
      new MissingColumnError(
        "d",
        "prices",
        "volume",
        ["close"],
        'the "volume" feature family',
        "column",
        "features.families.volume",
      ),
    ),
    "features.families.volume",
  );
  // The key is what the error carries, never read out of its text.
  assertEquals(
    configPathOf(new MissingTableError("d", "insider", 'the "insider" feature family')),
    null,
  );
  const dataset = memoryDataset("d", {
    market: [{ date: "2000-01-03", series: "DJIA", value: 1 }],
  });
  const missing = (series: string[], neededBy?: string) =>
    assertThrows(() => requireMarketSeries(dataset, series, neededBy), MissingColumnError);
  assertEquals(configPathOf(missing(["SPX"], "backtest.benchmark")), "backtest.benchmark");
  assertEquals(configPathOf(missing(["SPX"])), "features.families.market");
  assertEquals(
    configPathOf(missing(["SPX"], "the backtest's benchmark (the manifest's index)")),
    null,
  );
  assertEquals(configPathOf(new Error("other")), null);
});
