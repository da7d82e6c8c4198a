/**
 * Where Alfred reads and writes unless told otherwise, and how a run's folder is laid out: the
 * one place these paths are spelled. Defaults are relative to the working folder (the repository
 * root under `deno task`); the tasks' `--allow-write` in `deno.json` names the same folders.
 *
 * ```
 * results/<experiment>/<run-id>/          a finished run (record.json, report.md, tables, plots)
 * results/<experiment>/.tmp-<run-id>/     a run being written, renamed into place when complete
 * results/.seeds-<label>/                 runs of later seeds, read into the first seed's record
 * .alfred/models/                         the model store
 * .alfred/checkpoints/<key>.ckpt          training checkpoints
 * .alfred/cache/fetch/                    raw answers of the online fetchers
 * .alfred/synth/<name>-<key16>/           datasets experiments generate (`data.synth`)
 * ```
 *
 * @module
 */

/** The results folder: run records by experiment (`--results`). */
export const RESULTS_DIR = "results";

/** The model store's folder (`--store`). */
export const MODELS_DIR = ".alfred/models";

/** The folder of training checkpoints (`--checkpoints`). */
export const CHECKPOINTS_DIR = ".alfred/checkpoints";

/** The cache of language-model news digests (`RunOptions.newsCacheDir`). */
export const NEWS_CACHE_DIR = ".alfred/news-cache";

/** The portfolio manager's store of analysts' out-of-sample signal tables (`--signals`). */
export const SIGNALS_DIR = ".alfred/signals";

/** The online fetchers' cache of raw responses (`--cache-dir`). */
export const FETCH_CACHE_DIR = ".alfred/cache/fetch";

/** The cache of datasets experiments generate (`data.synth`), keyed by their parameters. */
export const SYNTH_CACHE_DIR = ".alfred/synth";

/** The results journal, regenerated from the results folder (`--out` of `deno task journal`). */
export const JOURNAL_FILE = "JOURNAL.md";

/** The file of a run's folder that holds its record. */
export const RECORD_FILE = "record.json";

/** What the name of a run's temporary folder starts with (`.tmp-<run-id>`). */
export const RUN_TEMP_PREFIX = ".tmp-";

/** Matches the name of a run's temporary folder. */
export const RUN_TEMP_PATTERN: RegExp = new RegExp(`^${RUN_TEMP_PREFIX.replaceAll(".", "\\.")}`);

/** What the name of a folder of runs that are read and dropped starts with (`.seeds-<label>`). */
export const SEEDS_TEMP_PREFIX = ".seeds-";

/** Matches the name of a folder of runs that are read and dropped. */
export const SEEDS_TEMP_PATTERN: RegExp = new RegExp(
  `^${SEEDS_TEMP_PREFIX.replaceAll(".", "\\.")}`,
);

/**
 * Joins path parts with `/`, skipping empty parts and collapsing repeated slashes (a trailing
 * slash on a folder option is harmless); `.` and `..` are kept as given.
 */
function joinParts(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join("/").replace(/\/+/g, "/");
}

/**
 * The folder of an experiment's runs.
 *
 * @param resultsDir the results folder
 * @param experiment the experiment's name
 * @returns `<resultsDir>/<experiment>`
 * @example
 * ```ts
 * experimentDir("results/", "quick-direction"); // "results/quick-direction"
 * ```
 */
export function experimentDir(resultsDir: string, experiment: string): string {
  return joinParts(resultsDir, experiment);
}

/**
 * A finished run's folder.
 *
 * @param resultsDir the results folder
 * @param experiment the experiment's name
 * @param runId the run id (`YYYYMMDDTHHMMSSZ-<hash8>`)
 * @returns `<resultsDir>/<experiment>/<run-id>`
 * @example
 * ```ts
 * runDir("results", "quick-direction", "20260101T120000Z-ab12cd34");
 * // "results/quick-direction/20260101T120000Z-ab12cd34"
 * ```
 */
export function runDir(resultsDir: string, experiment: string, runId: string): string {
  return joinParts(resultsDir, experiment, runId);
}

/**
 * The temporary folder a run is written to before it is renamed to {@linkcode runDir}.
 *
 * @param resultsDir the results folder
 * @param experiment the experiment's name
 * @param runId the run id
 * @returns `<resultsDir>/<experiment>/.tmp-<run-id>`
 * @example
 * ```ts
 * runTempDir("results", "quick-direction", "20260101T120000Z-ab12cd34");
 * // "results/quick-direction/.tmp-20260101T120000Z-ab12cd34"
 * ```
 */
export function runTempDir(resultsDir: string, experiment: string, runId: string): string {
  return joinParts(resultsDir, experiment, `${RUN_TEMP_PREFIX}${runId}`);
}

/**
 * The folder that the runs of a multi-seed run's later seeds are written to: their results are
 * read into the first seed's record, and the folder removed.
 *
 * @param resultsDir the results folder
 * @param label what names it (a run id, a job id), with its owner (`tempName`)
 * @returns `<resultsDir>/.seeds-<label>`
 * @example
 * ```ts
 * seedsTempDir("results", "20260101T120000Z-ab12cd34.123@host");
 * // "results/.seeds-20260101T120000Z-ab12cd34.123@host"
 * ```
 */
export function seedsTempDir(resultsDir: string, label: string): string {
  return joinParts(resultsDir, `${SEEDS_TEMP_PREFIX}${label}`);
}

/**
 * The record file of a run's folder.
 *
 * @param dir the run's folder
 * @returns `<dir>/record.json`
 * @example
 * ```ts
 * recordFile("results/quick-direction/20260101T120000Z-ab12cd34");
 * // "results/quick-direction/20260101T120000Z-ab12cd34/record.json"
 * ```
 */
export function recordFile(dir: string): string {
  return joinParts(dir, RECORD_FILE);
}

/**
 * A training checkpoint's file.
 *
 * @param checkpointDir the checkpoint folder (default {@linkcode CHECKPOINTS_DIR})
 * @param key what identifies the training (the model's hash)
 * @returns `<checkpointDir>/<key>.ckpt`
 * @example
 * ```ts
 * checkpointFile(undefined, "ab12"); // ".alfred/checkpoints/ab12.ckpt"
 * ```
 */
export function checkpointFile(checkpointDir: string | undefined, key: string): string {
  return `${checkpointDir ?? CHECKPOINTS_DIR}/${key}.ckpt`;
}

/** The folders of a shared `file:` store (`deno task store`, workers' `--store file:ROOT`). */
export interface SharedStoreDirs {
  /** The shared model store: `ROOT/models`. */
  models: string;
  /** The shared results, laid out like {@linkcode RESULTS_DIR}: `ROOT/results`. */
  results: string;
  /** Shared datasets by fingerprint: `ROOT/data`. */
  data: string;
}

/**
 * The folders of a shared `file:` store.
 *
 * @param root the share's folder
 * @returns its models, results and data folders
 * @example
 * ```ts
 * sharedStoreDirs("/mnt/share/alfred/").results; // "/mnt/share/alfred/results"
 * ```
 */
export function sharedStoreDirs(root: string): SharedStoreDirs {
  const base = root.replace(/\/+$/, "");
  return { models: `${base}/models`, results: `${base}/results`, data: `${base}/data` };
}
