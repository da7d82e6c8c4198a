/**
 * Loading experiment configs: YAML with located errors, `extends` bases,
 * `--set` overrides and `sweep` grids, all resolved and validated against the
 * schema in `schema.ts`. Every problem of a config is reported at once, in a
 * {@link ConfigError}, each located as `FILE:LINE:COL path.to.key: message`.
 *
 * Resolution order: the file's `extends` chain is merged base first (mappings
 * merge key by key, lists and scalars replace, and `null` removes an inherited
 * key so its default applies), then each `--set` is merged on
 * top in order, then the sweep grid (from the merged config, so a base may
 * sweep) is expanded. A `--set` of a swept key pins it: that sweep dimension
 * is dropped. Each point is validated separately.
 *
 * Bounds: a config file or text is at most 64 KiB of UTF-8 (`files.ts`); its YAML may not alias
 * more than 10,000 values or nest deeper than 32 levels (`tree.ts`); `extends` names a `.yaml` or
 * `.yml` file in the folder of the experiment file or below it (links resolved), at most 32 bases
 * deep, and a config parsed with `root: null` (a queued job's) may not extend at all.
 *
 * @module
 */
import { dirname, join, normalize, resolve } from "node:path";
import { ConfigError, type ConfigIssue, didYouMean } from "./errors.ts";
import {
  experimentRoot,
  folderRoot,
  MAX_EXTENDS_CHAIN,
  readConfigFile,
  resolveBase,
  type Root,
  textSizeProblem,
} from "./files.ts";
import { mapZodIssues, showValue } from "./issues.ts";
import { Experiment, synthDatasetName } from "./schema.ts";
import {
  allKeyPaths,
  type AnySchema,
  childSchema,
  describeSchema,
  kindOf,
  objectKeys,
} from "./schema_walk.ts";
import { semanticIssues } from "./semantic.ts";
import {
  type LEntry,
  type LMap,
  type LNode,
  type Loc,
  locate,
  type LScalar,
  mergeTrees,
  parseYaml,
  setAt,
  toPlain,
  withoutKeys,
} from "./tree.ts";

/** Options for loading an experiment config. */
export interface LoadOptions {
  /**
   * Overrides as `key.path=value`, applied in order after `extends`; each value
   * is parsed as YAML (`2048` is a number, `[AA, KO]` a list, `"1"` a string).
   */
  set?: string[];
  /**
   * The folder `extends` may read bases from (that folder and below, links resolved). Default:
   * the folder of the experiment file. `null`: the config was not read from a file (a queued
   * job's config) and may not extend anything.
   */
  root?: string | null;
}

/** The most points a sweep may expand to. */
export const MAX_SWEEP_POINTS = 10_000;

/** The file name used in issues located in `--set` arguments (line = argument index). */
export const SET_FILE = "--set";

const META_KEYS = ["extends", "$schema", "sweep"];

/** One resolved experiment of a config, with the sweep values that made it. */
export interface SweepPoint {
  /** The resolved experiment. */
  experiment: Experiment;
  /**
   * This point's value of each swept key, in the order the keys are written (empty when the
   * config does not sweep; keys pinned by `--set` are left out).
   */
  values: { key: string; value: string | number | boolean }[];
}

/**
 * Loads an experiment config file and expands its sweep: one fully resolved,
 * validated experiment per sweep point (one when it does not sweep).
 *
 * Points are ordered as nested loops over the sweep keys in the order they
 * are written, the last key varying fastest, values in list order.
 *
 * @param file Path of the YAML file; issues name it as given.
 * @param options `--set` overrides.
 * @returns The resolved experiments, without `extends`, `$schema` and `sweep`.
 * @throws {ConfigError} Listing every problem found (syntax, schema, `extends`,
 *   `--set`, sweep and cross-field checks), each located.
 * @example
 * ```ts
 * const points = await loadExperiments("experiments/baseline.yaml", { set: ["model.size=256"] });
 * ```
 */
export async function loadExperiments(
  file: string,
  options: LoadOptions = {},
): Promise<Experiment[]> {
  return (await loadSweepPoints(file, options)).map((p) => p.experiment);
}

