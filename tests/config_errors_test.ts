/**
 * Malformed experiment configs: each problem is reported with its exact
 * FILE:LINE:COL, key path and a message saying what is allowed.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { ConfigError, type ConfigIssue, didYouMean, levenshtein } from "../src/config/errors.ts";
import { loadExperiment, loadExperiments, parseExperimentText } from "../src/config/load.ts";
import { BASE_CONFIG } from "./config_helpers.ts";

const FIX = new URL("./fixtures/config/", import.meta.url).pathname;

interface Expected {
  file?: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

async function issuesOf(run: () => Promise<unknown>): Promise<ConfigIssue[]> {
  const err = await assertRejects(run, ConfigError);
  return (err as ConfigError).issues;
}

function assertHas(issues: ConfigIssue[], want: Expected, file: string) {
  const f = want.file ?? file;
  const found = issues.find((i) =>
    i.file === f && i.line === want.line && i.col === want.col && i.path === want.path &&
    i.message.includes(want.message)
  );
  assert(
    found,
    `expected ${f}:${want.line}:${want.col} ${want.path}: ...${want.message}... in\n` +
      issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.path}: ${i.message}`).join("\n"),
  );
}

interface Case {
  name: string;
  text: string;
  set?: string[];
  want: Expected;
  /** How many issues in all (default 1: nothing else is reported); "any" skips the count. */
  count?: number | "any";
}

