/**
 * Hostile config text and files: the YAML limits (aliases, depth, size, tags, one document,
 * unique keys, UTF-8), and what `extends` may read (the experiment's folder and below, no links
 * out, no folders or devices, a bounded chain), each refused fast with a located message that
 * shows none of the refused file's content.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { ConfigError, formatIssue } from "../src/config/errors.ts";
import { MAX_CONFIG_BYTES, MAX_EXTENDS_CHAIN } from "../src/config/files.ts";
import { loadExperiments, parseExperimentText } from "../src/config/load.ts";
import { showValue } from "../src/config/issues.ts";
import { YAML_LIMITS } from "../src/config/tree.ts";
import { BASE_CONFIG } from "./config_helpers.ts";

/** The formatted issues of parsing `text` as `file` (which must fail). */
async function problems(text: string, file = "x.yaml", root?: string | null): Promise<string[]> {
  const err = await assertRejects(
    () => parseExperimentText(text, file, root === undefined ? {} : { root }),
    ConfigError,
  );
  return err.issues.map(formatIssue);
}

/** The formatted issues of loading `file` (which must fail), timed. */
async function fileProblems(file: string): Promise<{ lines: string[]; ms: number }> {
  const t = performance.now();
  const err = await assertRejects(() => loadExperiments(file), ConfigError);
  return { lines: err.issues.map(formatIssue), ms: performance.now() - t };
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "alfred-limits-" }));
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `levels` levels of ten aliases of the level before, as in the audit's alias bombs. */
function aliasBomb(levels: number): string {
  const names = "abcdefghij";
  const lines = [`a: &a [${Array(10).fill("x").join(",")}]`];
  for (let i = 1; i < levels; i++) {
    const prev = names[i - 1];
    lines.push(`${names[i]}: &${names[i]} [${Array(10).fill(`*${prev}`).join(",")}]`);
  }
  return lines.join("\n") + "\n" + BASE_CONFIG;
}

Deno.test("YAML: alias bombs of 5, 7 and 8 levels are refused in well under a second, at the alias that copies past the limit", async () => {
  for (const levels of [5, 7, 8]) {
    const t = performance.now();
    const lines = await problems(aliasBomb(levels));
    const ms = performance.now() - t;
    assertEquals(lines, [
      `x.yaml:4:29 d[7]: YAML aliases copy more than ${YAML_LIMITS.maxAliasValues} values: ` +
      "each alias repeats its anchor's whole value, the aliases inside it included (an alias " +
      "bomb?); write the values out or alias less",
    ]);
    assert(ms < 1000, `${levels} levels took ${ms.toFixed(0)} ms`);
  }
});

Deno.test("YAML: a few aliases of a list still resolve", async () => {
  const text = BASE_CONFIG.replace("[AA, AXP]", "&train [AA, AXP]") +
    "features:\n  exclude: *train\nscaling:\n  columns: { a: standard }\n";
  const [e] = await parseExperimentText(text, "x.yaml");
  assertEquals(e.features.exclude, ["AA", "AXP"]);
});

Deno.test("YAML: an unknown alias and an alias inside its own anchor are located errors, not null", async () => {
  assertEquals(await problems(BASE_CONFIG + "seed: *nope\n"), [
    'x.yaml:10:7 seed: unknown YAML alias "*nope": no anchor "&nope" before it',
  ]);
  assertEquals(await problems(BASE_CONFIG + "features: &f { exclude: *f }\n"), [
    'x.yaml:10:25 features.exclude: YAML alias "*f" is inside the value it refers to: a cycle',
  ]);
});

