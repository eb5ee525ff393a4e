export * from './schema';
export * from './records';
export * from './sealing';
