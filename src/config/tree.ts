/**
 * A YAML value tree that remembers where every node and key came from (file,
 * line, column), so values merged from `extends` bases, `--set` arguments and
 * sweep points can still be located when they fail validation.
 *
 * Internal to the config stage.
 *
 * @module
 */
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser } from "yaml";
import type { CST, Node as YamlNode } from "yaml";
import type { ConfigIssue } from "./errors.ts";

/** A place in a config source. */
export interface Loc {
  /** File name as displayed (or `--set`). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

/** A mapping entry: where its key is and its value. */
export interface LEntry {
  /** Where the key is written. */
  keyLoc: Loc;
  /** The value. */
  value: LNode;
}

/** A located mapping. */
export interface LMap {
  /** Discriminator. */
  kind: "map";
  /** Where the mapping starts. */
  loc: Loc;
  /** Entries in source order. */
  entries: Map<string, LEntry>;
}

/** A located sequence. */
export interface LSeq {
  /** Discriminator. */
  kind: "seq";
  /** Where the sequence starts. */
  loc: Loc;
  /** Items in order. */
  items: LNode[];
}

/** A located scalar (string, number, boolean or null). */
export interface LScalar {
  /** Discriminator. */
  kind: "scalar";
  /** Where the scalar is written. */
  loc: Loc;
  /** The parsed value. */
  value: unknown;
}

/** A located YAML node. */
export type LNode = LMap | LSeq | LScalar;

/** One segment of a key path: a mapping key or a list index. */
export type PathSegment = string | number;

/** Result of parsing YAML text into a located tree. */
export interface ParsedYaml {
  /** The tree, or `null` for an empty document (or when there are issues). */
  tree: LNode | null;
  /** YAML problems (syntax, duplicate keys, tags, aliases, limits), located. */
  issues: ConfigIssue[];
}

/**
 * How much a config's YAML may ask of the parser. A config is a few kilobytes written by hand;
 * these bounds keep hostile text (an alias bomb, thousands of nested brackets) from costing more
 * than a fraction of a second.
 */
export const YAML_LIMITS = {
  /**
   * Most values the aliases of one document may copy in all: an alias repeats its anchor's
   * whole value, aliases inside it included, so eight levels of ten aliases copy 10^8 values.
   * (Alfred converts the YAML itself rather than with the yaml package's `toJS`, whose
   * `maxAliasCount` guards the same thing.)
   */
  maxAliasValues: 10_000,
  /** Deepest nesting of mappings and lists (the schema itself is 5 deep). */
  maxDepth: 32,
} as const;

/** The yaml package's code for a stack overflow it caught while composing very deep text. */
const RESOURCE_EXHAUSTION = "RESOURCE_EXHAUSTION";

/**
 * Parses YAML text into a located tree. Everything that is not plain data is an issue: syntax
 * errors, a second document, duplicate keys, tags the core schema does not know (`!!js/function`),
 * unknown or cyclic aliases, nesting deeper than {@link YAML_LIMITS}.maxDepth and aliases that
 * copy more than {@link YAML_LIMITS}.maxAliasValues values. The work is linear in the text:
 * anchors are looked up in a map, and duplicate keys in each mapping's own map.
 *
 * @param text YAML source.
 * @param toLoc Maps a 1-based line and column of `text` to the location reported.
 * @returns The tree (null when the text is empty or has issues) and the issues.
 */
export function parseYaml(
  text: string,
  toLoc: (line: number, col: number) => Loc,
): ParsedYaml {
  const lineCounter = new LineCounter();
  const at = (offset: number): Loc => {
    const p = lineCounter.linePos(offset);
    return toLoc(p.line, p.col);
  };
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const control = text.search(CONTROL_IN_TEXT);
  if (control >= 0) {
    return {
      tree: null,
      issues: [{ ...at(control), path: "", message: controlMessage(text, control, "text") }],
    };
  }
  const deep = tooDeep(tokens, YAML_LIMITS.maxDepth);
  if (deep !== null) {
    return { tree: null, issues: [{ ...at(deep), path: "", message: depthMessage() }] };
  }
  // Duplicate keys are found below, per mapping: the package's own check is quadratic.
  const docs = [
    ...new Composer({ uniqueKeys: false, prettyErrors: false }).compose(tokens, true, text.length),
  ];
  const doc = docs[0];
  if (doc === undefined) return { tree: null, issues: [] };
  const issues: ConfigIssue[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const loc = at(e.pos[0]);
    const message = e.code === RESOURCE_EXHAUSTION
      ? depthMessage()
      : e.code === "TAG_RESOLVE_FAILED"
      ? tagMessage(e.message)
      : `YAML syntax error: ${yamlMessage(e.message)}`;
    issues.push({ ...loc, path: "", message });
  }
  if (docs.length > 1) {
    issues.push({
      ...at(docs[1].range[0]),
      path: "",
      message: "expected one YAML document, found a second: a config is one mapping (remove the " +
        "line '---' that starts another)",
    });
  }
  if (issues.length > 0 || doc.contents === null) return { tree: null, issues: dedupe(issues) };

  // Anchors in document order: an alias refers to the latest anchor of its name before it.
  const anchors = new Map<string, unknown>();
  let aliasValues = 0;
  let outerAlias: { loc: Loc; path: PathSegment[] } | null = null;
  class Stop extends Error {}
  const fail = (loc: Loc, path: readonly PathSegment[], message: string): never => {
    issues.push({ ...loc, path: formatPath(path), message });
    throw new Stop();
  };
  const convert = (
    node: unknown,
    fallback: Loc,
    path: PathSegment[],
    depth: number,
    expanding: Set<unknown>,
  ): LNode => {
    const loc = rangeLoc(node, fallback);
    if (depth > YAML_LIMITS.maxDepth) fail(loc, path, depthMessage());
    if (expanding.size > 0 && ++aliasValues > YAML_LIMITS.maxAliasValues) {
      fail(outerAlias!.loc, outerAlias!.path, aliasMessage());
    }
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) {
        fail(
          loc,
          path,
          `unknown YAML alias "*${node.source}": no anchor "&${node.source}" before it`,
        );
      }
      if (expanding.has(target)) {
        // Found while expanding the alias written in place: report that one.
        fail(
          outerAlias?.loc ?? loc,
          outerAlias?.path ?? path,
          `YAML alias "*${node.source}" is inside the value it refers to: a cycle`,
        );
      }
      const outer = expanding.size === 0;
      if (outer) outerAlias = { loc, path };
      const value = convert(target, loc, path, depth, new Set([...expanding, target]));
      if (outer) outerAlias = null;
      return value;
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor && expanding.size === 0) anchors.set(anchor, node);
    if (isMap(node)) {
      const entries = new Map<string, LEntry>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        const keyLoc = rangeLoc(keyNode, loc);
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const bad = key.search(CONTROL_IN_VALUE);
        // The key is not shown: it holds the character a terminal would run.
        if (bad >= 0) fail(keyLoc, path, `a key ${controlMessage(key, bad, "value")}`);
        const earlier = entries.get(key);
        if (earlier !== undefined) {
          fail(
            keyLoc,
            [...path, key],
            `key "${key}" is written twice (first at line ${earlier.keyLoc.line}): ` +
              "YAML keys must be unique",
          );
        }
        const value = convert(pair.value, keyLoc, [...path, key], depth + 1, expanding);
        entries.set(key, { keyLoc, value });
      }
      return { kind: "map", loc, entries };
    }
    if (isSeq(node)) {
      return {
        kind: "seq",
        loc,
        items: node.items.map((item, i) => convert(item, loc, [...path, i], depth + 1, expanding)),
      };
    }
    if (isScalar(node)) {
      const bad = typeof node.value === "string" ? node.value.search(CONTROL_IN_VALUE) : -1;
      if (bad >= 0) {
        fail(loc, path, `the value ${controlMessage(node.value as string, bad, "value")}`);
      }
      // An empty value (`key:` with nothing after it) is located at its key.
      const empty = node.value === null && (node.source === undefined || node.source === "");
      return { kind: "scalar", loc: empty ? fallback : loc, value: node.value };
    }
    return { kind: "scalar", loc: fallback, value: null };
  };
  function rangeLoc(node: unknown, fallback: Loc): Loc {
    const range = (node as YamlNode | null)?.range;
    return range ? at(range[0]) : fallback;
  }
  try {
    return { tree: convert(doc.contents, toLoc(1, 1), [], 1, new Set()), issues };
  } catch (e) {
    if (e instanceof Stop) return { tree: null, issues };
    throw e;
  }
}

