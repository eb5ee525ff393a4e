import { isoSeconds } from '@smartmeter/domain';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokersUnderTest } from './support/brokers';
import { eventually, Harness } from './support/harness';
import { dayFiltersFor, newMeters, periodStart, readings, yesterday } from './support/meters';

/**
 * Restart safety, with the embedded broker and with Mosquitto (MQTT_TEST_BROKERS=aedes: the embedded one only):
 * the buffer survives the service, and the broker keeps the shares that arrive while it is away.
 */
describe.each(brokersUnderTest())('with the %s broker', (kind) => {
  let harness: Harness;
  const day = yesterday();

  beforeAll(async () => {
    harness = await Harness.start(kind);
  });

  afterAll(async () => {
    // When the broker could not start, beforeAll failed already and there is nothing to stop.
    if ((harness as Harness | undefined) !== undefined) await harness.stop();
  });

  function roundFiles(stateDir: string): string[] {
    return readdirSync(join(stateDir, 'rounds')).filter((name) => name.endsWith('.jsonl'));
  }

  test('when the service stops before a round closes then the next run submits the round once, with the shares sent meanwhile', async () => {
    const region = 'north/d4';
    const meters = newMeters(5);
    harness.ledger.publish(dayFiltersFor(region, day, meters));
    const stateDir = harness.newStateDir();
    const config = harness.config({ stateDir, name: 'restart', collectSeconds: 3 });
    const start = periodStart(day, 50);
    const shares = readings(region, meters, start).flatMap((reading) => reading.shares);

    const first = await harness.service(config);
    await harness.publish(shares.slice(0, 6));
    await eventually(() => first.service.stats.accepted === 6, 'six shares buffered');
    await first.service.stop();
    expect(harness.ledger.callsOf('submitShares', region)).toBe(0);
    const [file] = roundFiles(stateDir);
    expect(
      readFileSync(join(stateDir, 'rounds', file), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(7);

    // Published while no aggregator is connected: the broker keeps them in its persistent session.
    await harness.publish(shares.slice(6, 8));
    const second = await harness.service(config);
    const closed = await second.logs.waitFor('round.closed', { region });
    expect(closed).toEqual(expect.objectContaining({ status: 'FAULT', shares: 8, shareCount: 8 }));
    expect(second.logs.of('aggregator.started')[0]).toEqual(
      expect.objectContaining({ rounds: 1, shares: 6 }),
    );
    const submitted = harness.ledger.batches
      .filter((batch) => batch.regionCode === region)
      .flatMap((batch) => batch.shares);
    expect(submitted.map((share) => share.prid).sort()).toEqual(
      shares
        .slice(0, 8)
        .map((share) => share.prid)
        .sort(),
    );
    expect(harness.ledger.callsOf('closeRound', region)).toBe(1);
    expect(harness.ledger.sharesOf(region, isoSeconds(start))).toHaveLength(8);
    expect(roundFiles(stateDir)).toEqual([]);
    expect(readFileSync(join(stateDir, 'closed.jsonl'), 'utf8')).toContain(isoSeconds(start));
  });
});
