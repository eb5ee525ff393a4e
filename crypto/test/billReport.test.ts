import { createHash } from 'node:crypto';
import {
  BILL_REPORT_MAX_PLAINTEXT_BYTES,
  BILL_REPORT_MAX_SEALED_BYTES,
  BILL_REPORT_SEALED_SIZES,
  billReportAad,
  billReportSha256,
  CryptoInputError,
  DecryptionError,
  isSealedBillReportSize,
  newOrgKeyPair,
  openBillReport,
  packBillReport,
  sealBillReport,
  sealedBillReportBytes,
  unpackBillReport,
  type BillReportContext,
} from '../src';

const CONTEXT: BillReportContext = {
  channel: 'northgrid',
  subscriptionId: 'sub_0123456789abcdef01234567',
  periodFrom: '2026-11-01T00:00:00Z',
  periodTo: '2026-12-01T00:00:00Z',
};

/** A report document with `periods` periods, as the distributor would pack it. */
function report(periods: number, html = '<!DOCTYPE html><html lang="en"><body>bill</body></html>') {
  return {
    document: {
      v: 1,
      kind: 'smartmeter/bill-report',
      subscriptionId: CONTEXT.subscriptionId,
      periods: Array.from({ length: periods }, (_, i) => ({
        periodStart: new Date(Date.parse(CONTEXT.periodFrom) + i * 900_000).toISOString(),
        energyWh: (i * 37) % 400,
        amountNanoMinor: String(((i * 37) % 400) * 30_120_000),
      })),
    },
    html,
  };
}

