/**
 * Datasets an experiment generates (`data.synth`) instead of reading from `data/`: generated once
 * by {@linkcode writeSynthetic} into a git-ignored cache folder and reused.
 *
 * A cached dataset is the folder `<cache>/<name>-<key16>/` (default cache `.alfred/synth/`), where
 * the key is the sha256 of the generator's parameters as it runs them (every default filled in),
 * the dataset's name and the generator's version: the sha256 of the source files that decide its
 * bytes ({@linkcode SYNTH_GENERATOR_SOURCES}). Changing a parameter, the name or the generator
 * gives another folder, so a changed generator regenerates and nothing stale is read. A dataset is
 * written into a temporary folder beside its target and renamed into place when complete; when
 * two processes generate the same dataset at once the first rename wins and the other drops its
 * copy, so a reader never sees a half-written folder.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { canonicalJson } from "../config/hash.ts";
import type { Experiment, SynthConfig } from "../config/schema.ts";
import { SYNTH_CACHE_DIR } from "../paths.ts";
import { claimFolder, removeStaleTemps, tempName } from "../store/temp.ts";
import { type Dataset, DatasetNotFoundError, loadDataset, loadDatasetFolder } from "./dataset.ts";
import { SYNTH_DEFAULTS, syntheticCalendar, type SynthParams, writeSynthetic } from "./synth.ts";

/**
 * The source files (relative to this module) whose text is the generator's version: the generator
 * itself, the dataset writer (Parquet bytes, manifest text) and the news time rule the generator
 * imports. `tests/data_synth_cache_test.ts` checks the list covers the generator's own imports.
 */
export const SYNTH_GENERATOR_SOURCES: readonly string[] = [
  "./synth.ts",
  "./dataset.ts",
  "../news/point_in_time.ts",
];

/** The cache's own layout version: raise it to orphan every cached dataset. */
export const SYNTH_CACHE_FORMAT = 1;

/** A dataset `data.synth` asks for: what is generated, and where it is cached. */
export interface SynthSource {
  /** The generator's parameters as it runs them: every default filled in, the name included. */
  params: SynthParams & { name: string; sectors: number; tailDf: number };
  /** The generator's version: sha256 (hex) of {@linkcode SYNTH_GENERATOR_SOURCES}. */
  generator: string;
  /** The cache key: sha256 (hex) of the format, the generator's version and the parameters. */
  key: string;
  /** The cached dataset's folder, `<cache>/<name>-<key16>`. */
  dir: string;
}

/** Where the cache is and which generator version to key it by. */
export interface SynthCacheOptions {
  /** The cache folder (default `.alfred/synth`, relative to the working folder). */
  cacheDir?: string;
  /** The generator's version (default {@linkcode synthGeneratorVersion}; tests pin their own). */
  generator?: string;
}

/**
 * The generator's parameters of a `data.synth` block: its keys in camelCase, the defaults the
 * generator would take written out (sectors: 4, or the tickers when fewer; tail_df: 5) and the
 * dataset's name; optional parameters that are absent stay absent (the generator's tables differ
 * between absent and 0 for none of them, but the manifest does for `news_signal`).
 *
 * @param synth the experiment's `data.synth`
 * @param name the dataset's name (`data.dataset`)
 * @returns the parameters, as {@linkcode writeSynthetic} takes them
 * @example
 * ```ts
 * synthParams({ seed: 7, tickers: 3, from: "2010-01-01", to: "2012-12-31", signal: 1, tail_df: 5 }, "s");
 * // { seed: 7, tickers: 3, ..., sectors: 3, tailDf: 5, name: "s" }
 * ```
 */
export function synthParams(synth: SynthConfig, name: string): SynthSource["params"] {
  return {
    seed: synth.seed,
    tickers: synth.tickers,
    from: synth.from,
    to: synth.to,
    signal: synth.signal,
    sectors: synth.sectors ?? Math.min(SYNTH_DEFAULTS.sectors, synth.tickers),
    tailDf: synth.tail_df,
    name,
    ...(synth.turnover === undefined ? {} : { turnover: synth.turnover }),
    ...(synth.news_signal === undefined ? {} : { newsSignal: synth.news_signal }),
    ...(synth.shape_signal === undefined ? {} : { shapeSignal: synth.shape_signal }),
  };
}

let generatorVersion: Promise<string> | undefined;

/**
 * The generator's version: the sha256 (hex) over the text of {@linkcode SYNTH_GENERATOR_SOURCES},
 * each framed by its path and length. Any edit to them, even a comment, makes it new (and the
 * cached datasets are generated again: cheap next to reading a stale one).
 *
 * @returns the digest, computed once per process
 * @throws {Error} when a source file cannot be read (Alfred runs from a checkout)
 */
export function synthGeneratorVersion(): Promise<string> {
  generatorVersion ??= (async () => {
    const enc = new TextEncoder();
    const parts: Uint8Array[] = [];
    for (const rel of SYNTH_GENERATOR_SOURCES) {
      const bytes = await Deno.readFile(new URL(rel, import.meta.url));
      parts.push(enc.encode(`${rel}\n${bytes.length}\n`), bytes);
    }
    return await sha256(parts);
  })();
  return generatorVersion;
}

