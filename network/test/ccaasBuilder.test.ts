import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The external builder the peers run for chaincode-as-a-service packages, called the way a peer calls it.
const bin = resolve(__dirname, '..', 'builders', 'ccaas', 'bin');

function packageDirs(type: string, connection: object): { source: string; metadata: string; work: string } {
  const work = mkdtempSync(join(tmpdir(), 'ccaas-'));
  const source = join(work, 'src');
  const metadata = join(work, 'meta');
  mkdirSync(join(source, 'META-INF', 'statedb', 'couchdb', 'indexes'), { recursive: true });
  mkdirSync(metadata);
  writeFileSync(join(source, 'connection.json'), JSON.stringify(connection));
  writeFileSync(join(source, 'META-INF', 'statedb', 'couchdb', 'indexes', 'i.json'), '{"index":{}}');
  writeFileSync(join(metadata, 'metadata.json'), JSON.stringify({ type, label: 'cc_1' }));
  return { source, metadata, work };
}

const templated = {
  address: '{{.address}}',
  dial_timeout: '10s',
  tls_required: true,
  root_cert: '{{.root_cert}}',
};
const peerConfig = JSON.stringify({
  address: '127.0.0.1:7055',
  root_cert: '-----BEGIN CERTIFICATE-----\nAB\n',
});

describe('ccaas external builder', () => {
  it('when the package type is ccaas then detect accepts it, otherwise it declines', () => {
    const ccaas = packageDirs('ccaas', templated);
    const node = packageDirs('node', templated);
    expect(spawnSync(join(bin, 'detect'), [ccaas.source, ccaas.metadata]).status).toBe(0);
    expect(spawnSync(join(bin, 'detect'), [node.source, node.metadata]).status).toBe(1);
  });

  it('when built and released then connection.json is filled from the peer config and indexes are released', () => {
    const { source, metadata, work } = packageDirs('CCaaS', templated);
    const output = join(work, 'bld');
    const release = join(work, 'release');
    const env = { ...process.env, CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG: peerConfig };
    execFileSync(join(bin, 'build'), [source, metadata, output], { env });
    execFileSync(join(bin, 'release'), [output, release], { env });

    const connection = JSON.parse(
      readFileSync(join(release, 'chaincode', 'server', 'connection.json'), 'utf8'),
    ) as unknown;
    expect(connection).toEqual({
      address: '127.0.0.1:7055',
      dial_timeout: '10s',
      tls_required: true,
      root_cert: '-----BEGIN CERTIFICATE-----\nAB\n',
    });
    expect(readFileSync(join(release, 'statedb', 'couchdb', 'indexes', 'i.json'), 'utf8')).toBe(
      '{"index":{}}',
    );
  });

  it('when a template names a key the peer config lacks then build fails and says which', () => {
    const { source, metadata, work } = packageDirs('ccaas', { ...templated, address: '{{.ccaddress}}' });
    const result = spawnSync(join(bin, 'build'), [source, metadata, join(work, 'bld')], {
      env: { ...process.env, CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG: peerConfig },
    });
    expect(result.status).toBe(1);
    expect(result.stderr.toString()).toContain('needs "ccaddress" in CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG');
  });

  it('when tls_required is a string then build refuses the package', () => {
    const { source, metadata, work } = packageDirs('ccaas', { ...templated, tls_required: 'true' });
    const result = spawnSync(join(bin, 'build'), [source, metadata, join(work, 'bld')], {
      env: { ...process.env, CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG: peerConfig },
    });
    expect(result.status).toBe(1);
    expect(result.stderr.toString()).toContain('tls_required must be a JSON boolean');
  });
});
