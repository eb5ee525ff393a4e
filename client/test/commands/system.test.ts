import type { PingRecord } from '@smartmeter/domain';
import { TestWorld } from './support/world';

describe('meterctl ping', () => {
  it('when pinged 3 times then 3 pings are submitted one after the other and the last commit is printed', async () => {
    const world = new TestWorld();
    let n = 0;
    const ping = jest.fn(async (message: string): Promise<PingRecord> => ({
      docType: 'ping',
      pingId: `tx${(n += 1)}`,
      message,
      submitterMspId: 'Distributor1MSP',
      recordedAt: `2026-11-15T10:0${n}:00.000Z`,
    }));
    world.clients.system = { ping };

    const result = await world.run('-c', 'northgrid', 'ping', '--count', '3');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: '3 ping(s) committed on northgrid, the last at 2026-11-15T10:03:00.000Z\n',
    });
    expect(ping.mock.calls).toEqual([['ping from meterctl'], ['ping from meterctl'], ['ping from meterctl']]);
  });

  it('when the count is no whole number from 1 to 1000 then nothing is sent (exit 2)', async () => {
    const world = new TestWorld();
    const result = await world.run('ping', '--count', '0');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--count must be an integer from 1 to 1000/);
    expect(world.connections).toBe(0);
  });
});
