/**
 * What a config may read from disk, and what it may name: its own file and its `extends` bases
 * (regular files of at most {@link MAX_CONFIG_BYTES}, UTF-8, bases inside the experiment's root
 * folder), and its dataset (a plain name, or a path inside the data roots).
 *
 * The experiment's root is the folder of the top-level experiment file, and everything below it:
 * a config can extend `base.yaml` beside it or `shared/base.yaml` below it, never
 * `../../etc/passwd`, an absolute path elsewhere, or a symbolic link whose target lies outside.
 * A config that was not read from a file (a queued job carries its resolved config) has no
 * root, and may not extend anything.
 *
 * Internal to the config stage, except {@link datasetRefProblem}, which the commands and the
 * worker use before opening a dataset.
 *
 * @module
 */
import { dirname, extname, isAbsolute, relative, resolve, sep } from "node:path";

/** The largest config file (or config text) read: 64 KiB, twenty times the largest we ship. */
export const MAX_CONFIG_BYTES = 64 * 1024;

/** The longest `extends` chain: a config and at most this many bases above it. */
export const MAX_EXTENDS_CHAIN = 32;

/** The extensions a base config may have. */
export const CONFIG_EXTENSIONS = [".yaml", ".yml"] as const;

/** A problem reading a config, located in it (1-based line and column). */
export interface ReadProblem {
  /** 1-based line of the problem (1 for problems with the whole file). */
  line: number;
  /** 1-based column. */
  col: number;
  /** What is wrong, without any of the file's content. */
  message: string;
}

/**
 * Reads a config file: a regular file of at most {@link MAX_CONFIG_BYTES} bytes of UTF-8 text
 * (a byte order mark is dropped). A folder, a device or a pipe is refused without being opened.
 *
 * @param path Where the file is.
 * @returns The text, or the problem (never the file's content).
 * @example
 * ```ts
 * const read = await readConfigFile("experiments/quick-direction.yaml");
 * if (typeof read !== "string") console.error(read.message);
 * ```
 */
export async function readConfigFile(path: string): Promise<string | ReadProblem> {
  const whole = (message: string): ReadProblem => ({ line: 1, col: 1, message });
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    return whole(`cannot read config file: ${readError(e)}`);
  }
  if (info.isDirectory) return whole("cannot read config file: it is a folder, not a file");
  if (!info.isFile) {
    return whole("cannot read config file: it is not a regular file (a device or a pipe?)");
  }
  if (info.size > MAX_CONFIG_BYTES) return whole(sizeMessage(info.size));
  let bytes: Uint8Array;
  try {
    bytes = await readAtMost(path, MAX_CONFIG_BYTES + 1);
  } catch (e) {
    return whole(`cannot read config file: ${readError(e)}`);
  }
  if (bytes.length > MAX_CONFIG_BYTES) return whole(sizeMessage(bytes.length));
  return decodeUtf8(bytes);
}

/**
 * The problem with config text that is too large to parse, or null.
 *
 * @param text Config source.
 * @returns The problem, located at 1:1, or null when the text is at most
 *   {@link MAX_CONFIG_BYTES} bytes of UTF-8.
 */
export function textSizeProblem(text: string): ReadProblem | null {
  // UTF-8 takes at least one byte per UTF-16 unit, at most three.
  if (text.length * 3 <= MAX_CONFIG_BYTES) return null;
  const bytes = text.length > MAX_CONFIG_BYTES
    ? text.length
    : new TextEncoder().encode(text).length;
  return bytes > MAX_CONFIG_BYTES ? { line: 1, col: 1, message: sizeMessage(bytes) } : null;
}

function sizeMessage(bytes: number): string {
  return `config is too large: ${bytes} bytes, at most ${MAX_CONFIG_BYTES} (64 KiB) are read: ` +
    "an experiment config is a few kilobytes";
}

function readError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "file not found";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotCapable) return "this process may not read it";
  return e instanceof Error ? e.message : String(e);
}

async function readAtMost(path: string, limit: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(limit);
  let n = 0;
  while (n < limit) {
    const got = await file.read(buffer.subarray(n));
    if (got === null) break;
    n += got;
  }
  return buffer.subarray(0, n);
}

/**
 * Decodes UTF-8, or locates the first character that is not UTF-8.
 *
 * @param bytes The file's bytes.
 * @returns The text (without a byte order mark), or the problem located at the bad character.
 */
