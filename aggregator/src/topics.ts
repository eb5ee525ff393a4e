import { createHmac } from 'node:crypto';

/**
 * The topic rules of the aggregate privacy mode, shared by the embedded broker and the service (and written out
 * for Mosquitto in aggregator/mosquitto/acl): meters publish each share to grid/<region>/shares, where the
 * region is a grid area path of one to six segments such as north/d3.
 */

/** The region path of a share (the same rule as REGION_CODE_PATTERN in @smartmeter/domain). */
export const REGION_PATTERN = /^[a-z0-9-]{1,16}(\/[a-z0-9-]{1,16}){0,5}$/;

/** Largest share message: a share is about 400 bytes of JSON; anything much bigger is not one. */
export const MAX_SHARE_PAYLOAD_BYTES = 2048;

/** The user name the aggregator connects with; every other client connects without credentials. */
export const AGGREGATOR_USERNAME = 'aggregator';

/** Client ids the aggregator uses ("aggregator-<name>"): an anonymous client may not take over its session. */
export const AGGREGATOR_CLIENT_ID_PREFIX = 'aggregator-';

const PREFIX = 'grid/';
const SUFFIX = '/shares';

export function shareTopic(region: string): string {
  return `${PREFIX}${region}${SUFFIX}`;
}

/** The region of a share topic, or undefined when the topic is no grid/<region>/shares. */
export function regionOfTopic(topic: string): string | undefined {
  if (!topic.startsWith(PREFIX) || !topic.endsWith(SUFFIX)) return undefined;
  const region = topic.slice(PREFIX.length, topic.length - SUFFIX.length);
  return REGION_PATTERN.test(region) ? region : undefined;
}

/**
 * Filters the aggregator may subscribe to: any filter whose first level is literally `grid` (grid/#,
 * grid/+/shares, grid/north/#, grid/north/d3/shares). Since clients can publish nothing but share topics, such
 * a filter can only ever match shares. `#`, `+/…`, `$SYS/…` and shared subscriptions ($share/…) are refused.
 */
export function aggregatorMaySubscribe(filter: string): boolean {
  if (!filter.startsWith(PREFIX) || filter.length > 256) return false;
  const levels = filter.split('/');
  return levels.every(
    (level, index) =>
      level === '+' || (level === '#' && index === levels.length - 1) || /^[a-z0-9-]{1,16}$/.test(level),
  );
}

/** The subscription filters for a list of regions: every region below each (north → grid/north/#). */
export function subscriptionFilters(regions: readonly string[]): string[] {
  if (regions.length === 0) return [`${PREFIX}#`];
  return regions.map((region) => `${PREFIX}${region}/#`);
}

/**
 * The aggregator's client id: aggregator-<name>-<12 hex of HMAC(password, name)>. Fixed, so that its persistent
 * session survives restarts, and unguessable, so that no meter can take the session over (a client connecting
 * with the same id with clean session would delete the shares queued for it; Mosquitto cannot forbid anonymous
 * clients an id prefix, the embedded broker refuses them aggregator-*).
 */
export function aggregatorClientId(name: string, password: string): string {
  const suffix = createHmac('sha256', password)
    .update(`smartmeter/aggregator/client-id|${name}`)
    .digest('hex');
  return `${AGGREGATOR_CLIENT_ID_PREFIX}${name}-${suffix.slice(0, 12)}`;
}
