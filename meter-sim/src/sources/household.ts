import type { Utility } from '@smartmeter/crypto';
import { unitHash } from '../random';
import { STEP_SECONDS, type MeasuredQuantity, type ReadingSource } from './source';

interface Peak {
  /** Local hour of the peak's centre on weekdays. */
  hour: number;
  widthHours: number;
  ratePerHour: number;
  /** At weekends the peak comes this much later, at this fraction of its height. */
  weekendShiftHours: number;
  weekendScale: number;
}

/** How a household uses one utility over a day; rates in the utility's unit per hour. */
export interface UsageShape {
  baseRatePerHour: number;
  peaks: Peak[];
  /** Extra use between 10:00 and 16:00 at weekends, when people are home. */
  weekendDaytimeRatePerHour: number;
  /** Seasonal swing as a fraction: highest in mid-January when positive, mid-July when negative. */
  seasonalAmplitude: number;
  /** Short appliance bursts: a kettle, an oven, a shower, a dishwasher. */
  spike: { chancePerHour: number; ratePerHour: number; minutes: number };
}

/**
 * Shapes from typical UK household figures: about 9 kWh of electricity, 3 m³ of gas (far more in winter) and
 * 400 litres of water a day.
 */
export const USAGE_SHAPES: Readonly<Record<Utility, UsageShape>> = {
  electricity: {
    baseRatePerHour: 150,
    peaks: [
      { hour: 7.5, widthHours: 1, ratePerHour: 650, weekendShiftHours: 1.5, weekendScale: 0.8 },
      { hour: 19, widthHours: 1.6, ratePerHour: 900, weekendShiftHours: 0, weekendScale: 1.1 },
    ],
    weekendDaytimeRatePerHour: 250,
    seasonalAmplitude: 0.2,
    spike: { chancePerHour: 0.08, ratePerHour: 2000, minutes: 10 },
  },
  gas: {
    baseRatePerHour: 10,
    peaks: [
      { hour: 6.5, widthHours: 1.2, ratePerHour: 380, weekendShiftHours: 1.5, weekendScale: 0.9 },
      { hour: 18, widthHours: 2.5, ratePerHour: 250, weekendShiftHours: 0, weekendScale: 1.2 },
    ],
    weekendDaytimeRatePerHour: 60,
    seasonalAmplitude: 0.75,
    spike: { chancePerHour: 0.05, ratePerHour: 600, minutes: 15 },
  },
  water: {
    baseRatePerHour: 1,
    peaks: [
      { hour: 7, widthHours: 0.8, ratePerHour: 90, weekendShiftHours: 1.5, weekendScale: 0.9 },
      { hour: 20, widthHours: 1.5, ratePerHour: 50, weekendShiftHours: 0, weekendScale: 1.1 },
    ],
    weekendDaytimeRatePerHour: 10,
    seasonalAmplitude: -0.1,
    spike: { chancePerHour: 0.15, ratePerHour: 36, minutes: 10 },
  },
};

export interface HouseholdOptions {
  seed: string;
  utility: Utility;
  /** Local time of the household relative to UTC, for where the daily peaks fall. */
  utcOffsetMinutes: number;
}

const DAY = 86_400;

/**
 * A synthetic household: a daily curve with morning and evening peaks, different at weekends, a seasonal
 * factor, appliance spikes and noise, all drawn from the seed so that runs are reproducible.
 */
export class HouseholdSource implements ReadingSource {
  readonly utility: Utility;
  readonly description: string;
  private readonly shape: UsageShape;
  /** Households differ in size: 0.75× to 1.25× the typical shape. */
  private readonly scale: number;

  constructor(private readonly options: HouseholdOptions) {
    this.utility = options.utility;
    this.shape = USAGE_SHAPES[options.utility];
    this.scale = 0.75 + 0.5 * unitHash(options.seed, 'scale');
    this.description = `synthetic ${options.utility} household (seed ${options.seed})`;
  }

  measure(startSeconds: number, intervalSeconds: number): MeasuredQuantity {
    let total = 0;
    for (let step = startSeconds; step < startSeconds + intervalSeconds; step += STEP_SECONDS) {
      total += this.stepUsage(step);
    }
    return { quantity: Math.round(total), quality: 'measured' };
  }

  /** Usage in the five minutes from `seconds`. */
  private stepUsage(seconds: number): number {
    const local = seconds + this.options.utcOffsetMinutes * 60;
    const hour = (((local % DAY) + DAY) % DAY) / 3600;
    const weekday = new Date(local * 1000).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const shape = this.shape;
    let rate = shape.baseRatePerHour;
    for (const peak of shape.peaks) {
      const centre = peak.hour + (weekend ? peak.weekendShiftHours : 0);
      const distance = Math.min(Math.abs(hour - centre), 24 - Math.abs(hour - centre));
      const height = peak.ratePerHour * (weekend ? peak.weekendScale : 1);
      rate += height * Math.exp(-0.5 * (distance / peak.widthHours) ** 2);
    }
    if (weekend && hour >= 10 && hour < 16) rate += shape.weekendDaytimeRatePerHour;
    rate *= seasonalFactor(local, shape.seasonalAmplitude);
    const noise = 0.85 + 0.3 * unitHash(this.options.seed, 'noise', seconds);
    let usage = rate * noise * (STEP_SECONDS / 3600);
    const spikeChance = shape.spike.chancePerHour * (shape.spike.minutes / 60);
    if (unitHash(this.options.seed, 'spike', seconds) < spikeChance) {
      usage += shape.spike.ratePerHour * (STEP_SECONDS / 3600);
    }
    return usage * this.scale;
  }
}

/** 1 + amplitude at mid-January, 1 − amplitude at mid-July. */
export function seasonalFactor(seconds: number, amplitude: number): number {
  const date = new Date(seconds * 1000);
  const dayOfYear = (date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / (DAY * 1000);
  return 1 + amplitude * Math.cos((2 * Math.PI * (dayOfYear - 15)) / 365.25);
}
