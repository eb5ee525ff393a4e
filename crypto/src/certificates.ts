import { createHash, X509Certificate } from 'node:crypto';
import { CryptoInputError } from './encoding';

/**
 * What identifies the holder of a certificate: the SHA-256 of its public key (SubjectPublicKeyInfo DER), hex.
 * A CA can issue a second certificate with the same name and attributes, but not for a key it does not hold the
 * private half of, so records bind to this rather than to attributes.
 */
export function certificateKeyFingerprint(certificatePem: string | Uint8Array): string {
  const text =
    typeof certificatePem === 'string' ? certificatePem : Buffer.from(certificatePem).toString('latin1');
  const known = fingerprints.get(text);
  if (known !== undefined) return known;
  const fingerprint = createHash('sha256')
    .update(certificateOf(certificatePem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  remember(fingerprints, text, fingerprint);
  return fingerprint;
}

/**
 * Parsing a certificate and exporting its key took half of a chaincode server's time for a single reading, and
 * the same few thousand certificates (the meters') come again and again. The fingerprint is a pure function of
 * the bytes, so remembering it changes no result; the cache is bounded (oldest entry out first).
 */
const fingerprints = new Map<string, string>();
const MAX_REMEMBERED = 4096;

function remember(cache: Map<string, string>, key: string, value: string): void {
  if (cache.size >= MAX_REMEMBERED) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, value);
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
