/**
 * Alfred's command line: `deno task <command>` runs `main.ts <command> ...`.
 *
 * @module
 */

/** One command: its one-line help and its handler (returns the exit code). */
interface Command {
  help: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  run: {
    help: "FILE.yaml [--set k=v]... [--retrain] [--resume]: run an experiment (each sweep point)",
    run: async (args) => (await import("./run.ts")).runCommand(args),
  },
  validate: {
    help: "FILE... [--resolved] [--set k=v]...: check experiment files and their data",
    run: async (args) => (await import("./validate.ts")).validateCommand(args),
  },
  diff: {
    help: "A B: semantic difference of two configs, or of two runs (run ids or folders)",
    run: async (args) => (await import("./diff.ts")).diffCommand(args),
  },
  schema: {
    help: "[--check]: write schemas/experiment.schema.json from the zod schema",
    run: async (args) => (await import("./schema.ts")).schemaCommand(args),
  },
  data: {
    help: "synth|import|fetch ...: build datasets",
    run: async (args) => (await import("./data.ts")).dataCommand(args),
  },
  scan: {
    help: "--dataset D --since DATE: tickers with continuous history",
    run: async (args) => (await import("./scan.ts")).scanCommand(args),
  },
  analyze: {
    help: "RUN [--set analysis.x=y]...: ablation, SHAP and loss targets on a stored model",
    run: async (args) => (await import("./analyze.ts")).analyzeCommand(args),
  },
  journal: {
    help: "[--check]: regenerate JOURNAL.md from results/",
    run: async (args) => (await import("./journal.ts")).journalCommand(args),
  },
  worker: {
    help: "--queue redis://HOST:6379 [--concurrency N] [--backend B]: run queued experiments",
    run: async (args) => (await import("./worker.ts")).workerCommand(args),
  },
  store: {
    help: "pull|push|push-data|list --store SPEC ...: the shared model, results and data store",
    run: async (args) => (await import("./store.ts")).storeCommand(args),
  },
  bench: {
    help: "[--quick] [--engines LIST]: training speed per backend and engine",
    run: async (args) => (await import("./bench.ts")).benchCommand(args),
  },
  portfolio: {
    help: "FILE.yaml: run a portfolio experiment (analysts' signals, managers, report)",
    run: async (args) => (await import("./portfolio.ts")).portfolioCommand(args),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.help}`);
  return `Usage: deno task <command> [args]   (deno task <command> --help for its usage)

Commands:
${lines.join("\n")}`;
}

/**
 * Dispatch a command line to its handler. `--help`, `-h` or `help` alone print the list of
 * commands; `help COMMAND` is `COMMAND --help`.
 *
 * @param argv the arguments after `main.ts`
 * @returns the process exit code
 */
export async function main(argv: string[]): Promise<number> {
  const [first, ...others] = argv;
  const [name, rest] = first === "help" && others.length > 0
    ? [others[0], ["--help"]]
    : [first, others];
  if (name === undefined) {
    console.error(
      `Missing command: expected one of ${Object.keys(COMMANDS).join(", ")}\n\n${usage()}`,
    );
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(
      `Unknown command "${name}": expected one of ${
        Object.keys(COMMANDS).join(", ")
      }\n\n${usage()}`,
    );
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    if (Deno.env.get("ALFRED_DEBUG") && error instanceof Error) console.error(error.stack);
    return 1;
  }
}

if (import.meta.main) {
  // Every line any command or library prints passes through redact (src/redact.ts).
  (await import("../redact.ts")).redactConsole();
  Deno.exit(await main(Deno.args));
}
