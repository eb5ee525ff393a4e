import { SystemContract } from './contracts/SystemContract';

export { SystemContract };
export const contracts = [SystemContract];