const CASES: Case[] = [
  // YAML syntax
  {
    name: "duplicate key",
    text: BASE_CONFIG + "name: again\n",
    want: {
      line: 10,
      col: 1,
      path: "name",
      message: 'key "name" is written twice (first at line 1): YAML keys must be unique',
    },
  },
  {
    name: "unclosed flow sequence",
    text: BASE_CONFIG + "seed: [1, 2\nmodel: {}\n",
    // reported where the parser finds the next key instead of "]"
    want: { line: 11, col: 1, path: "", message: "flow sequence" },
  },
  {
    name: "tab indentation",
    text: BASE_CONFIG + "model:\n\tsize: 3\n",
    want: { line: 11, col: 1, path: "", message: "YAML syntax error: tabs" },
    count: "any",
  },
  // wrong types
  {
    name: "string for an integer",
    text: BASE_CONFIG + "seed: abc\n",
    want: {
      line: 10,
      col: 7,
      path: "seed",
      message: 'expected an integer from 0 to 2147483647, got "abc"',
    },
  },
  {
    name: "string for a ticker list",
    text: BASE_CONFIG.replace("train_tickers: [AA, AXP]", "train_tickers: AA"),
    want: {
      line: 4,
      col: 18,
      path: "data.train_tickers",
      message: "expected a list of non-empty strings or a mapping with keys select, start, " +
        'count, since, got "AA"',
    },
  },
  {
    name: "yes is not a boolean in YAML 1.2",
    text: BASE_CONFIG + "backtest: {long_only: yes}\n",
    want: {
      line: 10,
      col: 23,
      path: "backtest.long_only",
      message: 'expected true or false, got "yes"',
    },
  },
  {
    name: "number for a date",
    text: BASE_CONFIG.replace("  dataset: dow30-1991-2000\n", "  from: 19910101\n"),
    want: {
      line: 3,
      col: 9,
      path: "data.from",
      message: "expected a date as YYYY-MM-DD, got 19910101",
    },
  },
  {
    name: "non-list item in a ticker list",
    text: BASE_CONFIG.replace("[KO, DD]", "[KO, [DD]]"),
    want: {
      line: 5,
      col: 22,
      path: "data.eval_tickers[1]",
      message: 'expected a non-empty string, got ["DD"]',
    },
  },
  // unknown keys with did-you-mean
  {
    name: "misspelt top-level key",
    text: BASE_CONFIG + "modle:\n  size: 3\n",
    want: {
      line: 10,
      col: 1,
      path: "modle",
      message: 'unknown key "modle": did you mean "model"?',
    },
  },
  {
    name: "misspelt nested key",
    text: BASE_CONFIG + "train:\n  epoch: 5\n",
    want: {
      line: 11,
      col: 3,
      path: "train.epoch",
      message: 'unknown key "epoch": did you mean "epochs"? (allowed: epochs, batch_size,',
    },
  },
  {
    name: "unknown key without a close match lists what is allowed",
    text: BASE_CONFIG + "model: {colour: red}\n",
    want: {
      line: 10,
      col: 9,
      path: "model.colour",
      message:
        'unknown key "colour" (allowed: family, size, layers, activation, dropout, normalization, heads, ff_size, positions, pooling, conv)',
    },
  },
  // misspelt enum values with did-you-mean
  {
    name: "misspelt activation",
    text: BASE_CONFIG + "model:\n  activation: rleu\n",
    want: {
      line: 11,
      col: 15,
      path: "model.activation",
      message: 'expected one of "relu", "tanh", "elu", "selu", "gelu", "sigmoid", "linear", ' +
        'got "rleu": did you mean "relu"?',
    },
  },
  {
    name: "misspelt backend",
    text: BASE_CONFIG + "train:\n  backend: webgup\n",
    want: { line: 11, col: 12, path: "train.backend", message: 'did you mean "webgpu"?' },
  },
  {
    name: "misspelt ticker selection inside the ticker union",
    text: BASE_CONFIG.replace("[AA, AXP]", "{select: uncorelated, count: 5}"),
    want: {
      line: 4,
      col: 27,
      path: "data.train_tickers.select",
      message: 'expected one of "uncorrelated", "all", "rest", got "uncorelated": ' +
        'did you mean "uncorrelated"?',
    },
  },
  // out of range
  {
    name: "horizon above its maximum",
    text: BASE_CONFIG.replace("  mode: direction\n", "  mode: direction\n  horizon: 9\n"),
    want: {
      line: 8,
      col: 12,
      path: "label.horizon",
      message: "expected an integer from 1 to 8, got 9",
    },
  },
  {
    name: "exclusive upper bound",
    text: BASE_CONFIG + "split: {validation_fraction: 0.5}\n",
    want: {
      line: 10,
      col: 30,
      path: "split.validation_fraction",
      message: "expected a number > 0 and < 0.5, got 0.5",
    },
  },
  {
    name: "dropout of 1",
    text: BASE_CONFIG + "model:\n  dropout: 1\n",
    want: {
      line: 11,
      col: 12,
      path: "model.dropout",
      message: "expected a number >= 0 and < 1, got 1",
    },
  },
  {
    name: "empty ticker list",
    text: BASE_CONFIG.replace("[KO, DD]", "[]"),
    want: {
      line: 5,
      col: 17,
      path: "data.eval_tickers",
      message: "expected at least 1 item, got []",
    },
  },
  // missing required keys point at the parent
  {
    name: "missing top-level section",
    text: BASE_CONFIG.replace("label:\n  mode: direction\n", ""),
    want: { line: 1, col: 1, path: "label", message: 'missing required key "label"' },
  },
  {
    name: "missing nested key",
    text: BASE_CONFIG.replace("  mode: direction\n", "  horizon: 2\n"),
    want: {
      line: 6,
      col: 1,
      path: "label.mode",
      message: 'missing required key "mode": one of "direction", "magnitude"',
    },
  },
  {
    name: "empty value for a section",
    text: BASE_CONFIG.replace("label:\n  mode: direction\n", "label:\n"),
    want: {
      line: 6,
      col: 1,
      path: "label",
      message: "expected a mapping with keys mode, horizon, got null",
    },
  },
  // formats
  {
    name: "name with capitals and a space",
    text: BASE_CONFIG.replace("name: base-test", "name: Base Test"),
    want: {
      line: 1,
      col: 7,
      path: "name",
      message: `expected lower-case letters, digits, '.', '_' or '-', starting with a letter or ` +
        `digit (the name is the folder results/<name>/), got "Base Test"`,
    },
  },
  {
    name: "impossible calendar date",
    text: BASE_CONFIG + "split: {eval_from: 1995-02-30}\n",
    want: {
      line: 10,
      col: 20,
      path: "split.eval_from",
      message: 'expected a real calendar date as YYYY-MM-DD, got "1995-02-30"',
    },
  },
  // --set
  {
    name: "--set of an unknown key",
    text: BASE_CONFIG,
    set: ["model.sise=3"],
    want: {
      file: "--set",
      line: 1,
      col: 7,
      path: "model.sise",
      message: 'unknown config key "model.sise": did you mean "model.size"?',
    },
  },
  {
    name: "--set of an unknown section suggests the whole dotted key",
    text: BASE_CONFIG,
    set: ["size=3"],
    want: { file: "--set", line: 1, col: 1, path: "size", message: 'did you mean "model.size"?' },
  },
  {
    name: "--set value of the wrong type",
    text: BASE_CONFIG,
    set: ["model.size=big"],
    want: {
      file: "--set",
      line: 1,
      col: 12,
      path: "model.size",
      message: 'expected an integer from 1 to 65536, got "big"',
    },
  },
  {
    name: "--set without =",
    text: BASE_CONFIG,
    set: ["model.size"],
    want: {
      file: "--set",
      line: 1,
      col: 1,
      path: "",
      message: 'expected KEY=VALUE like model.size=2048, got "model.size"',
    },
  },
  {
    name: "--set errors are numbered by argument",
    text: BASE_CONFIG,
    set: ["seed=1", "train.epochs=0"],
    want: {
      file: "--set",
      line: 2,
      col: 14,
      path: "train.epochs",
      message: "expected an integer from 1 to 1000000, got 0",
    },
  },
  {
    name: "--set cannot change the sweep",
    text: BASE_CONFIG,
    set: ["sweep.seed=[1, 2]"],
    want: {
      file: "--set",
      line: 1,
      col: 1,
      path: "sweep.seed",
      message: '"sweep" cannot be set here',
    },
  },
  {
    name: "--set into a scalar",
    text: BASE_CONFIG,
    set: ["seed.value=3"],
    want: {
      file: "--set",
      line: 1,
      col: 6,
      path: "seed.value",
      message: '"seed" is an integer from 0 to 2147483647, not a mapping',
    },
  },
  {
    name: "--set value with a YAML syntax error",
    text: BASE_CONFIG,
    set: ["data.train_tickers=[AA, KO"],
    want: {
      file: "--set",
      line: 1,
      col: 27, // at the end of the value, where "]" is missing
      path: "data.train_tickers",
      message: "YAML syntax error: flow sequence",
    },
  },
  // sweeps
  {
    name: "sweep over an unknown key",
    text: BASE_CONFIG + "sweep:\n  model.sise: [1, 2]\n",
    want: {
      line: 11,
      col: 3,
      path: "sweep.model.sise",
      message: 'unknown config key "model.sise": did you mean "model.size"?',
    },
  },
  {
    name: "sweep values not a list",
    text: BASE_CONFIG + "sweep:\n  seed: 3\n",
    want: {
      line: 11,
      col: 9,
      path: "sweep.seed",
      message: "expected a non-empty list of values to sweep, got 3",
    },
  },
  {
    name: "sweep value of the wrong type is located at the item",
    text: BASE_CONFIG + "sweep:\n  model.size: [64, big]\n",
    want: {
      line: 11,
      col: 20,
      path: "model.size",
      message: 'expected an integer from 1 to 65536, got "big"',
    },
  },
  {
    name: "sweep not a mapping",
    text: BASE_CONFIG + "sweep: [seed]\n",
    want: {
      line: 10,
      col: 8,
      path: "sweep",
      message: "expected a mapping of config keys to lists of values",
    },
  },
  {
    name: "sweep of the name",
    text: BASE_CONFIG + "sweep:\n  name: [a, b]\n",
    want: { line: 11, col: 3, path: "sweep.name", message: '"name" cannot be set here' },
  },
  // semantic checks
  {
    name: "regression loss with a direction label",
    text: BASE_CONFIG.replace("name: bce", "name: mse"),
    want: {
      line: 9,
      col: 9,
      path: "loss.name",
      message: 'loss "mse" is a regression loss and needs label.mode "magnitude"',
    },
  },
  {
    name: "bce with a magnitude label",
    text: BASE_CONFIG.replace("mode: direction", "mode: magnitude"),
    want: {
      line: 9,
      col: 9,
      path: "loss.name",
      message: 'loss "bce" needs label.mode "direction", but label.mode is "magnitude"',
    },
  },
  {
    name: "magnitude strategy with a direction label",
    text: BASE_CONFIG + "backtest: {strategy: top_magnitude, mode: portfolio}\n",
    want: {
      line: 10,
      col: 22,
      path: "backtest.strategy",
      message:
        'strategy "top_magnitude" ranks predicted magnitudes and needs label.mode "magnitude"',
    },
  },
  {
    name: "a cross-sectional strategy in per_ticker mode",
    text:
      BASE_CONFIG.replace("mode: direction", "mode: magnitude").replace("name: bce", "name: mse") +
      "backtest: {strategy: long_short_top_k, mode: per_ticker}\n",
    want: {
      line: 10,
      col: 46,
      path: "backtest.mode",
      message:
        'strategy "long_short_top_k" ranks tickers against each other and needs backtest.mode "portfolio"',
    },
  },
  {
    name: "nuanced thresholds out of order",
    text: BASE_CONFIG + "backtest:\n  strategy: nuanced\n  exit_threshold: 0.8\n",
    want: {
      line: 12,
      col: 19,
      path: "backtest.exit_threshold",
      message: "short_threshold < exit_threshold < long_threshold, got 0.3, 0.8, 0.7",
    },
  },
  {
    name: "train and eval tickers overlap",
    text: BASE_CONFIG.replace("[KO, DD]", "[KO, AA]"),
    want: {
      line: 5,
      col: 22,
      path: "data.eval_tickers[1]",
      message: 'ticker "AA" is also in data.train_tickers',
    },
  },
  {
    name: "purge shorter than the horizon",
    text: BASE_CONFIG.replace("  mode: direction\n", "  mode: direction\n  horizon: 2\n") +
      "split:\n  purge: 1\n",
    want: {
      line: 12,
      col: 10,
      path: "split.purge",
      message: "expected at least label.horizon (2) quarters, got 1",
    },
  },
  {
    name: "fused engine on the JavaScript cpu backend",
    text: BASE_CONFIG + "train:\n  backend: cpu\n  engine: fused\n",
    want: {
      line: 12,
      col: 11,
      path: "train.engine",
      message: 'engine "fused" runs only on backend "webgpu", "cpu-blas", "wasm" or "auto"',
    },
  },
  {
    name: "data.to before data.from",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  from: 1999-01-01\n  to: 1995-01-01\n",
    ),
    want: {
      line: 4,
      col: 7,
      path: "data.to",
      message: 'expected a date after data.from ("1999-01-01"), got "1995-01-01"',
    },
  },
  // data.synth: the generator's parameters
  {
    name: "synth tickers below the generator's least",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  synth: { seed: 1, tickers: 1, from: 2010-01-01, to: 2012-12-31, signal: 1 }\n",
    ),
    want: {
      line: 3,
      col: 30,
      path: "data.synth.tickers",
      message: "expected an integer from 2 to 10000, got 1",
    },
  },
  {
    name: "synth signal above its maximum",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  synth: { seed: 1, tickers: 4, from: 2010-01-01, to: 2012-12-31, signal: 11 }\n",
    ),
    want: {
      line: 3,
      col: 75,
      path: "data.synth.signal",
      message: "expected a number from 0 to 10, got 11",
    },
  },
  {
    name: "misspelt synth key",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  synth: { seed: 1, tickers: 4, from: 2010-01-01, to: 2012-12-31, signal: 1, tailDf: 4 }\n",
    ),
    want: {
      line: 3,
      col: 78,
      path: "data.synth.tailDf",
      message: 'unknown key "tailDf": did you mean "tail_df"?',
    },
  },
  {
    name: "synth sectors above the tickers",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  synth: { seed: 1, tickers: 4, from: 2010-01-01, to: 2012-12-31, signal: 1, sectors: 9 }\n",
    ),
    want: {
      line: 3,
      col: 87,
      path: "data.synth.sectors",
      message: "expected at most data.synth.tickers (4) sectors, got 9",
    },
  },
  {
    name: "synth to before its from",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  synth: { seed: 1, tickers: 4, from: 2010-01-01, to: 2009-12-31, signal: 1 }\n",
    ),
    want: {
      line: 3,
      col: 55,
      path: "data.synth.to",
      message: 'expected a date after data.synth.from ("2010-01-01"), got "2009-12-31"',
    },
  },
  {
    name: "synth names its dataset by a path",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  dataset: data/x\n" +
        "  synth: { seed: 1, tickers: 4, from: 2010-01-01, to: 2012-12-31, signal: 1 }\n",
    ),
    want: {
      line: 3,
      col: 12,
      path: "data.dataset",
      message: "with data.synth, data.dataset names the generated dataset: expected a name",
    },
  },
  {
    name: "data window after the synth span",
    text: BASE_CONFIG.replace(
      "  dataset: dow30-1991-2000\n",
      "  from: 2015-01-01\n" +
        "  synth: { seed: 1, tickers: 4, from: 2010-01-01, to: 2012-12-31, signal: 1 }\n",
    ),
    want: {
      line: 3,
      col: 9,
      path: "data.from",
      message:
        'expected a date on or before "2012-12-31": data.synth generates "2010-01-01".."2012-12-31"',
    },
  },
  {
    name: "semantic error introduced by --set is located in the --set argument",
    text: BASE_CONFIG,
    set: ["loss.name=huber"],
    want: {
      file: "--set",
      line: 1,
      col: 11,
      path: "loss.name",
      message: 'loss "huber" is a regression loss',
    },
  },
  // whole-file shapes
  {
    name: "a list instead of a mapping",
    text: "- a\n- b\n",
    want: {
      line: 1,
      col: 1,
      path: "",
      message: "expected a mapping with keys $schema, extends, name",
    },
  },
  {
    name: "extends that is not a path",
    text: "extends: [base.yaml]\n" + BASE_CONFIG,
    want: {
      line: 1,
      col: 10,
      path: "extends",
      message: 'expected the path of a base config file, relative to this one, got ["base.yaml"]',
    },
  },
];

