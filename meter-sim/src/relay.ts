import type { SupplyReason, SupplyState, WalletRecord } from '@smartmeter/domain';
import { formatMoney } from '@smartmeter/client/dist/output';
import type { LogLevel } from './log';
import type { MeasuredQuantity } from './sources/source';

/** How the relay logs: one line per change, with the meter's ids added by the meter (as ShareReporter's say). */
export type RelaySay = (
  level: LogLevel,
  event: string,
  message: string,
  fields: Record<string, string | number>,
) => void;

/** Why the relay is in its state: the wallet's reason, or no wallet at all (the subscription is not prepaid). */
export type RelayReason = SupplyReason | 'not-prepaid';

/** What a status output shows of the relay. */
export interface RelayStatus {
  supply: SupplyState;
  reason: RelayReason;
  /** The wallet's balance and currency when the subscription is prepaid. */
  balanceMinor?: number;
  currency?: string;
  /** In power-saving mode: the load limit, W. */
  powerSavingLimitW?: number;
  /** When the ledger says the supply took this state (the wallet's supplyChangedAt). */
  changedAt?: string;
}

/**
 * The meter's supply relay (issue 18, prepaid metering). The Prepaid chaincode decides the supply state on every
 * wallet change; the relay only follows the wallet the meter last read (meters receive no chaincode events, so
 * they poll, see WalletPoller). A subscription without a wallet is not prepaid: the supply stays on.
 *
 * Its effect on what the meter measures, for every utility alike (electricity in Wh; gas and water in litres, the
 * policy's one limit applied to the utility's unit as for Wh, as a prepaid gas or water valve throttles flow):
 * - off: nothing flows, the period measures 0 and is still reported, so the ledger shows the period was covered;
 * - power-saving: a period's quantity is capped at powerSavingLimitW × intervalSeconds / 3600, rounded down;
 * - on: unchanged.
 * The state the meter holds when it measures a period applies to the whole period (polled every minute against
 * periods of 15 or 30 minutes, a change counts from the next period measured).
 */
export class Relay {
  private current: RelayStatus = { supply: 'on', reason: 'not-prepaid' };

  constructor(private readonly say: RelaySay) {}

  get supply(): SupplyState {
    return this.current.supply;
  }

  status(): RelayStatus {
    return { ...this.current };
  }

  /**
   * Takes the supply state of the wallet just read (undefined: the subscription is not prepaid). Returns whether
   * the supply state changed. Logs one line when the state or its reason changes (a low-balance warning keeps
   * the supply on but is worth a line): info, or a warning when the household is about to lose or has lost
   * supply (low-balance-warning, off).
   */
  follow(wallet: WalletRecord | undefined): boolean {
    const next: RelayStatus = wallet
      ? {
          supply: wallet.supply,
          reason: wallet.supplyReason,
          balanceMinor: wallet.balanceMinor,
          currency: wallet.currency,
          ...(wallet.supply === 'power-saving' ? { powerSavingLimitW: wallet.policy.powerSavingLimitW } : {}),
          changedAt: wallet.supplyChangedAt,
        }
      : { supply: 'on', reason: 'not-prepaid' };
    const before = this.current;
    this.current = next;
    const changed = next.supply !== before.supply;
    if (changed || next.reason !== before.reason || next.powerSavingLimitW !== before.powerSavingLimitW)
      this.logChange(next);
    return changed;
  }

  /** What the meter reports for a period the source measured `measured` in, with the relay in its state. */
  limit(measured: MeasuredQuantity, intervalSeconds: number): MeasuredQuantity {
    const { supply, powerSavingLimitW } = this.current;
    // Off, the meter measures exactly nothing: a measurement, whatever the source would have estimated.
    if (supply === 'off') return { quantity: 0, quality: 'measured' };
    if (supply === 'power-saving' && powerSavingLimitW !== undefined) {
      const cap = Math.floor((powerSavingLimitW * intervalSeconds) / 3600);
      return measured.quantity > cap ? { ...measured, quantity: cap } : measured;
    }
    return measured;
  }

  private logChange(status: RelayStatus): void {
    const { supply, reason, balanceMinor, currency, powerSavingLimitW } = status;
    const why =
      balanceMinor === undefined || currency === undefined
        ? 'not prepaid'
        : `${reason}, balance ${formatMoney(balanceMinor, currency)}`;
    const limit = powerSavingLimitW === undefined ? '' : `; load limited to ${powerSavingLimitW} W`;
    const level: LogLevel = supply === 'off' || reason === 'low-balance-warning' ? 'warn' : 'info';
    this.say(level, 'supply.changed', `supply: ${supply} (${why})${limit}`, {
      supply,
      supplyReason: reason,
      ...(balanceMinor === undefined ? {} : { balanceMinor }),
      ...(currency === undefined ? {} : { currency }),
      ...(powerSavingLimitW === undefined ? {} : { powerSavingLimitW }),
    });
  }
}
