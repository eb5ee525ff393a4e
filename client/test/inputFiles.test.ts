import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSignalFile } from '../src/commands/priceSignal';
import { readTariffFile } from '../src/commands/tariff';
import { UsageError } from '../src/errors';

const dir = mkdtempSync(join(tmpdir(), 'inputs-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('input files', () => {
  it('when a tariff is written in YAML then it is read like JSON', () => {
    const path = file(
      'flat.yaml',
      [
        'tariffId: flat-1',
        'effectiveFrom: "2026-01-01T00:00:00Z"',
        'currency: GBP',
        'utcOffsetMinutes: 0',
        'standingChargeMicroPerDay: 50000000',
        'taxBasisPoints: 500',
        'pricing:',
        '  kind: flat',
        '  priceMicroPerKwh: 25000000',
      ].join('\n'),
    );
    expect(JSON.parse(readTariffFile(path))).toMatchObject({ tariffId: 'flat-1', pricing: { kind: 'flat' } });
  });

  it('when a YAML file is malformed then the error names the file', () => {
    const path = file('bad.yaml', 'tariffId: [unclosed');
    expect(() => readTariffFile(path)).toThrow(new RegExp(`tariff file ${path} is not valid YAML`));
  });

  it('when price signals have problems then each is reported by index', () => {
    const path = file(
      'signals.json',
      JSON.stringify([
        { periodStart: 'noon', priceMicroPerKwh: 1 },
        { periodStart: '2026-01-01T00:00:00Z', priceMicroPerKwh: -4 },
      ]),
    );
    expect(() => readSignalFile(path)).toThrow(UsageError);
    expect(() => readSignalFile(path)).toThrow(
      /\[0\]\.periodStart must be a UTC time.*\[1\]\.priceMicroPerKwh must be a non-negative integer/,
    );
  });

  it('when price signals are valid then they are returned as given', () => {
    const signals = [{ periodStart: '2026-01-01T00:00:00Z', priceMicroPerKwh: 120000 }];
    expect(readSignalFile(file('ok.json', JSON.stringify(signals)))).toEqual(signals);
  });
});
