import { keyIdOf, newOrgKeyPair, newSessionKey } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import type { ReportAccessRequest, ReportSubscription } from '@smartmeter/client/dist/reporting/reportDb';
import type { LoadRow } from '@smartmeter/client/dist/reporting/reports';
import type { ApprovalTerms } from '@smartmeter/client/dist/contracts/SubscriptionClient';
import {
  APPROVAL,
  chaincodeRefusal,
  householdSubscription,
  orgKeyInKeystore,
  subscriptionRecord,
  tariffRecord,
  walletRecord,
} from '../../client/test/commands/support/fixtures';
import type { TestWorld } from '../../client/test/commands/support/world';
import type { Party } from '../src/api';
import { getWithBearer, postJson, refusalOf, servePartyPortal, worldOf } from './support/parties';
import type { ServedPortal } from './support/served';

const SUB = 'sub_000000000000000000000001';
const NEIGHBOUR = 'sub_000000000000000000000002';
const BILL = 'bill_000000000000000000000001';
const REQUEST = 'par_000000000000000000000001';
const PEER = '127.0.0.1:7051 (Distributor1MSP)';

/** A GET when there is no body, else a POST of it; both with the bearer token. */
function send(served: ServedPortal, path: string, body?: unknown): Promise<Response> {
  return body === undefined ? getWithBearer(served, path) : postJson(served, path, body);
}

describe('portal request validation', () => {
  let world: TestWorld;
  let served: ServedPortal;
  let topUp: jest.Mock;
  beforeEach(async () => {
    world = worldOf('distributor');
    topUp = jest.fn(async () => walletRecord());
    world.clients.prepaid = { topUp };
    served = await servePartyPortal(world, 'distributor');
  });
  afterEach(() => served.close());

  it.each([
    ['a bill id off its pattern', '/api/bills/bill_xyz', undefined, 'params/id: must match pattern'],
    [
      'a dispute without its reason',
      `/api/bills/${BILL}/dispute`,
      {},
      "body: must have required property 'reason'",
    ],
    [
      'a property the route does not take',
      `/api/bills/${BILL}/resolve`,
      { outcome: 'UPHELD', note: 'meter replaced', refundMinor: 10 },
      'body: must NOT have additional properties',
    ],
    [
      'an amount with a fraction of a minor unit',
      `/api/bills/${BILL}/payments`,
      { amountMinor: 1.5, reference: 'INV-1' },
      'body/amountMinor: must be integer',
    ],
    [
      'a period start without a time',
      '/api/bills',
      { subscriptionId: SUB, from: '2026-11-01', to: '2026-11-02T00:00:00Z' },
      'body/from: must match pattern',
    ],
    [
      'a query parameter the route does not take',
      '/api/subscriptions?owner=hh-17',
      undefined,
      'querystring: must NOT have additional properties',
    ],
  ])(
    'when a request has %s then it is refused 400 VALIDATION naming the field, and nothing is called',
    async (_what, path, body, field) => {
      const response = await send(served, path, body);

      const { status, error } = await refusalOf(response);
      expect({ status, code: error.code }).toEqual({ status: 400, code: 'VALIDATION' });
      expect(error.fields).toEqual(expect.arrayContaining([expect.stringContaining(field)]));
      expect(world.calls).toEqual([]);
    },
  );

  it.each([
    ['a boolean', true],
    ['a string of digits', '15'],
  ])(
    'when a top-up amount is %s, not a JSON number, then it is refused 400 VALIDATION and nothing is sent',
    async (_what, amountMinor) => {
      const response = await postJson(served, `/api/subscriptions/${SUB}/wallet/top-up`, {
        amountMinor,
        reference: 'PAY-1',
      });

      expect(topUp).not.toHaveBeenCalled();
      expect(await refusalOf(response)).toMatchObject({
        status: 400,
        error: { code: 'VALIDATION', fields: ['body/amountMinor: must be integer'] },
      });
    },
  );
});

