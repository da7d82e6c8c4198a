/**
 * `deno task data synth|import|fetch ...`: build dataset folders.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { fingerprintFolder } from "../data/dataset.ts";
import { SYNTH_DEFAULTS, writeSynthetic } from "../data/synth.ts";

const USAGE = `Usage: deno task data <subcommand> [options]

Subcommands:
  synth   --seed N --tickers K --from YYYY-MM-DD --to YYYY-MM-DD --signal S --out DIR
          [--sectors N] [--tail-df N] [--name NAME]
          generate a deterministic synthetic universe with every table and a planted signal
  import  ...   import your own CSV or Parquet data (deno task data import --help)
  fetch   ...   download prices and fundamentals online (deno task data fetch --help)`;

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
  let params;
  let out: string;
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: "string" },
        tickers: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        signal: { type: "string" },
        sectors: { type: "string" },
        "tail-df": { type: "string" },
        name: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
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
    };
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
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
 * Dispatch `deno task data <subcommand>`: `synth` here, `import` to `src/data/import.ts`,
 * `fetch` to `src/data/fetch/mod.ts`.
 *
 * @param args the arguments after `data`
 * @returns the exit code
 */
export async function dataCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "synth":
      return await synthCommand(rest);
    case "import":
      return await (await import("../data/import.ts")).importCommand(rest);
    case "fetch":
      return await (await import("../data/fetch/mod.ts")).fetchCommand(rest);
    case undefined:
    case "--help":
    case "-h":
    case "help":
      console.log(USAGE);
      return sub === undefined ? 2 : 0;
    default:
      console.error(
        `Unknown data subcommand "${sub}": expected synth, import or fetch\n\n${USAGE}`,
      );
      return 2;
  }
}
