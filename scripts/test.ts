/**
 * `deno task test`: runs `deno test` over `tests/` with the suite's permissions
 * (extra arguments are passed on: a file, `--filter`), passes its output through
 * and its exit status back, and ends with one line saying which tests were
 * skipped for a missing system piece and how to install it (the tests declare
 * what they need with `tests/requirements.ts`).
 *
 * @module
 */

const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
  "--allow-net=127.0.0.1,localhost",
];

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const IGNORED = / \.\.\. ignored \(/;
const REASON = /\(skipped: (.*)\) \.\.\. ignored/;

/** One summary line of the ignored tests, grouped by what was missing. */
export function skipSummary(lines: string[]): string | null {
  const byPiece = new Map<string, number>();
  let unexplained = 0;
  for (const raw of lines) {
    const line = raw.replace(ANSI, "");
    if (!IGNORED.test(line)) continue;
    const reason = REASON.exec(line)?.[1];
    if (!reason) {
      unexplained++;
      continue;
    }
    for (const part of reason.split("; ")) {
      // "OpenBLAS missing (why): install" → "OpenBLAS (install)"
      const m = /^(.*?) missing \(.*?\): (.*)$/.exec(part);
      const key = m ? `${m[1]} (${m[2]})` : part;
      byPiece.set(key, (byPiece.get(key) ?? 0) + 1);
    }
  }
  const total = lines.filter((l) => IGNORED.test(l.replace(ANSI, ""))).length;
  if (total === 0) return null;
  const parts = [...byPiece].map(([k, n]) => `${n} for ${k}`);
  if (unexplained) parts.push(`${unexplained} ignored with no reason given`);
  return `skipped ${total} test${total === 1 ? "" : "s"}: ${parts.join("; ")}`;
}

if (import.meta.main) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", ...PERMISSIONS, ...(Deno.args.length ? Deno.args : ["tests/"])],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  let partial = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    const text = partial + decoder.decode(chunk, { stream: true });
    const split = text.split("\n");
    partial = split.pop() ?? "";
    for (const l of split) if (IGNORED.test(l.replace(ANSI, ""))) lines.push(l);
  }
  if (partial && IGNORED.test(partial.replace(ANSI, ""))) lines.push(partial);
  const status = await child.status;
  const summary = skipSummary(lines);
  if (summary) console.log(summary);
  Deno.exit(status.code); // 128 + the signal when the test process was killed
}
