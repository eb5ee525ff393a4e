/**
 * What the chaincode knows of the network it runs on: which MSP is the public authority and which households
 * MSP belongs to which distributor. It comes from network/network.conf through the SMARTMETER_TOPOLOGY
 * environment variable of every chaincode server (network/scripts/nodes.sh), the same JSON for all of them, so
 * endorsers agree; the chaincode refuses to run without it rather than guess.
 */
export interface Topology {
  authorityMspId: string;
  distributors: { mspId: string; householdsMspId: string }[];
}

export const TOPOLOGY_ENV = 'SMARTMETER_TOPOLOGY';

let cached: { text: string; topology: Topology } | undefined;

export function topology(): Topology {
  const text = process.env[TOPOLOGY_ENV];
  if (!text) {
    throw new Error(
      `${TOPOLOGY_ENV} is not set: the chaincode server must be started with the network's topology`,
    );
  }
  if (cached?.text !== text) cached = { text, topology: parseTopology(text) };
  return cached.topology;
}

export function parseTopology(text: string): Topology {
  const parsed = JSON.parse(text) as Partial<Topology>;
  const isId = (value: unknown): value is string =>
    typeof value === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(value);
  if (
    !isId(parsed.authorityMspId) ||
    !Array.isArray(parsed.distributors) ||
    !parsed.distributors.every((d) => isId(d.mspId) && isId(d.householdsMspId))
  ) {
    throw new Error(
      `${TOPOLOGY_ENV} must be {"authorityMspId": ..., "distributors": [{"mspId", "householdsMspId"}]}`,
    );
  }
  return { authorityMspId: parsed.authorityMspId, distributors: parsed.distributors };
}

export function isAuthorityMsp(mspId: string): boolean {
  return mspId === topology().authorityMspId;
}

export function isDistributorMsp(mspId: string): boolean {
  return topology().distributors.some((d) => d.mspId === mspId);
}

/** The distributor whose households and meters an MSP holds, or undefined when it is no households MSP. */
export function distributorOfHouseholds(mspId: string): string | undefined {
  return topology().distributors.find((d) => d.householdsMspId === mspId)?.mspId;
}
