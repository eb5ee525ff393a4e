import { encryptReading } from '@smartmeter/crypto';
import type { BillRecord, PriceSignalRecord, ReadingRecord, SubscriptionRecord } from '@smartmeter/domain';
import {
  billDifferences,
  fetchBillEvidence,
  recomputeBill,
  verifyEvidence,
  type BillEvidence,
  type EvidenceSources,
} from '../src/billVerify';
import { APPROVAL, CHANNEL, subscriptionRecord, tariffRecord } from './commands/support/fixtures';

/** A household recomputing its bill (`meterctl bill verify`): the rules of domain/src/billing/computeBill.ts. */
const sessionKey = Buffer.alloc(32, 9);
const subscription = subscriptionRecord(sessionKey, [], { status: 'ACTIVE', approval: APPROVAL });
const tiered = tariffRecord({
  pricing: {
    kind: 'tiered',
    tiers: [
      { upToWh: 1000, priceMicroPerKwh: 10_000_000 },
      { upToWh: null, priceMicroPerKwh: 20_000_000 },
    ],
  },
});

/** One reading per entry, encrypted in its slot; sequence numbers in period order. */
function readings(entries: [string, number, 'measured' | 'estimated'][], firstSequence = 1): ReadingRecord[] {
  return entries.map(([periodStart, energyWh, quality], i) => {
    const slot = {
      channel: CHANNEL,
      subscriptionId: subscription.subscriptionId,
      sequence: firstSequence + i,
      periodStart,
    };
    return {
      docType: 'reading',
      ...slot,
      ...encryptReading({ energyWh, utility: 'electricity', unit: 'Wh', quality }, sessionKey, slot),
      submittedAt: periodStart,
      txId: `tx${firstSequence + i}`,
    };
  });
}

const prior = readings([['2026-11-10T00:00:00Z', 800, 'measured']]);
const billed = readings(
  [
    ['2026-11-20T00:00:00Z', 400, 'measured'],
    ['2026-11-20T00:30:00Z', 200, 'estimated'],
  ],
  2,
);

/** A bill over 2026-11-20 as IssueBill computes it: the month's earlier reading counts for the tiers. */
function evidence(overrides: Partial<BillEvidence> = {}): BillEvidence {
  const shell = {
    docType: 'bill',
    billId: 'bill_1',
    subscriptionId: 'sub_1',
    distributorMspId: 'Distributor1MSP',
    periodFrom: '2026-11-20T00:00:00Z',
    periodTo: '2026-11-21T00:00:00Z',
    status: 'ISSUED',
    issuedAt: '2026-11-21T01:00:00Z',
  } as BillRecord;
  const base: BillEvidence = {
    channel: CHANNEL,
    bill: shell,
    subscription,
    readings: billed,
    priorReadings: prior,
    tariffVersions: [tiered],
    signals: [],
    priorSignals: [],
  };
  return { ...base, bill: { ...shell, ...recomputeBill(base, sessionKey) }, ...overrides };
}

describe('bill verify: running totals and estimated readings', () => {
  it('when the bill starts after the 1st then the recomputation includes the month’s earlier readings: OK', () => {
    const checked = evidence();
    expect(checked.bill.lineItems.map((l) => [l.label, l.energyWh, l.amountMinor])).toEqual([
      ['tier 1', 200, 2],
      ['tier 2', 400, 8],
    ]);
    expect(checked.bill.runningTotals).toMatchObject({ since: '2026-11-01T00:00:00Z', priorReadingCount: 1 });
    expect(verifyEvidence(checked, sessionKey)).toMatchObject({ ok: true, differences: [] });
  });

  it('when the evidence lacks the month’s earlier readings then the differing tiers and running totals are listed', () => {
    const { differences } = verifyEvidence(evidence({ priorReadings: undefined }), sessionKey);
    expect(differences).toEqual(
      expect.arrayContaining([
        'lineItems[0].energyWh: bill 200, recomputed 600',
        'runningTotals.priorReadingCount: bill 1, recomputed 0',
      ]),
    );
  });

  it('when readings are estimated then the recomputed bill counts them; a bill that hides them differs', () => {
    const checked = evidence();
    expect(checked.bill).toMatchObject({
      estimatedReadings: 1,
      estimatedEnergyWh: 200,
      estimatedPeriods: ['2026-11-20T00:30:00Z'],
    });
    const hidden = { ...checked.bill, estimatedReadings: 0, estimatedEnergyWh: 0, estimatedPeriods: [] };
    expect(billDifferences(hidden, recomputeBill(checked, sessionKey))).toEqual([
      'estimatedReadings: bill 0, recomputed 1',
      'estimatedEnergyWh: bill 0, recomputed 200',
      'estimatedPeriods[0]: bill undefined, recomputed "2026-11-20T00:30:00Z"',
    ]);
  });
});

describe('fetchBillEvidence', () => {
  function sources(bill: BillRecord, calls: string[]): EvidenceSources {
    return {
      billing: { get: async () => bill },
      subscriptions: { get: async (): Promise<SubscriptionRecord> => subscription },
      measurements: {
        all: async (_id: string, from: string, to: string) => {
          calls.push(`readings ${from} ${to}`);
          return [...prior, ...billed].filter((r) => r.periodStart >= from && r.periodStart < to);
        },
      },
      pricing: {
        tariffHistory: async () => [tiered],
        signals: async (_region: string, from: string, to: string): Promise<PriceSignalRecord[]> => {
          calls.push(`signals ${from} ${to}`);
          return [];
        },
      },
    };
  }

  it('when the bill starts after the 1st then it also fetches the month’s readings and signals before the bill', async () => {
    const calls: string[] = [];
    const fetched = await fetchBillEvidence(sources(evidence().bill, calls), CHANNEL, 'bill_1');
    expect(calls).toEqual([
      'readings 2026-11-20T00:00:00Z 2026-11-21T00:00:00Z',
      'signals 2026-11-20T00:00:00Z 2026-11-21T00:00:00Z',
      'readings 2026-11-01T00:00:00Z 2026-11-20T00:00:00Z',
      'signals 2026-11-01T00:00:00Z 2026-11-20T00:00:00Z',
    ]);
    expect(fetched.priorReadings).toEqual(prior);
    expect(fetched.readings).toEqual(billed);
    expect(verifyEvidence(fetched, sessionKey).ok).toBe(true);
  });

  it('when the bill starts on the 1st then there is nothing before it to fetch', async () => {
    const calls: string[] = [];
    const bill = { ...evidence().bill, periodFrom: '2026-11-01T00:00:00Z' };
    const fetched = await fetchBillEvidence(sources(bill, calls), CHANNEL, 'bill_1');
    expect(calls).toEqual([
      'readings 2026-11-01T00:00:00Z 2026-11-21T00:00:00Z',
      'signals 2026-11-01T00:00:00Z 2026-11-21T00:00:00Z',
    ]);
    expect(fetched).toMatchObject({ priorReadings: [], priorSignals: [] });
  });
});
