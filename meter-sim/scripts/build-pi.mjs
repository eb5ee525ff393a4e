// `npm run build:pi`: one self-contained JavaScript file for the Raspberry Pi (Node 20, ARM64 or ARMv7) plus the
// systemd unit. Pure JavaScript only: the build fails if a native addon would be needed at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist-pi');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/**
 * fabric-protos' index loads every Fabric message type at start (gossip, discovery, ... ) although a meter uses
 * a few; on a Pi that is memory for nothing. This index loads each namespace when first used.
 */
const lazyFabricProtos = {
  name: 'lazy-fabric-protos',
  setup(builder) {
    builder.onLoad({ filter: /@hyperledger[\\/]fabric-protos[\\/]lib[\\/]index\.js$/ }, () => {
      const namespaces = [
        'common',
        'gossip',
        'peer',
        'discovery',
        'ledger',
        'gateway',
        'orderer',
        'transientstore',
        'msp',
        'google',
      ];
      const getters = namespaces
        .map(
          (name) =>
            `Object.defineProperty(exports, '${name}', { enumerable: true, get: () => require('./${name}') });`,
        )
        .join('\n');
      return {
        contents: `Object.defineProperty(exports, '__esModule', { value: true });\n${getters}\n`,
        loader: 'js',
      };
    });
  },
};

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
  plugins: [lazyFabricProtos],
});

const native = Object.keys(result.metafile.inputs).filter((input) => input.endsWith('.node'));
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
console.log(
  `build:pi: wrote ${join(out, 'meter-sim.js')} (${(size / 1024 / 1024).toFixed(1)} MB, ${inputs} modules) and meter-sim.service`,
);
