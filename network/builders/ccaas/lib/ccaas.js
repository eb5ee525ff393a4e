'use strict';
// External builder for chaincode packages of type "ccaas" (chaincode as a service), implementing the peer's
// detect / build / release contract (Fabric docs: cc_launcher.md). The package holds connection.json and,
// optionally, META-INF/statedb CouchDB indexes. String fields of connection.json may contain {{.key}}
// templates, filled from the JSON object in CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG, which each peer sets to
// its own chaincode server's address and TLS root: one package serves every organization.
const fs = require('node:fs');
const path = require('node:path');

const TEMPLATED_FIELDS = ['address', 'dial_timeout', 'root_cert', 'client_key', 'client_cert'];

function fail(message) {
  process.stderr.write(`ccaas builder: ${message}\n`);
  process.exit(1);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
}

function isCcaas(metadataDir) {
  const file = path.join(metadataDir, 'metadata.json');
  if (!fs.existsSync(file)) return false;
  const metadata = readJson(file);
  return typeof metadata.type === 'string' && metadata.type.toLowerCase() === 'ccaas';
}

function fillTemplate(text, config, field) {
  return text.replace(/\{\{\s*\.([A-Za-z0-9_]+)\s*\}\}/g, (_match, key) => {
    if (!(key in config))
      fail(`connection.json field ${field} needs "${key}" in CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`);
    return String(config[key]);
  });
}

function builderConfig() {
  const raw = process.env.CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG;
  if (!raw) return {};
  try {
    return JSON.parse(raw);
  } catch (err) {
    fail(`CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG is not JSON: ${err.message}`);
  }
}

function build(sourceDir, metadataDir, outputDir) {
  if (!isCcaas(metadataDir)) fail('metadata.json type is not ccaas');
  const connection = readJson(path.join(sourceDir, 'connection.json'));
  if (typeof connection.address !== 'string' || connection.address === '') {
    fail('connection.json needs an address');
  }
  if (typeof connection.tls_required !== 'boolean') {
    fail('connection.json tls_required must be a JSON boolean');
  }
  const config = builderConfig();
  for (const field of TEMPLATED_FIELDS) {
    if (typeof connection[field] === 'string')
      connection[field] = fillTemplate(connection[field], config, field);
  }
  fs.mkdirSync(outputDir, { recursive: true });
  fs.cpSync(metadataDir, outputDir, { recursive: true });
  fs.writeFileSync(path.join(outputDir, 'connection.json'), JSON.stringify(connection));
  const metaInf = path.join(sourceDir, 'META-INF');
  if (fs.existsSync(metaInf)) fs.cpSync(metaInf, path.join(outputDir, 'META-INF'), { recursive: true });
}

function release(buildDir, releaseDir) {
  const statedb = path.join(buildDir, 'META-INF', 'statedb');
  if (fs.existsSync(statedb)) fs.cpSync(statedb, path.join(releaseDir, 'statedb'), { recursive: true });
  const serverDir = path.join(releaseDir, 'chaincode', 'server');
  fs.mkdirSync(serverDir, { recursive: true });
  fs.copyFileSync(path.join(buildDir, 'connection.json'), path.join(serverDir, 'connection.json'));
}

const [phase, ...args] = process.argv.slice(2);
switch (phase) {
  case 'detect':
    process.exit(isCcaas(args[1]) ? 0 : 1);
    break;
  case 'build':
    build(args[0], args[1], args[2]);
    break;
  case 'release':
    release(args[0], args[1]);
    break;
  default:
    fail(`unknown phase ${phase}`);
}
