import type { AnomalyFinding } from './types';

/**
 * A finding the distributor confirmed (issue 19), on the ledger. Pseudonymous: the subscription id and a tag
 * keyed with the session key (crypto anomalyTagOf) are all it says in clear; the finding itself, with the
 * distributor's note, is sealed under the session key (crypto sealConfirmedAnomaly), so only the household,
 * its distributor and, in disclosed mode, the authority can open it.
 */
export interface ConfirmedAnomalyRecord {
  docType: 'confirmedAnomaly';
  channel: string;
  subscriptionId: string;
  distributorMspId: string;
  anomalyTag: string;
  /** Id of the session key the finding is sealed under (the subscription's key when it was confirmed). */
  keyId: string;
  /** nonce | AES-256-GCM ciphertext of the padded JSON | tag, base64. */
  sealedFinding: string;
  /** Transaction time of the confirmation. */
  confirmedAt: string;
}

/** The plaintext of a confirmed finding: what the scan found, and what the distributor adds. */
export interface ConfirmedFinding {
  anomalyId: string;
  finding: AnomalyFinding;
  /** Free text from the operator who confirmed it ("site visit booked"), at most 300 characters. */
  note?: string;
  /** Which range the confirming scan looked at, so a reader can repeat it. */
  scannedFrom: string;
  scannedTo: string;
}

export const MAX_CONFIRMATION_NOTE_LENGTH = 300;
