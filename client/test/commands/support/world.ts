import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli';
import { resolveChannel, type ActingIdentity } from '../../../src/commands/context';
import type {
  CertificateAuthority,
  CommandDeps,
  CommandFactory,
  ContractClients,
  ReportStore,
} from '../../../src/commands/deps';
import { Keystore } from '../../../src/keystore';
import { noDefaultIdentity, ProfileError, type ConnectionProfile } from '../../../src/profile';

/** The fake contract methods a test needs; any other method called fails the command (and the test). */
export interface FakeClients {
  orgKeys?: Partial<ContractClients['orgKeys']>;
  subscriptions?: Partial<ContractClients['subscriptions']>;
  measurements?: Partial<ContractClients['measurements']>;
  personalData?: Partial<ContractClients['personalData']>;
  pricing?: Partial<ContractClients['pricing']>;
  billing?: Partial<ContractClients['billing']>;
  aggregation?: Partial<ContractClients['aggregation']>;
  prepaid?: Partial<ContractClients['prepaid']>;
  system?: Partial<ContractClients['system']>;
  deviceConfig?: Partial<ContractClients['deviceConfig']>;
  deviceHealth?: Partial<ContractClients['deviceHealth']>;
  anomalies?: Partial<ContractClients['anomalies']>;
  billEvidence?: ContractClients['billEvidence'];
}

