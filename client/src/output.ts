import { formatAmount } from './money';

/** How results are printed: tables for people, JSON for scripts, CSV for spreadsheets. */
export interface OutputOptions {
  json?: boolean;
  csv?: boolean;
}

type Cell = string | number | boolean | undefined;

/** A column of a list: its header and cell in a table, and what it becomes in CSV. */
export interface Column<T> {
  header: string;
  value: (row: T) => Cell;
  /**
   * The CSV columns this one becomes, for cells that people read with a unit or as a range ("249 Wh",
   * "110.89 GBP", "1800s", "A - B"): in CSV a number goes in a column named after its unit (energy_wh,
   * total_minor, interval_seconds) and a period in two (period_start, period_end), so a spreadsheet can sum and
   * sort them. An empty list leaves the column out of CSV. Default: the same value under the header in
   * snake_case.
   */
  csv?: CsvColumn<T>[];
}

export interface CsvColumn<T> {
  header: string;
  value: (row: T) => Cell;
}

/** Where text goes: process.stdout and process.stderr in meterctl, strings in tests. */
export interface Writer {
  write(text: string): void;
  /** A terminal (process.stderr.isTTY): long work shows a progress bar there, plain lines elsewhere. */
  readonly isTTY?: boolean;
  /** The terminal's width in characters. */
  readonly columns?: number;
}

/** Results go to stdout, messages to stderr. */
export interface Streams {
  readonly stdout: Writer;
  readonly stderr: Writer;
}

/** A command's output: the streams and the --json/--csv choice. */
export interface OutputSink extends OutputOptions, Streams {}

/** One result object: JSON, or the human text. */
export function printResult(sink: OutputSink, value: unknown, human: () => string): void {
  sink.stdout.write(sink.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** A list of records: JSON array of the records themselves, CSV or an aligned table of the columns. */
export function printRows<T>(sink: OutputSink, rows: T[], columns: Column<T>[]): void {
  if (sink.json) {
    sink.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else if (sink.csv) {
    sink.stdout.write(formatCsv(rows, columns));
  } else {
    sink.stdout.write(formatTable(rows, columns));
  }
}

export function formatTable<T>(rows: T[], columns: Column<T>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((row) => columns.map((column) => cellText(column.value(row))));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => line[i].length)),
  );
  const render = (line: string[]) =>
    line
      .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[render(columns.map((c) => c.header.toUpperCase())), ...cells.map(render)].join('\n')}\n`;
}

/** RFC 4180 CSV: one header line of snake_case names, then one line per row; see Column.csv. */
export function formatCsv<T>(rows: T[], columns: Column<T>[]): string {
  const fields = csvColumns(columns);
  const lines = [
    fields.map((c) => csvField(c.header)),
    ...rows.map((row) => fields.map((c) => csvField(cellText(c.value(row))))),
  ];
  return lines.map((line) => line.join(',')).join('\n') + '\n';
}

/** The CSV columns of a list's columns, in order. */
export function csvColumns<T>(columns: Column<T>[]): CsvColumn<T>[] {
  return columns.flatMap(
    (column) => column.csv ?? [{ header: snakeCase(column.header), value: column.value }],
  );
}

/** "period start" → "period_start", "blocks synced" → "blocks_synced": lower-case letters, digits, underscores. */
function snakeCase(header: string): string {
  return header
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function cellText(value: Cell): string {
  return value === undefined ? '' : String(value);
}

/** RFC 4180: quote fields holding commas, quotes or line breaks, doubling the quotes. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Minor currency units as a decimal amount, e.g. 12345 GBP → "123.45 GBP" (exact: the currency's minor digits). */
export function formatMoney(amountMinor: number, currency: string): string {
  return `${formatAmount(amountMinor, currency)} ${currency}`;
}

/** Watt-hours as kWh with three decimals, exact. */
export function formatKwh(energyWh: number): string {
  return `${Math.floor(energyWh / 1000)}.${String(energyWh % 1000).padStart(3, '0')}`;
}
