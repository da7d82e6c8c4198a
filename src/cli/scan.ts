/**
 * `deno task scan --dataset D --since DATE [--max-gap N] [--until DATE] [--all]`: list the tickers
 * with continuous daily history since a date.
 *
 * @module
 */
import { loadDatasetArgument } from "../data/dataset.ts";
import { SCAN_DEFAULTS, scanContinuity } from "../data/scan.ts";
import { consoleIo, parseCommandArgs, usageError } from "./args.ts";
import { FLAG, stringOption } from "./options.ts";

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
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      dataset: stringOption("D"),
      since: stringOption("YYYY-MM-DD"),
      until: stringOption("YYYY-MM-DD"),
      "max-gap": stringOption("N"),
      all: FLAG,
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (!values.dataset) return usageError(consoleIo, USAGE, "Missing --dataset D");
  if (!values.since) return usageError(consoleIo, USAGE, "Missing --since YYYY-MM-DD");
  if (values["max-gap"] !== undefined && !/^\d+$/.test(values["max-gap"])) {
    return usageError(
      consoleIo,
      USAGE,
      `Invalid --max-gap "${values["max-gap"]}": expected an integer >= 0`,
    );
  }
  const maxGap = values["max-gap"] === undefined ? SCAN_DEFAULTS.maxGap : Number(values["max-gap"]);
  try {
    const dataset = await loadDatasetArgument(values.dataset);
    const scan = scanContinuity(dataset, values.since, { maxGap, until: values.until });
    const ok = scan.filter((t) => t.continuous);
    console.error(
      `${ok.length} of ${scan.length} tickers in "${dataset.name}" have continuous history since ${values.since} (no gap over ${maxGap} trading days)`,
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
