/**
 * Run records on disk: `results/<experiment>/<run-id>/` holds `record.json` (the record without
 * its tables, see `src/record/tables.ts`), one Parquet file per table, `predictions.parquet`,
 * `config.yaml` (the resolved config, runnable), and the files a caller renders from the record
 * (the report and its plots). Folders are written atomically; records are validated against
 * the schema (`src/record/schema.ts`) when written and when read, and older records are
 * migrated as they are read.
 *
 * @module
 */
import { compareStrings } from "@alfred/core";
import {
  EXPERIMENT_NAME_PATTERN,
  isTableName,
  joinRecord,
  parseRecord,
  type PredictionRow,
  RecordError,
  recordHeadJson,
  RUN_ID_PATTERN,
  type RunRecord,
  splitRecord,
  TABLE_NAMES,
  tableFile,
} from "../record/mod.ts";
import {
  experimentDir,
  RECORD_FILE,
  recordFile,
  RUN_TEMP_PATTERN,
  runDir,
  runTempDir,
  SEEDS_TEMP_PATTERN,
  seedsTempDir,
} from "../paths.ts";
import { readPredictions, readTable, writePredictions, writeTables } from "./run_tables.ts";
import {
  claimFolder,
  OWNER_FILE,
  type RemovedTemp,
  removeIfExists,
  removeStaleTemps,
  type TempLock,
  tempName,
} from "./temp.ts";

// The store's callers get the record's types from here too.
export { RUN_ID_PATTERN };
export type {
  MetricSet,
  PredictionRow,
  RunBacktest,
  RunEnvironment,
  RunFold,
  RunMetrics,
  RunRecord,
  RunStatus,
} from "../record/mod.ts";

/**
 * A run id: the UTC start time `YYYYMMDDTHHMMSSZ` and the first 8 hex digits of the config hash;
 * the second and later runs of one config started in the same second get a sequence number after
 * the time (`YYYYMMDDTHHMMSSZ.2-<hash8>`), handed out by {@linkcode reserveRunId}. Sorting run ids
 * as strings sorts runs by start time.
 *
 * @param date when the run started
 * @param configHash the config hash (hex, at least 8 characters)
 * @param sequence 1 for the first run of the second (no number), 2 and up for later ones
 * @returns e.g. `20260101T120000Z-ab12cd34`, or `20260101T120000Z.2-ab12cd34`
 * @throws {RangeError} when the date is invalid, the hash is shorter than 8 hex digits or the
 *   sequence is not an integer >= 1
 * @example
 * ```ts
 * newRunId(new Date("2026-01-01T12:00:00Z"), "ab12cd34ef"); // "20260101T120000Z-ab12cd34"
 * ```
 */
export function newRunId(date: Date, configHash: string, sequence = 1): string {
  if (Number.isNaN(date.getTime())) {
    throw new RangeError("Cannot make a run id: the date is invalid");
  }
  const hash8 = configHash.slice(0, 8).toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(hash8)) {
    throw new RangeError(
      `Cannot make a run id from config hash "${configHash}": expected at least 8 hex digits`,
    );
  }
  if (!Number.isInteger(sequence) || sequence < 1) {
    throw new RangeError(`Cannot make a run id: sequence "${sequence}" is not an integer >= 1`);
  }
  const iso = date.toISOString(); // 2026-01-01T12:00:00.000Z
  const stamp = iso.slice(0, 19).replace(/[-:]/g, "") + "Z";
  return `${stamp}${sequence > 1 ? `.${sequence}` : ""}-${hash8}`;
}

/** A finished run directory found under the results folder. */
export interface RunEntry {
  /** Experiment name (its folder). */
  experiment: string;
  /** Run id (its folder). */
  runId: string;
  /** `results/<experiment>/<run-id>` */
  dir: string;
}

/**
 * Renders files from a record, e.g. the report and its plots: file name → text. The store writes
 * them into the run's folder with the record, so a run is never seen without them.
 */
export type RenderRun = (
  record: RunRecord,
  predictions: PredictionRow[],
) => Promise<Record<string, string>>;

/** What {@linkcode writeRunRecord} writes beside the record. */
export interface RunExtras {
  /** The eval predictions, written as `predictions.parquet`. */
  predictions?: PredictionRow[];
  /** Files rendered from the record (the report and its plots). */
  render?: RenderRun;
}

