import { decryptReading } from '@smartmeter/crypto';
import { bandAt, isoSeconds, periodsStartingIn, type TariffRecord } from '@smartmeter/domain';
import type { BillEvidence } from './billVerify';
import { escapeXml, renderChart, type ChartPoint } from './charts';
import { formatKwh, formatMoney } from './output';

/** Usage per UTC day in Wh, from the decrypted readings of the bill's period. */
export function dailyUsage(evidence: BillEvidence, sessionKey: Uint8Array): ChartPoint[] {
  const perDay = new Map<string, number>();
  for (const reading of evidence.readings) {
    const { energyWh } = decryptReading(reading, sessionKey, {
      channel: evidence.channel,
      subscriptionId: reading.subscriptionId,
      sequence: reading.sequence,
      periodStart: reading.periodStart,
    });
    const day = reading.periodStart.slice(0, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + energyWh);
  }
  return [...perDay.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([label, value]) => ({ label, value }));
}

/**
 * The unit price in force at each period of the bill, in µ/kWh: the signal for dynamic tariffs, the band for
 * time-of-use, the flat price. Tiered prices depend on cumulative use, so they are left out (empty list).
 */
export function periodPrices(evidence: BillEvidence): ChartPoint[] {
  const approval = evidence.subscription.approval;
  if (!approval) return [];
  const signals = new Map(evidence.signals.map((s) => [s.periodStart, s.priceMicroPerKwh]));
  const from = Date.parse(evidence.bill.periodFrom) / 1000;
  const to = Date.parse(evidence.bill.periodTo) / 1000;
  const points: ChartPoint[] = [];
  for (const { startSeconds: at } of periodsStartingIn(approval, from, to)) {
    const periodStart = isoSeconds(at);
    const tariff = versionAt(evidence.tariffVersions, at);
    if (!tariff) continue;
    const pricing = tariff.pricing;
    let price: number | undefined;
    if (pricing.kind === 'flat') price = pricing.priceMicroPerKwh;
    else if (pricing.kind === 'dynamic') price = signals.get(periodStart) ?? pricing.basePriceMicroPerKwh;
    else if (pricing.kind === 'timeOfUse')
      price = bandAt(pricing.bands, at, tariff.utcOffsetMinutes).priceMicroPerKwh;
    else return [];
    points.push({ label: periodStart.slice(5, 16).replace('T', ' '), value: price / 1_000_000 });
  }
  return points;
}

function versionAt(versions: TariffRecord[], at: number): TariffRecord | undefined {
  let found: TariffRecord | undefined;
  for (const version of versions) if (Date.parse(version.effectiveFrom) / 1000 <= at) found = version;
  return found ?? versions[0];
}

/** One self-contained HTML page (inline CSS and SVG, no scripts, no external resources). */
export function renderBillHtml(evidence: BillEvidence, sessionKey: Uint8Array): string {
  const bill = evidence.bill;
  const money = (minor: number) => escapeXml(formatMoney(minor, bill.currency));
  const rows = bill.lineItems
    .map(
      (item) =>
        `<tr><td>${escapeXml(item.label)}</td><td>${escapeXml(item.tariffId)} v${item.tariffVersion}</td><td class="n">${formatKwh(item.energyWh)}</td><td class="n">${(item.priceMicroPerKwh / 1_000_000).toFixed(4)}</td><td class="n">${money(item.amountMinor)}</td></tr>`,
    )
    .join('\n');
  const prices = periodPrices(evidence);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bill ${escapeXml(bill.billId)}</title>
<style>
body{font-family:sans-serif;max-width:860px;margin:2em auto;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}
.n{text-align:right}.total td{font-weight:bold;border-top:2px solid #333}.muted{color:#666;font-size:90%}
</style></head><body>
<h1>Bill ${escapeXml(bill.billId)}</h1>
<p>Subscription <code>${escapeXml(bill.subscriptionId)}</code> with ${escapeXml(bill.distributorMspId)}<br>
Period ${escapeXml(bill.periodFrom)} to ${escapeXml(bill.periodTo)} &middot; status <strong>${escapeXml(bill.status)}</strong><br>
${bill.readingCount} of ${bill.expectedReadings} readings &middot; ${formatKwh(bill.energyWh)} kWh</p>
<h2>Usage per day</h2>
${renderChart(dailyUsage(evidence, sessionKey), { title: 'Energy per day', unit: 'Wh' })}
<h2>Price per period</h2>
${prices.length > 0 ? renderChart(prices, { title: `Unit price (${bill.currency}/kWh)`, unit: `${bill.currency}/kWh`, style: 'steps' }) : '<p class="muted">Tiered tariff: the price depends on cumulative use; see the line items.</p>'}
<h2>Line items</h2>
<table><tr><th>Item</th><th>Tariff</th><th class="n">kWh</th><th class="n">${escapeXml(bill.currency)}/kWh</th><th class="n">Amount</th></tr>
${rows}
<tr><td>Standing charge</td><td>${bill.standingCharge.days} days</td><td></td><td></td><td class="n">${money(bill.standingCharge.amountMinor)}</td></tr>
<tr><td>Subtotal</td><td></td><td></td><td></td><td class="n">${money(bill.subtotalMinor)}</td></tr>
<tr><td>Tax</td><td>${(bill.taxBasisPoints / 100).toFixed(2)} %</td><td></td><td></td><td class="n">${money(bill.taxMinor)}</td></tr>
<tr class="total"><td>Total</td><td></td><td></td><td></td><td class="n">${money(bill.totalMinor)}</td></tr>
</table>
<p class="muted">Computed on the ledger from ${bill.readingCount} encrypted readings (digest ${escapeXml(bill.readingsDigest.slice(0, 16))}...).
Check it yourself with <code>meterctl bill verify ${escapeXml(bill.billId)}</code>.</p>
</body></html>
`;
}
