/**
 * The capacity model for one million meters reading every 15 minutes, from figures measured in the same run:
 * CPU per reading of the network's processes, ledger and state bytes per reading, per mode.
 */
import type { RoundReport } from './report';

export const METERS = 1_000_000;
export const READINGS_PER_DAY = (METERS * 86_400) / 900;
export const READINGS_PER_SECOND = READINGS_PER_DAY / 86_400;

export interface ModeCapacity {
  mode: string;
  readingsPerTransaction: number;
  /** Transactions per second the million meters need on average. */
  transactionsPerSecond: number;
  /** Core-seconds the whole network (orderers, peers, chaincode, CAs) spent per reading in the round. */
  networkCoreSecondsPerReading: number;
  /** Of that, one organization's peer and its chaincode server (a peer host), per reading. */
  peerHostCoreSecondsPerReading: number;
  /** Cores a peer host needs for the million meters' average load (×2 for peaks is the usual headroom). */
  peerHostCores: number;
  /** Cores the whole network needs in all. */
  networkCores: number;
  ledgerGbPerDay: number;
  ledgerTbPerYear: number;
  stateGbPerDay: number;
}

function coreSeconds(cpu: Record<string, number>, match: (name: string) => boolean): number {
  return Object.entries(cpu)
    .filter(([name]) => match(name))
    .reduce((sum, [, share]) => sum + share, 0);
}

/** One mode's needs, from a round that measured it (readings/s, CPU shares, bytes per reading). */
export function modeCapacity(
  mode: string,
  round: RoundReport,
  host: { peer: string; chaincode: string },
): ModeCapacity {
  const perReading = (share: number) => share / round.readingsPerSecond;
  const network = perReading(coreSeconds(round.cpu, (name) => name !== 'load generator'));
  const hostShare = coreSeconds(round.cpu, (name) => name === host.peer || name === host.chaincode);
  const peerHost = perReading(hostShare);
  const ledger = round.ledgerBytesPerReading ?? 0;
  const state = Math.max(0, round.stateBytesPerReading ?? 0);
  return {
    mode,
    readingsPerTransaction: round.batchSize,
    transactionsPerSecond: READINGS_PER_SECOND / round.batchSize,
    networkCoreSecondsPerReading: network,
    peerHostCoreSecondsPerReading: peerHost,
    peerHostCores: peerHost * READINGS_PER_SECOND,
    networkCores: network * READINGS_PER_SECOND,
    ledgerGbPerDay: (ledger * READINGS_PER_DAY) / 1e9,
    ledgerTbPerYear: (ledger * READINGS_PER_DAY * 365) / 1e12,
    stateGbPerDay: (state * READINGS_PER_DAY) / 1e9,
  };
}

export function formatCapacity(modes: ModeCapacity[]): string {
  const lines = [
    `1,000,000 meters × one reading per 15 min = ${READINGS_PER_SECOND.toFixed(0)} readings/s, ${(READINGS_PER_DAY / 1e6).toFixed(0)} M readings/day`,
    'mode                 tx/s needed  core-ms/reading (network | one peer host)  cores (network | peer host)  ledger GB/day  TB/year  state GB/day',
  ];
  for (const m of modes) {
    lines.push(
      [
        m.mode.padEnd(20),
        m.transactionsPerSecond.toFixed(0).padStart(11),
        `${(m.networkCoreSecondsPerReading * 1000).toFixed(3)} | ${(m.peerHostCoreSecondsPerReading * 1000).toFixed(3)}`.padStart(
          40,
        ),
        `${m.networkCores.toFixed(1)} | ${m.peerHostCores.toFixed(1)}`.padStart(28),
        m.ledgerGbPerDay.toFixed(1).padStart(14),
        m.ledgerTbPerYear.toFixed(1).padStart(8),
        m.stateGbPerDay.toFixed(1).padStart(13),
      ].join(' '),
    );
  }
  return lines.join('\n');
}
