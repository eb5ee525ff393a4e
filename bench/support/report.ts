/** How the throughput benchmark shows what it measured: a table, ratios to the ceiling, JSON and an SVG chart. */
import * as echarts from 'echarts';

export interface RoundReport {
  name: string;
  kind: 'ping' | 'single' | 'batch';
  concurrency: number;
  batchSize: number;
  /** Offered load when the round was rate-limited, tx/s; undefined: as fast as the workers go. */
  offeredTxPerSecond?: number;
  txPerSecond: number;
  readingsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; mean: number };
  failures: Record<string, number>;
  reEndorsed: number;
  foundCommitted: number;
  /** Each process's share of one core during the window. */
  cpu: Record<string, number>;
  ledgerBytesPerReading?: number;
  stateBytesPerReading?: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function latencySummary(latencies: number[]): RoundReport['latencyMs'] {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.length === 0 ? 0 : sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean,
  };
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** The CPU column: the network's process kinds summed (orderers, peers, chaincode servers, CAs, rest). */
export function cpuByKind(cpu: Record<string, number>): string {
  const groups: Record<string, number> = {};
  for (const [name, share] of Object.entries(cpu)) {
    const kind = name.startsWith('orderer')
      ? 'orderers'
      : name.startsWith('peer')
        ? 'peers'
        : name.startsWith('ccaas') || name.startsWith('cc')
          ? 'chaincode'
          : name.startsWith('ca')
            ? 'CAs'
            : name === 'load generator'
              ? 'load'
              : 'other';
    groups[kind] = (groups[kind] ?? 0) + share;
  }
  return Object.entries(groups)
    .filter(([, share]) => share >= 0.005)
    .map(([kind, share]) => `${kind} ${(share * 100).toFixed(0)}%`)
    .join(', ');
}

export function formatTable(rounds: RoundReport[]): string {
  const header = [
    'round',
    'conc.',
    'tx/s',
    'readings/s',
    'p50 s',
    'p95 s',
    'p99 s',
    'B/reading',
    'failures',
    'CPU (% of a core)',
  ];
  const rows = rounds.map((round) => [
    round.name,
    String(round.concurrency),
    round.txPerSecond.toFixed(1),
    round.kind === 'ping' ? '–' : round.readingsPerSecond.toFixed(0),
    seconds(round.latencyMs.p50),
    seconds(round.latencyMs.p95),
    seconds(round.latencyMs.p99),
    round.ledgerBytesPerReading === undefined ? '–' : round.ledgerBytesPerReading.toFixed(0),
    formatFailures(round),
    cpuByKind(round.cpu),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(i >= 8 ? 0 : widths[i])))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function formatFailures(round: RoundReport): string {
  const parts = Object.entries(round.failures).map(([cause, count]) => `${count} ${cause}`);
  if (round.reEndorsed > 0) parts.push(`(${round.reEndorsed} re-endorsed)`);
  if (round.foundCommitted > 0) parts.push(`(${round.foundCommitted} found committed)`);
  return parts.length === 0 ? '0' : parts.join('; ');
}

/** Throughput against concurrency, one line per round kind: Ping tx/s, single readings/s, batched readings/s. */
export function throughputChart(rounds: RoundReport[], title: string): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 900, height: 480 });
  const series = (
    kind: RoundReport['kind'],
    name: string,
    value: (r: RoundReport) => number,
    yAxisIndex: number,
  ) => ({
    name,
    type: 'line' as const,
    yAxisIndex,
    symbolSize: 7,
    data: rounds
      .filter((r) => r.kind === kind && r.offeredTxPerSecond === undefined)
      .map((r) => [r.concurrency, Math.round(value(r))]),
  });
  const batchRounds = rounds.filter((r) => r.kind === 'batch');
  chart.setOption({
    animation: false,
    title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
    legend: { top: 28 },
    grid: { top: 70, left: 70, right: 80, bottom: 60 },
    xAxis: { type: 'log', logBase: 2, name: 'transactions in flight', nameLocation: 'middle', nameGap: 32 },
    yAxis: [
      { type: 'value', name: 'tx/s' },
      { type: 'value', name: 'readings/s (batches)', position: 'right' },
    ],
    series: [
      series('ping', 'System:Ping tx/s (the ceiling)', (r) => r.txPerSecond, 0),
      series('single', 'SubmitReading tx/s', (r) => r.txPerSecond, 0),
      ...[...new Set(batchRounds.map((r) => r.batchSize))].map((size) => ({
        ...series('batch', `SubmitReadings ×${size} readings/s`, (r) => r.readingsPerSecond, 1),
        data: batchRounds
          .filter((r) => r.batchSize === size)
          .map((r) => [r.concurrency, Math.round(r.readingsPerSecond)]),
      })),
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return `${svg}\n`;
}
