/**
 * Import news into a dataset's `news` table from CSV or JSON Lines (`.jsonl`, `.ndjson`), with every
 * problem located by file, row and line, as the other importers do. Fields (case and punctuation
 * ignored in CSV headers): `ticker` or `tickers` (several separated by `;` or `|`), `published_at`
 * (ISO 8601 with a time zone: `Z` or `+01:00`; a naive time is refused), `article_id` (default: the
 * `url`), `headline`, and optional `summary`, `source`, `url`, `provider_sentiment`,
 * `provider_relevance`. The news is added to an existing dataset (it needs prices to be of use),
 * atomically.
 *
 * @module
 */
import pl from "nodejs-polars";
import { basename } from "node:path";
import { loadDatasetFolder, TABLE_COLUMNS, type TableName, writeDataset } from "./dataset.ts";
import { type ImportProblem, readColumns } from "./import.ts";

/** One article before it becomes rows of the `news` table (one per ticker). */
export interface NewsRow {
  tickers: string[];
  publishedMs: number;
  id: string;
  headline: string;
  summary: string | null;
  source: string | null;
  url: string | null;
  providerSentiment: number | null;
  providerRelevance: number | null;
}

/** The fields a news file may have: the news table's columns, and `tickers` (several) after `ticker`. */
const FIELDS = [
  "ticker",
  "tickers",
  ...TABLE_COLUMNS.news.map((c) => c.name).filter((name) => name !== "ticker"),
];

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
const ZONED = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Records of a file: CSV through the dataset importer's reader, JSON Lines line by line. */
function readRecords(
  file: string,
  problems: ImportProblem[],
): { records: Record<string, unknown>[]; lineOf: (row: number) => number | undefined } {
  if (/\.(jsonl|ndjson)$/i.test(file)) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (e) {
      problems.push({
        kind: "read",
        file,
        message: `Cannot read "${file}": ${(e as Error).message}`,
      });
      return { records: [], lineOf: () => undefined };
    }
    const records: Record<string, unknown>[] = [];
    const lines: number[] = [];
    text.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      try {
        const v = JSON.parse(line);
        if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) o[norm(k)] = x;
        records.push(o);
        lines.push(i + 1);
      } catch (e) {
        problems.push({
          kind: "layout",
          file,
          line: i + 1,
          message: `${file}: line ${i + 1}: ${(e as Error).message.split("\n")[0]}`,
        });
      }
    });
    return { records, lineOf: (row) => lines[row - 1] };
  }
  const cols = readColumns(file);
  if (Array.isArray(cols)) {
    problems.push(...cols);
    return { records: [], lineOf: () => undefined };
  }
  const records = Array.from({ length: cols.height }, (_, r) => {
    const o: Record<string, unknown> = {};
    for (const c of cols.columns) o[norm(c)] = cols.data[c][r];
    return o;
  });
  return { records, lineOf: (row) => cols.lineOf?.(row) };
}

/**
 * Parse and check news files.
 *
 * @param files CSV or JSON Lines files
 * @returns the rows and every located problem
 */
