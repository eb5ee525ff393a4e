import { maskSum, periodSecrets, splitReading, type GridShare } from '@smartmeter/crypto';
import { isoSeconds } from '@smartmeter/domain';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerRefusal } from '../src/ledger';
import { AggregatorService } from '../src/service';
import { aggregatorClientId, shareTopic } from '../src/topics';
import { connected } from './support/brokers';
import { eventually, Harness } from './support/harness';
import { CapturedLogs } from './support/logs';
import { dayFiltersFor, newMeters, PERIOD_SECONDS, periodStart, readings, yesterday } from './support/meters';

let harness: Harness;

beforeAll(async () => {
  harness = await Harness.start();
});

afterEach(async () => {
  await harness.stopServices();
});

afterAll(async () => {
  await harness.stop();
});

const day = yesterday();

function roundFiles(stateDir: string): string[] {
  return readdirSync(join(stateDir, 'rounds')).filter((name) => name.endsWith('.jsonl'));
}

describe('the aggregator service', () => {
  test('when 5 meters send their shares for 3 periods then 3 rounds are submitted and closed, each with the exact load', async () => {
    const region = 'north/d3';
    const meters = newMeters(5);
    harness.ledger.publish(dayFiltersFor(region, day, meters));
    const stateDir = harness.newStateDir();
    const { logs } = await harness.service(harness.config({ stateDir, name: 'three-rounds' }));

    const periods = [40, 41, 42].map((index) => periodStart(day, index));
    const sent = periods.map((start) => readings(region, meters, start));
    for (const period of sent) await harness.publish(period.flatMap((reading) => reading.shares));
    await logs.waitForCount('round.closed', { region }, 3);

    for (const [i, start] of periods.entries()) {
      const iso = isoSeconds(start);
      const wattHours = sent[i].reduce((sum, reading) => sum + reading.wattHours, 0);
      const stored = harness.ledger.sharesOf(region, iso);
      expect(stored).toHaveLength(10);
      const valueSum = stored.reduce((sum, share) => sum + BigInt(share.value), 0n);
      expect(valueSum - maskSum(sent[i].map((reading) => reading.secrets))).toBe(BigInt(wattHours));
      expect(harness.ledger.closedRounds.get(`${region}|${iso}`)).toEqual(
        expect.objectContaining({ status: 'COMPLETE', shareCount: 10, load: String(wattHours) }),
      );
      expect(logs.of('round.closed', { region, periodStart: iso })).toEqual([
        expect.objectContaining({ status: 'COMPLETE', shares: 10, load: String(wattHours) }),
      ]);
    }
    // Closed rounds leave no buffer behind; no share value or signature ever reaches the log.
    await eventually(() => roundFiles(stateDir).length === 0, 'the round files to go');
    const values = sent.flat().flatMap((reading) => reading.shares.map((share) => share.signature));
    expect(logs.raw.filter((line) => values.some((signature) => line.includes(signature)))).toEqual([]);
    expect(logs.raw.some((line) => line.includes('"value"'))).toBe(false);
  });

  test('when bad, replayed, conflicting or late messages arrive then each is dropped with its reason and good shares still go through', async () => {
    const region = 'south/d1';
    const meters = newMeters(3);
    harness.ledger.publish(dayFiltersFor(region, day, meters));
    const oldDay = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    harness.ledger.publish(dayFiltersFor(region, oldDay, meters));
    const { service, logs } = await harness.service(
      harness.config({ stateDir: harness.newStateDir(), name: 'drops' }),
    );
    const start = periodStart(day, 8);
    const topic = shareTopic(region);
    const round = readings(region, meters, start);
    const [good, partner] = round[0].shares;
    const end = start + PERIOD_SECONDS;
    const split = (sentAt: string, periodStartSeconds = start, sessionKey = meters[0].sessionKey) =>
      splitReading({
        wattHours: 100,
        secrets: periodSecrets(sessionKey, periodStartSeconds),
        region,
        sentAt: [sentAt, sentAt],
      })[0];
    const expectDrop = async (reason: string, fields: Record<string, unknown> = {}) => {
      await logs.waitFor('share.dropped', { reason, ...fields });
    };

    await harness.publishRaw(topic, 'not json at all');
    await expectDrop('MALFORMED', { detail: 'not JSON' });
    await harness.publishRaw(topic, JSON.stringify({ ...good, extra: 1 }));
    await expectDrop('MALFORMED', { detail: 'a share has unexpected field(s): extra' });
    await harness.publish([good], 'grid/elsewhere/shares');
    await expectDrop('WRONG_REGION', { prid: good.prid });
    const stranger = split(isoSeconds(end + 5), start, newMeters(1)[0].sessionKey);
    await harness.publish([stranger]);
    await expectDrop('NOT_IN_BF1', { prid: stranger.prid });
    const forged: GridShare = { ...partner, value: String(BigInt(partner.value) + 1000n) };
    await harness.publish([forged]);
    await expectDrop('BAD_SIGNATURE', { prid: partner.prid });
    await harness.publish([split(isoSeconds(end - 60), start, meters[1].sessionKey)]);
    await expectDrop('EARLY');
    await harness.publish([
      split(isoSeconds(Math.floor(Date.now() / 1000) + 3600), start, meters[2].sessionKey),
    ]);
    await expectDrop('FUTURE');
    await harness.publish([split(isoSeconds(end + 305), start + 300)]);
    await expectDrop('WRONG_PERIOD');
    const oldStart = periodStart(oldDay, 8);
    await harness.publish([split(isoSeconds(oldStart + PERIOD_SECONDS + 5), oldStart)]);
    await expectDrop('LATE');

    await harness.publish([good]);
    await eventually(() => service.stats.accepted === 1, 'the first good share');
    await harness.publish([good]);
    await expectDrop('DUPLICATE', { prid: good.prid });
    const conflicting = split(isoSeconds(end + 99));
    expect(conflicting.prid).toBe(good.prid);
    await harness.publish([conflicting]);
    await expectDrop('CONFLICT', { prid: good.prid });

    // The service still takes good shares: the round fills and closes with the first of the conflicting pair.
    await harness.publish(round.flatMap((reading) => reading.shares).slice(1));
    const closed = await logs.waitFor('round.closed', { region, periodStart: isoSeconds(start) });
    expect(closed).toEqual(expect.objectContaining({ status: 'COMPLETE', shares: 6 }));
    expect(
      harness.ledger.sharesOf(region, isoSeconds(start)).find((share) => share.prid === good.prid)?.sentAt,
    ).toBe(good.sentAt);
    await harness.publish([good]);
    await expectDrop('ROUND_CLOSED', { prid: good.prid });

    const next = readings(region, meters, start + PERIOD_SECONDS);
    await harness.publish(next.flatMap((reading) => reading.shares));
    await logs.waitFor('round.closed', {
      region,
      periodStart: isoSeconds(start + PERIOD_SECONDS),
      status: 'COMPLETE',
    });
    expect(service.stats.dropped).toEqual({
      MALFORMED: 2,
      WRONG_REGION: 1,
      NOT_IN_BF1: 1,
      BAD_SIGNATURE: 1,
      EARLY: 1,
      FUTURE: 1,
      WRONG_PERIOD: 1,
      LATE: 1,
      DUPLICATE: 1,
      CONFLICT: 1,
      ROUND_CLOSED: 1,
    });
    for (const line of logs.of('share.dropped')) expect(line.level).toMatch(/^(warn|info)$/);
  });

  test('when the filters are not published yet then shares wait for them, and are dropped as NO_FILTERS if they never come', async () => {
    const late = 'east';
    const never = 'west';
    const meters = newMeters(1);
    const { service, logs } = await harness.service(
      harness.config({
        stateDir: harness.newStateDir(),
        name: 'waiting',
        filtersWaitSeconds: 2,
        filtersRetrySeconds: 1,
      }),
    );
    const start = periodStart(day, 20);
    const [east] = readings(late, meters, start);
    const [west] = readings(never, meters, start);
    await harness.publish([...east.shares, ...west.shares]);
    await eventually(() => service.stats.waiting === 4, 'four shares waiting');
    harness.ledger.publish(dayFiltersFor(late, day, meters));
    const closed = await logs.waitFor('round.closed', { region: late });
    expect(closed).toEqual(expect.objectContaining({ status: 'COMPLETE', load: String(east.wattHours) }));
    await logs.waitForCount('share.dropped', { reason: 'NO_FILTERS', region: never }, 2);
    expect(service.stats.waiting).toBe(0);
    expect(logs.of('share.dropped', { region: late })).toEqual([]);
  });

  test('when the connection drops while a share is being stored then the broker still holds it: no PUBACK before the buffer has it', async () => {
    const region = 'north/d6';
    const meters = newMeters(1);
    harness.ledger.publish(dayFiltersFor(region, day, meters));
    const config = harness.config({ stateDir: harness.newStateDir(), name: 'ack' });
    const { service } = await harness.service(config);
    const release = harness.ledger.holdFilters();

    const [reading] = readings(region, meters, periodStart(day, 60));
    await harness.publish([reading.shares[0]]);
    await eventually(
      () => harness.ledger.callsOf('filters', region) > 0,
      'the service to look the filters up',
    );

    // Another connection with the aggregator's client id takes the session over: the share was not acknowledged,
    // so the broker hands it to the new connection.
    const thief = await harness.track(
      connected(harness.broker.url, harness.files, {
        username: 'aggregator',
        password: harness.files.password,
        clientId: config.clientId,
        clean: false,
      }),
    );
    const redelivered: string[] = [];
    thief.on('message', (_topic, payload) =>
      redelivered.push((JSON.parse(payload.toString()) as GridShare).prid),
    );
    await eventually(() => redelivered.length === 1, 'the unacknowledged share to be delivered again');
    expect(redelivered).toEqual([reading.shares[0].prid]);
    release();
    await eventually(() => service.stats.accepted === 1, 'the share to reach the buffer');
    await thief.endAsync();
  });

  test('when the ledger fails or its outcome is unknown then the round is retried with back-off and closed once', async () => {
    const region = 'north/d5';
    const meters = newMeters(1);
    harness.ledger.publish(dayFiltersFor(region, day, meters));
    const { logs } = await harness.service(
      harness.config({ stateDir: harness.newStateDir(), name: 'retry' }),
    );
    harness.ledger.failNext('submitShares', region, new Error('14 UNAVAILABLE: No connection established'));
    harness.ledger.succeedThenFail('submitShares', region);
    harness.ledger.succeedThenFail('closeRound', region);
    const [reading] = readings(region, meters, periodStart(day, 70));
    await harness.publish(reading.shares);
    const closed = await logs.waitFor('round.closed', { region });
    expect(closed).toEqual(expect.objectContaining({ status: 'COMPLETE', load: String(reading.wattHours) }));
    expect(logs.of('round.retry', { region }).length).toBe(3);
    expect(harness.ledger.callsOf('closeRound', region)).toBe(2);
    expect(harness.ledger.sharesOf(region, reading.secrets.periodStart)).toHaveLength(2);
  });

  test('when the ledger already holds another share for a PRID then only that share is left out of the batch', async () => {
    const region = 'north/d7';
    const meters = newMeters(2);
    harness.ledger.publish(dayFiltersFor(region, day, meters));
    const { logs } = await harness.service(
      harness.config({ stateDir: harness.newStateDir(), name: 'refused' }),
    );
    const start = periodStart(day, 80);
    const round = readings(region, meters, start);
    const sentAt = isoSeconds(start + PERIOD_SECONDS + 50);
    const [other] = splitReading({
      wattHours: 7,
      secrets: round[0].secrets,
      region,
      sentAt: [sentAt, sentAt],
    });
    await harness.ledger.submitShares({
      regionCode: region,
      periodStart: isoSeconds(start),
      shares: [other],
    });
    await harness.publish(round.flatMap((reading) => reading.shares));
    await logs.waitFor('round.closed', { region });
    expect(logs.of('share.dropped', { reason: 'REFUSED_BY_LEDGER' })).toEqual([
      expect.objectContaining({ prid: other.prid, code: 'CONFLICT' }),
    ]);
    expect(harness.ledger.sharesOf(region, isoSeconds(start))).toHaveLength(4);
  });

  test('when the aggregator identity is refused (FORBIDDEN) then nothing is dropped: the round is retried', async () => {
    const region = 'north/d8';
    const meters = newMeters(1);
    harness.ledger.publish(dayFiltersFor(region, day, meters));
    const { service, logs } = await harness.service(
      harness.config({ stateDir: harness.newStateDir(), name: 'forbidden' }),
    );
    harness.ledger.failNext(
      'submitShares',
      region,
      new LedgerRefusal('FORBIDDEN', 'SubmitShares needs the aggregator'),
    );
    const [reading] = readings(region, meters, periodStart(day, 90));
    await harness.publish(reading.shares);
    await logs.waitFor('round.retry', { region, code: 'FORBIDDEN' });
    await logs.waitFor('round.closed', { region, status: 'COMPLETE' });
    expect(service.stats.dropped).toEqual({});
  });

  test('when a state folder is in use by another running aggregator then the service refuses to start', () => {
    const stateDir = harness.newStateDir();
    writeFileSync(join(stateDir, 'aggregator.pid'), `${process.ppid}\n`);
    const service = new AggregatorService(harness.config({ stateDir }), {
      ledger: harness.ledger,
      log: new CapturedLogs().logger,
    });
    expect(() => {
      service.start();
    }).toThrow(`another aggregator (PID ${process.ppid}) uses the state folder ${stateDir}`);
  });

  test('when --regions names a region then only its shares (and those of the regions below it) are taken', async () => {
    const meters = newMeters(1);
    for (const region of ['north/d9', 'north/d9/x', 'north/d10'])
      harness.ledger.publish(dayFiltersFor(region, day, meters));
    const { service, logs } = await harness.service(
      harness.config({ stateDir: harness.newStateDir(), name: 'regions', regions: ['north/d9'] }),
    );
    expect(logs.of('mqtt.subscribed')[0]).toEqual(expect.objectContaining({ filters: 'grid/north/d9/#' }));
    const start = periodStart(day, 30);
    for (const region of ['north/d10', 'north/d9/x', 'north/d9']) {
      await harness.publish(readings(region, meters, start)[0].shares);
    }
    await logs.waitFor('round.closed', { region: 'north/d9' });
    await logs.waitFor('round.closed', { region: 'north/d9/x' });
    expect(logs.of('round.closed', { region: 'north/d10' })).toEqual([]);
    expect(service.stats.received).toBe(4);
  });
});

// Keep the name used in messages honest: the derived client id is stable and secret.
test('the client id is aggregator-<name>-<12 hex> and depends on the password', () => {
  const id = aggregatorClientId('main', 'a-password-of-some-length');
  expect(id).toMatch(/^aggregator-main-[0-9a-f]{12}$/);
  expect(aggregatorClientId('main', 'a-password-of-some-length')).toBe(id);
  expect(aggregatorClientId('main', 'another-password-entirely')).not.toBe(id);
});
