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
import { parseArgs } from "node:util";
import { FileModelStore } from "../store/model_store.ts";
import { openStores } from "../store/shared_file.ts";

const USAGE = [
  "Usage: deno task store pull RUN_ID --store SPEC [--results DIR] [--model] [--models DIR]",
  "       deno task store push RUN_DIR... --store SPEC",
  "       deno task store push-data DATASET_DIR... --store SPEC",
  "       deno task store list --store SPEC",
  "SPEC: file:/path/to/share or mongodb://HOST[:PORT]/DB",
].join("\n");

/**
 * Run the `store` command.
 *
 * @param args command-line arguments after `store`
 * @returns 0 on success, 1 when a run or model is missing, 2 on bad usage
 */
export async function storeCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        store: { type: "string" },
        results: { type: "string", default: "results" },
        models: { type: "string", default: ".alfred/models" },
        model: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  const [action, ...rest] = parsed.positionals;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const arity: Record<string, (n: number) => boolean> = {
    pull: (n) => n === 1,
    push: (n) => n >= 1,
    "push-data": (n) => n >= 1,
    list: (n) => n === 0,
  };
  if (!action || !arity[action] || !arity[action](rest.length) || !v.store) {
    console.error(USAGE);
    return 2;
  }
  const stores = await openStores(v.store);
  try {
    if (!stores.runs) {
      console.error(
        `Store "${v.store}" is a model folder, not a shared store: use file:ROOT or mongodb://HOST/DB`,
      );
      return 2;
    }
    if (action === "push-data") {
      for (const dir of rest) {
        const { name, fingerprint, created } = await stores.data!.put(dir.replace(/\/+$/, ""));
        console.log(
          `${created ? "pushed" : "already there"}: dataset ${name} ${fingerprint.slice(0, 12)}`,
        );
      }
      return 0;
    }
    if (action === "list") {
      for (const d of await stores.data?.list() ?? []) {
        console.log(`dataset ${d.name} ${d.fingerprint.slice(0, 12)}`);
      }
      for (const r of await stores.runs.list()) {
        console.log(
          `${r.experiment}/${r.runId}  ${r.status}  config ${r.configHash.slice(0, 8)}  model ${
            r.modelHash.slice(0, 12) || "—"
          }`,
        );
      }
      return 0;
    }
    if (action === "push") {
      for (const dir of rest) {
        const stored = await stores.runs.put(dir.replace(/\/+$/, ""));
        console.log(`${stored ? "pushed" : "already there"}: ${dir}`);
      }
      return 0;
    }
    const dir = await stores.runs.pull(rest[0], v.results);
    console.log(`pulled run to ${dir}`);
    if (v.model) {
      const record = await stores.runs.get(rest[0]);
      const hash = record?.model?.modelHash;
      if (!hash) {
        console.error(`Run "${rest[0]}" names no model`);
        return 1;
      }
      const model = await stores.models.load(hash);
      if (!model) {
        console.error(`Model ${hash.slice(0, 12)} of run "${rest[0]}" is not in "${v.store}"`);
        return 1;
      }
      const saved = await new FileModelStore(v.models).save(hash, model);
      console.log(`${saved ? "pulled" : "already had"} model ${hash.slice(0, 12)} in ${v.models}`);
    }
    return 0;
  } finally {
    await stores.close();
  }
}

if (import.meta.main) Deno.exit(await storeCommand(Deno.args));