/** Files the store writes itself; a rendered file may not take their names. */
const RECORD_FILES = new Set([
  RECORD_FILE,
  "config.yaml",
  "predictions.parquet",
  OWNER_FILE,
  ...TABLE_NAMES.map(tableFile),
]);

/**
 * A run id held by this process: its temporary folder `results/<experiment>/.tmp-<run-id>/`
 * exists, with a marker this process holds locked (see `temp.ts`), until the run's files are
 * renamed to `results/<experiment>/<run-id>/`. An id is taken while either folder exists, so two
 * runs never share one.
 */
export interface RunReservation {
  runId: string;
  experiment: string;
  /** Where the run's files are written. */
  tmpDir: string;
  /** Where they end up. */
  finalDir: string;
  /** The lock on the temporary folder's marker, released once the folder is renamed or removed. */
  lock: TempLock;
  /** Folders the reservation created above its temporary one (the experiment's, the results'), innermost first. */
  created: string[];
}

/** Claims `runId` exclusively: null when another run holds or has written it. */
async function claimRunId(
  resultsDir: string,
  experiment: string,
  runId: string,
): Promise<RunReservation | null> {
  const experimentFolder = experimentDir(resultsDir, experiment);
  const tmpDir = runTempDir(resultsDir, experiment, runId);
  const finalDir = runDir(resultsDir, experiment, runId);
  const created: string[] = [];
  for (const d of [experimentFolder, resultsDir]) if (!(await exists(d))) created.push(d);
  for (let attempt = 0;; attempt++) {
    await Deno.mkdir(experimentFolder, { recursive: true });
    try {
      await Deno.mkdir(tmpDir); // exclusive: fails when another run holds the id
      break;
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) return null;
      // A failed run's release removed the then-empty experiment folder in between.
      if (e instanceof Deno.errors.NotFound && attempt < 5) continue;
      throw e;
    }
  }
  // A finished run renamed its temporary folder away: the id is still taken.
  if (await exists(finalDir)) {
    await Deno.remove(tmpDir, { recursive: true });
    return null;
  }
  return { runId, experiment, tmpDir, finalDir, lock: await claimFolder(tmpDir), created };
}

/**
 * Reserve a new run id for a run of `configHash` started at `date`: the first of
 * `YYYYMMDDTHHMMSSZ-<hash8>`, `YYYYMMDDTHHMMSSZ.2-<hash8>`, … that no other run holds or has
 * written, claimed by creating its temporary folder exclusively. Runs started in the same second,
 * in one process or several, get different ids.
 *
 * @param resultsDir the results folder
 * @param experiment the experiment's name
 * @param date when the run started
 * @param configHash the config hash
 * @returns the reservation; pass it to {@linkcode writeRunRecord}, or {@linkcode releaseRunId}
 * @throws {RangeError} for an unsafe experiment name, or when 1000 ids of that second are taken
 * @example
 * ```ts
 * const reservation = await reserveRunId("results", e.name, new Date(), hash);
 * ```
 */
export async function reserveRunId(
  resultsDir: string,
  experiment: string,
  date: Date,
  configHash: string,
): Promise<RunReservation> {
  for (let sequence = 1; sequence <= 1000; sequence++) {
    const runId = newRunId(date, configHash, sequence);
    checkNames(experiment, runId);
    const r = await claimRunId(resultsDir, experiment, runId);
    if (r) return r;
  }
  throw new RangeError(
    `Cannot reserve a run id for "${experiment}": 1000 runs of config ${
      configHash.slice(0, 8)
    } started in the second ${date.toISOString().slice(0, 19)}Z`,
  );
}

/**
 * Give a reserved run id back without writing the run (it failed): its temporary folder goes.
 *
 * @param reservation what {@linkcode reserveRunId} returned
 */
