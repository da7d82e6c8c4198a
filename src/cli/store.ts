/**
 * `deno task store`: work with a shared store (`file:ROOT` on a network share, or
 * `mongodb://HOST/DB`).
 *
 * ```
 * deno task store pull RUN_ID --store SPEC [--results DIR] [--model] [--models DIR]
 * deno task store push RUN_DIR... --store SPEC
 * deno task store push-data DATASET_DIR... --store SPEC
 * deno task store list --store SPEC
 * ```
 *
 * `pull` copies a run's folder (record, report, plots, predictions) to `results/`, and with
 * `--model` its model into the local model store; `push` copies local run folders into the shared
 * store; `push-data` copies dataset folders (by fingerprint) so workers lacking them fetch them;
 * `list` prints the stored runs and datasets.
 *
 * @module
 */
import { FileModelStore } from "../store/model_store.ts";
import { openStores } from "../store/shared_file.ts";
import type { Stores } from "../store/stores.ts";
import { redact } from "../redact.ts";
import { consoleIo, parseCommandArgs, runSubcommand, usageError } from "./args.ts";
import { FLAG, MODELS_OPTION, RESULTS_OPTION, stringOption } from "./options.ts";
import { MODELS_DIR, RESULTS_DIR } from "../paths.ts";

const SPEC = [
  "SPEC: file:/path/to/share or mongodb://HOST[:PORT]/DB. deno task store may write only under",
  "results/ and .alfred/: pushing to a share elsewhere needs deno run with --allow-write for it.",
].join("\n");

const USAGE = [
  "Usage: deno task store pull RUN_ID --store SPEC [--results DIR] [--model] [--models DIR]",
  "       deno task store push RUN_DIR... --store SPEC",
  "       deno task store push-data DATASET_DIR... --store SPEC",
  "       deno task store list --store SPEC",
  SPEC,
].join("\n");

const PULL_USAGE = [
  "Usage: deno task store pull RUN_ID --store SPEC [--results DIR] [--model] [--models DIR]",
  "",
  "Copies a run's folder (record, report, plots, predictions) from the shared store into",
  `--results (default ${RESULTS_DIR}/); --model also copies its model into --models (default`,
  `${MODELS_DIR}).`,
  SPEC,
].join("\n");

const PUSH_USAGE = [
  "Usage: deno task store push RUN_DIR... --store SPEC",
  "",
  "Copies local run folders into the shared store (a run already there is left as it is).",
  SPEC,
].join("\n");

const PUSH_DATA_USAGE = [
  "Usage: deno task store push-data DATASET_DIR... --store SPEC",
  "",
  "Copies dataset folders into the shared store, by fingerprint, so workers lacking them fetch",
  "them.",
  SPEC,
].join("\n");

const LIST_USAGE = [
  "Usage: deno task store list --store SPEC",
  "",
  "Prints the datasets and runs in the shared store.",
  SPEC,
].join("\n");

const STORE = stringOption("SPEC");

/**
 * Opens a shared store and runs `f` on it, closing it after.
 *
 * @returns `f`'s exit code, or 2 when the store is a plain model folder
 */
async function withSharedStore(
  spec: string,
  f: (stores: Stores, runs: NonNullable<Stores["runs"]>) => Promise<number>,
): Promise<number> {
  const stores = await openStores(spec);
  try {
    if (!stores.runs) {
      console.error(
        `Store "${
          redact(spec)
        }" is a model folder, not a shared store: use file:ROOT or mongodb://HOST/DB`,
      );
      return 2;
    }
    return await f(stores, stores.runs);
  } finally {
    await stores.close();
  }
}

