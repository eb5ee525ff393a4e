import { decryptReading, sealPersonalData } from '@smartmeter/crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { Gateways, isoSeconds as iso } from '../support/chaincode';
import { CHANNEL, HOUSEHOLDS, INTERVAL, issueBill, onboardHousehold } from '../support/household';
import { hostOfNode } from '../support/hosts';
import { MeterSimProcess } from '../support/meterSim';
import { CHAINCODE, profile } from '../support/network';

/**
 * Issue 21, part 4: the household's story when every organization is on a host of its own. The household and
 * its meter (meter-sim) are clients in the root namespace; the distributor's and the authority's peers,
 * chaincode servers and CAs, and the orderers, are each on their own host.
 */
const DAY = 86_400;
const gateways = new Gateways();
afterAll(() => {
  gateways.closeAll();
});

describe('the household story across hosts', () => {
  // Two days back, at a day boundary: the simulated day lies in the past, where the ledger accepts it.
  const start = Math.floor(Date.now() / 1000 / DAY) * DAY - 2 * DAY;
  const dir = mkdtempSync(join(tmpdir(), 'multihost-story-'));

  it('when a household is onboarded and its meter reports a day at speed then every period is on the ledger, decrypts, and is billed', async () => {
    // The clients talk to the hosts' addresses, never to this machine's loopback.
    expect(profile(HOUSEHOLDS).peer.endpoint).toBe(`${hostOfNode('peer0.distributor1').address}:7051`);
    const household = await onboardHousehold(gateways, 'mhost', start, { pair: false });
    const households = profile(HOUSEHOLDS);
    const bundlePath = join(dir, 'pair-bundle.json');
    writeSecretFile(
      bundlePath,
      JSON.stringify(
        buildPairBundle({
          profile: households,
          channel: CHANNEL,
          subscriptionId: household.subscriptionId,
          meterId: household.meter,
          meterIdentity: households.identities[household.meter],
          sessionKey: household.sessionKey,
          sealedPersonalData: sealPersonalData(
            Buffer.from('{"name":"M. Host"}'),
            household.sessionKey,
            household.subscriptionId,
          ),
        }),
      ),
    );

    const meter = new MeterSimProcess([
      '--bundle',
      bundlePath,
      '--state-dir',
      join(dir, 'state'),
      '--refresh',
      '1',
      '--speed',
      '20000',
      '--until',
      iso(start + DAY),
    ]);
    expect(await meter.exited).toEqual({ code: 0, signal: null });
    expect(meter.events.some((e) => e.event === 'meter.paired')).toBe(true);
    expect(meter.events.at(-1)).toMatchObject({ event: 'summary', generated: 48, committed: 48, dropped: 0 });

    const measurements = new MeasurementClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    const readings = await measurements.all(household.subscriptionId, iso(start), iso(start + DAY));
    const periods = Array.from({ length: 48 }, (_, i) => iso(start + i * INTERVAL));
    expect(readings.map((r) => r.periodStart)).toEqual(periods);
    expect(readings.map((r) => r.sequence)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    const source = new HouseholdSource({
      seed: household.meter,
      utility: 'electricity',
      utcOffsetMinutes: 0,
    });
    let energyWh = 0;
    for (const reading of readings) {
      const slot = {
        channel: CHANNEL,
        subscriptionId: reading.subscriptionId,
        sequence: reading.sequence,
        periodStart: reading.periodStart,
      };
      const expected = source.measure(Date.parse(reading.periodStart) / 1000, INTERVAL).quantity;
      expect(decryptReading(reading, household.sessionKey, slot)).toMatchObject({ energyWh: expected });
      energyWh += expected;
    }

    // Endorsed by the distributor's peer and the authority's, each on its own host, and ordered by the orderers' host.
    const bill = await issueBill(gateways, household, start, start + DAY);
    expect(bill).toMatchObject({
      subscriptionId: household.subscriptionId,
      readingCount: 48,
      expectedReadings: 48,
      energyWh,
    });
    expect(bill.totalMinor).toBeGreaterThan(0);
  });
});