async function sha256(parts: readonly Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Where the dataset of an experiment's `data.synth` is cached, and under which key. Nothing is
 * read but the generator's sources, nothing is written.
 *
 * @param synth the experiment's `data.synth`
 * @param name the dataset's name (`data.dataset`)
 * @param options the cache folder and the generator's version
 * @returns the parameters, the generator's version, the key and the folder
 * @example
 * ```ts
 * const source = await synthSource(e.data.synth!, e.data.dataset);
 * source.dir; // ".alfred/synth/synth-s7-k3000-1f0c…"
 * ```
 */
export async function synthSource(
  synth: SynthConfig,
  name: string,
  options: SynthCacheOptions = {},
): Promise<SynthSource> {
  const params = synthParams(synth, name);
  const generator = options.generator ?? await synthGeneratorVersion();
  const key = await sha256([
    new TextEncoder().encode(canonicalJson({ format: SYNTH_CACHE_FORMAT, generator, params })),
  ]);
  const dir = join(options.cacheDir ?? SYNTH_CACHE_DIR, `${name}-${key.slice(0, 16)}`);
  return { params, generator, key, dir };
}

/**
 * Whether the span of a `data.synth` block holds enough trading days for the generator (130): a
 * check that needs the generator's calendar, so it is made with the data checks, not the schema.
 *
 * @param synth the experiment's `data.synth`
 * @returns null when it does, else what is wrong (for `data.synth.to`)
 */
export function synthSpanProblem(synth: SynthConfig): string | null {
  if (synth.from >= synth.to) return null; // the schema's cross-field rules say so
  const days = syntheticCalendar(synth.from, synth.to).length;
  return days >= 130 ? null : `expected at least 130 trading days from data.synth.from ` +
    `("${synth.from}"), found ${days} up to "${synth.to}"`;
}

async function hasManifest(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(join(dir, "manifest.json"))).isFile;
  } catch {
    return false;
  }
}

/** What {@linkcode ensureSynthDataset} did. */
export interface SynthEnsured {
  /** True when this call generated the dataset; false when it was cached (or another won). */
  generated: boolean;
  /** Seconds spent generating (0 when cached). */
  seconds: number;
}

/**
 * Makes sure a cached dataset exists: generates it when its folder is missing, inside a temporary
 * folder beside it (`.tmp-<folder>-<random>.<pid>@<host>`, locked by this process while it
 * writes) and renames it into place when complete. When another process renamed its copy first,
 * this one's is removed and theirs is kept (the same bytes). Temporaries of killed generators
 * (their lock free) are removed first.
 *
 * @param source the dataset ({@linkcode synthSource})
 * @param log one line when it generates, and when it is done
 * @returns whether it generated and how long that took
 * @throws {RangeError} when the generator refuses the parameters
 */
export async function ensureSynthDataset(
  source: SynthSource,
  log: (line: string) => void = () => {},
): Promise<SynthEnsured> {
  if (await hasManifest(source.dir)) return { generated: false, seconds: 0 };
  const p = source.params;
  log(
    `generating synthetic dataset "${p.name}" (${p.tickers} tickers, ${p.from}..${p.to}, ` +
      `signal ${p.signal}) into ${source.dir}`,
  );
  const t0 = performance.now();
  const parent = dirname(source.dir);
  await Deno.mkdir(parent, { recursive: true });
  // What killed generators left behind goes first; a live one's folder is locked and kept.
  await removeStaleTemps(parent, { log: (line) => log(`cleanup: ${line}`) });
  const label = `${basename(source.dir)}-${crypto.randomUUID().slice(0, 8)}`;
  const holding = join(parent, tempName(".tmp-", label));
  await Deno.mkdir(holding);
  const lock = await claimFolder(holding);
  try {
    const tmp = join(holding, "dataset");
    await writeSynthetic(tmp, p);
    try {
      await Deno.rename(tmp, source.dir);
    } catch (e) {
      // Another process renamed its complete copy first: keep theirs (the same bytes).
      if (!(await hasManifest(source.dir))) throw e;
      return { generated: false, seconds: 0 };
    }
  } finally {
    await Deno.remove(holding, { recursive: true }).catch(() => {});
    lock.release();
  }
  const seconds = (performance.now() - t0) / 1000;
  log(`generated synthetic dataset "${p.name}" in ${seconds.toFixed(1)} s`);
  return { generated: true, seconds };
}

/** The dataset an experiment reads, and the synthetic source it came from, if generated. */
export interface ExperimentDataset {
  dataset: Dataset;
  /** Set when the experiment has `data.synth`. */
  synth?: SynthSource;
}

/** Options of {@linkcode loadExperimentDataset}. */
export interface LoadExperimentDatasetOptions extends SynthCacheOptions {
  /** Generate a missing `data.synth` dataset (default true); false: a missing one is not found. */
  generate?: boolean;
  /** One line when a dataset is generated. */
  log?: (line: string) => void;
}

/**
 * The dataset an experiment reads: `data.dataset` from the data roots, or with `data.synth` the
 * cached dataset (generated first when missing, unless `generate: false`).
 *
 * @param e the resolved experiment
 * @param options the cache, whether to generate, a log
 * @returns the dataset and, for `data.synth`, its source
 * @throws {DatasetNotFoundError} for `data.synth` with `generate: false` when it is not cached
 * @throws {DatasetError} as {@linkcode loadDataset} does
 * @example
 * ```ts
 * const { dataset, synth } = await loadExperimentDataset(e);
 * ```
 */
export async function loadExperimentDataset(
  e: Experiment,
  options: LoadExperimentDatasetOptions = {},
): Promise<ExperimentDataset> {
  const spec = e.data.synth;
  if (!spec) return { dataset: await loadDataset(e.data.dataset) };
  const synth = await synthSource(spec, e.data.dataset, options);
  if (options.generate === false) {
    if (!(await hasManifest(synth.dir))) {
      throw new DatasetNotFoundError(
        `Dataset "${e.data.dataset}" (data.synth) is not generated yet: no folder "${synth.dir}"`,
        e.data.dataset,
      );
    }
  } else {
    await ensureSynthDataset(synth, options.log);
  }
  return { dataset: await loadDatasetFolder(synth.dir, e.data.dataset), synth };
}