Deno.test("YAML: nesting deeper than the limit is refused where it passes the limit, even past the parser's stack", async () => {
  const max = YAML_LIMITS.maxDepth;
  const message = `YAML nested deeper than ${max} levels: a config is a few levels of mappings ` +
    "and lists";
  // The document's mapping is level 1, so the list opened at column 10 + max - 1 is level max + 1.
  assertEquals(
    await problems(BASE_CONFIG + "features: " + "[".repeat(max) + "]".repeat(max) + "\n"),
    [
      `x.yaml:10:${10 + max} ${message}`,
    ],
  );
  for (const depth of [1_000, 20_000]) {
    const t = performance.now();
    const lines = await problems(
      BASE_CONFIG + "features: " + "[".repeat(depth) + "]".repeat(depth),
    );
    assertEquals(lines, [`x.yaml:10:${10 + max} ${message}`]);
    assert(performance.now() - t < 2000, `${depth} levels took ${performance.now() - t} ms`);
  }
  const block = "features:\n" + Array.from({ length: 40 }, (_, i) => " ".repeat(i + 1) + "k:")
    .join("\n") +
    "\n";
  assertEquals(await problems(BASE_CONFIG + block), [`x.yaml:${10 + max}:${max + 1} ${message}`]);
});

Deno.test("YAML: tags other than the core schema's, such as !!js/function, are refused", async () => {
  assertEquals(await problems(BASE_CONFIG + "seed: !!js/function 'function(){}'\n"), [
    'x.yaml:10:7 unsupported YAML tag "!!js/function": a config holds plain strings, numbers, ' +
    "booleans, lists and mappings",
  ]);
  assertEquals(await problems(BASE_CONFIG + "seed: !custom 3\n"), [
    'x.yaml:10:7 unsupported YAML tag "!custom": a config holds plain strings, numbers, ' +
    "booleans, lists and mappings",
  ]);
  // Core tags are plain values.
  const [e] = await parseExperimentText(BASE_CONFIG + "description: !!str 12\n", "x.yaml");
  assertEquals(e.description, "12");
});

Deno.test("YAML: a second document is refused, and duplicate keys are found fast in large mappings", async () => {
  assertEquals(await problems(BASE_CONFIG + "---\nseed: 1\n"), [
    "x.yaml:10:1 expected one YAML document, found a second: a config is one mapping (remove " +
    "the line '---' that starts another)",
  ]);
  const keys = Array.from({ length: 3000 }, (_, i) => `    c${i}: standard`).join("\n");
  const t = performance.now();
  const lines = await problems(BASE_CONFIG + `scaling:\n  columns:\n${keys}\n    c7: none\n`);
  assertEquals(lines, [
    `x.yaml:3012:5 scaling.columns.c7: key "c7" is written twice (first at line 19): YAML keys ` +
    "must be unique",
  ]);
  assert(performance.now() - t < 2000, `3000 keys took ${performance.now() - t} ms`);
});

Deno.test("YAML: .nan and .inf are shown as such, never as null", async () => {
  assertEquals(showValue(NaN), ".nan (not a number)");
  assertEquals(showValue(-Infinity), "-.inf (minus infinity)");
  assertEquals(showValue([1, Infinity, "x"]), '[1,.inf,"x"]');
  assertEquals(await problems(BASE_CONFIG + "train: { learning_rate: .nan, epochs: .inf }\n"), [
    "x.yaml:10:25 train.learning_rate: expected a number > 0 and <= 10, got .nan (not a number)",
    "x.yaml:10:39 train.epochs: expected an integer from 1 to 1000000, got .inf (infinity)",
  ]);
  assertEquals(await problems(BASE_CONFIG + "model: { dropout: -.inf }\n"), [
    "x.yaml:10:19 model.dropout: expected a number >= 0 and < 1, got -.inf (minus infinity)",
  ]);
});