describe('portal chaincode refusals', () => {
  let served: ServedPortal;
  afterEach(() => served.close());

  it('when the chaincode refuses FORBIDDEN then the answer is 403 with its code, text and the peer that said it', async () => {
    const world = worldOf('household');
    world.clients.billing = {
      dispute: async () => {
        throw chaincodeRefusal(`FORBIDDEN: bill ${BILL} is not of a subscription of the caller`);
      },
    };
    served = await servePartyPortal(world, 'household');

    const response = await postJson(served, `/api/bills/${BILL}/dispute`, { reason: 'too high' });

    expect(await refusalOf(response)).toEqual({
      status: 403,
      error: {
        code: 'FORBIDDEN',
        message: `bill ${BILL} is not of a subscription of the caller`,
        peer: PEER,
      },
    });
  });

  it('when the chaincode answers NOT_FOUND then the answer is 404 with the peer', async () => {
    const world = worldOf('distributor');
    world.clients.billing = {
      get: async () => {
        throw chaincodeRefusal(`NOT_FOUND: bill ${BILL} does not exist`);
      },
    };
    served = await servePartyPortal(world, 'distributor');

    const response = await getWithBearer(served, `/api/bills/${BILL}`);

    expect(await refusalOf(response)).toEqual({
      status: 404,
      error: { code: 'NOT_FOUND', message: `bill ${BILL} does not exist`, peer: PEER },
    });
  });
});

/** What is asked, the path, and the body of a POST (undefined: a GET; every row has it, or jest passes done). */
type RouteCase = [what: string, path: string, body: unknown];

