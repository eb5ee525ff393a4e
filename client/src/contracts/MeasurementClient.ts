import type { Page, ReadingRecord } from '@smartmeter/domain';
import { allPages, contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

/** What a meter submits for one period: the slot and the reading encrypted for it. */
export type ReadingSubmission = Pick<
  ReadingRecord,
  'subscriptionId' | 'sequence' | 'periodStart' | 'ciphertext' | 'nonce' | 'keyId'
>;

export interface BatchResult {
  subscriptionId: string;
  submitted: number;
  stored: number;
  alreadyStored: number;
  firstPeriodStart: string;
  lastPeriodStart: string;
}

export interface MissingPeriods {
  subscriptionId: string;
  from: string;
  to: string;
  expected: number;
  missing: string[];
}

/** The Measurement contract: encrypted readings. */
export class MeasurementClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'Measurement');
  }

  submit(reading: ReadingSubmission): Promise<ReadingRecord> {
    return submitJson(this.contract, 'SubmitReading', JSON.stringify(reading));
  }

  submitBatch(readings: ReadingSubmission[]): Promise<BatchResult> {
    return submitJson(this.contract, 'SubmitReadings', JSON.stringify(readings));
  }

  page(subscriptionId: string, from: string, to: string, pageSize: number, bookmark: string) {
    return evaluateJson<Page<ReadingRecord>>(
      this.contract,
      'GetReadings',
      subscriptionId,
      from,
      to,
      String(pageSize),
      bookmark,
    );
  }

  /** Every reading with a period in [from, to), oldest first. */
  all(subscriptionId: string, from: string, to: string): Promise<ReadingRecord[]> {
    return allPages((bookmark) => this.page(subscriptionId, from, to, 100, bookmark));
  }

  missing(subscriptionId: string, from: string, to: string): Promise<MissingPeriods> {
    return evaluateJson(this.contract, 'MissingPeriods', subscriptionId, from, to);
  }
}
