import { keyIdOf } from '@smartmeter/crypto';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionProfile, IdentityFiles } from './profile';

export const PAIR_BUNDLE_FORMAT = 'smartmeter-pair-bundle/v1';

/**
 * Everything a meter needs, in one file (0600) for the Raspberry Pi: where its peer is, its CA-issued identity,
 * the subscription and its session key, and the household's personal data sealed with that key.
 */
export interface PairBundle {
  format: typeof PAIR_BUNDLE_FORMAT;
  channel: string;
  mspId: string;
  subscriptionId: string;
  meterId: string;
  peer: { endpoint: string; hostAlias: string; tlsRootCertPem: string };
  identity: { certificatePem: string; privateKeyPem: string };
  sessionKey: { keyId: string; keyHex: string };
  /** nonce | ciphertext | tag, base64 (see @smartmeter/crypto sealPersonalData); absent if none was given. */
  sealedPersonalData?: string;
  createdAt: string;
}

export interface PairBundleInput {
  profile: ConnectionProfile;
  channel: string;
  subscriptionId: string;
  meterId: string;
  meterIdentity: IdentityFiles;
  sessionKey: Buffer;
  sealedPersonalData?: Buffer;
  now?: Date;
}

export function buildPairBundle(input: PairBundleInput): PairBundle {
  return {
    format: PAIR_BUNDLE_FORMAT,
    channel: input.channel,
    mspId: input.profile.mspId,
    subscriptionId: input.subscriptionId,
    meterId: input.meterId,
    peer: {
      endpoint: input.profile.peer.endpoint,
      hostAlias: input.profile.peer.hostAlias,
      tlsRootCertPem: readFileSync(input.profile.peer.tlsRootCertPath, 'utf8'),
    },
    identity: {
      certificatePem: readFileSync(input.meterIdentity.certPath, 'utf8'),
      privateKeyPem: readFileSync(input.meterIdentity.keyPath, 'utf8'),
    },
    sessionKey: { keyId: keyIdOf(input.sessionKey), keyHex: input.sessionKey.toString('hex') },
    sealedPersonalData: input.sealedPersonalData?.toString('base64'),
    createdAt: (input.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** The certificate's attribute of the given name, as Fabric CA writes it (JSON in extension 1.2.3.4.5.6.7.8.1). */
export function certificateAttribute(certificatePem: string, name: string): string | undefined {
  const cert = new X509Certificate(certificatePem);
  const raw = cert.raw.toString('latin1');
  const start = raw.indexOf('{"attrs":');
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = start; i < raw.length; i += 1) {
    if (raw[i] === '{') depth += 1;
    if (raw[i] === '}') depth -= 1;
    if (depth === 0) {
      const parsed = JSON.parse(raw.slice(start, i + 1)) as { attrs: Record<string, string> };
      return parsed.attrs[name];
    }
  }
  return undefined;
}
