/**
 * The command line's one argument parser and help helper. Every command declares its usage,
 * options and positional arguments once; `--help` or `-h` anywhere prints the usage and exits 0,
 * and a mistake prints what is wrong, then the usage, and exits 2.
 *
 * @module
 */
import { dirname, resolve } from "node:path";

/** Where a command writes: stdout and stderr lines (replaceable in tests). */
export interface CommandIo {
  /** Writes a line of normal output. */
  out(line: string): void;
  /** Writes a line of diagnostics. */
  err(line: string): void;
}

/** Writes to the console: `out` to stdout, `err` to stderr. */
export const consoleIo: CommandIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** The exit code of a usage error. */
export const USAGE_ERROR = 2;

/** One option a command takes. */
export interface OptionSpec {
  /** `string` takes a value (`--out DIR` or `--out=DIR`); `boolean` is a flag. */
  type: "string" | "boolean";
  /** The value's name in messages, e.g. `DIR` (string options). */
  value?: string;
  /** The option may repeat; its values are collected in order (string options). */
  multiple?: boolean;
  /** The value when the option is absent (string options). */
  default?: string;
  /**
   * What the command writes at the option's path (string options): a `folder` it creates or
   * fills, a `file`, or a `store` (a folder, `file:ROOT`, or a `mongodb://` URL, which is no
   * path). Before the command does any work, {@linkcode parseCommandArgs} checks that this
   * process may write there (a `deno task` grants only the paths its `--allow-write` lists) and
   * that the path is not the wrong kind; not under `--check`, which writes nothing.
   */
  writes?: "folder" | "file" | "store";
}

/** The positional arguments a command takes. */
export interface PositionalSpec {
  /** Fewest allowed (default 0). */
  min?: number;
  /** Most allowed (default: no limit). */
  max?: number;
  /** What they are, for messages: `an experiment file (FILE.yaml)`. */
  name: string;
}

/** A command's arguments: its usage text, options and positional arguments. */
export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** The usage text `--help` prints and every usage error ends with. */
  usage: string;
  /** Options by name, without the leading `--`. */
  options: O;
  /** Positional arguments; absent: none are allowed. */
  positionals?: PositionalSpec;
}

/** The parsed value of each option: flags are booleans, repeated options lists. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  -readonly [K in keyof O]: O[K] extends { multiple: true } ? string[]
    : O[K] extends { type: "boolean" } ? boolean
    : O[K] extends { default: string } ? string
    : string | undefined;
};

/** Parsed arguments. */
export interface ParsedArgs<O extends Record<string, OptionSpec>> {
  /** Option values by name. */
  values: OptionValues<O>;
  /** Positional arguments, in order. */
  positionals: string[];
  /** Whether `--help` or `-h` was given (the other arguments are then not checked). */
  help: boolean;
}

const isHelp = (arg: string) => arg === "--help" || arg === "-h";
const looksLikeOption = (arg: string) => arg.startsWith("-") && arg !== "-" && !/^-\d/.test(arg);

/**
 * What a command accepts, as a list for messages: `--results DIR, --out FILE, --check`.
 *
 * @param options the options
 * @param positionals the positional arguments, if any
 * @returns the list
 */
function allowed(options: Record<string, OptionSpec>, positionals?: PositionalSpec): string {
  const list = Object.entries(options).map(([name, o]) =>
    o.type === "boolean" ? `--${name}` : `--${name} ${o.value ?? "VALUE"}`
  );
  if (positionals && (positionals.max ?? Infinity) > 0) list.unshift(positionals.name);
  return list.join(", ");
}

/**
 * Parses command-line arguments: `--name VALUE`, `--name=VALUE`, flags, `--help`/`-h`, and
 * positional arguments (everything after `--` is positional). A value may start with `-` only
 * when it is a number (`--signal -0.5`) or is written `--name=VALUE`.
 *
 * @param args the arguments after the command's name
 * @param options the options the command takes
 * @param positionals the positional arguments it takes (absent: none)
 * @returns the values (defaults filled in), the positional arguments and whether help was asked
 * @throws {TypeError} on an unknown option, a missing or unexpected value, or too few or too many
 *   positional arguments (not when help was asked)
 * @example
 * ```ts
 * parseArguments(["a.yaml", "--set", "seed=1"], { set: { type: "string", multiple: true } },
 *   { min: 1, max: 1, name: "an experiment file (FILE.yaml)" });
 * // { values: { set: ["seed=1"] }, positionals: ["a.yaml"], help: false }
 * ```
 */
