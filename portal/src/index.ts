/**
 * @smartmeter/portal: the web app of households, distributors and the authority, started by `meterctl serve`.
 * One server per identity, on the identity's own device or inside its organization, over meterctl's own
 * profile, keystore and commands: a household's session key and identity key never leave its process.
 */
import type { PortalModule } from '@smartmeter/client/dist/commands/serve';
import { startPortal } from './server';

export { buildPortal, startPortal, type Portal } from './server';
export { portalContext, partyOf, type PortalContext } from './context';
export { AccessControl } from './auth';
export * from './api';

// meterctl loads this package at run time: this checks it has what meterctl expects.
export const portalModule: PortalModule = { startPortal };
