import { CommitStatusError, StatusCode, type Gateway } from '@hyperledger/fabric-gateway';
import {
  chaincodeChannel,
  commitStatusRequest,
  contractOf,
  submitJson,
} from '../../client/src/contracts/invoke';
import { openGateway, type GatewayConnection } from '../../client/src/gateway';
import type { PingRecord } from '@smartmeter/domain';
import { CHAINCODE, eventually, profile } from '../support/network';

const utf8 = new TextDecoder();

interface Member {
  org: string;
  channel: string;
}

const connections: GatewayConnection[] = [];

function gatewayOf(org: string, identity?: string): Gateway {
  const connection = openGateway(profile(org), { identity });
  connections.push(connection);
  return connection.gateway;
}

afterAll(() => {
  for (const connection of connections) connection.close();
});

async function submitPing(writer: Member, message: string): Promise<PingRecord> {
  const contract = gatewayOf(writer.org).getNetwork(writer.channel).getContract(CHAINCODE, 'System');
  const result = await contract.submitTransaction('Ping', message);
  return JSON.parse(utf8.decode(result)) as PingRecord;
}

async function readPing(reader: Member, pingId: string): Promise<PingRecord> {
  const contract = gatewayOf(reader.org).getNetwork(reader.channel).getContract(CHAINCODE, 'System');
  return JSON.parse(utf8.decode(await contract.evaluateTransaction('GetPing', pingId))) as PingRecord;
}

describe('gateway submissions on both channels', () => {
  it.each([
    [
      { org: 'distributor1', channel: 'northgrid' },
      { org: 'authority', channel: 'northgrid' },
    ],
    [
      { org: 'authority', channel: 'northgrid' },
      { org: 'distributor1', channel: 'northgrid' },
    ],
    [
      { org: 'distributor2', channel: 'southgrid' },
      { org: 'authority', channel: 'southgrid' },
    ],
    [
      { org: 'authority', channel: 'southgrid' },
      { org: 'distributor2', channel: 'southgrid' },
    ],
  ])('when %o submits a Ping then %o reads the same record through its own peer', async (writer, reader) => {
    const message = `from ${writer.org} on ${writer.channel} at ${Date.now()}`;
    const written = await submitPing(writer, message);

    expect(written.message).toBe(message);
    expect(written.submitterMspId).toBe(profile(writer.org).mspId);
    expect(written.pingId).toMatch(/^[0-9a-f]{64}$/);

    // Evaluate goes to the reader's own gateway peer, so this proves the block reached that peer. The submit
    // waited for commit on the writer's peer only, so the reader's peer may need a moment longer.
    const read = await eventually(
      () => readPing(reader, written.pingId),
      () => true,
      10_000,
      'read back',
    );
    expect(read).toEqual(written);
  });

  it('when a ping is submitted then its transaction is committed VALID and the chaincode event names it', async () => {
    const network = gatewayOf('distributor1').getNetwork('northgrid');
    const contract = network.getContract(CHAINCODE, 'System');
    const proposal = contract.newProposal('Ping', { arguments: ['committed check'] });
    const submitted = await (await proposal.endorse()).submit();
    const status = await submitted.getStatus();

    expect(status.successful).toBe(true);
    expect(status.code).toBe(0); // TxValidationCode.VALID
    const events = await network.getChaincodeEvents(CHAINCODE, { startBlock: status.blockNumber });
    try {
      for await (const event of events) {
        if (event.transactionId !== submitted.getTransactionId()) continue;
        expect(event.eventName).toBe('PingRecorded');
        expect(JSON.parse(utf8.decode(event.payload))).toEqual({ pingId: submitted.getTransactionId() });
        break;
      }
    } finally {
      events.close();
    }
  });

  it('when Version is evaluated then the deployed chaincode reports its name and version', async () => {
    const contract = gatewayOf('authority').getNetwork('southgrid').getContract(CHAINCODE, 'System');
    const version = JSON.parse(utf8.decode(await contract.evaluateTransaction('Version'))) as unknown;
    expect(version).toEqual({
      name: 'smartmeter',
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/) as unknown,
    });
  });
});

describe('looking a transaction up by its id (what a client does when a BFT submit reports failure)', () => {
  it('when a committed transaction is looked up by id then the peer reports it VALID in its block', async () => {
    const target = contractOf(chaincodeChannel(gatewayOf('distributor1'), 'northgrid', CHAINCODE), 'System');
    const written = await submitJson<PingRecord>(target, 'Ping', `lookup ${Date.now()}`);

    const status = await commitStatusRequest(target, written.pingId).getStatus();

    expect(status).toMatchObject({ transactionId: written.pingId, successful: true, code: StatusCode.VALID });
    expect(status.blockNumber).toBeGreaterThan(0n);
  });

  it('when an id the orderers never saw is looked up then the deadline passes with a CommitStatusError', async () => {
    const target = contractOf(chaincodeChannel(gatewayOf('distributor1'), 'northgrid', CHAINCODE), 'System');
    const neverSent = 'ab'.repeat(32);

    const failure = await commitStatusRequest(target, neverSent)
      .getStatus({ deadline: Date.now() + 2_000 })
      .catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(CommitStatusError);
    expect((failure as CommitStatusError).transactionId).toBe(neverSent);
  });
});

describe('channel isolation', () => {
  it('when a Distributor2 identity asks the authority peer for northgrid then it is refused', async () => {
    // The authority's peer serves northgrid, but Distributor2MSP is not a member of that channel.
    const authorityProfile = profile('authority');
    const outsider = profile('distributor2');
    const connection = openGateway({
      ...outsider,
      peer: authorityProfile.peer,
      identities: outsider.identities,
    });
    connections.push(connection);
    const contract = connection.gateway.getNetwork('northgrid').getContract(CHAINCODE, 'System');

    await expect(contract.evaluateTransaction('Version')).rejects.toMatchObject({
      details: expect.arrayContaining([
        expect.objectContaining({
          message: expect.stringMatching(/access denied|creator org unknown|not authorized/i) as unknown,
        }),
      ]) as unknown,
    });
    await expect(contract.submitTransaction('Ping', 'intruder')).rejects.toThrow();
  });

  it('when a Distributor2 identity asks its own peer for northgrid then the channel is unknown there', async () => {
    const contract = gatewayOf('distributor2').getNetwork('northgrid').getContract(CHAINCODE, 'System');
    await expect(contract.evaluateTransaction('Version')).rejects.toThrow(/channel|northgrid/i);
  });
});
