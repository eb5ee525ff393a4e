import { createHash, X509Certificate } from 'node:crypto';
import { CryptoInputError } from './encoding';

/**
 * What identifies the holder of a certificate: the SHA-256 of its public key (SubjectPublicKeyInfo DER), hex.
 * A CA can issue a second certificate with the same name and attributes, but not for a key it does not hold the
 * private half of, so records bind to this rather than to attributes.
 */
export function certificateKeyFingerprint(certificatePem: string | Uint8Array): string {
  return createHash('sha256')
    .update(certificateOf(certificatePem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** Fabric CA's attributes in a certificate (extension 1.2.3.4.5.6.7.8.1, a JSON object {"attrs": {...}}). */
export function certificateAttributes(certificatePem: string | Uint8Array): Partial<Record<string, string>> {
  const raw = certificateOf(certificatePem).raw.toString('latin1');
  const start = raw.indexOf('{"attrs":');
  if (start < 0) return {};
  let depth = 0;
  for (let i = start; i < raw.length; i += 1) {
    if (raw[i] === '{') depth += 1;
    if (raw[i] === '}') depth -= 1;
    if (depth === 0) {
      const parsed = JSON.parse(raw.slice(start, i + 1)) as { attrs?: Record<string, string> };
      return parsed.attrs ?? {};
    }
  }
  return {};
}

function certificateOf(certificatePem: string | Uint8Array): X509Certificate {
  try {
    return new X509Certificate(
      typeof certificatePem === 'string' ? certificatePem : Buffer.from(certificatePem),
    );
  } catch (err) {
    throw new CryptoInputError(`not an X.509 certificate: ${(err as Error).message}`);
  }
}