export function parseArguments<const O extends Record<string, OptionSpec>>(
  args: string[],
  options: O,
  positionals?: PositionalSpec,
): ParsedArgs<O> {
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, o] of Object.entries(options)) {
    values[name] = o.type === "boolean" ? false : o.multiple ? [] : o.default;
  }
  const free: string[] = [];
  let problem: string | undefined;
  const fail = (message: string) => problem ??= message;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      free.push(...args.slice(i + 1));
      break;
    }
    if (isHelp(arg)) {
      help = true;
      continue;
    }
    if (!looksLikeOption(arg)) {
      free.push(arg);
      continue;
    }
    if (!arg.startsWith("--")) {
      fail(`Unknown argument "${arg}": allowed are ${allowed(options, positionals)}`);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const spec = Object.hasOwn(options, name) ? options[name] : undefined;
    if (spec === undefined) {
      fail(`Unknown argument "${arg}": allowed are ${allowed(options, positionals)}`);
      continue;
    }
    if (spec.type === "boolean") {
      if (inline !== undefined) fail(`Option "--${name}" takes no value, got "${inline}"`);
      else values[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined && i + 1 < args.length && !looksLikeOption(args[i + 1])) {
      value = args[++i];
    }
    if (value === undefined || value === "") {
      fail(`Option "--${name}" needs a value: --${name} ${spec.value ?? "VALUE"}`);
      continue;
    }
    if (spec.multiple) (values[name] as string[]).push(value);
    else values[name] = value;
  }
  if (!help && problem === undefined) {
    const { min = 0, max = positionals ? Infinity : 0 } = positionals ?? {};
    if (free.length < min || free.length > max) {
      const got = free.length === 0 ? "none" : free.map((f) => `"${f}"`).join(", ");
      problem = positionals
        ? `Expected ${positionals.name}, got ${got}`
        : `Unexpected argument ${got}: allowed are ${allowed(options)}`;
    }
  }
  if (problem !== undefined && !help) throw new TypeError(problem);
  return { values: values as OptionValues<O>, positionals: free, help };
}

/**
 * Prints a usage error: what is wrong, a blank line, then the usage.
 *
 * @param io where to write
 * @param usage the command's usage text
 * @param message what is wrong
 * @returns {@linkcode USAGE_ERROR}, the exit code
 * @example
 * ```ts
 * return usageError(io, USAGE, `Invalid --concurrency "x": expected an integer >= 1`);
 * ```
 */
export function usageError(io: CommandIo, usage: string, message: string): number {
  io.err(`${message}\n\n${usage}`);
  return USAGE_ERROR;
}

/**
 * The local path an option writes to, or null when its value is no path (a `mongodb://` store).
 *
 * @param value the option's value
 * @param kind what the option writes
 * @returns the path
 */
function writtenPath(value: string, kind: NonNullable<OptionSpec["writes"]>): string | null {
  if (kind !== "store") return value;
  if (value.startsWith("file://")) return decodeURIComponent(new URL(value).pathname);
  if (value.startsWith("file:")) return value.slice("file:".length) || null;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? null : value;
}

/**
 * Why a command could not write where an option points, or null: this process lacks write
 * permission there, or the path is a file where a folder goes (or the reverse), or a file stands
 * where a folder would have to be created.
 *
 * @param name the option's name, without `--`
 * @param value the option's value
 * @param kind what the command writes there
 * @returns the problem, sentence case, or null when the command can write there
 * @example
 * ```ts
 * writeProblem("results", "/mnt/elsewhere", "folder");
 * // under deno task run: 'Cannot write to --results "/mnt/elsewhere": no write permission ...'
 * ```
 */