Deno.test("config text and files past the size limit are refused before parsing", async () => {
  const big = BASE_CONFIG + `description: "${"x".repeat(2 * 1024 * 1024)}"\n`;
  const t = performance.now();
  assertEquals(await problems(big), [
    `x.yaml:1:1 config is too large: ${big.length} bytes, at most ${MAX_CONFIG_BYTES} (64 KiB) ` +
    "are read: an experiment config is a few kilobytes",
  ]);
  assert(performance.now() - t < 500, `took ${performance.now() - t} ms`);
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/big.yaml`, big);
    const { lines } = await fileProblems(`${dir}/big.yaml`);
    assertEquals(lines, [
      `${dir}/big.yaml:1:1 config is too large: ${big.length} bytes, at most ${MAX_CONFIG_BYTES} ` +
      "(64 KiB) are read: an experiment config is a few kilobytes",
    ]);
  });
});

Deno.test("config files: not UTF-8 is located at the bad character; folders and devices are refused unread", async () => {
  await withDir(async (dir) => {
    const bytes = new TextEncoder().encode(BASE_CONFIG + "description: caf");
    await Deno.writeFile(`${dir}/latin1.yaml`, Uint8Array.from([...bytes, 0xe9, 0x0a]));
    assertEquals((await fileProblems(`${dir}/latin1.yaml`)).lines, [
      `${dir}/latin1.yaml:10:17 config is not UTF-8 text: byte 0xE9 here is not a character ` +
      "(save the file as UTF-8)",
    ]);
    await Deno.writeFile(`${dir}/utf16.yaml`, Uint8Array.from([0xff, 0xfe, 0x6e, 0x00]));
    assertEquals((await fileProblems(`${dir}/utf16.yaml`)).lines, [
      `${dir}/utf16.yaml:1:1 config is UTF-16 text: save the file as UTF-8`,
    ]);
    await Deno.mkdir(`${dir}/folder.yaml`);
    assertEquals((await fileProblems(`${dir}/folder.yaml`)).lines, [
      `${dir}/folder.yaml:1:1 cannot read config file: it is a folder, not a file`,
    ]);
  });
  const { lines, ms } = await fileProblems("/dev/zero");
  assertEquals(lines, [
    "/dev/zero:1:1 cannot read config file: it is not a regular file (a device or a pipe?)",
  ]);
  assert(ms < 500);
});

Deno.test("extends: only files in the experiment's folder or below, by path and through links", async () => {
  await withDir(async (dir) => {
    const exp = `${dir}/exp`;
    await Deno.mkdir(`${exp}/shared`, { recursive: true });
    await Deno.writeTextFile(`${dir}/outside.yaml`, "seed: 7\n");
    await Deno.writeTextFile(`${dir}/secret.txt`, "password: hunter2\n");
    await Deno.writeTextFile(`${exp}/shared/base.yaml`, BASE_CONFIG);
    await Deno.writeTextFile(`${exp}/shared/up.yaml`, "extends: ../root-base.yaml\n");
    await Deno.writeTextFile(`${exp}/root-base.yaml`, BASE_CONFIG);
    await Deno.symlink(`${dir}/outside.yaml`, `${exp}/link.yaml`);
    await Deno.symlink(`${dir}/secret.txt`, `${exp}/secret.yaml`);
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(`${exp}/${name}`, text);
      return `${exp}/${name}`;
    };

    // Below, and up again but still inside: allowed.
    const [below] = await loadExperiments(await write("a.yaml", "extends: shared/base.yaml\n"));
    assertEquals(below.name, "base-test");
    const [up] = await loadExperiments(await write("b.yaml", "extends: shared/up.yaml\n"));
    assertEquals(up.name, "base-test");

    const outside = (ref: string) =>
      `extends: cannot extend "${ref}": it is outside the experiment's folder "${exp}"; extends ` +
      "reads only files in the folder of the experiment file, or below it";
    for (const ref of ["../outside.yaml", `${dir}/outside.yaml`, "../../../../etc/passwd"]) {
      const file = await write("c.yaml", `extends: ${ref}\n`);
      assertEquals((await fileProblems(file)).lines, [`${file}:1:10 ${outside(ref)}`]);
    }
    const link = (ref: string) =>
      `extends: cannot extend "${ref}": it is a link to a file outside the experiment's folder ` +
      `"${exp}"; extends reads only files in the folder of the experiment file, or below it`;
    for (const ref of ["link.yaml", "secret.yaml"]) {
      const file = await write("d.yaml", `extends: ${ref}\n`);
      const { lines } = await fileProblems(file);
      assertEquals(lines, [`${file}:1:10 ${link(ref)}`]);
      assert(!lines.join().includes("hunter2"));
    }
    const txt = await write("e.yaml", "extends: ../secret.txt\n");
    assertEquals((await fileProblems(txt)).lines, [`${txt}:1:10 ${outside("../secret.txt")}`]);
    await Deno.writeTextFile(`${exp}/notes.txt`, "hunter2\n");
    const notYaml = await write("f.yaml", "extends: notes.txt\n");
    assertEquals((await fileProblems(notYaml)).lines, [
      `${notYaml}:1:10 extends: cannot extend "notes.txt": expected a .yaml or .yml file, got ".txt"`,
    ]);
    await Deno.mkdir(`${exp}/dir.yaml`);
    const folder = await write("g.yaml", "extends: dir.yaml\n");
    assertEquals((await fileProblems(folder)).lines, [
      `${folder}:1:10 extends: base config "dir.yaml" (${exp}/dir.yaml): cannot read config ` +
      "file: it is a folder, not a file",
    ]);
    // A base that is not a mapping is described, not shown.
    await Deno.writeTextFile(`${exp}/scalar.yaml`, "hunter2\n");
    const scalar = await write("h.yaml", "extends: scalar.yaml\n");
    assertEquals((await fileProblems(scalar)).lines, [
      `${exp}/scalar.yaml:1:1 expected a base config (a mapping of keys), got a string`,
    ]);
  });
});

