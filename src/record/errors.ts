/**
 * The error a record that is not what the schema says raises, naming the file and each field.
 *
 * @module
 */

/** One problem with a record: where and what. */
export interface RecordIssue {
  /** Field path, e.g. `["metrics", "postTrain", "eval", "f1"]`; empty for the whole record. */
  path: (string | number)[];
  /** What is wrong, e.g. `expected a number, got "high"`. */
  message: string;
}

/** Most issues a message lists. */
const MAX_LISTED = 5;

/**
 * A record (or one of its tables) that is not what the schema says: carries the file and every
 * issue with its field path.
 */
export class RecordError extends TypeError {
  /** The file (or, before it is written, the run) the record belongs to. */
  readonly file: string;
  /** What is wrong, each with its field path. */
  readonly issues: RecordIssue[];

  /**
   * @param file the file or run the record belongs to
   * @param issues what is wrong (at least one)
   * @param what what was read, for the message (default `run record`)
   */
  constructor(file: string, issues: RecordIssue[], what = "run record") {
    const listed = issues.slice(0, MAX_LISTED).map(formatIssue).join("; ");
    const more = issues.length > MAX_LISTED ? `; and ${issues.length - MAX_LISTED} more` : "";
    super(`Invalid ${what} "${file}": ${listed}${more}`);
    this.name = "RecordError";
    this.file = file;
    this.issues = issues;
  }
}

/**
 * A field path as the messages write it: `metrics.baselines["shuffled labels"].f1`,
 * `training.history[3].loss`.
 *
 * @param path the path's segments
 * @returns the path, or `(record)` for the empty path
 */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || "(record)";
}

function formatIssue(issue: RecordIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}