for (const c of CASES) {
  Deno.test(`config error: ${c.name}`, async () => {
    const file = `${FIX}inline-${c.name.replace(/\W+/g, "-")}.yaml`;
    const issues = await issuesOf(() => parseExperimentText(c.text, file, { set: c.set }));
    assertHas(issues, c.want, file);
    if (c.count !== "any") {
      assertEquals(issues.length, c.count ?? 1, issues.map((i) => i.message).join("\n"));
    }
  });
}

Deno.test("config error: an empty file misses every required key, located at 1:1", async () => {
  const issues = await issuesOf(() => parseExperimentText("# nothing yet\n", "empty.yaml"));
  assertEquals(
    issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.path}`),
    ["empty.yaml:1:1 name", "empty.yaml:1:1 data", "empty.yaml:1:1 label", "empty.yaml:1:1 loss"],
  );
});

Deno.test("config error: extends a missing file, located at the extends value", async () => {
  const file = `${FIX}missing_base.yaml`;
  const issues = await issuesOf(() => loadExperiments(file));
  assertEquals(issues.length, 1);
  assertHas(issues, {
    line: 2,
    col: 10,
    path: "extends",
    message:
      `cannot read base config "no_such_base.yaml" (${FIX}no_such_base.yaml): file not found`,
  }, file);
});

Deno.test("config error: extends cycle names the chain", async () => {
  const file = `${FIX}cycle_a.yaml`;
  const issues = await issuesOf(() => loadExperiments(file));
  assertEquals(issues.length, 1);
  assertHas(issues, {
    file: `${FIX}cycle_b.yaml`,
    line: 2,
    col: 10,
    path: "extends",
    message: `extends cycle: ${FIX}cycle_a.yaml → ${FIX}cycle_b.yaml → ${FIX}cycle_a.yaml`,
  }, file);
});

Deno.test("config error: errors inside a base are located in the base file", async () => {
  const file = `${FIX}uses_bad_base.yaml`;
  const issues = await issuesOf(() => loadExperiments(file));
  assertEquals(issues.length, 2);
  // The child's own error first, then the base's.
  assertEquals(issues[0].file, file);
  assertHas(issues, { line: 4, col: 3, path: "model.sise", message: 'did you mean "size"?' }, file);
  assertHas(issues, {
    file: `${FIX}bad_base.yaml`,
    line: 6,
    col: 12,
    path: "label.horizon",
    message: "expected an integer from 1 to 8, got 12",
  }, file);
});

Deno.test("config error: a YAML syntax error inside a base is located in the base file", async () => {
  const file = `${FIX}uses_broken_base.yaml`;
  const issues = await issuesOf(() => loadExperiments(file));
  assertEquals(issues.length, 1);
  assertEquals(issues[0].file, `${FIX}broken_base.yaml`);
  assertEquals([issues[0].line, issues[0].path], [3, ""]);
  assertStringIncludes(issues[0].message, "YAML syntax error");
});

Deno.test("config error: a file with several errors reports all of them, in order", async () => {
  const file = `${FIX}multi_error.yaml`;
  const err = await assertRejects(() => loadExperiments(file), ConfigError) as ConfigError;
  const lines = err.issues.map((i) => `${i.line}:${i.col} ${i.path}`);
  assertEquals(lines, [
    "1:7 name",
    "2:7 seed",
    "7:3 data.too",
    "9:9 label.mode",
    "11:9 model.size",
    "13:3 train.optimiser",
  ]);
  assertStringIncludes(err.issues[2].message, 'did you mean "to"?');
  assertStringIncludes(err.issues[3].message, 'did you mean "magnitude"?');
  assertStringIncludes(err.issues[5].message, 'did you mean "optimizer"?');
  // The message lists every issue as FILE:LINE:COL path: message.
  const messageLines = err.message.split("\n");
  assertEquals(messageLines.length, 6);
  assertEquals(
    messageLines[4],
    `${file}:11:9 model.size: expected an integer from 1 to 65536, got 0`,
  );
});

Deno.test("config error: problems in the file and in --set are reported together", async () => {
  const issues = await issuesOf(() =>
    parseExperimentText(BASE_CONFIG + "seed: x\n", "both.yaml", {
      set: ["model.layers=0", "nokey"],
    })
  );
  assertEquals(
    issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.path}`),
    ["both.yaml:10:7 seed", "--set:1:14 model.layers", "--set:2:1 "],
  );
});

