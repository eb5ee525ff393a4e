import { Context, Contract } from 'fabric-contract-api';
import { invalidArgument } from './contractError';

/** SMARTMETER_PROPOSAL_TIME_WINDOW_SECONDS, default 15 minutes as the peers' auth filter. */
export const TIME_WINDOW_ENV = 'SMARTMETER_PROPOSAL_TIME_WINDOW_SECONDS';
const DEFAULT_TIME_WINDOW_SECONDS = 900;

export function proposalTimeWindowSeconds(): number {
  const configured = Number(process.env[TIME_WINDOW_ENV]);
  return Number.isSafeInteger(configured) && configured > 0 ? configured : DEFAULT_TIME_WINDOW_SECONDS;
}

/**
 * The chaincode takes all of its time from the proposal, which the client writes. The peers refuse proposals
 * whose timestamp is far from their clock (our TimeWindowCheck auth filter), but the gateway endorses on its
 * own peer without the auth filters; this guard refuses them there too. It is the one place the chaincode reads
 * the wall clock, and it only ever refuses: no write set depends on it.
 */
export function requireProposalTimeNearClock(ctx: Context, nowMs: number = Date.now()): void {
  const stamp = ctx.stub.getTxTimestamp();
  const proposedMs = Number(stamp.seconds) * 1000 + Math.floor(stamp.nanos / 1e6);
  const windowSeconds = proposalTimeWindowSeconds();
  const skewSeconds = Math.round((proposedMs - nowMs) / 1000);
  if (Math.abs(skewSeconds) > windowSeconds) {
    throw invalidArgument(
      `the proposal's timestamp ${new Date(proposedMs).toISOString()} is ${skewSeconds} s from the endorser's clock; at most ${windowSeconds} s are allowed (check the client's clock)`,
    );
  }
}

/**
 * One line on the chaincode server's output for every Billing transaction, every prepaid settlement and every
 * proposal that carries transient data: which transient fields this endorser was given (names only, never values). It is how an
 * operator, or a test, checks on each peer that a session key reached only the endorsers meant to see it (in
 * aggregate mode: none). On when SMARTMETER_TRANSIENT_AUDIT=on (test-network.sh sets it). Logging is not state:
 * nothing written depends on it.
 */
export const TRANSIENT_AUDIT_ENV = 'SMARTMETER_TRANSIENT_AUDIT';

function auditTransientFields(ctx: Context, contract: string): void {
  if (process.env[TRANSIENT_AUDIT_ENV] !== 'on') return;
  const fields = [...ctx.stub.getTransient().keys()].sort();
  const { fcn } = ctx.stub.getFunctionAndParameters();
  const costsUsage = contract === 'Billing' || fcn.startsWith('Prepaid:Settle');
  if (!costsUsage && fields.length === 0) return;
  process.stdout.write(
    `${JSON.stringify({ audit: 'transient', channel: ctx.stub.getChannelID(), txId: ctx.stub.getTxID(), fcn, transientFields: fields })}\n`,
  );
}

/** What every contract of this chaincode shares: the time guard and coded errors for unknown transactions. */
export abstract class SmartMeterContract extends Contract {
  // fabric-contract-api awaits these hooks; they have nothing to await, so they return settled promises.
  override beforeTransaction(ctx: Context): Promise<void> {
    requireProposalTimeNearClock(ctx);
    auditTransientFields(ctx, this.getName());
    return Promise.resolve();
  }

  override unknownTransaction(ctx: Context): Promise<void> {
    const { fcn } = ctx.stub.getFunctionAndParameters();
    return Promise.reject(
      invalidArgument(`unknown transaction ${fcn} (see the contract's metadata for its transactions)`),
    );
  }
}