/** `store pull RUN_ID`: a run's folder, and with `--model` its model, from the shared store. */
async function pullCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: PULL_USAGE,
    options: {
      store: STORE,
      results: RESULTS_OPTION,
      model: FLAG,
      models: MODELS_OPTION,
    },
    positionals: { min: 1, max: 1, name: "one run id (RUN_ID)" },
  });
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const [runId] = parsed.positionals;
  if (!v.store) return missingStore(PULL_USAGE);
  return await withSharedStore(v.store, async (stores, runs) => {
    const dir = await runs.pull(runId, v.results);
    console.log(`pulled run to ${dir}`);
    if (!v.model) return 0;
    const record = await runs.get(runId);
    const hash = record?.model?.modelHash;
    if (!hash) {
      console.error(`Run "${runId}" names no model`);
      return 1;
    }
    const model = await stores.models.load(hash);
    if (!model) {
      console.error(
        `Model ${hash.slice(0, 12)} of run "${runId}" is not in "${redact(String(v.store))}"`,
      );
      return 1;
    }
    const saved = await new FileModelStore(v.models).save(hash, model);
    console.log(`${saved ? "pulled" : "already had"} model ${hash.slice(0, 12)} in ${v.models}`);
    return 0;
  });
}

/**
 * `store push` and `store push-data`: folders into the shared store, a line about each.
 *
 * @param args the arguments after the subcommand
 * @param usage its usage text
 * @param folders what the folders are, for messages (`run folders (RUN_DIR...)`)
 * @param put stores one folder (as given) and says what happened
 * @returns the exit code
 */
async function pushFolders(
  args: string[],
  usage: string,
  folders: string,
  put: (stores: Stores, runs: NonNullable<Stores["runs"]>, dir: string) => Promise<string>,
): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage,
    options: { store: { ...STORE, writes: "store" } },
    positionals: { min: 1, name: `one or more ${folders}` },
  });
  if (typeof parsed === "number") return parsed;
  const { store } = parsed.values;
  if (!store) return missingStore(usage);
  return await withSharedStore(store, async (stores, runs) => {
    for (const dir of parsed.positionals) {
      console.log(await put(stores, runs, dir));
    }
    return 0;
  });
}

/** `store push RUN_DIR...`: local run folders into the shared store. */
function pushCommand(args: string[]): Promise<number> {
  return pushFolders(args, PUSH_USAGE, "run folders (RUN_DIR...)", async (_stores, runs, dir) => {
    const stored = await runs.put(withoutSlash(dir));
    return `${stored ? "pushed" : "already there"}: ${dir}`;
  });
}

/** `store push-data DATASET_DIR...`: dataset folders into the shared store. */
function pushDataCommand(args: string[]): Promise<number> {
  return pushFolders(
    args,
    PUSH_DATA_USAGE,
    "dataset folders (DATASET_DIR...)",
    async (stores, _runs, dir) => {
      const { name, fingerprint, created } = await stores.data!.put(withoutSlash(dir));
      return `${created ? "pushed" : "already there"}: dataset ${name} ${fingerprint.slice(0, 12)}`;
    },
  );
}

/** `store list`: the datasets and runs in the shared store. */
async function listCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { usage: LIST_USAGE, options: { store: STORE } });
  if (typeof parsed === "number") return parsed;
  const { store } = parsed.values;
  if (!store) return missingStore(LIST_USAGE);
  return await withSharedStore(store, async (stores, runs) => {
    for (const d of await stores.data?.list() ?? []) {
      console.log(`dataset ${d.name} ${d.fingerprint.slice(0, 12)}`);
    }
    for (const r of await runs.list()) {
      console.log(
        `${r.experiment}/${r.runId}  ${r.status}  config ${r.configHash.slice(0, 8)}  model ${
          r.modelHash.slice(0, 12) || "—"
        }`,
      );
    }
    return 0;
  });
}

function withoutSlash(dir: string): string {
  return dir.replace(/\/+$/, "");
}

function missingStore(usage: string): number {
  return usageError(consoleIo, usage, "Missing --store SPEC: the shared store to use");
}

/**
 * Run the `store` command: `pull`, `push`, `push-data` or `list`.
 *
 * @param args command-line arguments after `store`
 * @returns 0 on success, 1 when a run or model is missing, 2 on bad usage
 */
export async function storeCommand(args: string[]): Promise<number> {
  return await runSubcommand(args, {
    command: "store",
    usage: USAGE,
    subcommands: {
      pull: pullCommand,
      push: pushCommand,
      "push-data": pushDataCommand,
      list: listCommand,
    },
  });
}

if (import.meta.main) Deno.exit(await storeCommand(Deno.args));
