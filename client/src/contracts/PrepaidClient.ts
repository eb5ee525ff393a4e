import { CommitError } from '@hyperledger/fabric-gateway';
import { peer } from '@hyperledger/fabric-protos';
import type { BillComputation, SettlementRecord, WalletEntryRecord, WalletRecord } from '@smartmeter/domain';
import { contractOf, evaluateJson, submitWith, type ChaincodeChannel, type ContractTarget } from './invoke';

/** What Prepaid:TotalSupply returns. */
export interface TotalSupply {
  distributorMspId: string;
  currency: string | null;
  wallets: number;
  toppedUpMinor: number;
  exhaustedMinor: number;
  outstandingMinor: number;
  balancesMinor: number;
  reconciled: boolean;
}

/**
 * The claim of Prepaid:SettleAggregate: what the distributor computed off-chain from the household's shares for
 * [costFrom, periodTo) — costFrom the chaincode's anchor (prepaidSettlement.costFromOf), computation the
 * redacted bill as a RecordAggregateBill claim carries it (computeAggregateBill(...).ledger).
 */
export interface AggregateSettlementClaim {
  costFrom: string;
  computation: BillComputation;
}

/** How often a wallet change that lost an MVCC race (a settlement and a transfer at once) is endorsed anew. */
const MVCC_ATTEMPTS = 4;

/** Commit codes of a transaction that lost a race and changed nothing: worth endorsing anew. */
const LOST_RACE: readonly number[] = [
  peer.TxValidationCode.MVCC_READ_CONFLICT,
  // A settlement reads the wallet's earlier settlements by range; one committed meanwhile changes that range.
  peer.TxValidationCode.PHANTOM_READ_CONFLICT,
];

/**
 * The Prepaid contract. Every change of a wallet reads its balance: two at once (a settlement and a transfer) make
 * one of them fail with MVCC_READ_CONFLICT (or, for two settlements, PHANTOM_READ_CONFLICT) at commit, having
 * changed nothing. It is endorsed anew against what the other left, so no debit is lost or doubled (a top-up is
 * idempotent per reference, a settlement per range).
 */
export class PrepaidClient {
  private readonly target: ContractTarget;

  constructor(channel: ChaincodeChannel) {
    this.target = contractOf(channel, 'Prepaid');
  }

  open(subscriptionId: string, emergencyCreditMinor: number): Promise<WalletRecord> {
    return this.submit('OpenWallet', [subscriptionId, String(emergencyCreditMinor)]);
  }

  topUp(subscriptionId: string, amountMinor: number, reference: string): Promise<WalletRecord> {
    return this.submit('TopUp', [subscriptionId, String(amountMinor), reference]);
  }

  /** The session key goes to the endorsers only, as transient data. */
  settle(
    subscriptionId: string,
    periodTo: string,
    sessionKey: Uint8Array,
    endorsingOrganizations: string[],
  ): Promise<WalletRecord> {
    return this.submit('Settle', [subscriptionId, periodTo], { sessionKey }, endorsingOrganizations);
  }

  /**
   * An `aggregate` subscription's settlement: the cost was computed here from the shares, so nothing goes as
   * transient data (the chaincode refuses any) and the session key stays with the distributor.
   */
  settleAggregate(
    subscriptionId: string,
    periodTo: string,
    claim: AggregateSettlementClaim,
  ): Promise<WalletRecord> {
    return this.submit('SettleAggregate', [subscriptionId, periodTo, sortedKeysJson(claim)]);
  }

  takeEmergencyCredit(subscriptionId: string): Promise<WalletRecord> {
    return this.submit('TakeEmergencyCredit', [subscriptionId]);
  }

  setPolicy(subscriptionId: string, policyJson: string): Promise<WalletRecord> {
    return this.submit('SetMeterPolicy', [subscriptionId, policyJson]);
  }

  transfer(fromSubscriptionId: string, toSubscriptionId: string, amountMinor: number): Promise<WalletRecord> {
    return this.submit('Transfer', [fromSubscriptionId, toSubscriptionId, String(amountMinor)]);
  }

  refreshSupply(subscriptionId: string): Promise<WalletRecord> {
    return this.submit('RefreshSupply', [subscriptionId]);
  }

  wallet(subscriptionId: string): Promise<WalletRecord> {
    return evaluateJson(this.target, 'GetWallet', subscriptionId);
  }

  history(subscriptionId: string): Promise<WalletEntryRecord[]> {
    return evaluateJson(this.target, 'GetWalletHistory', subscriptionId);
  }

  settlements(subscriptionId: string): Promise<SettlementRecord[]> {
    return evaluateJson(this.target, 'ListSettlements', subscriptionId);
  }

  /** The distributor's wallets on this channel, by subscription id (its operators and the authority's auditors). */
  wallets(distributorMspId: string): Promise<WalletRecord[]> {
    return evaluateJson(this.target, 'ListWallets', distributorMspId);
  }

  totalSupply(distributorMspId: string): Promise<TotalSupply> {
    return evaluateJson(this.target, 'TotalSupply', distributorMspId);
  }

  private async submit(
    fn: string,
    args: string[],
    transientData?: Record<string, Uint8Array>,
    endorsingOrganizations?: string[],
  ): Promise<WalletRecord> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await submitWith<WalletRecord>(this.target, fn, {
          arguments: args,
          ...(transientData ? { transientData } : {}),
          ...(endorsingOrganizations ? { endorsingOrganizations } : {}),
        });
      } catch (err) {
        const lostRace = err instanceof CommitError && LOST_RACE.includes(err.code);
        if (!lostRace || attempt >= MVCC_ATTEMPTS) throw err;
      }
    }
  }
}

/**
 * JSON with object keys sorted at every depth, as the chaincode writes ledger bytes: the same claim always makes
 * the same transaction argument, whatever order the computation's fields were built in.
 */
function sortedKeysJson(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field !== null && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : field,
  );
}