const DISTRIBUTOR_ROUTES: RouteCase[] = [
  [
    'approve a subscription',
    `/api/subscriptions/${SUB}/approve`,
    { tariffId: 't', regionCode: 'r', intervalSeconds: 1800 },
  ],
  ['reject a subscription', `/api/subscriptions/${SUB}/reject`, { reason: 'no such meter' }],
  ['check a key grant', `/api/subscriptions/${SUB}/grant-check`, undefined],
  [
    'issue a bill',
    '/api/bills',
    { subscriptionId: SUB, from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' },
  ],
  ['resolve a dispute', `/api/bills/${BILL}/resolve`, { outcome: 'REJECTED', note: 'readings verified' }],
  ['record a payment', `/api/bills/${BILL}/payments`, { amountMinor: 145, reference: 'INV-1' }],
  ['top up a wallet', `/api/subscriptions/${SUB}/wallet/top-up`, { amountMinor: 1000, reference: 'PAY-1' }],
  ['list faulty meters', '/api/faulty-meters', undefined],
];

const HOUSEHOLD_ROUTES: RouteCase[] = [
  ['dispute a bill', `/api/bills/${BILL}/dispute`, { reason: 'too high' }],
  ['grant personal data', `/api/personal-data/${REQUEST}/grant`, { data: 'Jo Smith, 1 High St' }],
  ['deny personal data', `/api/personal-data/${REQUEST}/deny`, { reason: 'no case number' }],
  ['transfer tokens', `/api/subscriptions/${SUB}/wallet/transfer`, { to: NEIGHBOUR, amountMinor: 200 }],
  ['take emergency credit', `/api/subscriptions/${SUB}/wallet/emergency-credit`, {}],
];

const AUTHORITY_ROUTES: RouteCase[] = [
  [
    'read the load report',
    '/api/reports/load?region=r&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z',
    undefined,
  ],
  ["read every region's load", '/api/reports/regions', undefined],
  ['count subscriptions', '/api/reports/subscriptions?by=status', undefined],
  ['read missing readings', '/api/reports/missing-readings', undefined],
  ['read the access log', '/api/reports/access-log', undefined],
];

describe.each<[Party, string, RouteCase[]]>([
  ['household', 'hh-17', DISTRIBUTOR_ROUTES],
  ['household', 'hh-17', AUTHORITY_ROUTES],
  ['distributor', 'operator', HOUSEHOLD_ROUTES],
  ['distributor', 'operator', AUTHORITY_ROUTES],
  ['authority', 'auditor', [...HOUSEHOLD_ROUTES.slice(0, 1), ...DISTRIBUTOR_ROUTES.slice(0, 1)]],
  [
    'authority',
    'auditor',
    [['end a subscription', `/api/subscriptions/${SUB}/end`, { reason: 'moved out' }]],
  ],
])("the %s's server (%s) and another party's routes", (party, identity, routes) => {
  let world: TestWorld;
  let served: ServedPortal;
  beforeEach(async () => {
    world = worldOf(party);
    served = await servePartyPortal(world, party);
  });
  afterEach(() => served.close());

  it.each(routes)(
    'when it is asked to %s then it is refused 403 NOT_FOR_PARTY and nothing is called',
    async (_what, path, body) => {
      const response = await send(served, path, body);

      const { status, error } = await refusalOf(response);
      expect({ status, code: error.code }).toEqual({ status: 403, code: 'NOT_FOR_PARTY' });
      expect(error.message).toMatch(
        new RegExp(`^this is for the .+; this server acts for ${identity}, a ${party}$`),
      );
      expect(world.calls).toEqual([]);
      expect(world.openedReportDbs).toEqual([]);
    },
  );
});

function reportSubscription(overrides: Partial<ReportSubscription>): ReportSubscription {
  return {
    docType: 'subscription',
    channel: 'northgrid',
    subscriptionId: SUB,
    distributorMspId: 'Distributor1MSP',
    status: 'ACTIVE',
    requestedAt: '2026-11-01T09:00:00Z',
    updatedAt: '2026-11-01T09:30:00Z',
    readingCount: 0,
    ...overrides,
  };
}

function loadRow(periodStart: string, energyWh: number | null, households: number): LoadRow {
  return { periodStart, energyWh, readingCount: households * 48, households, suppressed: energyWh === null };
}

function accessRequest(requestId: string, requestedAt: string): ReportAccessRequest {
  return {
    docType: 'accessRequest',
    channel: 'northgrid',
    requestId,
    subscriptionId: SUB,
    requesterMspId: 'AuthorityMSP',
    requesterRole: 'auditor',
    reason: 'fraud case 117',
    status: 'PENDING',
    requestedAt,
  };
}

describe("the authority's report routes", () => {
  const FROM = '2026-11-01T00:00:00Z';
  const TO = '2026-11-03T00:00:00Z';
  /** The first region's second day has too few households to be shown. */
  const D1_DAYS = [loadRow('2026-11-01T00:00:00Z', 91_000, 7), loadRow('2026-11-02T00:00:00Z', null, 3)];
  const D2_DAYS = [loadRow('2026-11-01T00:00:00Z', 40_000, 5), loadRow('2026-11-02T00:00:00Z', 42_000, 6)];
  let world: TestWorld;
  let served: ServedPortal;
  let load: jest.Mock<Promise<LoadRow[]>, [string, string, string, number, number]>;
  beforeEach(() => {
    world = worldOf('authority');
    load = jest.fn(
      async (regionCode: string, _from: string, _to: string, _bucketSeconds: number, _min: number) =>
        regionCode === 'north/d1' ? D1_DAYS : D2_DAYS,
    );
    world.reportStore = {
      load,
      subscriptions: async () => [
        reportSubscription({ regionCode: 'north/d2', subscriptionId: 'sub_000000000000000000000003' }),
        reportSubscription({ regionCode: 'north/d1' }),
        reportSubscription({ regionCode: 'north/d1', subscriptionId: NEIGHBOUR, status: 'ENDED' }),
        reportSubscription({ status: 'REQUESTED', subscriptionId: 'sub_000000000000000000000004' }),
      ],
      accessRequests: async () => [
        accessRequest('par_000000000000000000000002', '2026-11-12T09:00:00Z'),
        {
          ...accessRequest(REQUEST, '2026-11-10T09:00:00Z'),
          status: 'DENIED',
          decidedAt: '2026-11-11T08:00:00Z',
        },
      ],
    };
  });
  afterEach(() => served.close());

  it("when the authority reads a region's load then it gets the store's rows for the range, bucket and minimum it asked", async () => {
    served = await servePartyPortal(world, 'authority');
    const query = new URLSearchParams({ region: 'north/d1', from: FROM, to: TO, bucketSeconds: '86400' });

    const response = await getWithBearer(served, `/api/reports/load?${query.toString()}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(D1_DAYS);
    expect(load).toHaveBeenCalledWith('north/d1', FROM, TO, 86_400, 5);
    expect(world.openedReportDbs).toEqual([
      { serverUrl: 'http://127.0.0.1:5990', name: 'smartmeter_reports' },
    ]);
  });

  it('when no bucket is given then the load is hourly, with REPORT_MIN_HOUSEHOLDS as the minimum', async () => {
    world.env.REPORT_MIN_HOUSEHOLDS = '3';
    served = await servePartyPortal(world, 'authority');
    const query = new URLSearchParams({ region: 'north/d1', from: FROM, to: TO });

    await getWithBearer(served, `/api/reports/load?${query.toString()}`);

    expect(load).toHaveBeenCalledWith('north/d1', FROM, TO, 3600, 3);
  });

  it("when the authority reads every region's load then each region's shown days are summed, in region order", async () => {
    served = await servePartyPortal(world, 'authority');

    const response = await getWithBearer(served, `/api/reports/regions?from=${FROM}&to=${TO}`);

    expect(await response.json()).toEqual([
      { regionCode: 'north/d1', energyWh: 91_000, households: 7, suppressed: false },
      { regionCode: 'north/d2', energyWh: 82_000, households: 6, suppressed: false },
    ]);
    expect(load.mock.calls).toEqual([
      ['north/d1', FROM, TO, 86_400, 5],
      ['north/d2', FROM, TO, 86_400, 5],
    ]);
  });

  it('when the authority counts subscriptions by region then those without one count as not approved', async () => {
    served = await servePartyPortal(world, 'authority');

    const response = await getWithBearer(served, '/api/reports/subscriptions?by=region');

    expect(await response.json()).toEqual([
      { group: '(not approved)', subscriptions: 1 },
      { group: 'north/d1', subscriptions: 2 },
      { group: 'north/d2', subscriptions: 1 },
    ]);
  });

  it('when the authority reads the access log then it is in request order, with who asked, why and the decision', async () => {
    served = await servePartyPortal(world, 'authority');

    const response = await getWithBearer(served, '/api/reports/access-log');

    expect(await response.json()).toEqual([
      {
        requestId: REQUEST,
        subscriptionId: SUB,
        requesterMspId: 'AuthorityMSP',
        reason: 'fraud case 117',
        status: 'DENIED',
        requestedAt: '2026-11-10T09:00:00Z',
        decidedAt: '2026-11-11T08:00:00Z',
      },
      {
        requestId: 'par_000000000000000000000002',
        subscriptionId: SUB,
        requesterMspId: 'AuthorityMSP',
        reason: 'fraud case 117',
        status: 'PENDING',
        requestedAt: '2026-11-12T09:00:00Z',
      },
    ]);
  });

  it('when the authority reads missing readings then each subscription counts the periods ended so far (10 hours by 10:07)', async () => {
    world.reportStore.subscriptions = async () => [
      reportSubscription({
        regionCode: 'north/d1',
        startDate: '2026-11-15T00:00:00Z',
        intervalSeconds: 3600,
        readingCount: 8,
      }),
    ];
    served = await servePartyPortal(world, 'authority');

    const response = await getWithBearer(served, '/api/reports/missing-readings');

    expect(await response.json()).toEqual([
      {
        subscriptionId: SUB,
        channel: 'northgrid',
        regionCode: 'north/d1',
        expected: 10,
        received: 8,
        missing: 2,
        lastPeriodStart: null,
      },
    ]);
  });

  it.each([
    ['regions', `/api/reports/regions?from=${TO}&to=${TO}`],
    ['load', `/api/reports/load?region=r&from=${TO}&to=${FROM}`],
  ])(
    'when the %s range ends where or before it starts then it is refused 400 USAGE and the store is not opened',
    async (_what, path) => {
      served = await servePartyPortal(world, 'authority');

      const response = await getWithBearer(served, path);

      expect(await refusalOf(response)).toMatchObject({ status: 400, error: { code: 'USAGE' } });
      expect(world.openedReportDbs).toEqual([]);
    },
  );
});

describe('portal subscription list', () => {
  const active = subscriptionRecord(newSessionKey(), [], { status: 'ACTIVE', approval: APPROVAL });
  const requested = subscriptionRecord(newSessionKey(), [], { subscriptionId: NEIGHBOUR });
  let served: ServedPortal;
  afterEach(() => served.close());

  it('when a household lists subscriptions then it gets its own (subscriptions.mine), filtered by status here', async () => {
    const world = worldOf('household');
    world.clients.subscriptions = { mine: async () => [active, requested] };
    served = await servePartyPortal(world, 'household');

    const all = await getWithBearer(served, '/api/subscriptions');
    const onlyActive = await getWithBearer(served, '/api/subscriptions?status=ACTIVE');

    expect(await all.json()).toEqual([active, requested]);
    expect(await onlyActive.json()).toEqual([active]);
    expect(world.calls).toEqual([
      { method: 'subscriptions.mine', args: [] },
      { method: 'subscriptions.mine', args: [] },
    ]);
  });

  it('when a distributor lists subscriptions by status then the ledger is asked for that status (subscriptions.all)', async () => {
    const world = worldOf('distributor');
    world.clients.subscriptions = { all: async () => [requested] };
    served = await servePartyPortal(world, 'distributor');

    const byStatus = await getWithBearer(served, '/api/subscriptions?status=REQUESTED');
    const every = await getWithBearer(served, '/api/subscriptions');

    expect(await byStatus.json()).toEqual([requested]);
    expect(every.status).toBe(200);
    expect(world.calls).toEqual([
      { method: 'subscriptions.all', args: ['REQUESTED'] },
      { method: 'subscriptions.all', args: [''] },
    ]);
  });
});

describe('portal subscription approval', () => {
  const TERMS_WITHOUT_START = { tariffId: 'tou-2026', regionCode: 'north/d1', intervalSeconds: 900 };
  const TERMS = { ...TERMS_WITHOUT_START, startDate: '2026-12-01T00:00:00Z' };
  let world: TestWorld;
  let served: ServedPortal;
  let approve: jest.Mock<Promise<SubscriptionRecord>, [string, ApprovalTerms]>;

  /** A request granted to the distributor (its key in the keystore) and the authority; wrappedKey: what the grant holds. */
  async function serveRequest(wrappedKey?: Buffer): Promise<SubscriptionRecord> {
    world = worldOf('distributor');
    const request = subscriptionRecord(
      newSessionKey(),
      [
        { mspId: 'Distributor1MSP', publicKeyPem: orgKeyInKeystore(world.keystore, 'Distributor1MSP') },
        { mspId: 'AuthorityMSP', publicKeyPem: newOrgKeyPair().publicKeyPem },
      ],
      {},
      wrappedKey,
    );
    approve = jest.fn(async (_id: string, terms: ApprovalTerms) => ({
      ...request,
      status: 'APPROVED' as const,
      approval: { ...terms, approvedAt: '2026-11-15T10:07:01Z' },
    }));
    world.clients.subscriptions = { get: async () => request, approve };
    served = await servePartyPortal(world, 'distributor');
    return request;
  }
  afterEach(() => served.close());

  it("when the grant holds the subscription's key then approve is sent with exactly the body's terms after reading the request", async () => {
    await serveRequest();

    const response = await postJson(served, `/api/subscriptions/${SUB}/approve`, TERMS);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'APPROVED', approval: TERMS });
    expect(approve.mock.calls).toEqual([[SUB, TERMS]]);
    expect(world.methodsCalled()).toEqual(['subscriptions.get', 'subscriptions.approve']);
  });

  it("when no start is given then the subscription starts at the interval's next boundary after now (10:07 → 10:15)", async () => {
    await serveRequest();
    await postJson(served, `/api/subscriptions/${SUB}/approve`, TERMS_WITHOUT_START);

    expect(approve.mock.calls).toEqual([
      [SUB, { ...TERMS_WITHOUT_START, startDate: '2026-11-15T10:15:00Z' }],
    ]);
  });

  it('when the grant wraps another key then it is refused 422 INVALID_GRANT and approve is never sent', async () => {
    const other = newSessionKey();
    const request = await serveRequest(other);

    const response = await postJson(served, `/api/subscriptions/${SUB}/approve`, TERMS);

    expect(await refusalOf(response)).toEqual({
      status: 422,
      error: {
        code: 'INVALID_GRANT',
        message: `the key granted to Distributor1MSP on ${SUB} is ${keyIdOf(other)}, not the subscription's key ${request.keyId}: reject the request`,
      },
    });
    expect(approve).not.toHaveBeenCalled();
    expect(world.methodsCalled()).toEqual(['subscriptions.get']);
  });

  it('when the chaincode refuses CONFLICT then the answer is 409 with the peer', async () => {
    await serveRequest();
    approve.mockRejectedValue(
      chaincodeRefusal(`CONFLICT: cannot approve subscription ${SUB}: it is ACTIVE (needs REQUESTED)`),
    );

    const response = await postJson(served, `/api/subscriptions/${SUB}/approve`, TERMS);

    expect(await refusalOf(response)).toEqual({
      status: 409,
      error: {
        code: 'CONFLICT',
        message: `cannot approve subscription ${SUB}: it is ACTIVE (needs REQUESTED)`,
        peer: PEER,
      },
    });
  });
});

