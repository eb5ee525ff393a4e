import type { AccessRequestRecord, PersonalDataDelivery, ReadingRecord } from '@smartmeter/domain';
import {
  encryptReading,
  newOrgKeyPair,
  PERSONAL_DATA_PADDED_BYTES,
  READING_CIPHERTEXT_BYTES,
  sealForRecipient,
} from '@smartmeter/crypto';
import { createCipheriv, randomBytes } from 'node:crypto';
import { readingAad } from '@smartmeter/crypto';
import { transactionsOf } from '../../../client/src/reporting/blocks';
import { channelHeight } from '../../support/attacker';
import {
  decodeJson,
  evaluateJson,
  Gateways,
  isoSeconds,
  rejection,
  submitJson,
} from '../../support/chaincode';
import {
  AUTHORITY,
  CHANNEL,
  D1,
  HOUSEHOLDS,
  INTERVAL,
  onboardHousehold,
  type OnboardedHousehold,
} from '../../support/household';
import { CHAINCODE, eventually } from '../../support/network';

/**
 * Issue 12, finding 9: a reading's ciphertext was its JSON plus 16 bytes, so from the blocks alone its length
 * told how many digits the household's consumption had. Every reading plaintext is now padded to one size inside
 * the AEAD, the chaincode refuses any other length, and personal data handed over is padded the same way.
 */
const gateways = new Gateways();
const start = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 86_400;
const energies = [0, 3, 42, 999, 1_234, 56_789, 9_999_999, 7, 88, 100_000];
let household: OnboardedHousehold;
let fromHeight = 0;
afterAll(() => {
  gateways.closeAll();
});

beforeAll(async () => {
  household = await onboardHousehold(gateways, 'size', start);
  fromHeight = await channelHeight(gateways.gateway('authority'), CHANNEL);
});

const slotOf = (n: number) => ({
  channel: CHANNEL,
  subscriptionId: household.subscriptionId,
  sequence: n + 1,
  periodStart: isoSeconds(start + n * INTERVAL),
});
const reading = (n: number, energyWh: number, quality: 'measured' | 'estimated' = 'measured') => {
  const slot = slotOf(n);
  const payload = { energyWh, utility: 'electricity' as const, unit: 'Wh', quality };
  return {
    subscriptionId: slot.subscriptionId,
    sequence: slot.sequence,
    periodStart: slot.periodStart,
    ...encryptReading(payload, household.sessionKey, slot),
  };
};

describe('ciphertext sizes', () => {
  it('when readings of very different values are on the ledger then every ciphertext in the blocks has one length', async () => {
    const meter = gateways.contract(HOUSEHOLDS, CHANNEL, 'Measurement', household.meter);
    await submitJson(
      meter,
      'SubmitReadings',
      JSON.stringify(energies.map((e, n) => reading(n, e, n % 3 === 0 ? 'estimated' : 'measured'))),
    );
    const auditor = gateways.gateway('authority').getNetwork(CHANNEL);
    const until = await channelHeight(gateways.gateway('authority'), CHANNEL);
    const lengths: number[] = [];
    const events = await auditor.getBlockEvents({ startBlock: BigInt(fromHeight) });
    try {
      for await (const block of events) {
        for (const tx of transactionsOf(block)) {
          for (const write of tx.writes) {
            if (!write.key.startsWith(`reading/${household.subscriptionId}/`)) continue;
            const record = JSON.parse(Buffer.from(write.value).toString('utf8')) as ReadingRecord;
            lengths.push(Buffer.from(record.ciphertext, 'base64').length);
          }
        }
        if ((block.getHeader()?.getNumber() ?? 0) + 1 >= until) break;
      }
    } finally {
      events.close();
    }
    expect(lengths).toHaveLength(energies.length);
    expect(new Set(lengths)).toEqual(new Set([READING_CIPHERTEXT_BYTES]));
  });

  it('when a meter submits an unpadded ciphertext (its length would show the value) then it is INVALID_ARGUMENT', async () => {
    const n = energies.length;
    const slot = {
      channel: CHANNEL,
      subscriptionId: household.subscriptionId,
      sequence: n + 1,
      periodStart: isoSeconds(start + n * INTERVAL),
    };
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', household.sessionKey, nonce);
    cipher.setAAD(readingAad(slot));
    const plain = Buffer.from(
      JSON.stringify({ energyWh: 5, quality: 'measured', unit: 'Wh', utility: 'electricity' }),
    );
    const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    const meter = gateways.contract(HOUSEHOLDS, CHANNEL, 'Measurement', household.meter);
    expect(
      await rejection(
        meter.submitTransaction(
          'SubmitReading',
          JSON.stringify({
            subscriptionId: slot.subscriptionId,
            sequence: slot.sequence,
            periodStart: slot.periodStart,
            ciphertext: sealed.toString('base64'),
            nonce: nonce.toString('base64'),
            keyId: reading(0, 0).keyId,
          }),
        ),
      ),
    ).toMatch(
      new RegExp(
        `INVALID_ARGUMENT: reading.ciphertext must decode to ${READING_CIPHERTEXT_BYTES} bytes \\(got ${sealed.length}\\)`,
      ),
    );
  });

  it('when a household grants short and long personal data then both deliveries have one size', async () => {
    const authority = gateways.contract('authority', CHANNEL, 'PersonalData');
    const grantContract = gateways
      .gateway(HOUSEHOLDS, household.subscriber)
      .getNetwork(CHANNEL)
      .getContract(CHAINCODE, 'PersonalData');
    const sizes: number[] = [];
    for (const data of [
      '{"name":"Al"}',
      JSON.stringify({ name: 'A'.repeat(900), address: 'B'.repeat(4000), notes: 'C'.repeat(2000) }),
    ]) {
      const request = await submitJson<AccessRequestRecord>(
        authority,
        'RequestPersonalData',
        household.subscriptionId,
        'size check',
        newOrgKeyPair().publicKeyPem,
      );
      const sealed = sealForRecipient(
        Buffer.from(data),
        request.requestPublicKeyPem,
        request.requestId,
        PERSONAL_DATA_PADDED_BYTES,
      );
      decodeJson(
        await grantContract.submit('GrantPersonalData', {
          arguments: [request.requestId],
          transientData: { personalData: sealed },
          endorsingOrganizations: [D1, AUTHORITY],
        }),
      );
      // The grant committed on the households' gateway peer; the authority's own peer may be a block behind.
      const delivery = await eventually(
        () => evaluateJson<PersonalDataDelivery>(authority, 'FetchPersonalData', request.requestId),
        () => true,
        15_000,
        "the grant reaching the authority's peer",
      );
      sizes.push(Buffer.from(delivery.sealedPersonalData, 'base64').length);
    }
    expect(sizes[0]).toBe(sizes[1]);
  });
});
