/**
 * Plain-text tables and timestamps for `tidemq admin` output, in the style of mqadmin: a header row
 * of `#Name` columns, left-aligned cells padded with spaces, no borders (so `grep` and `awk` work on
 * them).
 */

/** Column gap; two spaces keep columns apart even when a cell has a single space in it. */
const COLUMN_GAP = '  ';

/** Longest cell printed; longer ones are cut with an ellipsis so one value cannot wreck the table. */
const MAX_CELL_CHARS = 120;

/** One line of text: a newline or tab inside a value would break the row apart. */
function flatText(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  return text.replace(/[\r\n\t]+/g, ' ');
}

function cellText(value: unknown): string {
  const flat = flatText(value);
  return flat.length > MAX_CELL_CHARS ? `${flat.slice(0, MAX_CELL_CHARS - 1)}…` : flat;
}

/** The rows under `headers`, one line each, columns padded to the widest cell. */
export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers.map(cellText), ...rows.map((row) => headers.map((_, index) => cellText(row[index])))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join(COLUMN_GAP).trimEnd()).join('\n');
}

/** `key: value` lines with the keys padded to one width (brokerStatus, message details); values are not cut. */
export function formatKeyValues(entries: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${`${key}:`.padEnd(width + 3)}${flatText(value)}`.trimEnd()).join('\n');
}

function pad(value: number, digits: number): string {
  return String(value).padStart(digits, '0');
}

/** Local time as `yyyy-MM-dd HH:mm:ss,SSS` (mqadmin's format); `-` for no time (0 or negative). */
export function formatTimestamp(timestampMs: number): string {
  if (!Number.isFinite(timestampMs) || timestampMs <= 0) return '-';
  const date = new Date(timestampMs);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1, 2)}-${pad(date.getDate(), 2)} ` +
    `${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)},${pad(date.getMilliseconds(), 3)}`
  );
}
