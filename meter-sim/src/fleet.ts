import type * as grpc from '@grpc/grpc-js';
import { connect, type Gateway } from '@hyperledger/fabric-gateway';
import { chaincodeChannel } from '@smartmeter/client/dist/contracts/invoke';
import { peerClient, signingOptions } from '@smartmeter/client/dist/gateway';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeterBundle } from './bundle';
import type { RunConfig } from './config';
import type { Logger } from './log';
import { Meter, type AggregateChannel, type MeterOutcome, type MeterStats } from './meter';
import { NetworkLedger } from './networkLedger';
import { Outbox } from './outbox';
import { startSharePublisher } from './publisher';
import { ShareOutbox } from './shareOutbox';

export interface FleetSummary {
  outcomes: MeterOutcome[];
  stats: MeterStats;
}

/**
 * Runs every configured meter in this process, each with its own identity, session key, outbox and gateway;
 * meters that talk to the same peer share one gRPC connection. A meter in aggregate mode opens its own
 * share outbox and its anonymous broker connections (one per share, or one for all) when it finds out its
 * mode.
 */
export async function runFleet(config: RunConfig, log: Logger, stop: AbortSignal): Promise<FleetSummary> {
  const clients = new Map<string, grpc.Client>();
  const gateways: Gateway[] = [];
  const outboxes: Outbox[] = [];
  try {
    const meters = config.meters.map((meter, index) => {
      const client = sharedClient(clients, meter);
      const gateway = connect(
        signingOptions(client, {
          mspId: meter.bundle.mspId,
          certificatePem: meter.identity.certificatePem,
          privateKeyPem: meter.identity.privateKeyPem,
        }),
      );
      gateways.push(gateway);
      const ledger = new NetworkLedger(
        chaincodeChannel(gateway, meter.bundle.channel, meter.bundle.chaincodeName),
        meter.bundle.subscriptionId,
        meter.bundle.meterId,
      );
      const stateDir = meterStateDir(config.stateDir, meter);
      const outbox = Outbox.open(join(stateDir, 'outbox.jsonl'));
      outboxes.push(outbox);
      const aggregate: AggregateChannel = {
        openOutbox: () => ShareOutbox.open(join(stateDir, 'shares.jsonl')),
        connect: () =>
          startSharePublisher(config.mqtt, log, {
            meterId: meter.bundle.meterId,
            subscriptionId: meter.bundle.subscriptionId,
          }),
        brokerUrl: `${config.mqtt.url}, ${config.mqtt.connection === 'persistent' ? 'one connection for all shares' : 'one connection per share'}`,
      };
      return new Meter(
        meter.bundle,
        meter.sessionKey,
        ledger,
        config.sources[index],
        outbox,
        log,
        config,
        aggregate,
        stateDir,
      );
    });
    const outcomes = await Promise.all(meters.map((meter) => meter.run(stop)));
    const stats: MeterStats = {
      generated: 0,
      committed: 0,
      alreadyOnLedger: 0,
      dropped: 0,
      transactions: 0,
      sharesPublished: 0,
      sharesDropped: 0,
    };
    for (const meter of meters) {
      for (const key of Object.keys(stats) as (keyof MeterStats)[]) stats[key] += meter.stats[key];
    }
    return { outcomes, stats };
  } finally {
    outboxes.forEach((outbox) => {
      outbox.close();
    });
    gateways.forEach((gateway) => {
      gateway.close();
    });
    clients.forEach((client) => {
      client.close();
    });
  }
}

/**
 * The meter's own folder (0700): its outbox, and the household's personal data exactly as the bundle sealed
 * it. The meter never opens that file; the household hands it over on a granted request
 * (`meterctl personal-data grant --sealed-file`).
 */
export function meterStateDir(stateDir: string, meter: MeterBundle): string {
  const dir = join(stateDir, meter.bundle.subscriptionId);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (meter.bundle.sealedPersonalData) {
    const file = join(dir, 'personal-data.sealed');
    writeFileSync(file, Buffer.from(meter.bundle.sealedPersonalData, 'base64'), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return dir;
}

function sharedClient(clients: Map<string, grpc.Client>, meter: MeterBundle): grpc.Client {
  const { endpoint, hostAlias, tlsRootCertPem } = meter.bundle.peer;
  const key = `${endpoint}|${hostAlias}`;
  let client = clients.get(key);
  if (!client) {
    client = peerClient(endpoint, hostAlias, Buffer.from(tlsRootCertPem));
    clients.set(key, client);
  }
  return client;
}