/**
 * Characters YAML text may not hold (outside its printable set: C0 and C1 controls but tab,
 * line feed, carriage return and next line, DEL, and the non-characters U+FFFE and U+FFFF).
 */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const CONTROL_IN_TEXT = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/;

/**
 * Control characters a value may not hold even when written as an escape (`"\e[2J"`): names,
 * descriptions and tickers are printed to terminals, which would run them.
 */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const CONTROL_IN_VALUE = /[\x00-\x08\x0B-\x1F\x7F-\x9F]/;

function controlMessage(text: string, index: number, where: "text" | "value"): string {
  const code = `U+${text.charCodeAt(index).toString(16).toUpperCase().padStart(4, "0")}`;
  return where === "text"
    ? `YAML text may not hold control character ${code}: remove it`
    : `holds control character ${code} (written as an escape): a config holds printable text, ` +
      "and a terminal would run it";
}

function depthMessage(): string {
  return `YAML nested deeper than ${YAML_LIMITS.maxDepth} levels: a config is a few levels of ` +
    "mappings and lists";
}

function aliasMessage(): string {
  return `YAML aliases copy more than ${YAML_LIMITS.maxAliasValues} values: each alias repeats ` +
    "its anchor's whole value, the aliases inside it included (an alias bomb?); write the values " +
    "out or alias less";
}

