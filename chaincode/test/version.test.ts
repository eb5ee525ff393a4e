import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHAINCODE_VERSION } from '../src/version';

describe('chaincode version', () => {
  it('when the package version changes then the Version transaction reports the same number', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(CHAINCODE_VERSION).toBe(pkg.version);
  });
});