/**
 * Loads an experiment config file and expands its sweep, as {@link loadExperiments}, keeping
 * each point's values of the swept keys (for progress lines such as `model.size=256`).
 *
 * @param file Path of the YAML file; issues name it as given.
 * @param options `--set` overrides.
 * @returns One point per resolved experiment, in sweep order.
 * @throws {ConfigError} As {@link loadExperiments}.
 * @example
 * ```ts
 * for (const { experiment, values } of await loadSweepPoints("experiments/magnitude-sweep.yaml")) {
 *   console.log(values.map((v) => `${v.key}=${v.value}`).join(" "), experiment.name);
 * }
 * ```
 */
export async function loadSweepPoints(
  file: string,
  options: LoadOptions = {},
): Promise<SweepPoint[]> {
  const text = await readConfigFile(file);
  if (typeof text !== "string") throw new ConfigError([{ file, path: "", ...text }]);
  return await parseSweepPoints(text, file, options);
}

/**
 * Loads a config that must describe exactly one experiment (no `sweep`).
 *
 * @param file Path of the YAML file.
 * @param options `--set` overrides.
 * @returns The resolved experiment.
 * @throws {ConfigError} As {@link loadExperiments}, or when the file sweeps.
 * @example
 * ```ts
 * const e = await loadExperiment("experiments/baseline.yaml");
 * ```
 */
export async function loadExperiment(file: string, options: LoadOptions = {}): Promise<Experiment> {
  const text = await readConfigFile(file);
  if (typeof text !== "string") return (await loadExperiments(file, options))[0];
  const points = await parseExperimentText(text, file, options);
  if (points.length !== 1) {
    const tree = await resolveTree(text, file, options, []);
    const loc = tree ? locate(tree, ["sweep"], "key") : { file, line: 1, col: 1 };
    throw new ConfigError([{
      ...loc,
      path: "sweep",
      message: `expected a single experiment, but the config sweeps ${points.length} points: ` +
        "run the sweep, or pin its keys with --set",
    }]);
  }
  return points[0];
}

/**
 * Parses config text as if it were the file `fileName` (bases named by
 * `extends` are read relative to it).
 *
 * @param text YAML source.
 * @param fileName The name issues are located in, and the base for `extends`.
 * @param options `--set` overrides.
 * @returns The resolved experiments, as {@link loadExperiments}.
 * @throws {ConfigError} As {@link loadExperiments}.
 * @example
 * ```ts
 * await parseExperimentText("name: x\n...", "inline.yaml");
 * ```
 */
export async function parseExperimentText(
  text: string,
  fileName: string,
  options: LoadOptions = {},
): Promise<Experiment[]> {
  return (await parseSweepPoints(text, fileName, options)).map((p) => p.experiment);
}

/** Parses config text into its sweep points (see {@link parseExperimentText}). */
async function parseSweepPoints(
  text: string,
  fileName: string,
  options: LoadOptions,
): Promise<SweepPoint[]> {
  const issues: ConfigIssue[] = [];
  const files: string[] = [fileName];
  const tree = await resolveTree(text, fileName, options, issues, files);
  if (tree === null) throw new ConfigError(sortIssues(issues, files));

  const points = expandSweep(tree, pinnedKeys(options), issues);
  const results: SweepPoint[] = [];
  const seen = new Set(issues.map(issueKey));
  const add = (issue: ConfigIssue) => {
    const key = issueKey(issue);
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  };
  for (const { tree: point, values } of points) {
    const plainTree = withoutKeys(point, META_KEYS);
    const input = toPlain(plainTree);
    const parsed = Experiment.safeParse(input);
    if (!parsed.success) {
      const ctx = { schema: Experiment as AnySchema, input, tree: point };
      for (const issue of mapZodIssues(parsed.error.issues, ctx)) add(issue);
      continue;
    }
    for (const s of semanticIssues(parsed.data)) {
      add({
        ...locate(point, s.path, "value"),
        path: formatSemanticPath(s.path),
        message: s.message,
      });
    }
    const e = parsed.data;
    if (e.data.synth && !writesKey(input, ["data", "dataset"])) {
      // The one default that depends on another key: the generated dataset's own name.
      e.data.dataset = synthDatasetName(e.data.synth);
    }
    delete e.extends;
    delete e.$schema;
    delete e.sweep;
    results.push({ experiment: e, values });
  }
  if (issues.length > 0) throw new ConfigError(sortIssues(issues, files));
  return results;
}