describe('the sealed bill report', () => {
  const household = newOrgKeyPair();

  it('when packed, sealed for the household and opened with its key and bill then the document and page come back', () => {
    const contents = report(96);
    const sealed = sealBillReport(packBillReport(contents), household.publicKeyPem, CONTEXT);

    const opened = unpackBillReport(openBillReport(sealed, household.privateKeyPem, CONTEXT));

    expect(opened).toEqual(contents);
    expect(billReportSha256(sealed)).toBe(createHash('sha256').update(sealed).digest('hex'));
    expect(billReportSha256(sealed)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when packed then the JSON is canonical: sorted keys at every depth, the same bytes for the same report', () => {
    const packed = Buffer.from(
      packBillReport({ html: 'x', document: { b: 1, a: { d: [1, { z: 0, y: 1 }], c: 2 } } }),
    );

    expect(packed.toString('utf8')).toBe(
      '{"document":{"a":{"c":2,"d":[1,{"y":1,"z":0}]},"b":1},"html":"x","v":1}',
    );
  });

  it('when opened with another key, as another bill or with one byte changed anywhere then it is a DecryptionError', () => {
    const sealed = sealBillReport(packBillReport(report(10)), household.publicKeyPem, CONTEXT);

    expect(() => openBillReport(sealed, newOrgKeyPair().privateKeyPem, CONTEXT)).toThrow(DecryptionError);
    for (const other of [
      { ...CONTEXT, channel: 'southgrid' },
      { ...CONTEXT, subscriptionId: 'sub_ffffffffffffffffffffffff' },
      { ...CONTEXT, periodFrom: '2026-11-02T00:00:00Z' },
      { ...CONTEXT, periodTo: '2026-11-30T00:00:00Z' },
    ]) {
      expect(() => openBillReport(sealed, household.privateKeyPem, other)).toThrow(DecryptionError);
    }
    // The version, the ephemeral point, the nonce, the ciphertext (data and padding) and the tag.
    for (const at of [0, 1, 40, 70, 100, sealed.length - 1000, sealed.length - 20, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[at] ^= 1;
      expect(() => openBillReport(tampered, household.privateKeyPem, CONTEXT)).toThrow(DecryptionError);
    }
  });

  it('when two reports of very different lengths fall in one bucket then their sealed sizes are equal', () => {
    const small = packBillReport(report(1));
    const large = packBillReport(report(1200, 'x'.repeat(60_000)));
    expect(large.length).toBeGreaterThan(100 * small.length);

    const sizes = [small, large].map((p) => sealBillReport(p, household.publicKeyPem, CONTEXT).length);

    expect(sizes).toEqual([256 * 1024, 256 * 1024]);
    expect(isSealedBillReportSize(sizes[0])).toBe(true);
  });

  it('when a report outgrows a bucket then it takes the next one, and above 16 MiB sealed it is refused', () => {
    const KiB = 1024;
    expect(BILL_REPORT_SEALED_SIZES.map((s) => s / KiB)).toEqual([256, 512, 1024, 2048, 4096, 8192, 16384]);
    // Sealing adds 94 bytes and the padding a 4-byte length.
    expect(sealedBillReportBytes(0)).toBe(256 * KiB);
    expect(sealedBillReportBytes(256 * KiB - 98)).toBe(256 * KiB);
    expect(sealedBillReportBytes(256 * KiB - 97)).toBe(512 * KiB);
    expect(sealedBillReportBytes(BILL_REPORT_MAX_PLAINTEXT_BYTES)).toBe(BILL_REPORT_MAX_SEALED_BYTES);
    const data = Buffer.alloc(300 * KiB, 0x20);
    const next = sealBillReport(data, household.publicKeyPem, CONTEXT);
    expect(next.length).toBe(512 * KiB);
    expect(openBillReport(next, household.privateKeyPem, CONTEXT).equals(data)).toBe(true);
    const largest = Buffer.alloc(BILL_REPORT_MAX_PLAINTEXT_BYTES, 0x20);
    expect(sealBillReport(largest, household.publicKeyPem, CONTEXT).length).toBe(16 * KiB * KiB);

    expect(() =>
      sealBillReport(Buffer.alloc(BILL_REPORT_MAX_PLAINTEXT_BYTES + 1), household.publicKeyPem, CONTEXT),
    ).toThrow(CryptoInputError);
    expect(() => sealedBillReportBytes(BILL_REPORT_MAX_PLAINTEXT_BYTES + 1)).toThrow(
      /at most 16777118 bytes/,
    );
  });

  it('when the sealed bytes have no sealed report size then they are refused as input', () => {
    const sealed = sealBillReport(packBillReport(report(1)), household.publicKeyPem, CONTEXT);

    expect(() => openBillReport(sealed.subarray(1), household.privateKeyPem, CONTEXT)).toThrow(
      /not a sealed bill report/,
    );
    expect(isSealedBillReportSize(sealed.length + 1)).toBe(false);
  });

  it('when a bill field is empty or holds the separator then no AAD is made from it', () => {
    expect(billReportAad(CONTEXT)).toBe(
      'smartmeter/bill-report/v1|northgrid|sub_0123456789abcdef01234567|2026-11-01T00:00:00Z|2026-12-01T00:00:00Z',
    );
    expect(() => billReportAad({ ...CONTEXT, channel: '' })).toThrow(/channel/);
    expect(() => billReportAad({ ...CONTEXT, subscriptionId: 'a|b' })).toThrow(/subscriptionId/);
    expect(() =>
      sealBillReport(Buffer.from('{}'), household.publicKeyPem, { ...CONTEXT, periodTo: '' }),
    ).toThrow(CryptoInputError);
  });

  it('when the plaintext is no packed report then unpacking says so', () => {
    const bytes = (text: string) => Buffer.from(text, 'utf8');

    expect(() => unpackBillReport(Buffer.from([0xff, 0xfe]))).toThrow(/not UTF-8 JSON/);
    expect(() => unpackBillReport(bytes('[1]'))).toThrow(/not a JSON object/);
    expect(() => unpackBillReport(bytes('{"v":2,"document":{},"html":""}'))).toThrow(/version 1/);
    expect(() => unpackBillReport(bytes('{"v":1,"document":[],"html":""}'))).toThrow(/no document object/);
    expect(() => unpackBillReport(bytes('{"v":1,"document":{},"html":3}'))).toThrow(/no html string/);
    expect(() => unpackBillReport(bytes('{"v":1,"document":{},"html":"","x":1}'))).toThrow(
      /unknown fields x/,
    );
    expect(() => packBillReport({ document: { a: Number.NaN }, html: '' })).toThrow(
      /document.a is not a finite/,
    );
    expect(() => packBillReport({ document: 'text', html: '' })).toThrow(/JSON object/);
  });
});
