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
    help: "run FILE.yaml [--set k=v] [--retrain] [--resume] [--results DIR]: run an experiment",
    run: async (args) => (await import("./run.ts")).runCommand(args),
  },
  validate: {
    help: "validate FILE... [--resolved] [--set k=v]: check experiment files",
    run: async (args) => (await import("./validate.ts")).validateCommand(args),
  },
  diff: {
    help: "diff A B: semantic difference of two configs, or of two runs (run ids or folders)",
    run: async (args) => (await import("./diff.ts")).diffCommand(args),
  },
  schema: {
    help: "schema [--check]: write schemas/experiment.schema.json from the zod schema",
    run: async (args) => (await import("./schema.ts")).schemaCommand(args),
  },
  data: {
    help: "data synth|import|fetch ...: build datasets",
    run: async (args) => (await import("./data.ts")).dataCommand(args),
  },
  scan: {
    help: "scan --dataset D --since DATE: tickers with continuous history",
    run: async (args) => (await import("./scan.ts")).scanCommand(args),
  },
  analyze: {
    help: "analyze RUN_ID [--set analysis.x=y]: ablation, SHAP and loss targets on a stored model",
    run: async (args) => (await import("./analyze.ts")).analyzeCommand(args),
  },
  journal: {
    help: "journal [--check]: regenerate JOURNAL.md from results/",
    run: async (args) => (await import("./journal.ts")).journalCommand(args),
  },
  worker: {
    help:
      "worker --queue redis://HOST:6379 [--concurrency N] [--backend B]: run queued experiments",
    run: async (args) => (await import("./worker.ts")).workerCommand(args),
  },
  store: {
    help:
      "store pull RUN_ID [--model] | push | push-data | list: the shared model and results store",
    run: async (args) => (await import("./store.ts")).storeCommand(args),
  },
  bench: {
    help: "bench [--quick]: training speed per backend against the machine's matmul rate",
    run: async (args) => (await import("./bench.ts")).benchCommand(args),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.help}`);
  return `Usage: deno task <command> [args]\n\nCommands:\n${lines.join("\n")}`;
}

/**
 * Dispatch a command line to its handler.
 *
 * @param argv the arguments after `main.ts`
 * @returns the process exit code
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`Unknown command "${name}"\n\n${usage()}`);
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
  Deno.exit(await main(Deno.args));
}
