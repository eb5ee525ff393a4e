import { statfsSync } from 'node:fs';
import { freemem } from 'node:os';
import type { DeviceHealthReport } from '@smartmeter/domain';
import { describeFailure } from '@smartmeter/client/dist/errors';
import { failureFields } from './failureFields';
import type { LogLevel } from './log';

export interface HealthReporterOptions {
  report: (health: DeviceHealthReport) => Promise<void>;
  /** Where free disk is measured: the meter's state folder, where its outbox grows. */
  stateDir: string;
  /** Real seconds between reports; 0: never. */
  intervalSeconds: number;
  say: (level: LogLevel, event: string, message: string, fields?: Record<string, string>) => void;
  nowMs?: () => number;
}

/** A simulated battery: full at start, down one thousandth every 6 minutes of uptime, recharged at 20 %. */
export function simulatedBatteryPermille(uptimeSeconds: number): number {
  const used = Math.floor(uptimeSeconds / 360) % 800;
  return 1000 - used;
}

/** What the meter says about itself: measured on the machine it runs on, the battery simulated. */
export function measureHealth(
  stateDir: string,
  uptimeSeconds = Math.floor(process.uptime()),
): DeviceHealthReport {
  const disk = statfsSync(stateDir);
  return {
    batteryPermille: simulatedBatteryPermille(uptimeSeconds),
    freeDiskBytes: Math.min(Number.MAX_SAFE_INTEGER, disk.bavail * disk.bsize),
    freeMemoryBytes: freemem(),
    uptimeSeconds,
  };
}

/**
 * Reports the meter's health on its own interval of real time (issue 19), at once on start. Not awaited by the
 * meter: a slow peer never holds readings back. A report that fails is not retried before the next one; the
 * reporter warns once when reports start failing and says when they work again.
 */
export class HealthReporter {
  private nextAtMs: number;
  private inFlight: Promise<void> | undefined;
  private failing = false;
  private readonly nowMs: () => number;
  readonly stats = { reports: 0, failures: 0 };

  constructor(private readonly options: HealthReporterOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.nextAtMs = this.nowMs();
  }

  msUntilDue(): number {
    if (this.options.intervalSeconds <= 0) return Infinity;
    // While a report is under way the meter still wakes an interval later (nothing else would wake it).
    if (this.inFlight) return this.options.intervalSeconds * 1000;
    return Math.max(0, this.nextAtMs - this.nowMs());
  }

  reportIfDue(): void {
    if (this.msUntilDue() > 0) return;
    this.inFlight = this.reportNow().finally(() => {
      this.inFlight = undefined;
    });
  }

  async settled(): Promise<void> {
    await this.inFlight;
  }

  async reportNow(): Promise<void> {
    this.nextAtMs = this.nowMs() + this.options.intervalSeconds * 1000;
    try {
      await this.options.report(measureHealth(this.options.stateDir));
      this.stats.reports += 1;
      if (this.failing) this.options.say('info', 'health.reported', 'health reports reach the ledger again');
      this.failing = false;
    } catch (err) {
      this.stats.failures += 1;
      if (!this.failing)
        this.options.say(
          'warn',
          'health.unreported',
          `cannot report the meter's health: ${describeFailure(err).message}`,
          failureFields(err),
        );
      this.failing = true;
    }
  }
}