Deno.test("extends: a chain longer than the limit stops at the base that passes it", async () => {
  await withDir(async (dir) => {
    const n = MAX_EXTENDS_CHAIN + 5;
    for (let i = 0; i < n; i++) {
      await Deno.writeTextFile(`${dir}/c${i}.yaml`, `extends: c${i + 1}.yaml\nseed: ${i}\n`);
    }
    await Deno.writeTextFile(`${dir}/c${n}.yaml`, BASE_CONFIG);
    await Deno.writeTextFile(`${dir}/top.yaml`, "extends: c0.yaml\n");
    const last = MAX_EXTENDS_CHAIN - 1;
    assertEquals((await fileProblems(`${dir}/top.yaml`)).lines, [
      `${dir}/c${last}.yaml:1:10 extends: expected at most ${MAX_EXTENDS_CHAIN} bases in an ` +
      `extends chain, got more: ${dir}/top.yaml → ${dir}/c0.yaml → … → ${dir}/c${last}.yaml → ` +
      `${dir}/c${last + 1}.yaml`,
    ]);
    // At the limit, it loads.
    await Deno.writeTextFile(`${dir}/c${last}.yaml`, BASE_CONFIG);
    assertEquals((await loadExperiments(`${dir}/top.yaml`))[0].seed, 0);
  });
});

Deno.test("extends: config text with no folder (a queued job) may not extend anything", async () => {
  assertEquals(await problems("extends: /etc/hostname\n" + BASE_CONFIG, "job abc.yaml", null), [
    'job abc.yaml:1:10 extends: cannot extend "/etc/hostname": this config was not read from a ' +
    "file, so it has no folder to read bases from (a queued job carries its config resolved)",
  ]);
});

