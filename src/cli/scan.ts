/**
 * `deno task scan --dataset D --since DATE [--max-gap N] [--until DATE] [--all]`: list the tickers
 * with continuous daily history since a date.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadDataset } from "../data/dataset.ts";
import { SCAN_DEFAULTS, scanContinuity } from "../data/scan.ts";

const USAGE =
  `Usage: deno task scan --dataset D --since YYYY-MM-DD [--max-gap N] [--until YYYY-MM-DD] [--all]

Lists the tickers with continuous daily history since the date (no run of more than N missing
trading days, default ${SCAN_DEFAULTS.maxGap}), one per line. --all also lists the others with why.`;

/**
 * Run the scan command.
 *
 * @param args the arguments after `scan`
 * @returns the exit code: 0 listed, 1 scan failed (unknown dataset, date out of range), 2 bad arguments
 */
export async function scanCommand(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        dataset: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        "max-gap": { type: "string" },
        all: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.dataset) throw new TypeError("Missing --dataset");
    if (!values.since) throw new TypeError("Missing --since");
    if (values["max-gap"] !== undefined && !/^\d+$/.test(values["max-gap"])) {
      throw new TypeError(`Invalid --max-gap "${values["max-gap"]}": expected an integer >= 0`);
    }
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const maxGap = values["max-gap"] === undefined ? SCAN_DEFAULTS.maxGap : Number(values["max-gap"]);
  try {
    const dataset = await loadDataset(values.dataset!);
    const scan = scanContinuity(dataset, values.since!, { maxGap, until: values.until });
    const ok = scan.filter((t) => t.continuous);
    console.error(
      `${ok.length} of ${scan.length} tickers in "${dataset.name}" have continuous history since ${values
        .since!} (no gap over ${maxGap} trading days)`,
    );
    for (const t of ok) console.log(t.ticker);
    if (values.all) {
      for (const t of scan.filter((t) => !t.continuous)) {
        console.log(
          `# ${t.ticker}: ${
            t.first === null
              ? "no prices in the window"
              : `${t.first}..${t.last}, ${t.days} of ${t.calendarDays} days, longest gap ${t.maxGap}`
          }`,
        );
      }
    }
    return 0;
  } catch (e) {
    console.error((e as Error).message);
    return 1;
  }
}
