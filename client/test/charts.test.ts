import { escapeXml, renderChart } from '../src/charts';

describe('charts', () => {
  it('when bars are drawn then there is one rect per point and labels are escaped', () => {
    const svg = renderChart(
      [
        { label: 'a<b', value: 10 },
        { label: 'c', value: 0 },
        { label: 'd', value: 5 },
      ],
      { title: 'Load & more', unit: 'kWh' },
    );
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain('<title>Load &amp; more</title>');
    expect(svg).toContain('a&lt;b: 10 kWh');
    expect(svg).not.toContain('a<b');
  });

  it('when steps are drawn then one path holds a horizontal step per point', () => {
    const svg = renderChart(
      [
        { label: '1', value: 0.3 },
        { label: '2', value: 0.1 },
      ],
      { title: 'Price', unit: 'GBP/kWh', style: 'steps' },
    );
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(svg.match(/ H/g)).toHaveLength(2);
  });

  it('when text has markup characters then escapeXml makes it safe', () => {
    expect(escapeXml(`<"'&>`)).toBe('&lt;&quot;&#39;&amp;&gt;');
  });
});