/**
 * Where a key path of a config is written, following `extends`, `--set` and, for one sweep
 * point, the sweep: for errors that only a run can find (an unknown ticker, a feature the
 * dataset cannot provide) and that know the config path they come from.
 *
 * @param file the experiment file
 * @param path a path such as `data.train_tickers[1]` or `features.families.volume`
 * @param options the `--set` overrides the run used, and the 0-based sweep point (a swept key is
 *   then located at its value in the sweep list)
 * @returns the file, line and column of the value (or of its deepest written parent), or
 *   null when the file cannot be read or parsed
 * @example
 * ```ts
 * const loc = await locateConfigPath("experiments/x.yaml", "data.train_tickers[1]");
 * ```
 */
export async function locateConfigPath(
  file: string,
  path: string,
  options: LoadOptions & { point?: number } = {},
): Promise<Loc | null> {
  const text = await readConfigFile(file);
  if (typeof text !== "string") return null;
  let tree = await resolveTree(text, file, options, []);
  if (tree === null) return null;
  if (options.point !== undefined) {
    tree = expandSweep(tree, pinnedKeys(options), [])[options.point]?.tree ?? tree;
  }
  const segments = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
    m[2] !== undefined ? Number(m[2]) : m[1]
  );
  return locate(tree, segments, "value");
}

/** The keys `--set` pins (a pinned key is not swept). */
function pinnedKeys(options: LoadOptions): string[] {
  return (options.set ?? []).map((arg) => arg.slice(0, arg.indexOf("=")));
}

function formatSemanticPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function issueKey(i: ConfigIssue): string {
  return `${i.file}\0${i.line}\0${i.col}\0${i.path}\0${i.message}`;
}

function sortIssues(issues: ConfigIssue[], files: string[]): ConfigIssue[] {
  const rank = (f: string) => (f === SET_FILE ? files.length : Math.max(0, files.indexOf(f)));
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) =>
      rank(a.issue.file) - rank(b.issue.file) || a.issue.line - b.issue.line ||
      a.issue.col - b.issue.col || a.i - b.i
    )
    .map((x) => x.issue);
}

/** Parses a file, its `extends` chain and the `--set` overrides into one located tree. */
async function resolveTree(
  text: string,
  fileName: string,
  options: LoadOptions,
  issues: ConfigIssue[],
  files: string[] = [fileName],
): Promise<LNode | null> {
  const tooLarge = textSizeProblem(text);
  if (tooLarge !== null) {
    issues.push({ file: fileName, path: "", ...tooLarge });
    return null;
  }
  const root = options.root === undefined
    ? await experimentRoot(fileName)
    : options.root === null
    ? null
    : await folderRoot(options.root);
  const tree = await loadWithBases(text, fileName, resolve(fileName), [], root, issues, files);
  const withSets = applySets(tree, options.set ?? [], issues);
  return tree === null ? null : withSets;
}

async function loadWithBases(
  text: string,
  display: string,
  abs: string,
  chain: { display: string; abs: string }[],
  root: Root | null,
  issues: ConfigIssue[],
  files: string[],
): Promise<LNode | null> {
  const parsed = parseYaml(text, (line, col) => ({ file: display, line, col }));
  issues.push(...parsed.issues);
  if (parsed.issues.length > 0) return null;
  const tree: LNode = parsed.tree ??
    { kind: "map", loc: { file: display, line: 1, col: 1 }, entries: new Map() };
  if (tree.kind !== "map") {
    if (chain.length === 0) return tree; // the schema reports "expected a mapping"
    // A base is not echoed: it may be any file in the experiment's folder.
    issues.push({
      ...tree.loc,
      path: "",
      message: `expected a base config (a mapping of keys), got ${kindOfValue(toPlain(tree))}`,
    });
    return null;
  }
  const ext = tree.entries.get("extends");
  if (!ext) return tree;
  const ref = ext.value.kind === "scalar" ? ext.value.value : undefined;
  const fail = (message: string) => {
    issues.push({ ...ext.value.loc, path: "extends", message });
    return null;
  };
  if (typeof ref !== "string" || ref === "") {
    return fail(
      `expected the path of a base config file, relative to this one, got ${
        showValue(toPlain(ext.value))
      }`,
    );
  }
  const here = [...chain, { display, abs }];
  const baseDisplay = normalize(join(dirname(display), ref));
  if (here.length > MAX_EXTENDS_CHAIN) {
    return fail(
      `expected at most ${MAX_EXTENDS_CHAIN} bases in an extends chain, got more: ` +
        `${here[0].display} → ${here[1].display} → … → ${display} → ${baseDisplay}`,
    );
  }
  const resolved = await resolveBase(ref, abs, root, baseDisplay);
  if ("problem" in resolved) return fail(resolved.problem);
  const baseAbs = resolved.path;
  const loop = here.findIndex((c) => c.abs === baseAbs);
  if (loop >= 0) {
    const cycle = [...here.slice(loop).map((c) => c.display), baseDisplay].join(" → ");
    return fail(`extends cycle: ${cycle}`);
  }
  const baseText = await readConfigFile(baseAbs);
  if (typeof baseText !== "string") {
    // Located in the base when the problem is inside it (not UTF-8), else at the reference.
    if (baseText.line > 1 || baseText.col > 1) {
      issues.push({ file: baseDisplay, path: "", ...baseText });
      if (!files.includes(baseDisplay)) files.push(baseDisplay);
      return null;
    }
    return fail(`base config "${ref}" (${baseDisplay}): ${baseText.message}`);
  }
  if (!files.includes(baseDisplay)) files.push(baseDisplay);
  const base = await loadWithBases(baseText, baseDisplay, baseAbs, here, root, issues, files);
  if (base === null) return null;
  return mergeTrees(base, withoutKeys(tree, ["extends"]));
}