export function writeProblem(
  name: string,
  value: string,
  kind: NonNullable<OptionSpec["writes"]>,
): string | null {
  const path = writtenPath(value, kind);
  if (path === null) return null;
  const where = `Cannot write to --${name} "${value}"`;
  if (Deno.permissions.querySync({ name: "write", path }).state !== "granted") {
    return `${where}: no write permission there (a deno task writes only where its ` +
      "--allow-write in deno.json allows); give a path there, or run src/cli/main.ts with " +
      `deno run and --allow-write for "${path}"`;
  }
  const stat = (p: string) => {
    try {
      return Deno.statSync(p);
    } catch {
      return null;
    }
  };
  const info = stat(path);
  const folder = kind !== "file";
  if (info !== null) {
    if (folder && !info.isDirectory) return `${where}: it is a file, not a folder`;
    if (!folder && info.isDirectory) return `${where}: it is a folder, not a file`;
    return null;
  }
  // The path will be created: the nearest existing parent must be a folder.
  for (let parent = dirname(resolve(path));; parent = dirname(parent)) {
    const p = stat(parent);
    if (p !== null) return p.isDirectory ? null : `${where}: "${parent}" is a file, not a folder`;
    if (dirname(parent) === parent) return null;
  }
}

/**
 * Parses a command's arguments, answering `--help` and usage errors itself: with `--help` or
 * `-h` it prints the usage to stdout and returns 0; on a mistake it prints the problem and the
 * usage to stderr and returns 2. A command returns that number as its exit code. Options that
 * declare what they write ({@linkcode OptionSpec.writes}) are checked here, before any work:
 * a path the command may not write to is a mistake too.
 *
 * @param args the arguments after the command's name
 * @param spec the command's usage, options and positional arguments
 * @param io where to write (default: the console)
 * @returns the parsed arguments, or the exit code when the command should stop
 * @example
 * ```ts
 * const parsed = parseCommandArgs(args, { usage: USAGE, options: { check: { type: "boolean" } } });
 * if (typeof parsed === "number") return parsed;
 * ```
 */
export function parseCommandArgs<const O extends Record<string, OptionSpec>>(
  args: string[],
  spec: CommandSpec<O>,
  io: CommandIo = consoleIo,
): ParsedArgs<O> | number {
  let parsed: ParsedArgs<O>;
  try {
    parsed = parseArguments(args, spec.options, spec.positionals);
  } catch (e) {
    return usageError(io, spec.usage, (e as Error).message);
  }
  if (parsed.help) {
    io.out(spec.usage);
    return 0;
  }
  const values = parsed.values as Record<string, unknown>;
  if (values.check !== true) {
    for (const [name, option] of Object.entries(spec.options)) {
      const value = values[name];
      if (option.writes === undefined || typeof value !== "string") continue;
      const problem = writeProblem(name, value, option.writes);
      if (problem !== null) return usageError(io, spec.usage, problem);
    }
  }
  return parsed;
}

/** A command made of subcommands (`data synth`, `store pull`). */
export interface SubcommandSpec {
  /** The command's name, for messages (`data`). */
  command: string;
  /** The usage text listing the subcommands. */
  usage: string;
  /** Each subcommand's handler, given the arguments after the subcommand's name. */
  subcommands: Record<string, (args: string[]) => Promise<number>>;
}

/**
 * Dispatches to a subcommand. `--help`, `-h` or `help` alone print the command's usage (exit 0);
 * no subcommand, or an unknown one, is a usage error. Help after a subcommand is the
 * subcommand's: its handler answers it.
 *
 * @param args the arguments after the command's name
 * @param spec the command's name, usage and subcommands
 * @param io where to write (default: the console)
 * @returns the exit code
 * @example
 * ```ts
 * return await runSubcommand(args, { command: "store", usage: USAGE, subcommands: { list } });
 * ```
 */
export async function runSubcommand(
  args: string[],
  spec: SubcommandSpec,
  io: CommandIo = consoleIo,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== undefined && (isHelp(sub) || sub === "help")) {
    io.out(spec.usage);
    return 0;
  }
  const names = Object.keys(spec.subcommands);
  const expected = `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
  if (sub === undefined) {
    return usageError(io, spec.usage, `Missing ${spec.command} subcommand: expected ${expected}`);
  }
  if (!Object.hasOwn(spec.subcommands, sub)) {
    return usageError(
      io,
      spec.usage,
      `Unknown ${spec.command} subcommand "${sub}": expected ${expected}`,
    );
  }
  return await spec.subcommands[sub](rest);
}
