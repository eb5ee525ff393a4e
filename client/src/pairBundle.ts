import { certificateAttributes, keyIdOf } from '@smartmeter/crypto';
import { isoSecondsOf, type PrivacyMode } from '@smartmeter/domain';
import { readFileSync } from 'node:fs';
import type { ConnectionProfile, IdentityFiles } from './profile';

export const PAIR_BUNDLE_FORMAT = 'smartmeter-pair-bundle/v1';

/**
 * Everything a meter needs, in one file (0600) for the Raspberry Pi: where its peer is, the subscription and its
 * session key, the household's personal data sealed with that key, and either where its CA is (the meter makes
 * its own key and enrolls: `meter-sim enroll`, so no one else ever holds the meter's private key) or, for
 * tests and labs, a CA-issued identity inline.
 */
export interface PairBundle {
  format: typeof PAIR_BUNDLE_FORMAT;
  channel: string;
  /** The chaincode's name on the channel, from the profile. */
  chaincodeName: string;
  mspId: string;
  subscriptionId: string;
  meterId: string;
  peer: { endpoint: string; hostAlias: string; tlsRootCertPem: string };
  /** The households CA the meter enrolls at. */
  ca?: { url: string; caName: string; tlsRootCertPem: string };
  /** An identity issued elsewhere (tests); absent when the meter enrolls itself. */
  identity?: { certificatePem: string; privateKeyPem: string };
  sessionKey: { keyId: string; keyHex: string };
  /** nonce | ciphertext | tag, base64 (see @smartmeter/crypto sealPersonalData); absent if none was given. */
  sealedPersonalData?: string;
  /** The subscription's privacy mode when the bundle was made (the ledger's record decides at run time). */
  privacyMode?: PrivacyMode;
  createdAt: string;
}

export interface PairBundleInput {
  profile: ConnectionProfile;
  channel: string;
  subscriptionId: string;
  meterId: string;
  /** Leave out so that the meter enrolls itself and the bundle carries no private key. */
  meterIdentity?: IdentityFiles;
  sessionKey: Buffer;
  sealedPersonalData?: Buffer;
  privacyMode?: PrivacyMode;
  now?: Date;
}

export function buildPairBundle(input: PairBundleInput): PairBundle {
  return {
    format: PAIR_BUNDLE_FORMAT,
    channel: input.channel,
    chaincodeName: input.profile.chaincodeName,
    mspId: input.profile.mspId,
    subscriptionId: input.subscriptionId,
    meterId: input.meterId,
    peer: {
      endpoint: input.profile.peer.endpoint,
      hostAlias: input.profile.peer.hostAlias,
      tlsRootCertPem: readFileSync(input.profile.peer.tlsRootCertPath, 'utf8'),
    },
    ca: {
      url: input.profile.ca.url,
      caName: input.profile.ca.caName,
      tlsRootCertPem: readFileSync(input.profile.ca.tlsCertPath, 'utf8'),
    },
    identity: input.meterIdentity && {
      certificatePem: readFileSync(input.meterIdentity.certPath, 'utf8'),
      privateKeyPem: readFileSync(input.meterIdentity.keyPath, 'utf8'),
    },
    sessionKey: { keyId: keyIdOf(input.sessionKey), keyHex: input.sessionKey.toString('hex') },
    sealedPersonalData: input.sealedPersonalData?.toString('base64'),
    ...(input.privacyMode ? { privacyMode: input.privacyMode } : {}),
    createdAt: isoSecondsOf(input.now),
  };
}

/** The certificate's attribute of the given name, as Fabric CA writes it. */
export function certificateAttribute(certificatePem: string, name: string): string | undefined {
  return certificateAttributes(certificatePem)[name];
}
