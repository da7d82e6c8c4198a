/** Every experiment file in `experiments/` validates, starts with the schema line, and has a description. */
import { assert, assertEquals } from "./assert.ts";
import { loadExperiments } from "../src/config/load.ts";

const DIR = new URL("../experiments/", import.meta.url);

const files = [...Deno.readDirSync(DIR)]
  .filter((e) => e.isFile && e.name.endsWith(".yaml"))
  .map((e) => e.name)
  .sort();

Deno.test("experiments/ holds the notes' experiments and the quick ones", () => {
  for (
    const name of [
      "quick-direction.yaml",
      "quick-magnitude.yaml",
      "magnitude-huber-4096.yaml",
      "direction-vanilla-small.yaml",
      "direction-vanilla-medium.yaml",
    ]
  ) {
    assert(files.includes(name), `experiments/${name} is missing`);
  }
});

/** Portfolio experiments (`kind: portfolio`) have their own schema; see tests/portfolio_test.ts. */
const isPortfolio = (name: string) =>
  /^kind: portfolio$/m.test(Deno.readTextFileSync(new URL(name, DIR)));

for (const name of files.filter(isPortfolio)) {
  Deno.test(`experiments/${name} validates as a portfolio experiment`, async () => {
    const { loadPortfolioExperiment } = await import("../src/portfolio/run.ts");
    const path = new URL(name, DIR).pathname;
    const text = await Deno.readTextFile(path);
    assertEquals(
      text.split("\n")[0],
      "# yaml-language-server: $schema=../schemas/portfolio.schema.json",
    );
    const e = await loadPortfolioExperiment(path);
    assertEquals(e.name, name.replace(/\.yaml$/, ""), `${name}: name matches the file`);
    assert(e.description.length > 40, `${name}: describe what the experiment asks and found`);
    for (const a of e.analysts) {
      const analyst = (await loadExperiments(new URL(a.file, DIR).pathname, { set: a.set }))[0];
      assertEquals(analyst.split.method, "walk_forward", `${name}: ${a.file} must be walk-forward`);
    }
  });
}

Deno.test("schemas/portfolio.schema.json is what src/portfolio/schema.ts gives", async () => {
  const { portfolioJsonSchemaText } = await import("../src/portfolio/schema.ts");
  const file = new URL("../schemas/portfolio.schema.json", import.meta.url);
  assertEquals(await Deno.readTextFile(file), portfolioJsonSchemaText());
});

for (const name of files.filter((n) => !isPortfolio(n))) {
  Deno.test(`experiments/${name} validates`, async () => {
    const path = new URL(name, DIR).pathname;
    const text = await Deno.readTextFile(path);
    assertEquals(
      text.split("\n")[0],
      "# yaml-language-server: $schema=../schemas/experiment.schema.json",
    );
    const points = await loadExperiments(path);
    assert(points.length >= 1);
    for (const e of points) {
      assert(e.description.length > 40, `${name}: describe what the experiment asks and found`);
      assertEquals(e.name, name.replace(/\.yaml$/, ""), `${name}: name matches the file`);
    }
  });
}

Deno.test("the notes' experiments have the notes' model shapes", async () => {
  const { describeModel } = await import("../src/models/registry.ts");
  const shape = async (name: string) => {
    const [e] = await loadExperiments(new URL(`${name}.yaml`, DIR).pathname);
    const d = describeModel(e.model, 14, { label: e.label });
    return [d.layers, d.size];
  };
  assertEquals(await shape("direction-vanilla-small"), [10, 256]);
  assertEquals(await shape("direction-vanilla-medium"), [10, 1024]);
  assertEquals(await shape("magnitude-huber-2048"), [10, 2048]);
  assertEquals(await shape("magnitude-huber-4096"), [10, 4096]);
  assertEquals(await shape("magnitude-compression-tanh-2048"), [3, 2048]);
  assertEquals(await shape("magnitude-compression-tanh-4096"), [3, 4096]);
  assertEquals((await shape("magnitude-deep-norm"))[1], 2048);
});
