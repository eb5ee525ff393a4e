import type { Page, ReadingRecord, TariffRecord } from '@smartmeter/domain';
import {
  endorseThroughGateway,
  forgedProposal,
  gatewayAs,
  processProposalAt,
  type UserMsp,
} from '../../support/attacker';
import { evaluateJson, Gateways, isoSeconds, rejection } from '../../support/chaincode';
import {
  CHANNEL,
  exampleTariff,
  HOUSEHOLDS,
  INTERVAL,
  onboardHousehold,
  readingFor,
  type OnboardedHousehold,
} from '../../support/household';
import { CHAINCODE } from '../../support/network';

/**
 * Issue 12, finding 3: the chaincode takes its time from the proposal, which the client writes. A meter set its
 * proposal three days ahead and stored a reading for a period that had not happened; an operator back-dated a
 * tariff. Now every peer refuses, before the chaincode, a proposal whose timestamp is more than
 * peer.authentication.timewindow (15 min) from its clock (our TimeWindowCheck auth filter plug-in), and the
 * chaincode refuses it where the gateway endorses on its own peer without the filters.
 */
const DAY = 86_400;
const gateways = new Gateways();
const start = Math.floor(Date.now() / 1000 / INTERVAL) * INTERVAL - 6 * INTERVAL;
let household: OnboardedHousehold;
let meter: UserMsp;
afterAll(() => {
  gateways.closeAll();
});

beforeAll(async () => {
  household = await onboardHousehold(gateways, 'time', start);
  meter = { org: HOUSEHOLDS, mspId: 'Distributor1HouseholdsMSP', name: household.meter };
});

const readingsFrom = (fromSeconds: number, toSeconds: number) =>
  evaluateJson<Page<ReadingRecord>>(
    gateways.contract('distributor1', CHANNEL, 'Measurement'),
    'GetReadings',
    household.subscriptionId,
    isoSeconds(fromSeconds),
    isoSeconds(toSeconds),
    '100',
    '',
  );

describe('a proposal whose time the client chose', () => {
  // A period two days ahead: the chaincode would take it if the proposal said it was three days later.
  const futureIndex = Math.ceil((2 * DAY) / INTERVAL) + 6;
  const future = () => readingFor(household, start, futureIndex, 4242);
  const threeDaysAhead = () => new Date(Date.now() + 3 * DAY * 1000);

  it.each(['distributor1', 'authority'])(
    'when a meter sends one three days ahead straight to the peer of %s then the auth filter refuses it',
    async (peerOrg) => {
      const connection = gateways.track(gatewayAs(meter));
      const contract = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Measurement');
      const forged = await forgedProposal(
        contract,
        meter,
        'SubmitReading',
        [JSON.stringify(future())],
        threeDaysAhead(),
      );
      const refusal = await rejection(processProposalAt(peerOrg, forged.signed));
      expect(refusal).toMatch(
        /proposal timestamp \S+ is 7[12]h\d+m\d+s from the peer's clock .*; the allowed window is 15m0s \(peer.authentication.timewindow\)/,
      );
    },
  );

  it('when a meter replays it through the gateway then it is not endorsed, and no reading is stored', async () => {
    const before = await readingsFrom(start, start + 3 * DAY);
    const connection = gateways.track(gatewayAs(meter));
    const contract = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Measurement');
    const forged = await forgedProposal(
      contract,
      meter,
      'SubmitReading',
      [JSON.stringify(future())],
      threeDaysAhead(),
    );
    const refusal = await rejection(endorseThroughGateway(connection.gateway, forged));
    // The gateway's own peer runs the chaincode's guard; the other organization's peer its auth filter.
    expect(refusal).toMatch(
      /INVALID_ARGUMENT: the proposal's timestamp .* from the endorser's clock|allowed window is 15m0s/,
    );
    expect(await readingsFrom(start, start + 3 * DAY)).toEqual(before);
  });

  it('when an operator back-dates a new tariff version by three days then it is refused and the tariff is unchanged', async () => {
    const operator: UserMsp = { org: 'distributor1', mspId: 'Distributor1MSP', name: 'operator' };
    const history = () =>
      evaluateJson<TariffRecord[]>(
        gateways.contract('distributor1', CHANNEL, 'Pricing'),
        'GetTariffHistory',
        'Distributor1MSP',
        household.tariffId,
      );
    const before = await history();
    const backDated = new Date(Date.now() - 3 * DAY * 1000);
    const version2 = {
      ...exampleTariff,
      tariffId: household.tariffId,
      effectiveFrom: isoSeconds(Math.floor(backDated.getTime() / 1000) + 60),
    };
    const connection = gateways.track(gatewayAs(operator));
    const contract = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Pricing');
    const forged = await forgedProposal(
      contract,
      operator,
      'PublishTariff',
      [JSON.stringify(version2)],
      backDated,
    );
    expect(await rejection(processProposalAt('authority', forged.signed))).toMatch(/allowed window is 15m0s/);
    expect(await rejection(endorseThroughGateway(connection.gateway, forged))).toMatch(
      /INVALID_ARGUMENT: the proposal's timestamp|allowed window is 15m0s/,
    );
    expect(await history()).toEqual(before);
  });

  it('when the forged proposal keeps the real time then the same path commits it (the forgery itself is sound)', async () => {
    const connection = gateways.track(gatewayAs(meter));
    const contract = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Measurement');
    const now = readingFor(household, start, 0, 100);
    const forged = await forgedProposal(contract, meter, 'SubmitReading', [JSON.stringify(now)], new Date());
    const stored = JSON.parse(
      new TextDecoder().decode(await endorseThroughGateway(connection.gateway, forged)),
    ) as ReadingRecord;
    expect(stored).toMatchObject({
      subscriptionId: household.subscriptionId,
      periodStart: isoSeconds(start),
      sequence: 1,
    });
    expect((await readingsFrom(start, start + INTERVAL)).records).toHaveLength(1);
  });
});
