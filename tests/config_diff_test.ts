/** Config diffs over resolved configs, and their Markdown. */
import { assertEquals } from "./assert.ts";
import { diffConfigs, formatConfigDiff } from "../src/config/diff.ts";
import { loadExperiment } from "../src/config/load.ts";

const FIX = new URL("./fixtures/config/", import.meta.url).pathname;

Deno.test("diff: added, removed and changed keys of resolved configs", async () => {
  const a = await loadExperiment(`${FIX}diff_a.yaml`);
  const b = await loadExperiment(`${FIX}diff_b.yaml`);
  const d = diffConfigs(a, b);
  assertEquals(d.changed, [
    { path: "data.eval_tickers", from: ["KO", "DD"], to: ["KO"] },
    { path: "model.size", from: 1024, to: 2048 },
    { path: "name", from: "diff-a", to: "diff-b" },
  ]);
  assertEquals(d.added, [{ path: "split.purge", value: 2 }]);
  assertEquals(d.removed, [{ path: "model.layers", value: 2 }]);
  assertEquals(diffConfigs(a, a), { added: [], removed: [], changed: [] });
});

Deno.test("diff: Markdown for a code review", async () => {
  const a = await loadExperiment(`${FIX}diff_a.yaml`);
  const b = await loadExperiment(`${FIX}diff_b.yaml`);
  assertEquals(
    formatConfigDiff(diffConfigs(a, b), "diff_a.yaml", "diff_b.yaml"),
    [
      "### Config diff: `diff_a.yaml` → `diff_b.yaml`",
      "",
      "3 changed, 1 added, 1 removed",
      "",
      "**Changed**",
      "",
      "- `data.eval_tickers`: [KO, DD] → [KO]",
      "- `model.size`: 1024 → 2048",
      "- `name`: diff-a → diff-b",
      "",
      "**Added** (only in `diff_b.yaml`)",
      "",
      "- `split.purge`: 2",
      "",
      "**Removed** (only in `diff_a.yaml`)",
      "",
      "- `model.layers`: 2",
      "",
    ].join("\n"),
  );
  assertEquals(
    formatConfigDiff(diffConfigs(a, a), "x", "y"),
    "### Config diff: `x` → `y`\n\nNo differences: the resolved configs are identical.\n",
  );
});

Deno.test("diff: strings that would read as other types are quoted", () => {
  const d = diffConfigs({ description: "" }, { description: "true" });
  assertEquals(
    formatConfigDiff(d, "a", "b").split("\n").find((l) => l.startsWith("- ")),
    '- `description`: "" → "true"',
  );
});
