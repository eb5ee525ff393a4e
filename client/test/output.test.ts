import { UsageError } from '../src/errors';
import { formatAmount, parseAmount } from '../src/money';
import { formatCsv, formatKwh, formatMoney, formatTable, type Column } from '../src/output';

interface Row {
  id: string;
  note?: string;
  count: number;
}
const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'note', value: (r) => r.note },
  { header: 'count', value: (r) => r.count },
];

describe('output formatting', () => {
  it('when rows are printed as a table then columns are aligned under upper-case headers', () => {
    expect(
      formatTable(
        [
          { id: 'a', note: 'long note', count: 1 },
          { id: 'bbbb', count: 22 },
        ],
        columns,
      ),
    ).toBe('ID    NOTE       COUNT\na     long note  1\nbbbb             22\n');
  });

  it('when there are no rows then the table says so', () => {
    expect(formatTable([], columns)).toBe('(none)\n');
  });

  it('when a CSV field holds a comma, quote or line break then it is quoted with doubled quotes', () => {
    expect(formatCsv([{ id: 'x', note: 'a,"b"\nc', count: 3 }], columns)).toBe(
      'id,note,count\nx,"a,""b""\nc",3\n',
    );
  });

  it('when a column says what it becomes in CSV then those columns replace it, and other headers are snake_case', () => {
    interface Period {
      from: string;
      to: string;
      energyWh: number;
    }
    const periods: Column<Period>[] = [
      {
        header: 'period',
        value: (p) => `${p.from} - ${p.to}`,
        csv: [
          { header: 'period_start', value: (p) => p.from },
          { header: 'period_end', value: (p) => p.to },
        ],
      },
      {
        header: 'energy kWh',
        value: (p) => formatKwh(p.energyWh),
        csv: [{ header: 'energy_wh', value: (p) => p.energyWh }],
      },
      { header: 'table only', value: () => 'x', csv: [] },
      { header: 'readings count', value: () => 3 },
    ];
    const rows = [{ from: 'A', to: 'B', energyWh: 1500 }];

    expect(formatTable(rows, periods)).toBe(
      'PERIOD  ENERGY KWH  TABLE ONLY  READINGS COUNT\nA - B   1.500       x           3\n',
    );
    expect(formatCsv(rows, periods)).toBe('period_start,period_end,energy_wh,readings_count\nA,B,1500,3\n');
  });

  it('when money and energy are formatted then integer arithmetic gives exact decimals', () => {
    expect(formatMoney(12345, 'GBP')).toBe('123.45 GBP');
    expect(formatMoney(5, 'EUR')).toBe('0.05 EUR');
    expect(formatMoney(-120, 'GBP')).toBe('-1.20 GBP');
    expect(formatKwh(5928)).toBe('5.928');
    expect(formatKwh(7)).toBe('0.007');
    expect(formatMoney(1200, 'JPY')).toBe('1200 JPY');
    expect(formatMoney(12345, 'KWD')).toBe('12.345 KWD');
  });

  it('when an amount is typed as bills show it then it becomes exact minor units, or a usage error', () => {
    expect(parseAmount('--amount', '110.89', 'GBP')).toBe(11089);
    expect(parseAmount('--amount', '0.1', 'GBP')).toBe(10);
    expect(parseAmount('--amount', '12.345', 'KWD')).toBe(12345);
    expect(parseAmount('--amount', '1200', 'JPY')).toBe(1200);
    expect(formatAmount(parseAmount('--amount', '0.07', 'EUR'), 'EUR')).toBe('0.07');
    expect(() => parseAmount('--amount', '110.891', 'GBP')).toThrow(UsageError);
    expect(() => parseAmount('--amount', '-1', 'GBP')).toThrow(UsageError);
    expect(() => parseAmount('--amount', '1e2', 'GBP')).toThrow(UsageError);
  });
});
