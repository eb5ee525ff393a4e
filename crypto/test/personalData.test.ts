import { DecryptionError, newSessionKey, openPersonalData, sealPersonalData } from '../src';

describe('personal data sealing', () => {
  const key = newSessionKey();
  const data = Buffer.from(JSON.stringify({ name: 'A. Household', address: '1 Grid Lane' }));

  it('when sealed for a subscription then it opens with the same key and subscription', () => {
    expect(openPersonalData(sealPersonalData(data, key, 'sub_1'), key, 'sub_1')).toEqual(data);
  });

  it('when opened as another subscription then it fails', () => {
    expect(() => openPersonalData(sealPersonalData(data, key, 'sub_1'), key, 'sub_2')).toThrow(
      DecryptionError,
    );
  });

  it('when opened with another key or tampered then it fails', () => {
    const sealed = sealPersonalData(data, key, 'sub_1');
    expect(() => openPersonalData(sealed, newSessionKey(), 'sub_1')).toThrow(DecryptionError);
    sealed[20] ^= 1;
    expect(() => openPersonalData(sealed, key, 'sub_1')).toThrow(DecryptionError);
  });

  it('when sealed twice then the nonces differ', () => {
    expect(sealPersonalData(data, key, 'sub_1').subarray(0, 12)).not.toEqual(
      sealPersonalData(data, key, 'sub_1').subarray(0, 12),
    );
  });
});