describe('portal consumption route', () => {
  let world: TestWorld;
  let served: ServedPortal;
  beforeEach(async () => {
    world = worldOf('household');
    const { subscription } = householdSubscription(world.keystore, { status: 'ACTIVE', approval: APPROVAL });
    world.clients = {
      subscriptions: { get: async () => subscription },
      measurements: { all: async () => [] },
      pricing: { tariffHistory: async () => [tariffRecord()], signals: async () => [] },
    };
    served = await servePartyPortal(world, 'household');
  });
  afterEach(() => served.close());

  it('when no range is given then it is this UTC month so far, by day', async () => {
    const response = await getWithBearer(served, `/api/subscriptions/${SUB}/consumption`);

    expect(await response.json()).toMatchObject({
      subscriptionId: SUB,
      from: '2026-11-01T00:00:00Z',
      to: '2026-11-15T10:07:00Z',
      bucket: 'day',
      buckets: [],
    });
    expect(world.calls[1]).toEqual({
      method: 'measurements.all',
      args: [SUB, '2026-11-01T00:00:00Z', '2026-11-15T10:07:00Z'],
    });
  });

  it('when the range ends before it starts then it is refused 400 USAGE and nothing is called', async () => {
    const response = await getWithBearer(
      served,
      `/api/subscriptions/${SUB}/consumption?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z`,
    );

    expect(await refusalOf(response)).toEqual({
      status: 400,
      error: {
        code: 'USAGE',
        message: 'to (2026-11-01T00:00:00Z) must be after from (2026-11-02T00:00:00Z)',
      },
    });
    expect(world.calls).toEqual([]);
  });
});
