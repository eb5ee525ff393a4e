/** How results are printed: tables for people, JSON for scripts, CSV for spreadsheets. */
export interface OutputOptions {
  json?: boolean;
  csv?: boolean;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | undefined;
}

/** Where text goes: process.stdout and process.stderr in meterctl, strings in tests. */
export interface Writer {
  write(text: string): void;
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

export function formatCsv<T>(rows: T[], columns: Column<T>[]): string {
  const lines = [
    columns.map((c) => csvField(c.header)),
    ...rows.map((row) => columns.map((c) => csvField(cellText(c.value(row))))),
  ];
  return lines.map((line) => line.join(',')).join('\n') + '\n';
}

function cellText(value: string | number | undefined): string {
  return value === undefined ? '' : String(value);
}

/** RFC 4180: quote fields holding commas, quotes or line breaks, doubling the quotes. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Minor currency units as a decimal amount, e.g. 12345 GBP → "123.45 GBP" (exact: integer arithmetic). */
export function formatMoney(amountMinor: number, currency: string): string {
  const sign = amountMinor < 0 ? '-' : '';
  const abs = Math.abs(amountMinor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}

/** Watt-hours as kWh with three decimals, exact. */
export function formatKwh(energyWh: number): string {
  return `${Math.floor(energyWh / 1000)}.${String(energyWh % 1000).padStart(3, '0')}`;
}
