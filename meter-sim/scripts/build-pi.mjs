// `npm run build:pi`: one self-contained JavaScript file for the Raspberry Pi (Node 20, ARM64 or ARMv7) plus the
// systemd unit. Pure JavaScript only: the build fails if a native addon would be needed at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist-pi');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/**
 * fabric-protos' indexes load every Fabric message type at start (gossip, discovery, lifecycle, ...) although a
 * meter uses a few; on a Pi that is memory for nothing. These indexes load each generated file when one of its
 * messages is first used: the top-level index per namespace, each namespace index per file. The names each
 * file exports are read here, at build time, by loading it once.
 */
const protosRequire = createRequire(import.meta.url);
const protosIndex = /@hyperledger[\\/]fabric-protos[\\/]lib[\\/](?:.+[\\/])?index\.js$/;

function lazyIndex(path) {
  const source = readFileSync(path, 'utf8');
  const lines = ["Object.defineProperty(exports, '__esModule', { value: true });"];
  const defined = new Set();
  // The first file to export a name keeps it, as __exportStar does.
  const define = (name, expression) => {
    if (defined.has(name)) return;
    defined.add(name);
    lines.push(
      `Object.defineProperty(exports, ${JSON.stringify(name)}, { enumerable: true, get: () => ${expression} });`,
    );
  };
  // exports.lifecycle = __importStar(require("./lifecycle")): a nested namespace.
  for (const [, name, file] of source.matchAll(
    /exports\.(\w+) = __importStar\(require\("(\.\/[\w/]+)"\)\)/g,
  )) {
    define(name, `require(${JSON.stringify(file)})`);
  }
  // __exportStar(require("./proposal_pb"), exports): every message of a generated file.
  for (const [, file] of source.matchAll(/__exportStar\(require\("(\.\/[\w/]+)"\), exports\)/g)) {
    const names = Object.keys(protosRequire(join(dirname(path), file))).filter((name) => name !== 'default');
    for (const name of names) define(name, `require(${JSON.stringify(file)})[${JSON.stringify(name)}]`);
  }
  return lines.join('\n') + '\n';
}

const lazyFabricProtos = {
  name: 'lazy-fabric-protos',
  setup(builder) {
    builder.onLoad({ filter: protosIndex }, (args) => ({ contents: lazyIndex(args.path), loader: 'js' }));
  },
};

/**
 * Modules a meter never runs but whose code would be loaded (and held in memory) with the rest: YAML parsing
 * (meterctl reads YAML tariffs; a meter reads only JSON), grpc-js' proto-loader (for channelz and ORCA, which
 * a meter does not serve), the Bloom filters of @smartmeter/crypto (the distributor builds them, the
 * aggregator and chaincode test them; a meter never does — and bundled with the Fabric protos they broke the
 * bundle at start), and what mqtt.js needs only for WebSockets, SOCKS proxies and browsers. Each is replaced by
 * a module that says so if it is ever called.
 */
const notInMeterBuild = {
  name: 'not-in-meter-build',
  setup(builder) {
    builder.onResolve(
      { filter: /^(yaml|@grpc\/proto-loader|bloom-filters|ws|socks|worker-timers)$/ },
      (args) => ({
        path: args.path,
        namespace: 'not-in-meter-build',
      }),
    );
    builder.onLoad({ filter: /.*/, namespace: 'not-in-meter-build' }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is not part of the meter build`)}); };
module.exports = new Proxy({}, { get: (_target, name) => (name === '__esModule' ? false : fail) });`,
      loader: 'js',
    }));
  },
};

/**
 * jsrsasign builds the meter's certificate request once, at `meter-sim enroll`; as a file of its own next to
 * meter-sim.js it costs a running meter nothing.
 */
const enrollmentLibrary = {
  name: 'enrollment-library-apart',
  setup(builder) {
    builder.onResolve({ filter: /^jsrsasign$/ }, () => ({ path: './jsrsasign.js', external: true }));
  },
};

/**
 * mqtt.js is loaded only by a meter in aggregate mode, when it connects to the broker; as mqtt.js next to
 * meter-sim.js a meter in disclosed mode never reads it.
 */
const brokerClientApart = {
  name: 'broker-client-apart',
  setup(builder) {
    builder.onResolve({ filter: /^mqtt$/ }, () => ({ path: './mqtt.js', external: true }));
  },
};

/**
 * mqtt.js and its packet parser each bring their own copy of readable-stream 4, the npm mirror of Node's own
 * streams (about 120 kB each); on Node they are the same classes, so both use node:stream.
 */
const nodeStreams = {
  name: 'node-streams',
  setup(builder) {
    builder.onResolve({ filter: /^readable-stream$/ }, () => ({ path: 'node:stream', external: true }));
  },
};

const brokerClient = await build({
  entryPoints: [protosRequire.resolve('mqtt')],
  outfile: join(out, 'mqtt.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
  plugins: [notInMeterBuild, nodeStreams],
  minifyWhitespace: true,
  minifySyntax: true,
});

await build({
  entryPoints: [protosRequire.resolve('jsrsasign')],
  outfile: join(out, 'jsrsasign.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  legalComments: 'eof',
  logLevel: 'warning',
});

const result = await build({
  entryPoints: [join(root, 'dist', 'bin.js')],
  outfile: join(out, 'meter-sim.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
  // Only fabric-gateway's optional HSM signer loads pkcs11js (a native addon); meters sign with a key file.
  external: ['pkcs11js'],
  plugins: [lazyFabricProtos, notInMeterBuild, enrollmentLibrary, brokerClientApart],
  // Node keeps every script's source in memory: without whitespace the bundle is 1.7 MB instead of 2.5 and a
  // running meter ~3 MB smaller (npm run bench:meter-sim). Names stay, so stack traces still read; minifying
  // the identifiers as well made the meter larger, not smaller.
  minifyWhitespace: true,
  minifySyntax: true,
});

const native = [...Object.keys(result.metafile.inputs), ...Object.keys(brokerClient.metafile.inputs)].filter(
  (input) => input.endsWith('.node'),
);
if (native.length > 0) {
  console.error(`build:pi: native addons would be bundled: ${native.join(', ')}`);
  process.exit(1);
}
copyFileSync(join(root, 'deploy', 'meter-sim.service'), join(out, 'meter-sim.service'));
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const inputs = Object.keys(result.metafile.inputs).length;
writeFileSync(
  join(out, 'BUILD.txt'),
  `meter-sim ${version} for Node >= 20 on any CPU (pure JavaScript; ${inputs} modules bundled)\n` +
    'Install: see "Running meter-sim on a Raspberry Pi" in the project README.\n',
);
const size = statSync(join(out, 'meter-sim.js')).size;
const brokerClientSize = statSync(join(out, 'mqtt.js')).size;
console.log(
  `build:pi: wrote ${join(out, 'meter-sim.js')} (${(size / 1024 / 1024).toFixed(1)} MB, ${inputs} modules), ` +
    `mqtt.js (${Math.round(brokerClientSize / 1024)} kB, aggregate mode only), jsrsasign.js and meter-sim.service`,
);
