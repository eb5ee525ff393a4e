import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GridShare } from '@smartmeter/crypto';
import { StateStore, type RoundHeader } from '../src/store';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aggregator-store-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const header: RoundHeader = {
  kind: 'round',
  region: 'north/d3',
  periodStart: '2026-01-15T10:00:00Z',
  periodSeconds: 900,
  expectedShares: 10,
  openedAt: '2026-01-15T10:15:07.123Z',
};
const share = (prid: string): GridShare => ({
  v: 1,
  region: 'north/d3',
  periodStart: '2026-01-15T10:00:00Z',
  prid,
  value: '-12',
  sentAt: '2026-01-15T10:15:05Z',
  signature: 'ab'.repeat(64),
});

describe('the state folder', () => {
  test('when a round file is read back then it has its header and shares, and is only the owner’s', () => {
    const store = new StateStore(dir);
    store.open();
    const file = store.createRound(header, share('01'.repeat(32)));
    file.append([{ kind: 'share', share: share('02'.repeat(32)) }]);
    file.close();
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'rounds')).mode & 0o777).toBe(0o700);
    expect(file.path).toBe(join(dir, 'rounds', 'north.d3@20260115T100000Z.jsonl'));
    const [loaded] = store.loadRounds();
    expect(loaded.header).toEqual(header);
    expect(loaded.shares.map((s) => s.prid)).toEqual(['01'.repeat(32), '02'.repeat(32)]);
    loaded.file.close();
    store.close();
  });

  test('when a crash tore the last line then it is left out and the file is repaired before appending', () => {
    const store = new StateStore(dir);
    store.open();
    const file = store.createRound(header, share('01'.repeat(32)));
    file.close();
    appendFileSync(file.path, '{"kind":"share","share":{"v":1,"reg');
    const [loaded] = store.loadRounds();
    expect(loaded.shares).toHaveLength(1);
    loaded.file.append([{ kind: 'share', share: share('03'.repeat(32)) }]);
    loaded.file.close();
    const lines = readFileSync(file.path, 'utf8').trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { kind: string }).kind)).toEqual([
      'round',
      'share',
      'share',
    ]);
    store.close();
  });

  test('when closed rounds are loaded then only recent ones are kept', () => {
    const store = new StateStore(dir);
    store.open();
    store.loadClosed('2026-01-01T00:00:00Z');
    store.recordClosed({
      region: 'north',
      periodStart: '2025-12-01T00:00:00Z',
      status: 'COMPLETE',
      closedAt: 'x',
    });
    store.recordClosed({
      region: 'north',
      periodStart: '2026-01-15T00:00:00Z',
      status: 'FAULT',
      closedAt: 'y',
    });
    store.close();
    const again = new StateStore(dir);
    again.open();
    expect(again.loadClosed('2026-01-01T00:00:00Z').map((entry) => entry.status)).toEqual(['FAULT']);
    again.close();
  });
});
