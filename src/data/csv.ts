/**
 * The layout of a CSV file, read from its bytes in one pass before any parser sees it: where each
 * record starts (its file line, so a data row is located by the file's own line numbers even
 * when a quoted field spans lines), how many fields each has, and the first thing that makes the
 * file unreadable — bytes that are not UTF-8, a quote never closed, text after a closing quote.
 *
 * Separators are `,`; records end at `\n` or `\r\n`; fields may be quoted with `"` (a doubled
 * `""` inside is a quote). Multi-byte UTF-8 sequences never contain these ASCII bytes, so the
 * layout is found on the bytes directly.
 *
 * @module
 */

/** Where one thing in a CSV file is. */
export interface CsvPlace {
  /** 1-based file line. */
  line: number;
  /** 0-based field of the record (the header's name for it is `header[field]`). */
  field: number;
  /** 0-based byte offset in the file. */
  offset: number;
}

/** What makes a CSV file unreadable, at its first occurrence. */
export type CsvFault =
  | (CsvPlace & { kind: "encoding"; bytes: number[] })
  | (CsvPlace & { kind: "unclosed-quote" })
  | (CsvPlace & { kind: "after-quote" });

/** A record whose field count differs from the header's (a blank line has 0 fields). */
export interface CsvRagged {
  line: number;
  fields: number;
}

/** The layout of a CSV file (see the module doc). */
export interface CsvLayout {
  /** The header's field names (a byte-order mark removed), when the header is UTF-8. */
  header: string[];
  /** The file line each record starts on; record 0 is the header, record N data row N. */
  recordLines: number[];
  /** Field count of each record. */
  fieldCounts: number[];
  /** Bytes up to the end of the last record that is not blank (trailing blank lines dropped). */
  end: number;
  /** The first fault that makes the file unreadable, or null. */
  fault: CsvFault | null;
  /** Records (blank lines included) whose field count is not the header's, in file order. */
  ragged: CsvRagged[];
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Length of the well-formed UTF-8 sequence starting at `i` (Unicode table 3-7), or minus the
 * number of bytes of the ill-formed sequence there.
 */
function utf8Sequence(b: Uint8Array, i: number): number {
  const c = b[i];
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) need = 1;
  else if (c === 0xe0) [need, lo] = [2, 0xa0];
  else if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) need = 2;
  else if (c === 0xed) [need, hi] = [2, 0x9f];
  else if (c === 0xf0) [need, lo] = [3, 0x90];
  else if (c >= 0xf1 && c <= 0xf3) need = 3;
  else if (c === 0xf4) [need, hi] = [3, 0x8f];
  else return -1;
  for (let k = 1; k <= need; k++) {
    const x = b[i + k];
    const min = k === 1 ? lo : 0x80;
    const max = k === 1 ? hi : 0xbf;
    // A continuation byte out of range for this lead is shown with it; anything else is not.
    if (x === undefined || x < min || x > max) return x >= 0x80 && x <= 0xbf ? -(k + 1) : -k;
  }
  return need + 1;
}

/**
 * Read a CSV file's layout from its bytes: one pass, linear in the size, stopping at the first
 * fault (invalid UTF-8, an unclosed quote, text after a closing quote).
 *
 * @param bytes the file's bytes
 * @returns where each record starts and how many fields it has, ragged records, the first fault
 * @example
 * ```ts
 * const layout = scanCsv(new TextEncoder().encode('date,ticker\n2024-01-02,"A\nB"\n'));
 * // layout.recordLines = [1, 2], layout.fieldCounts = [2, 2]
 * ```
 */
export function scanCsv(bytes: Uint8Array): CsvLayout {
  const recordLines: number[] = [];
  const fieldCounts: number[] = [];
  let line = 1;
  let recordLine = 1;
  let field = 0;
  let fieldStart = true; // nothing read in this field yet
  let afterQuote = false; // the field's closing quote was just read
  let quoteOpened: CsvPlace | null = null;
  let blank = true; // nothing but a \r in this record so far
  let lastNonBlankEnd = 0;
  let headerEnd = -1;
  let fault: CsvFault | null = null;
  const n = bytes.length;
  const place = (offset: number): CsvPlace => ({ line, field, offset });
  const endRecord = (next: number) => {
    if (recordLines.length === 0) headerEnd = next;
    recordLines.push(recordLine);
    fieldCounts.push(blank ? 0 : field + 1);
    if (!blank) lastNonBlankEnd = next;
    field = 0;
    fieldStart = true;
    afterQuote = false;
    blank = true;
  };
  let i = 0;
  scan: while (i < n) {
    const c = bytes[i];
    if (c >= 0x80) {
      const len = utf8Sequence(bytes, i);
      if (len < 0) {
        const bad = [...bytes.subarray(i, i + Math.max(1, -len))];
        fault = { kind: "encoding", ...place(i), bytes: bad };
        break;
      }
      if (quoteOpened === null && afterQuote) {
        fault = { kind: "after-quote", ...place(i) };
        break;
      }
      blank = false;
      fieldStart = false;
      i += len;
      continue;
    }
    if (quoteOpened !== null) {
      if (c === QUOTE) {
        if (bytes[i + 1] === QUOTE) {
          i += 2;
          continue;
        }
        quoteOpened = null;
        afterQuote = true;
      } else if (c === LF) line++;
      i++;
      continue;
    }
    switch (c) {
      case QUOTE:
        if (afterQuote) {
          fault = { kind: "after-quote", ...place(i) };
          break scan;
        }
        blank = false;
        if (fieldStart) quoteOpened = place(i);
        fieldStart = false;
        break;
      case COMMA:
        blank = false;
        field++;
        fieldStart = true;
        afterQuote = false;
        break;
      case LF:
        endRecord(i + 1);
        line++;
        recordLine = line;
        break;
      case CR:
        if (bytes[i + 1] === LF) break; // the \r of \r\n
        /* falls through: a lone \r is text */
      default:
        if (afterQuote) {
          fault = { kind: "after-quote", ...place(i) };
          break scan;
        }
        blank = false;
        fieldStart = false;
    }
    i++;
  }
  if (fault === null && quoteOpened !== null) {
    fault = { kind: "unclosed-quote", ...(quoteOpened as CsvPlace) };
  }
  if (fault === null && !blank) endRecord(n);
  // Trailing blank lines are not records.
  while (fieldCounts.length > 0 && fieldCounts[fieldCounts.length - 1] === 0) {
    fieldCounts.pop();
    recordLines.pop();
  }
  const header = headerEnd < 0 ? [] : splitRecord(
    new TextDecoder().decode(bytes.subarray(0, headerEnd)).replace(/^\ufeff/, "")
      .replace(/\r?\n$/, ""),
  );
  const ragged: CsvRagged[] = [];
  const want = fieldCounts[0];
  for (let r = 1; r < fieldCounts.length; r++) {
    if (fieldCounts[r] !== want) ragged.push({ line: recordLines[r], fields: fieldCounts[r] });
  }
  return { header, recordLines, fieldCounts, end: lastNonBlankEnd, fault, ragged };
}

/** The fields of one record's text (quotes removed, `""` unescaped). */
function splitRecord(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === "") quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * The 1-based character column of a byte offset on its line (counting UTF-8 characters).
 *
 * @param bytes the file's bytes
 * @param offset a byte offset
 * @returns the column
 */
export function columnOf(bytes: Uint8Array, offset: number): number {
  let start = offset;
  while (start > 0 && bytes[start - 1] !== LF) start--;
  let column = 1;
  for (let i = start; i < offset; i++) if ((bytes[i] & 0xc0) !== 0x80) column++;
  return column;
}