/** The message for a tag the core schema does not resolve (`!!js/function`, `!custom`). */
function tagMessage(message: string): string {
  const tag = /Unresolved tag: (\S+)/.exec(message)?.[1] ?? "";
  const shown = tag.replace(/^tag:yaml\.org,2002:/, "!!");
  return `unsupported YAML tag "${shown}": a config holds plain strings, numbers, booleans, ` +
    "lists and mappings";
}

/** Issues without repeats (the package may report one position twice). */
function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.line}:${i.col}:${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The offset of the first collection nested deeper than `max` in the parser's token tree, or
 * null. Walked with an explicit stack: the text may nest thousands of levels.
 */
function tooDeep(tokens: readonly CST.Token[], max: number): number | null {
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    switch (token.type) {
      case "document":
        if (token.value) stack.push([token.value, depth]);
        break;
      case "block-map":
      case "block-seq":
      case "flow-collection": {
        if (depth + 1 > max) return token.offset;
        for (const item of token.items) {
          if (item.key) stack.push([item.key, depth + 1]);
          if (item.value) stack.push([item.value, depth + 1]);
        }
        break;
      }
    }
  }
  return null;
}

function yamlMessage(message: string): string {
  const m = message.replace(/ at line \d+, column \d+[\s\S]*$/, "").trim();
  return m.charAt(0).toLowerCase() + m.slice(1);
}

/** True for an explicit YAML null (`~`, `null`, or an empty value). */
export function isNull(node: LNode): boolean {
  return node.kind === "scalar" && node.value === null;
}

/**
 * Deep-merges `over` onto `base`: mappings merge key by key (recursively),
 * anything else in `over` (lists included) replaces what `base` had, and a
 * `null` in `over` removes the key `base` had (restoring its default).
 * Neither argument is modified.
 */
export function mergeTrees(base: LNode, over: LNode): LNode {
  if (base.kind !== "map" || over.kind !== "map") return over;
  const entries = new Map(base.entries);
  for (const [key, entry] of over.entries) {
    const old = entries.get(key);
    if (old && isNull(entry.value)) entries.delete(key);
    else {
      entries.set(
        key,
        old ? { keyLoc: entry.keyLoc, value: mergeTrees(old.value, entry.value) } : entry,
      );
    }
  }
  return { kind: "map", loc: over.loc, entries };
}

/**
 * Returns a copy of `root` with the value at `path` merged with `value` (see
 * {@link mergeTrees}); missing or non-mapping intermediates become mappings
 * located at `loc`.
 */
export function setAt(root: LNode, path: string[], value: LNode, loc: Loc): LNode {
  if (path.length === 0) return mergeTrees(root, value);
  const map: LMap = root.kind === "map" ? root : { kind: "map", loc, entries: new Map() };
  const [head, ...rest] = path;
  const entries = new Map(map.entries);
  const old = entries.get(head);
  const child = old ? old.value : { kind: "map", loc, entries: new Map() } as LMap;
  if (rest.length === 0 && old && isNull(value)) {
    entries.delete(head);
    return { kind: "map", loc: map.loc, entries };
  }
  const next = rest.length === 0 && !old ? value : setAt(child, rest, value, loc);
  entries.set(head, { keyLoc: old ? old.keyLoc : loc, value: next });
  return { kind: "map", loc: map.loc, entries };
}

/** Returns a copy of the mapping `root` without the top-level `keys`. */
export function withoutKeys(root: LNode, keys: string[]): LNode {
  if (root.kind !== "map") return root;
  const entries = new Map(root.entries);
  for (const k of keys) entries.delete(k);
  return { kind: "map", loc: root.loc, entries };
}

/** Converts a located tree to plain JavaScript values. */
export function toPlain(node: LNode): unknown {
  switch (node.kind) {
    case "scalar":
      return node.value;
    case "seq":
      return node.items.map(toPlain);
    case "map":
      return Object.fromEntries([...node.entries].map(([k, e]) => [k, toPlain(e.value)]));
  }
}

/**
 * Locates a key path in a tree.
 *
 * - `value`: where the value at `path` is written;
 * - `key`: where the last key of `path` is written.
 *
 * When the path does not exist (a missing key), the deepest existing parent is
 * returned: the key that introduced it, or the root's start.
 */
export function locate(root: LNode, path: readonly PathSegment[], target: "value" | "key"): Loc {
  let node: LNode = root;
  let keyLoc: Loc | undefined;
  for (const seg of path) {
    if (node.kind === "map" && node.entries.has(String(seg))) {
      const entry: LEntry = node.entries.get(String(seg))!;
      keyLoc = entry.keyLoc;
      node = entry.value;
    } else if (
      node.kind === "seq" && typeof seg === "number" && seg >= 0 && seg < node.items.length
    ) {
      node = node.items[seg];
      keyLoc = node.loc;
    } else {
      return keyLoc ?? node.loc;
    }
  }
  return target === "key" ? keyLoc ?? node.loc : node.loc;
}

/** Formats a key path: `data.eval_tickers[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}
