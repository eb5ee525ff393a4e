import { common } from '@hyperledger/fabric-protos';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateways, rejection } from '../../support/chaincode';
import { gatewayAs, ordererFlags, peerCli, type UserMsp } from '../../support/attacker';
import {
  CHANNEL,
  enrollMeter,
  enrollSubscriber,
  HOUSEHOLDS,
  onboardHousehold,
} from '../../support/household';
import { CHAINCODE } from '../../support/network';

/**
 * Issue 12, finding 1: households and meters used to read the whole channel (qscc, orderer and peer deliver,
 * events). They are now issued from the distributor's households MSP, which is a channel Writer but not a
 * Reader, and the channel's ACLs keep blocks, events and system-chaincode queries to the organizations. Every
 * attack is made with Fabric's own peer CLI or a plain fabric-gateway client holding the household's or the
 * meter's own certificate.
 */
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const household: UserMsp = { org: HOUSEHOLDS, mspId: 'Distributor1HouseholdsMSP', name: `acc-hh-${run}` };
const meter: UserMsp = { org: HOUSEHOLDS, mspId: 'Distributor1HouseholdsMSP', name: `acc-mtr-${run}` };
const gateways = new Gateways();
const scratch = mkdtempSync(join(tmpdir(), 'access-'));
let victimTxId = '';

async function height(): Promise<number> {
  const info = await gateways
    .gateway('authority')
    .getNetwork(CHANNEL)
    .getContract('qscc')
    .evaluateTransaction('GetChainInfo', CHANNEL);
  return common.BlockchainInfo.deserializeBinary(info).getHeight();
}

beforeAll(async () => {
  await enrollSubscriber(household.name);
  await enrollMeter(meter.name);
  // Another household's subscription and a later transaction, whose id an attacker might learn or guess.
  await onboardHousehold(gateways, 'acc', Math.floor(Date.now() / 1000 / 1800) * 1800 - 3600);
  const commit = await (
    await gateways
      .gateway('authority')
      .getNetwork(CHANNEL)
      .getContract(CHAINCODE, 'System')
      .newProposal('Ping', { arguments: [`victim-${run}`] })
      .endorse()
  ).submit();
  victimTxId = commit.getTransactionId();
  await commit.getStatus();
});
afterAll(() => {
  gateways.closeAll();
});

describe.each([
  ['a household', household],
  ['a meter', meter],
])('%s and the channel', (_label, user) => {
  it('when it fetches blocks from an orderer with peer channel fetch then the orderer answers FORBIDDEN', async () => {
    const before = await height();
    const fetched = await peerCli(user, 'distributor1', [
      'channel',
      'fetch',
      'newest',
      join(scratch, 'b.block'),
      '-c',
      CHANNEL,
      ...ordererFlags(),
    ]);
    expect(fetched.code).not.toBe(0);
    expect(fetched.output).toMatch(/FORBIDDEN/);
    const oldest = await peerCli(user, 'distributor1', [
      'channel',
      'fetch',
      'oldest',
      join(scratch, 'b0.block'),
      '-c',
      CHANNEL,
      ...ordererFlags(),
    ]);
    expect(oldest.output).toMatch(/FORBIDDEN/);
    expect(await height()).toBe(before);
  });

  it.each([
    ['GetTransactionByID', () => [CHANNEL, victimTxId]],
    ['GetBlockByNumber', () => [CHANNEL, '1']],
    ['GetChainInfo', () => [CHANNEL]],
    ['GetBlockByTxID', () => [CHANNEL, victimTxId]],
  ])('when it calls qscc %s with the peer CLI then access is denied', async (fn, args) => {
    const result = await peerCli(user, 'distributor1', [
      'chaincode',
      'query',
      '-C',
      CHANNEL,
      '-n',
      'qscc',
      '-c',
      JSON.stringify({ Args: [fn, ...args()] }),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(
      new RegExp(`access denied for \\[${fn}\\]\\[${CHANNEL}\\].*/Channel/Application/Readers`),
    );
  });

  it('when it asks cscc for the channel configuration then access is denied', async () => {
    const result = await peerCli(user, 'distributor1', [
      'chaincode',
      'query',
      '-C',
      CHANNEL,
      '-n',
      'cscc',
      '-c',
      JSON.stringify({ Args: ['GetChannelConfig', CHANNEL] }),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/access denied|Readers/);
  });

  it('when it opens block, filtered-block or chaincode event streams through the gateway then each is refused', async () => {
    const connection = gatewayAs(user);
    try {
      const network = connection.gateway.getNetwork(CHANNEL);
      const attempts = [
        () => network.getBlockEvents({ startBlock: 0n }),
        () => network.getFilteredBlockEvents({ startBlock: 0n }),
        () => network.getBlockAndPrivateDataEvents({ startBlock: 0n }),
        () => network.getChaincodeEvents(CHAINCODE, { startBlock: 0n }),
      ];
      for (const open of attempts) {
        const refusal = await rejection(
          (async () => {
            const events = await open();
            try {
              for await (const event of events) return event;
            } finally {
              events.close();
            }
          })(),
        );
        // 403 is common.Status FORBIDDEN in a deliver response; the gateway answers PERMISSION_DENIED.
        expect(refusal).toMatch(/Unexpected status response: 403|PERMISSION_DENIED/);
      }
    } finally {
      connection.close();
    }
  });

  it('when it evaluates and submits the chaincode then that still works, commit status included', async () => {
    const connection = gatewayAs(user);
    try {
      const contract = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'System');
      expect(new TextDecoder().decode(await contract.evaluateTransaction('Version'))).toMatch(
        /"name":"smartmeter"/,
      );
      const commit = await (
        await contract.newProposal('Ping', { arguments: [user.name] }).endorse()
      ).submit();
      expect((await commit.getStatus()).successful).toBe(true);
    } finally {
      connection.close();
    }
  });
});

describe('the organizations keep what they need', () => {
  it('when the auditor reads blocks and the operator calls qscc then both are answered', async () => {
    const events = await gateways.gateway('authority').getNetwork(CHANNEL).getBlockEvents({ startBlock: 0n });
    try {
      for await (const block of events) {
        expect(block.getHeader()?.getNumber()).toBe(0);
        break;
      }
    } finally {
      events.close();
    }
    const info = await gateways
      .gateway('distributor1')
      .getNetwork(CHANNEL)
      .getContract('qscc')
      .evaluateTransaction('GetChainInfo', CHANNEL);
    expect(common.BlockchainInfo.deserializeBinary(info).getHeight()).toBeGreaterThan(1);
  });
});

describe('unknown contracts and transactions carry a stable code', () => {
  it.each([
    ['an unknown contract', 'Nope:Version', /INVALID_ARGUMENT: Contract name is not known: Nope/],
    ['an unknown transaction', 'System:Nope', /INVALID_ARGUMENT: unknown transaction System:Nope/],
    [
      'a wrong number of arguments',
      'System:Ping',
      /INVALID_ARGUMENT: Expected 1 parameters, but 0 have been supplied/,
    ],
  ])(
    'when the peer CLI calls %s then the refusal starts with INVALID_ARGUMENT',
    async (_label, fn, message) => {
      const result = await peerCli(household, 'distributor1', [
        'chaincode',
        'query',
        '-C',
        CHANNEL,
        '-n',
        'smartmeter',
        '-c',
        JSON.stringify({ Args: [fn] }),
      ]);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(message);
    },
  );
});
