import { isoSecondsOf } from '@smartmeter/domain';
import { PortalCode, PortalError } from '../errors';

/** The longest range one call decrypts or reports: a year of half-hours is 17,520 readings. */
const MAX_RANGE_SECONDS = 366 * 86_400;

/** [from, to) as asked; by default this UTC month so far. USAGE when it is empty, reversed or too long. */
export function rangeOf(query: { from?: string; to?: string }, now: Date): { from: string; to: string } {
  const monthStart = `${now.toISOString().slice(0, 7)}-01T00:00:00Z`;
  const from = query.from ?? monthStart;
  const to = query.to ?? isoSecondsOf(now);
  if (Number.isNaN(Date.parse(from)) || Number.isNaN(Date.parse(to)))
    throw new PortalError(400, PortalCode.Usage, `not a calendar time: ${from} or ${to}`);
  if (to <= from) throw new PortalError(400, PortalCode.Usage, `to (${to}) must be after from (${from})`);
  if ((Date.parse(to) - Date.parse(from)) / 1000 > MAX_RANGE_SECONDS)
    throw new PortalError(400, PortalCode.Usage, 'a range is at most 366 days: ask for it in parts');
  return { from, to };
}