Deno.test("config error: sweep points that fail report each bad item once", async () => {
  const text = BASE_CONFIG + "sweep:\n  model.size: [0, 64, 0]\n  seed: [1, 2]\n";
  const issues = await issuesOf(() => parseExperimentText(text, "s.yaml"));
  assertEquals(issues.map((i) => `${i.line}:${i.col} ${i.path}`), [
    "11:16 model.size",
    "11:23 model.size",
  ]);
});

Deno.test("config error: loadExperiment refuses a sweep", async () => {
  const file = `${FIX}sweep.yaml`;
  const issues = await issuesOf(() => loadExperiment(file));
  assertHas(issues, { line: 9, col: 1, path: "sweep", message: "sweeps 6 points" }, file);
});

Deno.test("config error: a missing config file", async () => {
  const issues = await issuesOf(() => loadExperiments(`${FIX}nope.yaml`));
  assertEquals(issues, [{
    file: `${FIX}nope.yaml`,
    line: 1,
    col: 1,
    path: "",
    message: "cannot read config file: file not found",
  }]);
});

Deno.test("did-you-mean: Levenshtein distance and the closeness threshold", () => {
  assertEquals(levenshtein("kitten", "sitting"), 3);
  assertEquals(levenshtein("", "abc"), 3);
  assertEquals(levenshtein("abc", "abc"), 0);
  assertEquals(didYouMean("eval_tickrs", ["train_tickers", "eval_tickers"]), "eval_tickers");
  assertEquals(didYouMean("huber_sign", ["mse-sign", "huber-sign"]), "huber-sign");
  assertEquals(didYouMean("RELU", ["relu", "tanh"]), "relu");
  assertEquals(didYouMean("colour", ["family", "size", "layers"]), undefined);
  assertEquals(didYouMean("x", []), undefined);
});

Deno.test("config: a by_time split may list the same tickers for train and eval", async () => {
  const text = BASE_CONFIG.replace("[KO, DD]", "[KO, AA]");
  const [e] = await parseExperimentText(
    text + "split:\n  method: by_time\n  eval_from: 1998-01-01\n",
    `${FIX}inline-by-time-shared.yaml`,
  );
  assertEquals([e.data.train_tickers, e.data.eval_tickers], [["AA", "AXP"], ["KO", "AA"]]);
  // Every other split still refuses the overlap, naming the method.
  const issues = await issuesOf(() =>
    parseExperimentText(text, `${FIX}inline-ticker-and-time-shared.yaml`)
  );
  assertHas(issues, {
    line: 5,
    col: 22,
    path: "data.eval_tickers[1]",
    message: 'must not overlap under split.method "ticker_and_time" (only by_time may share them)',
  }, `${FIX}inline-ticker-and-time-shared.yaml`);
});
