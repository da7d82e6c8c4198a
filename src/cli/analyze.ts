/**
 * `deno task analyze RUN_ID`: run the analysis block (ablation, Shapley values,
 * loss targets) on a finished run's stored model and update its report.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { analyzeRun } from "../pipeline.ts";
import { FileModelStore } from "../store/model_store.ts";
import { findRun } from "../store/run_record.ts";

const USAGE =
  "Usage: deno task analyze RUN_ID [--set analysis.shap.enabled=true]... [--results DIR] [--store DIR]";

/**
 * Analyze a stored run.
 *
 * @param args command-line arguments after `analyze`
 * @returns 0 on success, 2 on bad usage
 */
export async function analyzeCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        set: { type: "string", multiple: true },
        results: { type: "string", default: "results" },
        store: { type: "string", default: ".alfred/models" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  const ref = parsed.positionals[0];
  const dir = /[\\/]/.test(ref) ? ref : (await findRun(parsed.values.results, ref)).dir;
  const record = await analyzeRun(dir, {
    store: new FileModelStore(parsed.values.store),
    set: parsed.values.set,
    log: (line) => console.log(line),
  });
  const sections = Object.keys(record.analysis ?? {}).join(", ");
  console.log(`analysis (${sections}) written to ${dir}/report.md`);
  return 0;
}
