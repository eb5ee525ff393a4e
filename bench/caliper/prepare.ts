/**
 * Prepares the Caliper benchmark (bench/caliper/run.sh runs it): a fleet of meters on northgrid made the way the
 * throughput benchmark makes them (prepareFleet: CA identity, subscription at 900 s intervals from 44 days back,
 * approval, pairing), then, in .bench-results/caliper/ (git-ignored):
 *
 * - connection-profile.json: a Fabric common connection profile for Distributor1's households, whose gateway is
 *   Distributor1's peer (the households profile's peer, TLS root and host alias);
 * - networkconfig.json: Caliper's network configuration (version 2.0.0), one identity per meter;
 * - fleet.json (0600): what the workload modules need per meter, session keys included.
 *
 * Environment: CALIPER_METERS (20).
 */
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeSecretFile } from '../../client/src/keystore';
import { Gateways } from '../../test/support/chaincode';
import { CHANNEL, HOUSEHOLDS } from '../../test/support/household';
import { profile, repoDir } from '../../test/support/network';
import { prepareFleet } from '../support/fleet';

const INTERVAL_SECONDS = 900;
const outDir = join(repoDir, '.bench-results', 'caliper');

/** The manifest the workload modules read (bench/caliper/workloads/lib/fleet.js). */
export interface CaliperFleetManifest {
  channel: string;
  chaincodeName: string;
  mspId: string;
  intervalSeconds: number;
  /** First period of every subscription, epoch seconds. */
  startSeconds: number;
  meters: { meterId: string; subscriptionId: string; sessionKeyHex: string }[];
}

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

function meterCount(): number {
  const value = Number(process.env.CALIPER_METERS ?? 20);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(
      `CALIPER_METERS must be a positive whole number, not ${String(process.env.CALIPER_METERS)}`,
    );
  }
  return value;
}

async function main(): Promise<void> {
  const count = meterCount();
  const households = profile(HOUSEHOLDS);
  const now = Math.floor(Date.now() / 1000);
  // As in throughput.ts: 44 days back (the backlog limit is 45), room for thousands of readings per meter.
  const startSeconds = Math.floor((now - 44 * 86_400) / 86_400) * 86_400;
  say(`preparing ${count} meters on ${CHANNEL} (CA identity, subscription, approval, pairing each) …`);
  const gateways = new Gateways();
  let meters;
  try {
    meters = await prepareFleet(gateways, {
      count,
      intervalSeconds: INTERVAL_SECONDS,
      startSeconds,
      pair: true,
      onReady: (ready, total) => {
        if (ready % 10 === 0 || ready === total) say(`  ${ready}/${total} meters ready`);
      },
    });
  } finally {
    gateways.closeAll();
  }

  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const { endpoint, hostAlias, tlsRootCertPath } = households.peer;
  const connectionProfilePath = join(outDir, 'connection-profile.json');
  const connectionProfile = {
    name: `${households.org}-gateway`,
    version: '1.0.0',
    client: { organization: households.mspId },
    organizations: {
      // The households' MSP has no peers of its own: its gateway is the distributor's peer, as in its profile.
      [households.mspId]: { mspid: households.mspId, peers: [hostAlias] },
    },
    peers: {
      [hostAlias]: {
        url: `grpcs://${endpoint}`,
        tlsCACerts: { path: tlsRootCertPath },
        grpcOptions: { 'ssl-target-name-override': hostAlias, 'grpc.ssl_target_name_override': hostAlias },
      },
    },
  };
  writeFileSync(connectionProfilePath, `${JSON.stringify(connectionProfile, null, 2)}\n`);

  const networkConfigPath = join(outDir, 'networkconfig.json');
  const networkConfig = {
    name: 'smartmeter-northgrid',
    version: '2.0.0',
    caliper: { blockchain: 'fabric' },
    channels: [{ channelName: CHANNEL, contracts: [{ id: households.chaincodeName }] }],
    organizations: [
      {
        mspid: households.mspId,
        identities: {
          certificates: meters.map((meter) => ({
            name: meter.meterId,
            clientPrivateKey: { path: meter.keyPath },
            clientSignedCert: { path: meter.certPath },
          })),
        },
        connectionProfile: { path: connectionProfilePath, discover: true },
      },
    ],
  };
  writeFileSync(networkConfigPath, `${JSON.stringify(networkConfig, null, 2)}\n`);

  const manifestPath = join(outDir, 'fleet.json');
  const manifest: CaliperFleetManifest = {
    channel: CHANNEL,
    chaincodeName: households.chaincodeName,
    mspId: households.mspId,
    intervalSeconds: INTERVAL_SECONDS,
    startSeconds,
    meters: meters.map((meter) => ({
      meterId: meter.meterId,
      subscriptionId: meter.subscriptionId,
      sessionKeyHex: meter.sessionKey.toString('hex'),
    })),
  };
  writeSecretFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  say(
    `wrote ${connectionProfilePath}\nwrote ${networkConfigPath}\nwrote ${manifestPath} (0600: session keys)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
