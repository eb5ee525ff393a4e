/**
 * Device health (issue 19): what a meter says about itself besides its readings, and the `device-silent` alert
 * for a meter that stopped saying anything. Health is telemetry of the device, not of the household's use, so
 * it lies on the ledger in clear, readable by the meter's distributor, the authority and the meter itself.
 */

/** What a meter reports on its health interval. */
export interface DeviceHealthReport {
  /** Battery charge in thousandths (simulated on meter-sim: the Pi has none). */
  batteryPermille: number;
  freeDiskBytes: number;
  freeMemoryBytes: number;
  /** Seconds since the meter process started. */
  uptimeSeconds: number;
}

export interface DeviceHealthRecord extends DeviceHealthReport {
  docType: 'deviceHealth';
  distributorMspId: string;
  meterId: string;
  subscriptionId: string;
  /** Transaction time of the latest report. */
  reportedAt: string;
}

const HEALTH_FIELDS: Record<keyof DeviceHealthReport, { max: number; what: string }> = {
  batteryPermille: { max: 1000, what: 'thousandths of a full battery, 0 to 1000' },
  freeDiskBytes: { max: Number.MAX_SAFE_INTEGER, what: 'a whole number of bytes' },
  freeMemoryBytes: { max: Number.MAX_SAFE_INTEGER, what: 'a whole number of bytes' },
  uptimeSeconds: { max: 100 * 365 * 86_400, what: 'a whole number of seconds' },
};

/** Checks a report field by field; every problem at once ("field: what it must be"). */
export function validateDeviceHealth(value: unknown): { report?: DeviceHealthReport; errors: string[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { errors: ['health: must be a JSON object'] };
  const raw = value as Record<string, unknown>;
  const errors: string[] = [];
  for (const field of Object.keys(raw)) if (!(field in HEALTH_FIELDS)) errors.push(`${field}: unknown field`);
  for (const [field, rule] of Object.entries(HEALTH_FIELDS)) {
    const given = raw[field];
    if (!Number.isSafeInteger(given) || (given as number) < 0 || (given as number) > rule.max)
      errors.push(`${field}: ${rule.what}`);
  }
  if (errors.length > 0) return { errors };
  return {
    errors,
    report: {
      batteryPermille: raw.batteryPermille as number,
      freeDiskBytes: raw.freeDiskBytes as number,
      freeMemoryBytes: raw.freeMemoryBytes as number,
      uptimeSeconds: raw.uptimeSeconds as number,
    },
  };
}

/** What a status check knows of one meter: when it was last heard of, through health and through readings. */
export interface DeviceContact {
  meterId: string;
  subscriptionId: string;
  /** Latest health report; undefined: never reported. */
  lastHealthAt?: string;
  /** End of the latest period with a reading on the ledger; undefined: none in the window looked at. */
  lastReadingAt?: string;
}

export interface DeviceSilentAlert {
  code: 'DEVICE_SILENT';
  meterId: string;
  subscriptionId: string;
  /** What stopped: health reports, readings, or both. */
  silent: 'health' | 'readings' | 'health and readings';
  /** The latest contact of any kind, if there was one. */
  lastSeen?: string;
  silentSeconds?: number;
}

/** The meters that have not reported health, or readings, within `silentAfterSeconds` before `nowSeconds`. */
export function silentDevices(
  contacts: readonly DeviceContact[],
  nowSeconds: number,
  silentAfterSeconds: number,
): DeviceSilentAlert[] {
  return contacts.flatMap((contact) => {
    const stale = (at: string | undefined): boolean =>
      at === undefined || nowSeconds - Date.parse(at) / 1000 > silentAfterSeconds;
    const healthSilent = stale(contact.lastHealthAt);
    const readingsSilent = stale(contact.lastReadingAt);
    if (!healthSilent && !readingsSilent) return [];
    const seen = [contact.lastHealthAt, contact.lastReadingAt]
      .filter((t): t is string => t !== undefined)
      .sort();
    const lastSeen = seen.at(-1);
    return [
      {
        code: 'DEVICE_SILENT' as const,
        meterId: contact.meterId,
        subscriptionId: contact.subscriptionId,
        silent: healthSilent && readingsSilent ? 'health and readings' : healthSilent ? 'health' : 'readings',
        ...(lastSeen
          ? { lastSeen, silentSeconds: Math.round(nowSeconds - Date.parse(lastSeen) / 1000) }
          : {}),
      },
    ];
  });
}
