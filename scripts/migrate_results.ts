/**
 * Rewrite every run under a results folder at the current record version: `record.json` with
 * its tables as Parquet beside it, and the report and plots rendered again from the record.
 * Reading a run migrates an older record anyway (once, on read); this makes the files on disk
 * match, and drops what older versions wrote beside the record (`metrics.json`).
 *
 * ```
 * deno run --allow-read --allow-write=results --allow-env --allow-ffi --allow-sys scripts/migrate_results.ts [DIR]
 * ```
 *
 * Each run is rewritten atomically (`rewriteRunRecord`); the script prints each run's bytes
 * before and after.
 *
 * @module
 */
import { listRuns, readRunRecord, rewriteRunRecord } from "../src/store/run_record.ts";
import { RESULTS_DIR } from "../src/paths.ts";
import { reportFiles } from "../src/report/report.ts";

/** Bytes of the files in a folder. */
function folderBytes(dir: string): number {
  let total = 0;
  for (const e of Deno.readDirSync(dir)) {
    if (e.isFile) total += Deno.statSync(`${dir}/${e.name}`).size;
  }
  return total;
}

/**
 * Rewrite every run of a results folder.
 *
 * @param resultsDir the results folder
 * @param log one line per run
 * @returns bytes before and after, summed over the runs
 */
export async function migrateResults(
  resultsDir: string,
  log: (line: string) => void = console.log,
): Promise<{ before: number; after: number }> {
  let before = 0, after = 0;
  for (const run of await listRuns(resultsDir)) {
    const was = folderBytes(run.dir);
    await rewriteRunRecord(run.dir, await readRunRecord(run.dir), reportFiles);
    const now = folderBytes(run.dir);
    before += was;
    after += now;
    log(
      `${run.experiment}/${run.runId}: ${(was / 1024).toFixed(0)} KB -> ${
        (now / 1024).toFixed(0)
      } KB`,
    );
  }
  return { before, after };
}

if (import.meta.main) {
  const { before, after } = await migrateResults(Deno.args[0] ?? RESULTS_DIR);
  console.log(`${(before / 2 ** 20).toFixed(2)} MB -> ${(after / 2 ** 20).toFixed(2)} MB`);
}
