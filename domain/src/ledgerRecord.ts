import type {
  AccessRequestRecord,
  OrgKeyPointer,
  OrgKeyRecord,
  PingRecord,
  ReadingCursorRecord,
  ReadingRecord,
  RetiredKeyRecord,
  SessionKeyRecord,
  SubscriptionRecord,
} from './records';
import type {
  AggregationFiltersRecord,
  AggregationRoundRecord,
  Bf1PartRecord,
  FaultyMeterRecord,
  GridShareRecord,
} from './aggregation';
import type { BillRecord, PriceSignalRecord, TariffPointer, TariffRecord } from './tariffs';
import type { PricePolicyPointer, PricePolicyRecord } from './pricePolicy';
import type {
  SettlementRecord,
  SupplierAccountRecord,
  TopUpRecord,
  WalletEntryRecord,
  WalletRecord,
} from './prepaid';
import type {
  DeviceConfigAckRecord,
  DeviceConfigPointer,
  DeviceConfigRecord,
  DeviceKeyRecord,
} from './deviceConfig';
import type { DeviceHealthRecord } from './deviceHealth';
import type { ConfirmedAnomalyRecord } from './anomalies/confirmed';

/**
 * Every record the chaincode writes to the channel's state, told apart by docType. Index entries (a single
 * zero byte under a composite key) are no records. A consumer of the blocks (the reporting sync) handles each
 * docType explicitly, so adding a record type here fails to compile until it is handled there.
 */
export type LedgerRecord =
  | PingRecord
  | OrgKeyRecord
  | OrgKeyPointer
  | SubscriptionRecord
  | SessionKeyRecord
  | RetiredKeyRecord
  | ReadingRecord
  | ReadingCursorRecord
  | AccessRequestRecord
  | TariffRecord
  | TariffPointer
  | PriceSignalRecord
  | PricePolicyRecord
  | PricePolicyPointer
  | BillRecord
  | AggregationFiltersRecord
  | Bf1PartRecord
  | GridShareRecord
  | AggregationRoundRecord
  | FaultyMeterRecord
  | WalletRecord
  | WalletEntryRecord
  | TopUpRecord
  | SettlementRecord
  | SupplierAccountRecord
  | DeviceKeyRecord
  | DeviceConfigRecord
  | DeviceConfigPointer
  | DeviceConfigAckRecord
  | DeviceHealthRecord
  | ConfirmedAnomalyRecord;

export type LedgerRecordType = LedgerRecord['docType'];

/** The record of one docType. */
export type LedgerRecordOf<T extends LedgerRecordType> = Extract<LedgerRecord, { docType: T }>;

export const LEDGER_RECORD_TYPES: readonly LedgerRecordType[] = [
  'ping',
  'orgKey',
  'orgKeyPointer',
  'subscription',
  'sessionKey',
  'retiredKey',
  'reading',
  'readingCursor',
  'accessRequest',
  'tariff',
  'tariffPointer',
  'priceSignal',
  'pricePolicy',
  'pricePolicyPointer',
  'bill',
  'aggregationFilters',
  'aggregationBf1Part',
  'gridShare',
  'aggregationRound',
  'faultyMeter',
  'wallet',
  'walletEntry',
  'topUp',
  'settlement',
  'supplierAccount',
  'deviceKey',
  'deviceConfig',
  'deviceConfigPointer',
  'deviceConfigAck',
  'deviceHealth',
  'confirmedAnomaly',
];
