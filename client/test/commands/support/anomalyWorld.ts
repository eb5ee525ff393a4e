import type { SubscriptionRecord } from '@smartmeter/domain';
import { householdSubscription, readingRecords } from './fixtures';
import { TestWorld } from './world';

export const SUB = 'sub_000000000000000000000001';
export const DAY_PERIODS = 48;

/** Two weeks of half hours: 180 Wh by day, 90 Wh at night, with a wiggle so the MAD is not zero. */
function usualDay(day: number): number[] {
  return Array.from({ length: DAY_PERIODS }, (_, p) => (p >= 12 && p < 46 ? 180 : 90) + ((p + day) % 3) * 10);
}

/** A household's two usual weeks from 2026-11-01, changed by `mutate`, on a fake ledger. */
export function scanWorld(mutate: (energies: number[]) => void): {
  world: TestWorld;
  subscription: SubscriptionRecord;
  sessionKey: Buffer;
} {
  const world = new TestWorld();
  const { sessionKey, subscription } = householdSubscription(world.keystore, { status: 'ACTIVE' });
  const energies = Array.from({ length: 14 }, (_, day) => usualDay(day)).flat();
  mutate(energies);
  const records = readingRecords(subscription, sessionKey, energies);
  world.clients = {
    subscriptions: { get: async () => subscription, all: async () => [subscription] },
    measurements: { all: async () => records },
  };
  return { world, subscription, sessionKey };
}
