/** Errors a run finds in the data are located in the YAML like validation errors. */
import { assertEquals, assertRejects } from "./assert.ts";
import { configPathOf, runCommand } from "../src/cli/run.ts";
import { locateConfigPath } from "../src/config/load.ts";
import { MissingTableError } from "../src/data/dataset.ts";
import { TickerSelectionError } from "../src/data/select.ts";
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

Deno.test("configPathOf names the key behind selection and missing-data errors", () => {
  assertEquals(
    configPathOf(new TickerSelectionError("unknown", "data.eval_tickers[0]", "ZZ")),
    "data.eval_tickers[0]",
  );
  assertEquals(
    configPathOf(new MissingTableError("d", "insider", 'the "insider" feature family')),
    "features.families.insider",
  );
  assertEquals(
    configPathOf(
      new MissingColumnError("d", "prices", "volume", ["close"], 'the "volume" feature family'),
    ),
    "features.families.volume",
  );
  assertEquals(configPathOf(new Error("other")), null);
});

Deno.test("run: an unknown ticker fails located in the file, and nothing is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-run-" });
  try {
    const file = `${dir}/bad.yaml`;
    await Deno.writeTextFile(file, BASE.replace("[AA, AXP]", "[AA, IMB]"));
    await assertRejects(
      () => runCommand([file, "--results", `${dir}/results`, "--store", `${dir}/models`]),
      TickerSelectionError,
      `${file}:4:23 data.train_tickers[1]: Unknown ticker "IMB"`,
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["bad.yaml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
