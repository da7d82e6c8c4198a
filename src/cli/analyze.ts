/**
 * `deno task analyze RUN_ID`: run the analysis block (ablation, Shapley values,
 * loss targets) on a finished run's stored model and update its report.
 *
 * @module
 */
import { analyzeRun } from "../pipeline.ts";
import { FileModelStore } from "../store/model_store.ts";
import { findRun } from "../store/run_record.ts";
import { parseCommandArgs } from "./args.ts";
import { MODELS_OPTION, repeatedOption, RESULTS_OPTION } from "./options.ts";
import { MODELS_DIR, RESULTS_DIR } from "../paths.ts";

const USAGE =
  `Usage: deno task analyze RUN [--set analysis.KEY=VALUE]... [--results DIR] [--store DIR]

Runs the analysis block (ablation, Shapley values, loss targets) on a finished run's stored model
and updates its report. RUN is a run id, an id prefix (looked up under --results, default
${RESULTS_DIR}/) or a run folder; --store is the model store (default ${MODELS_DIR}); --set changes the
analysis block, e.g. --set analysis.shap.enabled=true.`;

/**
 * Analyze a stored run.
 *
 * @param args command-line arguments after `analyze`
 * @returns 0 on success, 2 on bad usage
 */
export async function analyzeCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      set: repeatedOption("KEY=VALUE"),
      results: RESULTS_OPTION,
      store: MODELS_OPTION,
    },
    positionals: { min: 1, max: 1, name: "one run (RUN: a run id, id prefix or run folder)" },
  });
  if (typeof parsed === "number") return parsed;
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
