/** The command line's one argument parser and help helper (src/cli/args.ts). */
import { assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import { parseArguments, parseCommandArgs, runSubcommand } from "../src/cli/args.ts";
import { capture } from "./cli_helpers.ts";

const OPTIONS = {
  set: { type: "string", value: "KEY=VALUE", multiple: true },
  results: { type: "string", value: "DIR", default: "results" },
  signal: { type: "string", value: "S" },
  check: { type: "boolean" },
} as const;
const ONE_FILE = { min: 1, max: 1, name: "one experiment file (FILE.yaml)" };

Deno.test("parseArguments reads values spaced or inline, repeats, flags, defaults and --", () => {
  const parsed = parseArguments(
    ["a.yaml", "--set", "x=1", "--set=y=2", "--check", "--signal", "-0.5", "--", "--odd"],
    OPTIONS,
    { name: "files" },
  );
  assertEquals(parsed, {
    values: { set: ["x=1", "y=2"], results: "results", signal: "-0.5", check: true },
    positionals: ["a.yaml", "--odd"],
    help: false,
  });
});

Deno.test("parseArguments says what is wrong and what is allowed", () => {
  assertThrows(
    () => parseArguments(["a.yaml", "--frob"], OPTIONS, ONE_FILE),
    TypeError,
    'Unknown argument "--frob": allowed are one experiment file (FILE.yaml), --set KEY=VALUE, ' +
      "--results DIR, --signal S, --check",
  );
  assertThrows(() => parseArguments(["-x"], OPTIONS), TypeError, 'Unknown argument "-x"');
  assertThrows(
    () => parseArguments(["a.yaml", "--results"], OPTIONS, ONE_FILE),
    TypeError,
    'Option "--results" needs a value: --results DIR',
  );
  assertThrows(
    () => parseArguments(["--results", "--check"], OPTIONS),
    TypeError,
    'Option "--results" needs a value',
  );
  assertThrows(
    () => parseArguments(["--check=yes"], OPTIONS),
    TypeError,
    'Option "--check" takes no value, got "yes"',
  );
  assertThrows(
    () => parseArguments([], OPTIONS, ONE_FILE),
    TypeError,
    "Expected one experiment file (FILE.yaml), got none",
  );
  assertThrows(
    () => parseArguments(["a.yaml", "b.yaml"], OPTIONS, ONE_FILE),
    TypeError,
    'Expected one experiment file (FILE.yaml), got "a.yaml", "b.yaml"',
  );
  assertThrows(
    () => parseArguments(["stray"], OPTIONS),
    TypeError,
    'Unexpected argument "stray": allowed are --set KEY=VALUE',
  );
});

Deno.test("help wins over every other mistake, and -h after -- is an argument", () => {
  assertEquals(parseArguments(["--frob", "-h"], OPTIONS).help, true);
  assertEquals(parseArguments(["--results", "--help"], OPTIONS, ONE_FILE).help, true);
  assertEquals(parseArguments(["--results", "r", "-h"], OPTIONS).help, true);
  assertEquals(parseArguments(["--", "-h"], OPTIONS, { name: "files" }).positionals, ["-h"]);
});

Deno.test("parseCommandArgs prints the usage for help (0) and the problem with it (2)", () => {
  const spec = { usage: "Usage: deno task x FILE.yaml", options: OPTIONS, positionals: ONE_FILE };
  const help = capture();
  assertEquals(parseCommandArgs(["-h"], spec, help), 0);
  assertEquals(help.stdout, ["Usage: deno task x FILE.yaml"]);
  assertEquals(help.stderr, []);
  const bad = capture();
  assertEquals(parseCommandArgs(["--nope"], spec, bad), 2);
  assertEquals(bad.stdout, []);
  assertEquals(bad.stderr.length, 1);
  assertStringIncludes(bad.stderr[0], 'Unknown argument "--nope"');
  assertStringIncludes(bad.stderr[0], "\n\nUsage: deno task x FILE.yaml");
  const ok = parseCommandArgs(["a.yaml"], spec, capture());
  assertEquals(typeof ok === "number" ? ok : ok.positionals, ["a.yaml"]);
});

Deno.test("runSubcommand: help lists the subcommands, mistakes name them, the rest is passed on", async () => {
  const seen: string[][] = [];
  const spec = {
    command: "store",
    usage: "Usage: deno task store pull|list",
    subcommands: {
      pull: (args: string[]) => Promise.resolve(seen.push(args) && 0),
      list: (args: string[]) => Promise.resolve(seen.push(args) && 3),
    },
  };
  for (const help of ["--help", "-h", "help"]) {
    const io = capture();
    assertEquals(await runSubcommand([help], spec, io), 0);
    assertEquals(io.stdout, ["Usage: deno task store pull|list"]);
  }
  const none = capture();
  assertEquals(await runSubcommand([], spec, none), 2);
  assertStringIncludes(none.stderr[0], "Missing store subcommand: expected pull or list");
  const unknown = capture();
  assertEquals(await runSubcommand(["pul"], spec, unknown), 2);
  assertStringIncludes(unknown.stderr[0], 'Unknown store subcommand "pul": expected pull or list');
  assertEquals(await runSubcommand(["list", "--help"], spec, capture()), 3);
  assertEquals(seen, [["--help"]]);
});
