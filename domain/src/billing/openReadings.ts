import { CryptoInputError, decryptReading, DecryptionError, type Utility } from '@smartmeter/crypto';
import type { ReadingRecord } from '../records';
import type { InvalidReading } from '../tariffs';
import type { BilledReading } from './computeBill';

export interface OpenedReadings {
  billed: BilledReading[];
  invalid: InvalidReading[];
}

/**
 * Decrypts a subscription's readings for a bill, each in its own slot. A reading that does not decrypt there
 * (a ciphertext moved from another slot, one under another key) or decrypts to no valid reading is set aside as
 * INVALID_READING instead of stopping the bill. So is a reading of another utility than the subscription's (a
 * gas meter's litres must never be billed as an electricity meter's Wh): the ledger cannot see a reading's
 * utility, which is inside the ciphertext, so the bill is where it is checked: the chaincode and a household recomputing its bill both sort
 * readings with this one function, so they agree on what was billed.
 */
export function openReadings(
  readings: ReadingRecord[],
  sessionKey: Uint8Array,
  channel: string,
  subscriptionKeyId: string,
  utility: Utility = 'electricity',
): OpenedReadings {
  const opened: OpenedReadings = { billed: [], invalid: [] };
  for (const reading of readings) {
    const invalid = (reason: string): void => {
      opened.invalid.push({ periodStart: reading.periodStart, code: 'INVALID_READING', reason });
    };
    if (reading.keyId !== subscriptionKeyId) {
      invalid(`encrypted under another key (${reading.keyId})`);
      continue;
    }
    const slot = {
      channel,
      subscriptionId: reading.subscriptionId,
      sequence: reading.sequence,
      periodStart: reading.periodStart,
    };
    try {
      const { energyWh, quality, utility: measured } = decryptReading(reading, sessionKey, slot);
      if (measured !== utility) {
        invalid(`is a ${measured} reading; the subscription meters ${utility}`);
        continue;
      }
      opened.billed.push({
        periodStart: reading.periodStart,
        energyWh,
        quality,
        ciphertext: reading.ciphertext,
      });
    } catch (err) {
      if (err instanceof DecryptionError) invalid('does not decrypt in its slot');
      else if (err instanceof CryptoInputError) invalid(`decrypts to no valid reading: ${err.message}`);
      else throw err;
    }
  }
  return opened;
}
