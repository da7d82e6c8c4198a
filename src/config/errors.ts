/**
 * Located configuration errors: every problem found in an experiment config
 * (its file, line, column and dotted key path) and the did-you-mean helper the
 * messages use.
 *
 * @module
 */

/** One problem in an experiment config, located in the file (or `--set` argument) it came from. */
export interface ConfigIssue {
  /** The config file as given (a base file for errors inside an `extends` base), or `--set`. */
  file: string;
  /** 1-based line; for `--set`, the 1-based index of the `--set` argument. */
  line: number;
  /** 1-based column. */
  col: number;
  /** Dotted key path such as `model.size` or `data.eval_tickers[1]`; empty for syntax errors. */
  path: string;
  /** What is wrong and what is allowed. */
  message: string;
}

/**
 * Formats one issue as `FILE:LINE:COL path.to.key: message` (the path part is
 * left out when the issue has no path, as for YAML syntax errors).
 *
 * @param issue The issue to format.
 * @returns One line of text.
 * @example
 * ```ts
 * formatIssue({ file: "a.yaml", line: 3, col: 9, path: "model.size", message: "expected an integer" });
 * // "a.yaml:3:9 model.size: expected an integer"
 * ```
 */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path === ""
    ? `${where} ${issue.message}`
    : `${where} ${issue.path}: ${issue.message}`;
}

/**
 * Every problem found in an experiment config. The message lists each issue on
 * its own line as `FILE:LINE:COL path.to.key: message`.
 *
 * @example
 * ```ts
 * try {
 *   await loadExperiments("experiments/x.yaml");
 * } catch (e) {
 *   if (e instanceof ConfigError) for (const i of e.issues) console.error(i.file, i.line, i.col);
 * }
 * ```
 */
export class ConfigError extends Error {
  /** The issues, in file order (the loaded file, its bases, then `--set`), each by line and column. */
  readonly issues: ConfigIssue[];

  /**
   * Creates the error; its message lists every issue, one per line.
   *
   * @param issues At least one issue.
   */
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * Levenshtein edit distance (insertions, deletions, substitutions).
 *
 * @param a First string.
 * @param b Second string.
 * @returns The number of single-character edits turning `a` into `b`.
 * @example
 * ```ts
 * levenshtein("sise", "size"); // 1
 * ```
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `input` by Levenshtein distance (ignoring case and
 * treating `-`/`_` alike), if it is close enough to be a likely misspelling:
 * at most 40% of the longer string's length (at least 1 edit).
 * Ties go to the earlier candidate.
 *
 * @param input What was written.
 * @param candidates What is allowed.
 * @returns The suggestion, or `undefined` when nothing is close.
 * @example
 * ```ts
 * didYouMean("eval_tickrs", ["train_tickers", "eval_tickers"]); // "eval_tickers"
 * ```
 */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replaceAll("-", "_");
  const x = norm(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(x, norm(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.round(Math.max(x.length, best.length) * 0.4));
  return bestDistance <= allowed ? best : undefined;
}
