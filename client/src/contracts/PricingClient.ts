import type { PricePolicyRecord, PriceSignalRecord, TariffRecord } from '@smartmeter/domain';
import { contractOf, evaluateJson, submitJson, type ChaincodeChannel } from './invoke';

export interface PriceSignalInput {
  periodStart: string;
  priceMicroPerKwh: number;
}

/** The Pricing contract: distributors' tariffs and the authority's regional price signals. */
export class PricingClient {
  private readonly contract;

  constructor(channel: ChaincodeChannel) {
    this.contract = contractOf(channel, 'Pricing');
  }

  publishTariff(tariffJson: string): Promise<TariffRecord> {
    return submitJson(this.contract, 'PublishTariff', tariffJson);
  }

  tariff(distributorMspId: string, tariffId: string): Promise<TariffRecord> {
    return evaluateJson(this.contract, 'GetTariff', distributorMspId, tariffId);
  }

  tariffHistory(distributorMspId: string, tariffId: string): Promise<TariffRecord[]> {
    return evaluateJson(this.contract, 'GetTariffHistory', distributorMspId, tariffId);
  }

  publishSignals(regionCode: string, signals: PriceSignalInput[]): Promise<unknown> {
    return submitJson(this.contract, 'PublishPriceSignals', regionCode, JSON.stringify(signals));
  }

  signals(regionCode: string, from: string, to: string): Promise<PriceSignalRecord[]> {
    return evaluateJson(this.contract, 'GetPriceSignals', regionCode, from, to);
  }

  publishPolicy(policyJson: string): Promise<PricePolicyRecord> {
    return submitJson(this.contract, 'PublishPricePolicy', policyJson);
  }

  policyHistory(regionCode: string): Promise<PricePolicyRecord[]> {
    return evaluateJson(this.contract, 'GetPricePolicyHistory', regionCode);
  }
}
