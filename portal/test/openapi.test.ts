import { globalsOf, worldOf } from './support/parties';
import { servePortal, type ServedPortal } from './support/served';

interface OpenApiOperation {
  summary?: string;
  tags?: string[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
  parameters?: { in: string; name: string }[];
}

/** The API is described where the pages and scripts can read it, one entry per route, each with its inputs. */
describe('the OpenAPI description', () => {
  let served: ServedPortal;
  let paths: Record<string, Record<string, OpenApiOperation>>;

  beforeAll(async () => {
    served = await servePortal(worldOf('household').deps(globalsOf('household')));
    const answer = await served.call('/api/openapi.json');
    expect(answer.status).toBe(200);
    paths = ((await answer.json()) as { paths: typeof paths }).paths;
  });

  afterAll(async () => {
    await served.close();
  });

  it('is served without a session, and lists every area of the API', () => {
    expect(Object.keys(paths).sort()).toEqual(
      [
        '/api/bills',
        '/api/bills/{id}',
        '/api/bills/{id}/dispute',
        '/api/bills/{id}/payments',
        '/api/bills/{id}/report',
        '/api/bills/{id}/resolve',
        '/api/bills/{id}/verification',
        '/api/events',
        '/api/faulty-meters',
        '/api/login',
        '/api/logout',
        '/api/personal-data',
        '/api/personal-data/{id}/deny',
        '/api/personal-data/{id}/grant',
        '/api/price-signals',
        '/api/reports/access-log',
        '/api/reports/load',
        '/api/reports/missing-readings',
        '/api/reports/regions',
        '/api/reports/subscriptions',
        '/api/session',
        '/api/subscriptions',
        '/api/subscriptions/{id}',
        '/api/subscriptions/{id}/approve',
        '/api/subscriptions/{id}/completeness',
        '/api/subscriptions/{id}/consumption',
        '/api/subscriptions/{id}/end',
        '/api/subscriptions/{id}/grant-check',
        '/api/subscriptions/{id}/reject',
        '/api/subscriptions/{id}/tariff',
        '/api/subscriptions/{id}/wallet',
        '/api/subscriptions/{id}/wallet/emergency-credit',
        '/api/subscriptions/{id}/wallet/top-up',
        '/api/subscriptions/{id}/wallet/transfer',
      ].sort(),
    );
  });

  it('gives every operation a summary and a tag', () => {
    for (const [path, operations] of Object.entries(paths))
      for (const [method, operation] of Object.entries(operations)) {
        expect([path, method, typeof operation.summary]).toEqual([path, method, 'string']);
        expect(operation.tags?.length).toBe(1);
      }
  });

  it('describes the inputs: the body of a dispute, the id of a bill, the range of a consumption view', () => {
    const dispute = paths['/api/bills/{id}/dispute'].post;
    expect(Object.keys(dispute.requestBody?.content['application/json'].schema.properties ?? {})).toEqual([
      'reason',
    ]);
    expect(dispute.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['path:id']);
    const consumption = paths['/api/subscriptions/{id}/consumption'].get;
    expect(consumption.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual(
      ['path:id', 'query:bucket', 'query:from', 'query:to'].sort(),
    );
  });
});