Deno.test("a queued job's config is loaded without a folder: extends /etc/hostname is refused unread", async () => {
  const { experimentOfJob } = await import("../src/distributed/worker.ts");
  const { jobDataFor } = await import("../src/distributed/queue.ts");
  const [e] = await parseExperimentText(BASE_CONFIG, "x.yaml");
  const data = jobDataFor(e, "f".repeat(64));
  const hostile = { ...data, configYaml: "extends: /etc/hostname\n" + data.configYaml };
  const err = await assertRejects(() => experimentOfJob(hostile), ConfigError);
  assertEquals(err.issues.map(formatIssue), [
    `job ${data.configHash}.yaml:1:10 extends: cannot extend "/etc/hostname": this config was ` +
    "not read from a file, so it has no folder to read bases from (a queued job carries its " +
    "config resolved)",
  ]);
  const host = await Deno.readTextFile("/etc/hostname").catch(() => "");
  if (host.trim() !== "") assert(!err.message.includes(host.trim()));
});

Deno.test("data.dataset: a plain name, or a path inside a data root, links resolved; nothing else", async () => {
  const { datasetRefProblem } = await import("../src/config/files.ts");
  await withDir(async (root) => {
    await Deno.mkdir(`${root}/ds`);
    await Deno.symlink("/etc", `${root}/etc-link`);
    const roots = [root];
    const allowed = `expected a dataset name (letters, digits, '.', '_' or '-', at most 64) or a ` +
      `path to a dataset folder inside "${root}"`;
    for (const ok of ["dow30-1991-2000", "synth_small.v2", `${root}/ds`, `${root}/not-yet`]) {
      assertEquals(await datasetRefProblem(ok, roots), null, ok);
    }
    assertEquals(
      await datasetRefProblem(`${root}/../../etc`, roots),
      `${allowed}, got "${root}/../../etc" (resolves to "/etc")`,
    );
    assertEquals(
      await datasetRefProblem(root, roots),
      `${allowed}, got "${root}" (resolves to "${root}")`,
    );
    assertEquals(
      await datasetRefProblem(`${root}/etc-link`, roots),
      `${allowed}, got "${root}/etc-link": a link to "/etc"`,
    );
    assertEquals(await datasetRefProblem("my data", roots), `${allowed}, got "my data"`);
    assertEquals(
      await datasetRefProblem("x".repeat(65), roots),
      `${allowed}, got "${"x".repeat(65)}"`,
    );
  });
});

Deno.test("YAML: control characters are refused, raw in the text or escaped in a value or key, without echoing them", async () => {
  assertEquals(await problems(BASE_CONFIG + 'description: "a\u0000b"\n'), [
    "x.yaml:10:16 YAML text may not hold control character U+0000: remove it",
  ]);
  const escaped = "holds control character U+001B (written as an escape): a config holds " +
    "printable text, and a terminal would run it";
  const lines = await problems(BASE_CONFIG + 'description: "\\e[2J\\e[31mOK"\n');
  assertEquals(lines, [`x.yaml:10:14 description: the value ${escaped}`]);
  assert(!lines.join().includes("\u001b"));
  assertEquals(await problems(BASE_CONFIG + 'model: { "size\\e[0m": 3 }\n'), [
    `x.yaml:10:10 model: a key ${escaped}`,
  ]);
  // Tabs and line breaks are text.
  const [e] = await parseExperimentText(BASE_CONFIG + 'description: "a\\tb\\nc"\n', "x.yaml");
  assertEquals(e.description, "a\tb\nc");
});

Deno.test("extends and data.dataset: a folder reached through a link is still the same folder", async () => {
  const { datasetRefProblem } = await import("../src/config/files.ts");
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/real/exp`, { recursive: true });
    await Deno.mkdir(`${dir}/real/data/ds`, { recursive: true });
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    await Deno.writeTextFile(`${dir}/real/exp/base.yaml`, BASE_CONFIG);
    await Deno.writeTextFile(`${dir}/real/exp/a.yaml`, "extends: base.yaml\nseed: 5\n");
    const [e] = await loadExperiments(`${dir}/link/exp/a.yaml`);
    assertEquals([e.name, e.seed], ["base-test", 5]);
    for (const ref of [`${dir}/link/data/ds`, `${dir}/real/data/ds`]) {
      assertEquals(await datasetRefProblem(ref, [`${dir}/link/data`]), null, ref);
    }
  });
});