export interface ClientCall {
  /** "subscriptions.approve" */
  method: string;
  args: unknown[];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * meterctl with fakes behind its factory: a real keystore in a temporary folder, a profile whose files exist,
 * and contract clients, CA and reporting database that do only what the test gives them, recording each call.
 */
export class TestWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'meterctl-commands-'));
  readonly keystore = new Keystore(join(this.dir, 'keystore'));
  /** Distributor1's operator unless a test chooses another (householdsProfile, authorityProfile). */
  profile: ConnectionProfile = distributorProfile(this.dir);
  clients: FakeClients = {};
  ca: Partial<CertificateAuthority> = {};
  reportStore: Partial<ReportStore> = {};
  /** What opening the reporting database throws instead, when set (e.g. ECONNREFUSED). */
  reportDbError: Error | undefined = undefined;
  env: Record<string, string | undefined> = {};
  /** The role in each identity's certificate, by name (the identity in use: -i, else the profile's default). */
  roles: Record<string, string> = {
    operator: 'operator',
    auditor: 'auditor',
    'hh-17': 'subscriber',
    'mtr-42': 'meter',
  };
  /** Whether stderr is a terminal (report sync then draws progress bars). */
  stderrIsTTY = false;
  now = new Date('2026-11-15T10:07:00Z');
  /** Every contract, CA and reporting-database method called, in order. */
  readonly calls: ClientCall[] = [];
  /** How many times a command asked for the channel's clients (a gateway connection in meterctl). */
  connections = 0;
  readonly openedReportDbs: { serverUrl: string; name: string }[] = [];
  private stdout = '';
  private stderr = '';
  /** What Ctrl-C or SIGTERM would stop: the callbacks commands registered with onInterrupt. */
  private readonly interruptHandlers = new Set<() => void>();

  /** As if the user pressed Ctrl-C: every callback a command registered with onInterrupt is called. */
  interrupt(): void {
    for (const stop of [...this.interruptHandlers]) stop();
  }

  /** Runs meterctl with these arguments (after the program name), as main does; stdout and stderr of this run. */
  async run(...args: string[]): Promise<CliResult> {
    this.stdout = '';
    this.stderr = '';
    const code = await main(['node', 'meterctl', ...args], this.factory());
    return { code, stdout: this.stdout, stderr: this.stderr };
  }

  /** The dependencies a command gets for these global options: for calling run functions directly. */
  deps(globals: CommandDeps['globals'] = {}): CommandDeps {
    return this.factory().deps(globals);
  }

  output(): { stdout: string; stderr: string } {
    return { stdout: this.stdout, stderr: this.stderr };
  }

  /** A file in the world's folder. */
  file(name: string, content: string | Uint8Array): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  methodsCalled(): string[] {
    return this.calls.map((call) => call.method);
  }

  private factory(): CommandFactory {
    const streams = {
      stdout: { write: (text: string) => void (this.stdout += text) },
      stderr: { write: (text: string) => void (this.stderr += text), isTTY: this.stderrIsTTY, columns: 100 },
    };
    const clients = this.contractClients();
    return {
      streams,
      deps: (globals) => ({
        globals,
        output: { json: globals.json, csv: globals.csv, ...streams },
        env: this.env,
        now: () => this.now,
        profile: () => this.profile,
        keystore: () => this.keystore,
        identity: () => this.actingIdentity(globals.identity),
        withChannel: async (fn) => {
          const channel = resolveChannel(this.profile, globals);
          this.connections += 1;
          return fn(clients, { profile: this.profile, channel });
        },
        ca: this.fake<CertificateAuthority>('ca', this.ca),
        openReportDb: async (serverUrl, name) => {
          this.openedReportDbs.push({ serverUrl, name });
          if (this.reportDbError !== undefined) throw this.reportDbError;
          return this.fake<ReportStore>('reportDb', this.reportStore);
        },
        ipfs: () => {
          throw new Error('this test world has no IPFS node: the network tests use the real one');
        },
        onInterrupt: (stop) => {
          this.interruptHandlers.add(stop);
          return () => {
            this.interruptHandlers.delete(stop);
          };
        },
      }),
    };
  }

  /** The identity in use, as meterctl resolves it, with its role from `roles` (no certificate is read). */
  private actingIdentity(requested: string | undefined): ActingIdentity {
    const name = requested ?? this.profile.defaultIdentity;
    if (name === '') throw new ProfileError(noDefaultIdentity(this.profile));
    return {
      name,
      files: { certPath: join(this.dir, `${name}-cert.pem`), keyPath: join(this.dir, `${name}-key.pem`) },
      chosen: requested !== undefined,
      role: this.roles[name],
    };
  }

  private contractClients(): ContractClients {
    const given = this.clients;
    const billEvidence = this.fake<Pick<ContractClients, 'billEvidence'>>('clients', {
      billEvidence: given.billEvidence,
    });
    return {
      orgKeys: this.fake<ContractClients['orgKeys']>('orgKeys', given.orgKeys ?? {}),
      subscriptions: this.fake<ContractClients['subscriptions']>('subscriptions', given.subscriptions ?? {}),
      measurements: this.fake<ContractClients['measurements']>('measurements', given.measurements ?? {}),
      personalData: this.fake<ContractClients['personalData']>('personalData', given.personalData ?? {}),
      pricing: this.fake<ContractClients['pricing']>('pricing', given.pricing ?? {}),
      billing: this.fake<ContractClients['billing']>('billing', given.billing ?? {}),
      aggregation: this.fake<ContractClients['aggregation']>('aggregation', given.aggregation ?? {}),
      prepaid: this.fake<ContractClients['prepaid']>('prepaid', given.prepaid ?? {}),
      system: this.fake<ContractClients['system']>('system', given.system ?? {}),
      deviceConfig: this.fake<ContractClients['deviceConfig']>('deviceConfig', given.deviceConfig ?? {}),
      deviceHealth: this.fake<ContractClients['deviceHealth']>('deviceHealth', given.deviceHealth ?? {}),
      anomalies: this.fake<ContractClients['anomalies']>('anomalies', given.anomalies ?? {}),
      billEvidence: (billId) => billEvidence.billEvidence(billId),
    };
  }

  /** An object whose methods are the given ones, recorded; calling any other fails like a refusal would. */
  private fake<T extends object>(name: string, methods: Partial<T>): T {
    const calls = this.calls;
    return new Proxy(methods, {
      get(target, property) {
        if (typeof property !== 'string' || property === 'then') return undefined;
        const method = target[property as keyof T];
        return (...args: unknown[]): unknown => {
          calls.push({ method: `${name}.${property}`, args });
          if (typeof method !== 'function') throw new Error(`unexpected call ${name}.${property}`);
          return (method as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as T;
  }
}

/** Distributor1's operator profile on northgrid; its TLS files exist (a pair bundle copies them). */
export function distributorProfile(dir: string): ConnectionProfile {
  const tls = join(dir, 'tls-root.pem');
  writeFileSync(tls, '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n');
  const identity = { certPath: join(dir, 'operator-cert.pem'), keyPath: join(dir, 'operator-key.pem') };
  return {
    org: 'distributor1',
    mspId: 'Distributor1MSP',
    authorityMspId: 'AuthorityMSP',
    chaincodeName: 'smartmeter',
    households: {
      mspId: 'Distributor1HouseholdsMSP',
      ca: { url: 'https://127.0.0.1:7155', caName: 'ca-households1', tlsCertPath: tls },
    },
    channels: ['northgrid'],
    peer: { endpoint: '127.0.0.1:7051', hostAlias: 'peer0.distributor1', tlsRootCertPath: tls },
    ca: { url: 'https://127.0.0.1:7054', caName: 'ca-distributor1', tlsCertPath: tls },
    defaultIdentity: 'operator',
    identities: {
      operator: identity,
      registrar: { certPath: join(dir, 'registrar-cert.pem'), keyPath: join(dir, 'registrar-key.pem') },
      'households-registrar': {
        certPath: join(dir, 'hh-registrar-cert.pem'),
        keyPath: join(dir, 'hh-registrar-key.pem'),
      },
    },
    reportDbUrl: 'http://127.0.0.1:5990',
  };
}

/** A household's profile: the distributor's peer, no identity of its own (each household uses -i). */
export function householdsProfile(dir: string): ConnectionProfile {
  const distributor = distributorProfile(dir);
  return {
    ...distributor,
    org: 'households1',
    mspId: 'Distributor1HouseholdsMSP',
    distributorMspId: 'Distributor1MSP',
    households: undefined,
    defaultIdentity: '',
    identities: {},
  };
}

/** The authority's profile: on both channels, so commands need --channel. */
export function authorityProfile(dir: string): ConnectionProfile {
  const distributor = distributorProfile(dir);
  return {
    ...distributor,
    org: 'authority',
    mspId: 'AuthorityMSP',
    households: undefined,
    channels: ['northgrid', 'southgrid'],
    defaultIdentity: 'auditor',
    identities: { auditor: distributor.identities.operator },
  };
}