export function parseNewsFiles(files: string[]): { rows: NewsRow[]; problems: ImportProblem[] } {
  const problems: ImportProblem[] = [];
  const rows: NewsRow[] = [];
  for (const file of files) {
    const { records, lineOf } = readRecords(file, problems);
    records.forEach((rec, i) => {
      const row = i + 1;
      const line = lineOf(row);
      const at = `${file}: row ${row}${line !== undefined ? ` (line ${line})` : ""}`;
      const bad = (column: string, message: string) =>
        problems.push({ kind: "value", file, row, line, column, message: `${at}: ${message}` });
      const text = (f: string) => {
        const v = rec[norm(f)];
        return v === null || v === undefined || String(v).trim() === "" ? null : String(v).trim();
      };
      const num = (f: string) => {
        const t = text(f);
        if (t === null) return null;
        const n = Number(t);
        if (!Number.isFinite(n)) {
          bad(f, `${f} "${t}" is not a finite number`);
          return null;
        }
        return n;
      };
      const tickers = (text("tickers") ?? text("ticker") ?? "").split(/[;|]/).map((t) => t.trim())
        .filter((t) => t !== "");
      if (tickers.length === 0) bad("ticker", "no ticker: expected a ticker or tickers field");
      const published = text("published_at");
      let publishedMs = NaN;
      if (published === null) bad("published_at", "no published_at");
      else if (!ZONED.test(published)) {
        bad(
          "published_at",
          `published_at "${published}" has no time zone: expected ISO 8601 with Z or an offset, e.g. "2020-03-31T15:30:00-04:00"`,
        );
      } else {
        publishedMs = Date.parse(published.replace(" ", "T"));
        if (Number.isNaN(publishedMs)) {
          bad("published_at", `published_at "${published}" is not a date`);
        }
      }
      const headline = text("headline");
      if (headline === null) bad("headline", "no headline");
      const url = text("url");
      const id = text("article_id") ?? url;
      if (id === null) bad("article_id", "no article_id and no url to name the article by");
      const providerSentiment = num("provider_sentiment");
      const providerRelevance = num("provider_relevance");
      if (tickers.length && headline !== null && id !== null && !Number.isNaN(publishedMs)) {
        rows.push({
          tickers,
          publishedMs,
          id,
          headline,
          summary: text("summary"),
          source: text("source"),
          url,
          providerSentiment,
          providerRelevance,
        });
      }
    });
    if (records.length && !Object.keys(records[0]).some((k) => FIELDS.map(norm).includes(k))) {
      problems.push({
        kind: "missing-column",
        file,
        message: `${file}: no known column: expected ${FIELDS.join(", ")}`,
      });
    }
  }
  const seen = new Set<string>();
  for (const r of rows) {
    for (const t of r.tickers) {
      const k = `${t}\u0000${r.id}`;
      if (seen.has(k)) {
        problems.push({
          kind: "duplicate",
          file: files.join(", "),
          ticker: t,
          message: `Article "${r.id}" appears twice for ticker "${t}"`,
        });
      }
      seen.add(k);
    }
  }
  return { rows, problems };
}

/** The `news` table of parsed rows: one row per (article, ticker), sorted. */
export function newsFrame(rows: NewsRow[]): pl.DataFrame {
  const flat = rows.flatMap((r) => r.tickers.map((t) => ({ ...r, ticker: t })));
  const col = <T>(f: (r: typeof flat[number]) => T) => flat.map(f);
  return pl.DataFrame([
    pl.Series("ticker", col((r) => r.ticker), pl.Utf8),
    pl.Series("published_at", col((r) => r.publishedMs), pl.Int64).cast(pl.Datetime("ms", "UTC")),
    pl.Series("article_id", col((r) => r.id), pl.Utf8),
    pl.Series("headline", col((r) => r.headline), pl.Utf8),
    pl.Series("summary", col((r) => r.summary), pl.Utf8),
    pl.Series("source", col((r) => r.source), pl.Utf8),
    pl.Series("url", col((r) => r.url), pl.Utf8),
    pl.Series("provider_sentiment", col((r) => r.providerSentiment), pl.Float64),
    pl.Series("provider_relevance", col((r) => r.providerRelevance), pl.Float64),
  ]).sort(["ticker", "published_at", "article_id"]);
}

/**
 * Add (or replace) the `news` table of an existing dataset from CSV or JSON Lines files.
 *
 * @param files the news files
 * @param out the dataset folder (must exist: news needs the dataset's prices)
 * @returns the problems (empty when written) and the rows written
 */
export async function importNews(
  files: string[],
  out: string,
): Promise<{ problems: ImportProblem[]; rows: number }> {
  const { rows, problems } = parseNewsFiles(files);
  if (problems.length === 0 && rows.length === 0) {
    problems.push({ kind: "empty", file: files.join(", "), message: "No news rows in the input" });
  }
  if (problems.length) return { problems, rows: 0 };
  const frame = newsFrame(rows);
  try {
    const ds = await loadDatasetFolder(out);
    const tables: Partial<Record<TableName, pl.DataFrame>> = {};
    for (const t of ds.manifest.tables) if (t !== "news") tables[t] = ds.table(t);
    tables.news = frame;
    const manifest = {
      ...ds.manifest,
      tables: [...ds.manifest.tables.filter((t) => t !== "news"), "news" as const],
      provenance: `${ds.manifest.provenance}; news imported from ${
        files.map((f) => basename(f)).join(", ")
      }`,
    };
    await writeDataset(out, manifest, tables);
  } catch (e) {
    problems.push({ kind: "destination", file: out, message: (e as Error).message });
    return { problems, rows: 0 };
  }
  return { problems, rows: frame.height };
}