/** What kind of value a YAML document is, in words, without showing it. */
function kindOfValue(v: unknown): string {
  if (v === null) return "an empty document";
  if (Array.isArray(v)) return "a list";
  return `a ${typeof v}`;
}

/** Checks that a dotted key names a config key; returns the problem and the bad segment's index. */
function checkConfigKey(
  segments: string[],
  forbidden: readonly string[],
): { index: number; message: string } | undefined {
  const dotted = segments.join(".");
  const empty = segments.findIndex((s) => s === "");
  if (empty >= 0) {
    return { index: empty, message: `expected a dotted key like model.size, got "${dotted}"` };
  }
  if (forbidden.includes(segments[0])) {
    return { index: 0, message: `"${segments[0]}" cannot be set here` };
  }
  let schema: AnySchema = Experiment;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const parent = segments.slice(0, i).join(".");
    if (kindOf(schema) === "record") {
      schema = childSchema(schema, seg)!;
      continue;
    }
    const keys = objectKeys(schema);
    if (!keys) {
      return {
        index: i,
        message: `unknown config key "${dotted}": "${parent}" is ${
          describeSchema(schema)
        }, not a mapping`,
      };
    }
    const child = childSchema(schema, seg);
    if (!child || (i === 0 && forbidden.includes(seg))) {
      const allowed = i === 0 ? keys.filter((k) => !forbidden.includes(k)) : keys;
      const local = didYouMean(seg, allowed);
      // Otherwise, a key written without (or under the wrong) section: `size` → `model.size`.
      const tail = segments.slice(i).join(".");
      const global = local === undefined
        ? allKeyPaths(Experiment).filter((p) =>
          !forbidden.includes(p.split(".")[0]) && (p === tail || p.endsWith(`.${tail}`))
        ).slice(0, 3).map((p) => `"${p}"`).join(" or ") || undefined
        : undefined;
      const suggestion = local !== undefined
        ? `: did you mean "${
          [...segments.slice(0, i), local, ...segments.slice(i + 1)].join(".")
        }"?`
        : global !== undefined
        ? `: did you mean ${global}?`
        : "";
      const where = parent === "" ? "top-level keys" : `keys of ${parent}`;
      return {
        index: i,
        message: `unknown config key "${dotted}"${suggestion} (${where}: ${allowed.join(", ")})`,
      };
    }
    schema = child;
  }
  return undefined;
}

function applySets(tree: LNode | null, sets: string[], issues: ConfigIssue[]): LNode | null {
  let out = tree;
  sets.forEach((arg, i) => {
    const line = i + 1;
    const eq = arg.indexOf("=");
    if (eq <= 0) {
      issues.push({
        file: SET_FILE,
        line,
        col: 1,
        path: "",
        message: `expected KEY=VALUE like model.size=2048, got "${arg}"`,
      });
      return;
    }
    const key = arg.slice(0, eq);
    const segments = key.split(".");
    const bad = checkConfigKey(segments, META_KEYS);
    if (bad) {
      const col = 1 + segments.slice(0, bad.index).reduce((n, s) => n + s.length + 1, 0);
      issues.push({ file: SET_FILE, line, col, path: key, message: bad.message });
      return;
    }
    const valueCol = eq + 2;
    const parsed = parseYaml(
      arg.slice(eq + 1),
      (l, c) => ({ file: SET_FILE, line, col: l === 1 ? valueCol + c - 1 : c }),
    );
    if (parsed.issues.length > 0) {
      issues.push(...parsed.issues.map((p) => ({ ...p, path: key })));
      return;
    }
    const loc: Loc = { file: SET_FILE, line, col: 1 };
    const value: LNode = parsed.tree ??
      { kind: "scalar", loc: { file: SET_FILE, line, col: valueCol }, value: null };
    if (out !== null) out = setAt(out, segments, value, loc);
  });
  return out;
}