export async function releaseRunId(reservation: RunReservation): Promise<void> {
  try {
    await Deno.remove(reservation.tmpDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  } finally {
    reservation.lock.release();
  }
  // A failed run leaves nothing: the folders the reservation made go too, when nothing else is
  // in them (removing a non-empty folder fails).
  for (const dir of reservation.created) {
    try {
      await Deno.remove(dir);
    } catch {
      break; // another run's files are there, or it is gone already
    }
  }
}

/**
 * Write a run's folder atomically: everything goes to `results/<experiment>/.tmp-<run-id>/` (the
 * reservation's, or one claimed here for `record.runId`), which is renamed to
 * `results/<experiment>/<run-id>/` only once every file is written. An error removes the
 * temporary folder; a crash mid-way leaves it, and {@linkcode listRuns} ignores it
 * (`.gitignore` excludes it) until {@linkcode removeStaleRunTemps} removes it. Interrupted and
 * failed runs are written too, with their status in the record.
 *
 * Files: `config.yaml`, `record.json`, one Parquet file per table with rows,
 * `predictions.parquet` (when predictions are given), and what `extras.render` returns.
 *
 * @param resultsDir the results folder (e.g. `results`)
 * @param record the run record; validated against the schema first
 * @param extras the predictions, and the files to render from the record
 * @param reservation the run id reserved by {@linkcode reserveRunId} (default: claim
 *   `record.runId` now)
 * @returns the finished run's folder
 * @throws {RangeError} when the experiment name or run id is not a safe folder name, or the
 *   reservation is of another run
 * @throws {RecordError} when the record is not what the schema says (naming each field)
 * @throws {Error} when the run id is taken (written, or being written by another run), or any
 *   file cannot be written
 * @example
 * ```ts
 * const dir = await writeRunRecord("results", record, { predictions, render: reportFiles });
 * ```
 */
export async function writeRunRecord(
  resultsDir: string,
  record: RunRecord,
  extras: RunExtras = {},
  reservation?: RunReservation,
): Promise<string> {
  checkNames(record.experiment, record.runId);
  if (
    reservation &&
    (reservation.runId !== record.runId || reservation.experiment !== record.experiment)
  ) {
    throw new RangeError(
      `Cannot write run "${record.experiment}/${record.runId}" into the reservation of "${reservation.experiment}/${reservation.runId}"`,
    );
  }
  const finalDir = runDir(resultsDir, record.experiment, record.runId);
  const checked = parseRecord(record, recordFile(finalDir));
  const own = reservation ?? await claimRunId(resultsDir, record.experiment, record.runId);
  if (!own) {
    throw new Error(
      `Cannot write run "${record.runId}": ${
        await exists(finalDir) ? `"${finalDir}" already exists` : "another run is writing it"
      }`,
    );
  }
  try {
    await writeRunFiles(own.tmpDir, checked, extras.predictions, extras.render);
    // The marker goes first (still locked: a cleaner sees a fresh folder without one and keeps it).
    await Deno.remove(join(own.tmpDir, OWNER_FILE)).catch(() => {});
    await Deno.rename(own.tmpDir, own.finalDir);
  } catch (e) {
    await releaseRunId(own).catch(() => {});
    throw e;
  }
  own.lock.release();
  return own.finalDir;
}

/**
 * Remove the temporary folders of runs whose process has ended (killed mid-run or mid-write, or
 * a second Ctrl-C): `results/<experiment>/.tmp-*` and the folders of later seeds' runs
 * (`results/.seeds-*`, see {@linkcode withDroppedRuns}) whose marker is no longer locked by its
 * process, or without a marker and older than an hour. A live run's folder is never touched.
 *
 * @param resultsDir the results folder
 * @param log told about each removal
 * @returns what was removed
 */
export async function removeStaleRunTemps(
  resultsDir: string,
  log?: (line: string) => void,
): Promise<RemovedTemp[]> {
  const removed: RemovedTemp[] = await removeStaleTemps(resultsDir, {
    match: SEEDS_TEMP_PATTERN,
    log,
  });
  for (const experiment of experimentNames(resultsDir)) {
    removed.push(
      ...await removeStaleTemps(experimentDir(resultsDir, experiment), {
        match: RUN_TEMP_PATTERN,
        log,
      }),
    );
  }
  return removed;
}

/**
 * Run `f` with a results folder for runs that are read and then dropped (the later seeds of a
 * multi-seed run, whose results go into the first seed's record): `results/.seeds-<label>.<owner>`,
 * claimed by this process, so that {@linkcode removeStaleRunTemps} takes it only once the process
 * has ended (however it ended), and removed when `f` returns or throws.
 *
 * @param resultsDir the results folder
 * @param label what names the folder (a run id, a job id)
 * @param f the work, given the folder
 * @returns what `f` returns
 */
export async function withDroppedRuns<T>(
  resultsDir: string,
  label: string,
  f: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = seedsTempDir(resultsDir, tempName("", label));
  await Deno.mkdir(dir, { recursive: true });
  const lock = await claimFolder(dir);
  try {
    return await f(dir);
  } finally {
    // Removed while still claimed: no cleaner sees it unclaimed.
    await removeIfExists(dir).finally(() => lock.release());
  }
}

/** Every file of a run into `dir`: the config, the record, its tables, predictions, renders. */
async function writeRunFiles(
  dir: string,
  record: RunRecord,
  predictions: PredictionRow[] | undefined,
  render: RenderRun | undefined,
): Promise<void> {
  const { head, tables } = splitRecord(record);
  await Deno.writeTextFile(join(dir, "config.yaml"), record.configYaml.replace(/\n*$/, "\n"));
  await Deno.writeTextFile(recordFile(dir), recordHeadJson(head));
  await writeTables(dir, tables);
  if (predictions !== undefined && predictions.length > 0) {
    await writePredictions(join(dir, "predictions.parquet"), predictions);
  }
  if (!render) return;
  for (const [file, text] of Object.entries(await render(record, predictions ?? []))) {
    if (!/^[\w.-]+$/.test(file) || RECORD_FILES.has(file)) {
      throw new RangeError(`Cannot write rendered file "${file}" into a run folder`);
    }
    await Deno.writeTextFile(join(dir, file), text);
  }
}

/**
 * Replace a finished run's record (e.g. with a new `analysis`, or an older record with its
 * migration) and its rendered files, without ever leaving a half-written run: the new folder is
 * built beside the old one as `.tmp-<run-id>-rewrite-<random>.<owner>` (the predictions copied
 * over), then swapped in with two renames. Files of the old folder that the new one does not
 * write (an older version's files) are gone afterwards.
 *
 * @param dir the run's folder (`results/<experiment>/<run-id>`)
 * @param record the new record; its run id and experiment must match the folder's
 * @param render files to render from the record (the report and its plots)
 * @throws {RangeError} when the record belongs to another run
 * @throws {RecordError} when the record is not what the schema says
 * @example
 * ```ts
 * await rewriteRunRecord(dir, { ...record, analysis }, reportFiles);
 * ```
 */
export async function rewriteRunRecord(
  dir: string,
  record: RunRecord,
  render?: RenderRun,
): Promise<void> {
  const old = await readRunRecord(dir);
  if (old.runId !== record.runId || old.experiment !== record.experiment) {
    throw new RangeError(
      `Cannot rewrite "${dir}" with the record of run "${record.experiment}/${record.runId}"`,
    );
  }
  const checked = parseRecord(record, recordFile(dir));
  const parent = dir.replace(/\/+$/, "").replace(/\/[^/]+$/, "");
  const tmpDir = join(
    parent,
    tempName(".tmp-", `${record.runId}-rewrite-${crypto.randomUUID().slice(0, 8)}`),
  );
  const oldDir = join(parent, `.old-${record.runId}`);
  await Deno.mkdir(tmpDir);
  try {
    const predictions = await readRunPredictions(dir);
    await writeRunFiles(tmpDir, checked, predictions, render);
  } catch (e) {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    throw e;
  }
  await Deno.rename(dir, oldDir);
  await Deno.rename(tmpDir, dir);
  await Deno.remove(oldDir, { recursive: true });
}

function checkNames(experiment: string, runId: string): void {
  if (!EXPERIMENT_NAME_PATTERN.test(experiment)) {
    throw new RangeError(
      `Cannot write a run for experiment "${experiment}": expected lower-case letters, digits, '.', '_' or '-'`,
    );
  }
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new RangeError(
      `Cannot write run "${runId}": expected a run id like 20260101T120000Z-ab12cd34`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function join(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join("/").replace(/\/+/g, "/");
}

/** The experiment folders of a results folder (dot folders skipped); none when it is missing. */
function experimentNames(resultsDir: string): string[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(resultsDir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return entries.filter((e) => e.isDirectory && !e.name.startsWith(".")).map((e) => e.name);
}

/**
 * Every finished run under a results folder: `<experiment>/<run-id>/record.json`. Temporary
 * (`.tmp-*`) and other dot folders, and folders that are not run ids, are skipped.
 *
 * @param resultsDir the results folder; a missing folder has no runs
 * @returns runs ordered by experiment name, then run id (i.e. start time)
 */
export async function listRuns(resultsDir: string): Promise<RunEntry[]> {
  const runs: RunEntry[] = [];
  for (const experiment of experimentNames(resultsDir)) {
    for await (const run of Deno.readDir(experimentDir(resultsDir, experiment))) {
      if (!run.isDirectory || !RUN_ID_PATTERN.test(run.name)) continue;
      const dir = runDir(resultsDir, experiment, run.name);
      if (!(await exists(recordFile(dir)))) continue;
      runs.push({ experiment, runId: run.name, dir });
    }
  }
  return runs.sort((a, b) =>
    compareStrings(a.experiment, b.experiment) || compareStrings(a.runId, b.runId)
  );
}

/**
 * Read a run's record: `record.json` and its tables, validated against the schema; a record of
 * an earlier version is migrated first (its tables were inside its `record.json`).
 *
 * @param dir the run folder
 * @returns the record, tables included
 * @throws {SyntaxError} when `record.json` is not JSON (naming the file)
 * @throws {RecordError} when the record or a table is not what the schema says, or a table
 *   file is missing (naming the file and the field, or the row and column)
 * @example
 * ```ts
 * const record = await readRunRecord("results/quick-direction/20260101T120000Z-ab12cd34");
 * ```
 */
export async function readRunRecord(dir: string): Promise<RunRecord> {
  return await readRunFiles(dir, (name) => readFileOrNull(join(dir, name)));
}

/**
 * Read a run's record from wherever its files are (a folder, a database): the same checks as
 * {@linkcode readRunRecord}.
 *
 * @param location where the files are, for messages (a folder, or `mongodb:…/<run-id>`)
 * @param read the bytes of a file of the run by name, or null when there is no such file
 * @returns the record, tables included
 * @throws {SyntaxError} when `record.json` is not JSON
 * @throws {RecordError} when the record or a table is not what the schema says
 */
export async function readRunFiles(
  location: string,
  read: (name: string) => Promise<Uint8Array | null>,
): Promise<RunRecord> {
  const path = recordFile(location);
  const bytes = await read(RECORD_FILE);
  if (bytes === null) throw new Deno.errors.NotFound(`No run record "${path}"`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new SyntaxError(`Cannot parse run record "${path}": ${(e as Error).message}`);
  }
  const head = isObject(parsed) ? parsed : null;
  if (!head || head.version === undefined || !isObject(head.tables)) {
    return parseRecord(parsed, path);
  }
  const tables: Record<string, unknown[]> = {};
  for (const [name, rows] of Object.entries(head.tables)) {
    if (!isTableName(name) || typeof rows !== "number") {
      throw new RecordError(path, [{
        path: ["tables", name],
        message: `expected a table of ${TABLE_NAMES.join(", ")} with its row count`,
      }]);
    }
    const file = tableFile(name);
    const data = await read(file);
    if (data === null) {
      throw new RecordError(path, [{
        path: ["tables", name],
        message: `lists ${rows} rows in "${file}", which is missing`,
      }]);
    }
    tables[name] = await readTable(name, data, join(location, file), rows);
  }
  return parseRecord(joinRecord(head, tables), path);
}

/**
 * A run's eval predictions, or none when it has no `predictions.parquet`.
 *
 * @param dir the run folder
 * @returns the rows
 * @throws {RecordError} when the file holds something other than predictions
 */
export async function readRunPredictions(dir: string): Promise<PredictionRow[]> {
  const path = join(dir, "predictions.parquet");
  const bytes = await readFileOrNull(path);
  return bytes === null ? [] : await readPredictions(bytes, path);
}

async function readFileOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Read every finished run's record under a results folder, in {@linkcode listRuns} order.
 *
 * @param resultsDir the results folder
 * @returns the records
 */
export async function loadRuns(resultsDir: string): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const entry of await listRuns(resultsDir)) out.push(await readRunRecord(entry.dir));
  return out;
}

/**
 * Find a run by its id or a unique prefix of it (e.g. `20260101T1200`), in any experiment.
 *
 * @param resultsDir the results folder
 * @param runId a run id or a prefix of one
 * @returns the run
 * @throws {RangeError} when no run, or more than one, matches (the message lists candidates)
 */
export async function findRun(resultsDir: string, runId: string): Promise<RunEntry> {
  const runs = await listRuns(resultsDir);
  const exact = runs.filter((r) => r.runId === runId);
  const matches = exact.length ? exact : runs.filter((r) => r.runId.startsWith(runId));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    throw new RangeError(`No run "${runId}" under "${resultsDir}"`);
  }
  throw new RangeError(
    `Run id "${runId}" is ambiguous: ${
      matches.map((m) => `${m.experiment}/${m.runId}`).join(", ")
    }`,
  );
}
