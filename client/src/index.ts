export * from './profile';
export * from './gateway';
export * from './billVerify';
export * from './subscriptionRequest';
