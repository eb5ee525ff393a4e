import { requireCanonicalBase64 } from '../src/validate';

describe('requireCanonicalBase64: one spelling per value', () => {
  it('returns the bytes of canonical base64', () => {
    expect(requireCanonicalBase64('sealed', 'AAEC/w==')).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it.each([
    ['not a string', 42, /^INVALID_ARGUMENT: sealed must be base64$/],
    ['empty', '', /^INVALID_ARGUMENT: sealed must be base64$/],
    ['outside the alphabet', 'AA-_', /^INVALID_ARGUMENT: sealed must be base64$/],
    ['padding left off', 'AAEC/w', /^INVALID_ARGUMENT: sealed must be canonical base64$/],
    ['unused bits set', 'AAEC/x==', /^INVALID_ARGUMENT: sealed must be canonical base64$/],
  ])('refuses %s with a clear error', (_case, value, error) => {
    expect(() => requireCanonicalBase64('sealed', value)).toThrow(error);
  });
});
