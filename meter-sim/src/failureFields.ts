import { refusalOf } from '@smartmeter/client/dist/errors';

/**
 * The log fields of a failure: its ErrorCode when the ledger refused the request, nothing when it could not be
 * reached. A log shipper (and the fault campaign) tells a refusal from an outage by this field, never by the text.
 */
export function failureFields(err: unknown): Record<string, string> {
  const refusal = refusalOf(err);
  return refusal ? { code: refusal.code } : {};
}
