export * from './profile';
export * from './gateway';
