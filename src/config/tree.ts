/**
 * A YAML value tree that remembers where every node and key came from (file,
 * line, column), so values merged from `extends` bases, `--set` arguments and
 * sweep points can still be located when they fail validation.
 *
 * Internal to the config stage.
 *
 * @module
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node as YamlNode } from "yaml";
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
  /** The tree, or `null` for an empty document. */
  tree: LNode | null;
  /** YAML syntax errors, located. */
  issues: ConfigIssue[];
}

/**
 * Parses YAML text into a located tree.
 *
 * @param text YAML source.
 * @param toLoc Maps a 1-based line and column of `text` to the location reported.
 */
export function parseYaml(
  text: string,
  toLoc: (line: number, col: number) => Loc,
): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Loc => {
    const p = lineCounter.linePos(offset);
    return toLoc(p.line, p.col);
  };
  const issues: ConfigIssue[] = doc.errors.map((e) => {
    const loc = at(e.pos[0]);
    return { ...loc, path: "", message: `YAML syntax error: ${yamlMessage(e.message)}` };
  });
  if (issues.length > 0) return { tree: null, issues };
  if (doc.contents === null) return { tree: null, issues };
  const convert = (node: unknown, fallback: Loc, seen: Set<unknown>): LNode => {
    if (isAlias(node)) {
      const target = node.resolve(doc as Document.Parsed);
      if (target === undefined || seen.has(target)) {
        return { kind: "scalar", loc: rangeLoc(node, fallback), value: null };
      }
      return convert(target, rangeLoc(node, fallback), new Set([...seen, target]));
    }
    if (isMap(node)) {
      const loc = rangeLoc(node, fallback);
      const entries = new Map<string, LEntry>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        const keyLoc = rangeLoc(keyNode, loc);
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        entries.set(key, { keyLoc, value: convert(pair.value, keyLoc, seen) });
      }
      return { kind: "map", loc, entries };
    }
    if (isSeq(node)) {
      const loc = rangeLoc(node, fallback);
      return { kind: "seq", loc, items: node.items.map((item) => convert(item, loc, seen)) };
    }
    if (isScalar(node)) {
      // An empty value (`key:` with nothing after it) is located at its key.
      const empty = node.value === null && (node.source === undefined || node.source === "");
      return {
        kind: "scalar",
        loc: empty ? fallback : rangeLoc(node, fallback),
        value: node.value,
      };
    }
    return { kind: "scalar", loc: fallback, value: null };
  };
  function rangeLoc(node: unknown, fallback: Loc): Loc {
    const range = (node as YamlNode | null)?.range;
    return range ? at(range[0]) : fallback;
  }
  return { tree: convert(doc.contents, toLoc(1, 1), new Set()), issues };
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

/** The node at `path`, if any. */
export function nodeAt(root: LNode, path: readonly PathSegment[]): LNode | undefined {
  let node: LNode = root;
  for (const seg of path) {
    if (node.kind === "map" && node.entries.has(String(seg))) {
      node = node.entries.get(String(seg))!.value;
    } else if (node.kind === "seq" && typeof seg === "number" && seg < node.items.length) {
      node = node.items[seg];
    } else return undefined;
  }
  return node;
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