export function decodeUtf8(bytes: Uint8Array): string | ReadProblem {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { line: 1, col: 1, message: "config is UTF-16 text: save the file as UTF-8" };
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // The longest prefix that decodes so far (a streaming decoder keeps an incomplete
    // character for later): the next byte is where decoding fails.
    let good = 0;
    let bad = bytes.length;
    while (bad - good > 1) {
      const mid = (good + bad) >> 1;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        good = mid;
      } catch {
        bad = mid;
      }
    }
    // A continuation byte (10xxxxxx) fails as part of the character its lead byte (11xxxxxx)
    // started, up to three bytes back; otherwise the failing byte starts the bad character.
    let start = good;
    for (let i = good - 1; i >= 0 && i >= good - 3; i--) {
      if ((bytes[i] & 0xc0) === 0xc0) {
        start = i;
        break;
      }
      if ((bytes[i] & 0xc0) !== 0x80) break;
    }
    const before = new TextDecoder("utf-8").decode(bytes.subarray(0, start));
    const lines = before.split(/\r\n|\r|\n/);
    // The failing byte belongs to the bad character unless it is one on its own (a newline
    // after a lead byte whose character it cut short).
    const end = start === good || (bytes[good] & 0xc0) === 0x80 ? good + 1 : good;
    const hex = [...bytes.subarray(start, end)]
      .map((b) => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`).join(" ");
    return {
      line: lines.length,
      col: lines[lines.length - 1].length + 1,
      message: `config is not UTF-8 text: ${end - start === 1 ? "byte" : "bytes"} ${hex} here ${
        end - start === 1 ? "is" : "are"
      } not a character (save the file as UTF-8)`,
    };
  }
}

/** A folder as written (absolute) and as it really is (links resolved). */
export interface Root {
  /** The absolute path, as reached. */
  path: string;
  /** The same folder with every link resolved. */
  real: string;
}

/**
 * The root folder an experiment file's `extends` may read below: its own folder.
 *
 * @param file The top-level experiment file (or the name config text is parsed as).
 * @returns The folder, as reached and with links resolved.
 */
export async function experimentRoot(file: string): Promise<Root> {
  return await folderRoot(dirname(resolve(file)));
}

/**
 * A folder as reached and with links resolved.
 *
 * @param folder Any path.
 * @returns Its absolute form and its real path (the absolute form when it does not exist).
 */
export async function folderRoot(folder: string): Promise<Root> {
  const path = resolve(folder);
  return { path, real: await realOrResolved(path) };
}

/** The real path of `path` (links resolved) when it exists, else its absolute form. */
async function realOrResolved(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Whether `path` is `root` or lies below it (both absolute, compared as written).
 *
 * @param root A folder.
 * @param path A path.
 * @returns True when inside.
 */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** Whether `path`, as written, lies in `root` reached either way. */
function insideAsWritten(root: Root, path: string): boolean {
  return isInside(root.path, path) || isInside(root.real, path);
}

/**
 * Checks where an `extends` reference leads, before anything is read: inside the root (as
 * written and with links resolved), to a `.yaml` or `.yml` file.
 *
 * @param ref The reference as written.
 * @param from The absolute path of the file that writes it (references are relative to it).
 * @param root The experiment's root ({@link experimentRoot}), or null when there is none.
 * @param display The base's name as messages show it (relative to the experiment file).
 * @returns The absolute path to read, or the problem.
 */
export async function resolveBase(
  ref: string,
  from: string,
  root: Root | null,
  display: string,
): Promise<{ path: string } | { problem: string }> {
  if (root === null) {
    return {
      problem: `cannot extend "${ref}": this config was not read from a file, so it has no ` +
        "folder to read bases from (a queued job carries its config resolved)",
    };
  }
  const path = resolve(dirname(from), ref);
  const rule = "extends reads only files in the folder of the experiment file, or below it";
  if (!insideAsWritten(root, path)) {
    return {
      problem:
        `cannot extend "${ref}": it is outside the experiment's folder "${root.path}"; ${rule}`,
    };
  }
  if (!CONFIG_EXTENSIONS.includes(extname(path).toLowerCase() as typeof CONFIG_EXTENSIONS[0])) {
    return {
      problem: `cannot extend "${ref}": expected a ${CONFIG_EXTENSIONS.join(" or ")} file, got "${
        extname(path) || "no extension"
      }"`,
    };
  }
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch (e) {
    return { problem: `cannot read base config "${ref}" (${display}): ${readError(e)}` };
  }
  if (!isInside(root.real, real)) {
    return {
      problem: `cannot extend "${ref}": it is a link to a file outside the experiment's folder ` +
        `"${root.path}"; ${rule}`,
    };
  }
  return { path };
}

/** A dataset name looked up in the data root: what `data/<name>/` may be called. */
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Whether a config's `data.dataset` is something Alfred may open: a plain dataset name
 * (`dow30-1991-2000`: letters, digits, `.`, `_`, `-`, at most 64, looked up in the data root), or
 * a path to a folder inside one of the data roots (the repository's `data/`, the experiment's
 * own folder), symbolic links resolved. Relative paths are relative to the working folder, as
 * the dataset loader reads them.
 *
 * @param ref The reference as written.
 * @param roots The folders a dataset path may lie in.
 * @returns null when allowed, else what is wrong (for `FILE:LINE:COL data.dataset: message`).
 * @example
 * ```ts
 * await datasetRefProblem("../../etc", ["/repo/data"]);
 * // 'expected a dataset name or a path inside "/repo/data", got "../../etc" (resolves to "/etc")'
 * ```
 */
export async function datasetRefProblem(
  ref: string,
  roots: readonly string[],
): Promise<string | null> {
  if (DATASET_NAME.test(ref)) return null;
  const allowed = `expected a dataset name (letters, digits, '.', '_' or '-', at most 64) or ` +
    `a path to a dataset folder inside ${roots.map((r) => `"${r}"`).join(" or ")}`;
  const looksLikePath = ref.includes("/") || ref.includes("\\") || ref.startsWith(".");
  if (!looksLikePath) return `${allowed}, got "${ref}"`;
  const path = resolve(ref);
  const folders = await Promise.all(roots.map(folderRoot));
  const strictlyInside = (root: string, p: string) => isInside(root, p) && p !== root;
  if (!folders.some((r) => strictlyInside(r.path, path) || strictlyInside(r.real, path))) {
    return `${allowed}, got "${ref}" (resolves to "${path}")`;
  }
  const real = await realOrResolved(path);
  if (!folders.some((r) => strictlyInside(r.real, real))) {
    return `${allowed}, got "${ref}": a link to "${real}"`;
  }
  return null;
}