/** A grid point's tree and its values of the swept keys. */
interface GridPoint {
  tree: LNode;
  values: SweepPoint["values"];
}

/** Expands the sweep block into one tree per grid point (the tree itself when there is none). */
function expandSweep(tree: LNode, pinned: string[], issues: ConfigIssue[]): GridPoint[] {
  const alone = [{ tree, values: [] }];
  if (tree.kind !== "map") return alone;
  const sweep = tree.entries.get("sweep");
  if (!sweep) return alone;
  if (sweep.value.kind !== "map") {
    issues.push({
      ...sweep.value.loc,
      path: "sweep",
      message:
        `expected a mapping of config keys to lists of values (model.size: [256, 1024]), got ${
          showValue(toPlain(sweep.value))
        }`,
    });
    return alone;
  }
  const dims: { key: string[]; entry: LEntry; values: LNode[] }[] = [];
  let ok = true;
  for (const [key, entry] of (sweep.value as LMap).entries) {
    const segments = key.split(".");
    const path = `sweep.${key}`;
    const bad = checkConfigKey(segments, ["extends", "$schema", "sweep", "name"]);
    if (bad) {
      issues.push({ ...entry.keyLoc, path, message: bad.message });
      ok = false;
      continue;
    }
    const overlap = dims.find((d) => isPrefix(d.key, segments) || isPrefix(segments, d.key));
    if (overlap) {
      issues.push({
        ...entry.keyLoc,
        path,
        message: `overlaps the sweep key "${overlap.key.join(".")}": sweep each key once`,
      });
      ok = false;
      continue;
    }
    const v = entry.value;
    if (v.kind !== "seq" || v.items.length === 0) {
      issues.push({
        ...v.loc,
        path,
        message: `expected a non-empty list of values to sweep, got ${showValue(toPlain(v))}`,
      });
      ok = false;
      continue;
    }
    const nonScalar = v.items.findIndex((item) => item.kind !== "scalar");
    if (nonScalar >= 0) {
      issues.push({
        ...v.items[nonScalar].loc,
        path: `${path}[${nonScalar}]`,
        message: `expected a string, number or boolean, got ${
          showValue(toPlain(v.items[nonScalar]))
        }`,
      });
      ok = false;
      continue;
    }
    if (pinned.some((p) => isPrefix(p.split("."), segments) || isPrefix(segments, p.split(".")))) {
      continue; // pinned by --set
    }
    dims.push({ key: segments, entry, values: v.items });
  }
  const count = dims.reduce((n, d) => n * d.values.length, 1);
  if (count > MAX_SWEEP_POINTS) {
    issues.push({
      ...sweep.keyLoc,
      path: "sweep",
      message: `expected at most ${MAX_SWEEP_POINTS} points, got ${count}`,
    });
    ok = false;
  }
  if (!ok) return alone;
  let points: GridPoint[] = alone;
  for (const dim of dims) {
    const key = dim.key.join(".");
    points = points.flatMap((p) =>
      dim.values.map((value) => ({
        tree: setAt(p.tree, dim.key, value, value.loc),
        values: [...p.values, {
          key,
          value: (value as LScalar).value as string | number | boolean,
        }],
      }))
    );
  }
  return points;
}

function isPrefix(a: string[], b: string[]): boolean {
  return a.length <= b.length && a.every((s, i) => s === b[i]);
}

/** Whether a plain config value writes the key at `path` (a mapping at every step before it). */
function writesKey(value: unknown, path: readonly string[]): boolean {
  let at: unknown = value;
  for (const key of path) {
    if (typeof at !== "object" || at === null || Array.isArray(at) || !Object.hasOwn(at, key)) {
      return false;
    }
    at = (at as Record<string, unknown>)[key];
  }
  return at !== undefined;
}
