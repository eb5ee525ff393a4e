import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureFields } from '../src/failureFields';
import { HealthReporter } from '../src/healthReporter';
import { refusalError, unavailableError } from './support/memoryMeterLedger';

describe('failure log fields: a refusal names its ErrorCode, an outage names none', () => {
  it('a chaincode refusal gives its code, an unreachable ledger and a local error give no code', () => {
    expect(failureFields(refusalError('FORBIDDEN: not this meter'))).toEqual({ code: 'FORBIDDEN' });
    expect(failureFields(unavailableError())).toEqual({});
    expect(failureFields(new Error('FORBIDDEN in a message is not a refusal'))).toEqual({});
  });

  it.each([
    [
      'refused by the ledger',
      refusalError('INVALID_ARGUMENT: freeDiskBytes must be an integer'),
      'INVALID_ARGUMENT',
    ],
    ['during an outage', unavailableError(), undefined],
  ])(
    'a health report that fails %s is logged once as health.unreported with code %s',
    async (_case, error, code) => {
      const said: { event: string; fields?: Record<string, string> }[] = [];
      const reporter = new HealthReporter({
        report: () => Promise.reject(error),
        stateDir: mkdtempSync(join(tmpdir(), 'health-fields-')),
        intervalSeconds: 60,
        say: (_level, event, _message, fields) => said.push({ event, fields }),
      });
      await reporter.reportNow();
      await reporter.reportNow();
      expect(said).toEqual([{ event: 'health.unreported', fields: code ? { code } : {} }]);
    },
  );
});
