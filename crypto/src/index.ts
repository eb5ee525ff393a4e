export * from './encoding';
export * from './sessionKey';
export * from './keyWrap';
export * from './reading';
export * from './personalData';
export * from './sealed';
export * from './certificates';
export * from './aggregate';
