/**
 * `deno task data synth|import|fetch ...`: build dataset folders.
 *
 * @module
 */
import { resolve } from "node:path";
import { fingerprintFolder } from "../data/dataset.ts";
import { SYNTH_DEFAULTS, writeSynthetic } from "../data/synth.ts";
import { consoleIo, parseCommandArgs, runSubcommand, usageError } from "./args.ts";
import { DATASET_OUT_OPTION, stringOption } from "./options.ts";

const USAGE = `Usage: deno task data <subcommand> [options]

Subcommands:
  synth   generate a deterministic synthetic universe with every table and a planted signal
          (deno task data synth --help)
  import  import your own CSV or Parquet data (deno task data import --help)
  fetch   download prices and fundamentals online (deno task data fetch --help)`;

const SYNTH_USAGE =
  `Usage: deno task data synth --seed N --tickers K --from YYYY-MM-DD --to YYYY-MM-DD
         --signal S --out DIR [--sectors N] [--tail-df N] [--name NAME]
         [--news-signal S] [--turnover R] [--shape-signal S]

Generates a deterministic synthetic universe with every table and a planted signal of strength S
(0 to 10; 0 plants nothing) and writes it as a dataset folder at DIR. --sectors defaults to
${SYNTH_DEFAULTS.sectors}; --tail-df, the degrees of freedom of the Student-t shocks (lower is fatter-tailed),
to ${SYNTH_DEFAULTS.tailDf}; --name to DIR's last part. --news-signal S (0 to 10) adds a news table
whose articles' tone carries the planted score with strength S (the other tables stay the same).
--turnover R (0 to 1) lists and delists tickers over time, about R of them a year, losers more
often, and writes a universe table of when each was listed (a point-in-time universe); without it
every ticker trades throughout. --shape-signal S (0 to 10) plants a temporal shape the quarterly
features cannot see: the phase of a 4-day zigzag in each quarter's last weeks (the same daily
returns in another order, so the same quarter close and return) drives the next quarter's drift
with strength S; a daily sequence window can see it.`;

function intArg(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new TypeError(`Missing --${name}: expected an integer`);
  }
  if (!/^-?\d+$/.test(value)) {
    throw new TypeError(`Invalid --${name} "${value}": expected an integer`);
  }
  return Number(value);
}

function numArg(name: string, value: string | undefined): number {
  if (value === undefined) throw new TypeError(`Missing --${name}: expected a number`);
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v)) {
    throw new TypeError(`Invalid --${name} "${value}": expected a number`);
  }
  return v;
}

function strArg(name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new TypeError(`Missing --${name}`);
  return value;
}

/**
 * `data synth ...`: generate a synthetic dataset and write it atomically.
 *
 * @param args the arguments after `synth`
 * @returns the exit code: 0 written, 2 bad arguments
 */
export async function synthCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: SYNTH_USAGE,
    options: {
      seed: stringOption("N"),
      tickers: stringOption("K"),
      from: stringOption("YYYY-MM-DD"),
      to: stringOption("YYYY-MM-DD"),
      signal: stringOption("S"),
      sectors: stringOption("N"),
      "tail-df": stringOption("N"),
      name: stringOption("NAME"),
      "news-signal": stringOption("S"),
      turnover: stringOption("R"),
      "shape-signal": stringOption("S"),
      out: DATASET_OUT_OPTION,
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  let params;
  let out: string;
  try {
    out = resolve(strArg("out", values.out));
    params = {
      seed: intArg("seed", values.seed),
      tickers: intArg("tickers", values.tickers),
      from: strArg("from", values.from),
      to: strArg("to", values.to),
      signal: numArg("signal", values.signal),
      sectors: values.sectors === undefined ? undefined : intArg("sectors", values.sectors),
      tailDf: intArg("tail-df", values["tail-df"], SYNTH_DEFAULTS.tailDf),
      name: values.name ?? out.split(/[\\/]/).pop()!,
      ...(values["news-signal"] === undefined
        ? {}
        : { newsSignal: numArg("news-signal", values["news-signal"]) }),
      ...(values.turnover === undefined ? {} : { turnover: numArg("turnover", values.turnover) }),
      ...(values["shape-signal"] === undefined
        ? {}
        : { shapeSignal: numArg("shape-signal", values["shape-signal"]) }),
    };
  } catch (e) {
    return usageError(consoleIo, SYNTH_USAGE, (e as Error).message);
  }
  try {
    const manifest = await writeSynthetic(out, params);
    console.log(
      `Wrote synthetic dataset "${manifest.name}" to "${out}": ${manifest.tickers.length} tickers, ${manifest.from}..${manifest.to}, signal ${params.signal}, fingerprint ${await fingerprintFolder(
        out,
        manifest.tables,
      )}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof RangeError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
}

/**
 * Dispatch `deno task data <subcommand>`: `synth` here, `import` to `./data_import.ts`, `fetch`
 * to `./data_fetch.ts` (loaded only when asked for).
 *
 * @param args the arguments after `data`
 * @returns the exit code
 */
export async function dataCommand(args: string[]): Promise<number> {
  return await runSubcommand(args, {
    command: "data",
    usage: USAGE,
    subcommands: {
      synth: synthCommand,
      import: async (rest) => await (await import("./data_import.ts")).importCommand(rest),
      fetch: async (rest) => await (await import("./data_fetch.ts")).fetchCommand(rest),
    },
  });
}
