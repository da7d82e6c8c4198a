/**
 * Every command and subcommand answers `--help` and `-h` through the dispatcher with its own
 * usage (`Usage: deno task <command> [<subcommand>] ...`) on stdout and exit code 0.
 */
import { assert, assertEquals } from "./assert.ts";
import { main } from "../src/cli/main.ts";

/** Every command with its subcommands (none: the command itself). */
const COMMANDS: Record<string, string[]> = {
  run: [],
  validate: [],
  diff: [],
  schema: [],
  data: ["synth", "import", "fetch"],
  scan: [],
  analyze: [],
  journal: [],
  worker: [],
  store: ["pull", "push", "push-data", "list"],
  bench: [],
  portfolio: [],
};

/** Runs the dispatcher, capturing what it prints. */
async function dispatch(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("the test covers every command the dispatcher lists", async () => {
  const { code, out } = await dispatch(["--help"]);
  assertEquals(code, 0);
  const listed = out.split("Commands:\n")[1].split("\n").map((l) => l.trim().split(/\s+/)[0]);
  assertEquals(listed.sort(), Object.keys(COMMANDS).sort());
});

Deno.test("every command and subcommand answers --help and -h with its own usage", async () => {
  const lines = Object.entries(COMMANDS).flatMap(([command, subs]) => [
    [command],
    ...subs.map((sub) => [command, sub]),
  ]);
  for (const words of lines) {
    for (const flag of ["--help", "-h"]) {
      const what = `${words.join(" ")} ${flag}`;
      const { code, out, err } = await dispatch([...words, flag]);
      assertEquals(code, 0, `${what}: exit code (stderr: ${err})`);
      assertEquals(err, "", `${what}: stderr`);
      const prefix = `Usage: deno task ${words.join(" ")} `;
      assert(out.startsWith(prefix), `${what} should start with "${prefix}": ${out.slice(0, 80)}`);
      assert(!/\balfred \w/.test(out), `${what} names "alfred": ${out}`);
      assert(!/\bissue\s*#?\d/i.test(out), `${what} names an issue number: ${out}`);
    }
  }
});

Deno.test("help COMMAND is COMMAND --help; no command is a usage error", async () => {
  const viaHelp = await dispatch(["help", "journal"]);
  const viaFlag = await dispatch(["journal", "--help"]);
  assertEquals([viaHelp.code, viaHelp.out], [0, viaFlag.out]);
  const none = await dispatch([]);
  assertEquals(none.code, 2);
  assert(none.err.startsWith("Missing command: expected one of run, validate"), none.err);
  const unknown = await dispatch(["frob"]);
  assertEquals(unknown.code, 2);
  assert(unknown.err.startsWith('Unknown command "frob": expected one of run,'), unknown.err);
});

Deno.test("every command and subcommand rejects an unknown option the same way: named, with what is allowed, exit 2", async () => {
  const lines = Object.entries(COMMANDS).flatMap(([command, subs]) =>
    subs.length === 0 ? [[command]] : subs.map((sub) => [command, sub])
  );
  for (const words of [...lines, ["run", "x.yaml", "--queue", "redis://127.0.0.1:1"]]) {
    const what = words.join(" ");
    const { code, out, err } = await dispatch([...words, "--frob"]);
    assertEquals(code, 2, `${what}: exit code (stderr: ${err})`);
    assertEquals(out, "", `${what}: stdout`);
    assert(
      err.startsWith('Unknown argument "--frob": allowed are '),
      `${what} should name the unknown option: ${err.slice(0, 120)}`,
    );
    assert(err.includes("\n\nUsage: deno task "), `${what} should end with its usage: ${err}`);
  }
});
