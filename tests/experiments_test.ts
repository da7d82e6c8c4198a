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

for (const name of files) {
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
