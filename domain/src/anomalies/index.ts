/**
 * Anomaly detection over one subscription's decrypted readings (issue 19): the rules are in detect.ts, the
 * thresholds and why they were chosen in thresholds.ts.
 */
export * from './types';
export * from './thresholds';
export { detectAnomalies, anomalyId, AnomalyInputError } from './detect';
export * from './confirmed';
