import type { AnomalyUtility } from './types';

/** Limits that depend on the utility, as rates per hour so that they hold for any reading interval. */
export interface UtilityThresholds {
  /** Above this a meter cannot have measured it: a 100 A supply is 23 kW; a domestic gas meter (G4) passes 6 m³/h; a water meter 3 m³/h. */
  maxPerHour: number;
  /** A spike must also exceed the usual level by this much, so that a kettle or a shower is never a fault. */
  spikeMinExcessPerHour: number;
  /** Continuous night flow at or above this is a leak (gas and water only; undefined: no leak rule). */
  leakMinPerHour?: number;
  /** A run of zeros at least this long is a drop (tamper, a dead register)... */
  dropZeroHours: number;
  /** ...where the household's median is at least this, so that a home that uses almost nothing is not flagged. */
  dropMinMedianPerHour: number;
  /**
   * A flat line only counts at or above this, since small quantities repeat naturally after rounding. For water
   * it is 26 L/h: a steady leak (up to 25 L/h) into a home that uses nothing else by day reads the same every
   * period, and that is the leak rule's finding, not a stuck register.
   */
  stuckMinPerHour: number;
}

export interface AnomalyThresholds {
  /** Robust z-score at or above which a reading is a spike: 6 scaled MADs is about 1 in 10⁹ for normal noise. */
  spikeZ: number;
  /** Runs of spike readings longer than this are sustained use, not a spike. */
  spikeMaxHours: number;
  /** A time-of-day slot with fewer samples falls back to the same hour, then to the whole series. */
  minSlotSamples: number;
  /** The MAD is floored at this fraction of the median, so that a very regular household is not flagged for noise. */
  madFloorFraction: number;
  /** Same non-zero value for at least this long: a stuck register. */
  stuckHours: number;
  /** Night flow on at least this many consecutive nights: a leak. */
  leakNights: number;
  /** The night window in UTC hours, [from, to): every period in it must flow. */
  leakWindowUtc: readonly [number, number];
  perUtility: Readonly<Record<AnomalyUtility, UtilityThresholds>>;
}

/**
 * Thresholds chosen against meter-sim's synthetic households (bench/anomalyQuality.ts measures them): their
 * appliance bursts reach about 2 kWh/h of electricity, 600 L/h of gas and 36 L/h of water for minutes; their
 * night base flow is under 25 L/h of gas and 2 L/h of water even in January.
 */
export const DEFAULT_ANOMALY_THRESHOLDS: AnomalyThresholds = {
  spikeZ: 6,
  spikeMaxHours: 2,
  minSlotSamples: 4,
  madFloorFraction: 0.1,
  stuckHours: 6,
  leakNights: 2,
  leakWindowUtc: [1, 5],
  perUtility: {
    electricity: {
      maxPerHour: 23_000,
      spikeMinExcessPerHour: 2_000,
      dropZeroHours: 12,
      dropMinMedianPerHour: 50,
      stuckMinPerHour: 40,
    },
    gas: {
      maxPerHour: 6_000,
      spikeMinExcessPerHour: 800,
      leakMinPerHour: 60,
      dropZeroHours: 48,
      dropMinMedianPerHour: 20,
      stuckMinPerHour: 40,
    },
    water: {
      maxPerHour: 3_000,
      spikeMinExcessPerHour: 150,
      leakMinPerHour: 6,
      dropZeroHours: 24,
      dropMinMedianPerHour: 5,
      stuckMinPerHour: 26,
    },
  },
};
