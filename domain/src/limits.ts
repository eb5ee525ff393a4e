/** The most readings one SubmitReadings transaction takes: two days of half-hourly readings. */
export const MAX_BATCH_SIZE = 96;
