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

  it('when money and energy are formatted then integer arithmetic gives exact decimals', () => {
    expect(formatMoney(12345, 'GBP')).toBe('123.45 GBP');
    expect(formatMoney(5, 'EUR')).toBe('0.05 EUR');
    expect(formatMoney(-120, 'GBP')).toBe('-1.20 GBP');
    expect(formatKwh(5928)).toBe('5.928');
    expect(formatKwh(7)).toBe('0.007');
  });
});
