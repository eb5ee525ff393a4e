import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../src/cli';
import { ServiceUnreachable } from '../src/errors';
import { reportDbOutageReason } from '../src/reporting/outage';
import { ReportDb, type StoredDoc } from '../src/reporting/reportDb';

/**
 * A CouchDB stand-in on a local port that answers what ReportDb.open asks (create the database, its indexes)
 * and `status` to everything else.
 */
async function couchStandIn(status = 200): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    const opening = request.method === 'PUT' || request.url?.endsWith('/_index');
    response.writeHead(opening ? 201 : status, { 'content-type': 'application/json' });
    response.end(opening ? '{"ok":true}' : '{"error":"internal","reason":"disk full"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** The same server's port, now closed: connections to it are refused. */
async function refusedUrl(): Promise<string> {
  const { url, server } = await couchStandIn();
  await closed(server);
  return url;
}

describe('the reporting database when it cannot be reached', () => {
  it('when nothing listens at its URL then opening it is ServiceUnreachable naming the URL', async () => {
    const url = await refusedUrl();

    await expect(ReportDb.open(url, 'reports')).rejects.toEqual(
      new ServiceUnreachable(
        `cannot reach the reporting database at ${url}; is the network up? ./test-network.sh status`,
      ),
    );
  });

  it('when it goes away after opening then a later read is ServiceUnreachable too, with the credentials hidden', async () => {
    const { url, server } = await couchStandIn();
    const withCredentials = url.replace('http://', 'http://admin:secret@');
    const db = await ReportDb.open(withCredentials, 'reports');
    await closed(server);

    const failure = db.fetch(['subscription|northgrid|sub_1']);

    await expect(failure).rejects.toBeInstanceOf(ServiceUnreachable);
    await expect(failure).rejects.toThrow(
      `cannot reach the reporting database at ${url.replace('http://', 'http://***@')};`,
    );
  });

  it("when it answers with an error then CouchDB's error is not taken for an unreachable database", async () => {
    const { url, server } = await couchStandIn(500);
    try {
      const db = await ReportDb.open(url, 'reports');

      await expect(db.fetch(['x'])).rejects.toMatchObject({ statusCode: 500 });
      await expect(db.fetch(['x'])).rejects.not.toBeInstanceOf(ServiceUnreachable);
    } finally {
      await closed(server);
    }
  });

  it("when meterctl report load cannot reach it then it exits 3 with the README line, not nano's message", async () => {
    const url = await refusedUrl();
    let stderr = '';
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    let code: number;
    try {
      code = await main([
        'node',
        'meterctl',
        'report',
        'load',
        '--db-url',
        url,
        '--region',
        'north/d1',
        '--from',
        '2026-11-01',
        '--to',
        '2026-11-02',
      ]);
    } finally {
      err.mockRestore();
    }

    expect(code).toBe(3);
    expect(stderr).toBe(
      `meterctl: cannot reach the reporting database at ${url}; is the network up? ./test-network.sh status\n`,
    );
  });
});

describe('which failures of the reporting database report sync --follow waits out', () => {
  it('when the database is gone, or answers 5xx, then the write is worth trying again; a 403 is not', async () => {
    const gone = await couchStandIn();
    const db = await ReportDb.open(gone.url, 'reports');
    await closed(gone.server);
    const unavailable = await couchStandIn(503);
    const forbidden = await couchStandIn(403);
    try {
      const failureOf = (promise: Promise<unknown>) =>
        promise.then(
          () => undefined,
          (err: unknown) => err,
        );
      const doc = { _id: 'x', docType: 'bill' } as unknown as StoredDoc;

      expect(reportDbOutageReason(await failureOf(db.save([doc])))).toBe('no response');
      const busy = await ReportDb.open(unavailable.url, 'reports');
      expect(reportDbOutageReason(await failureOf(busy.save([doc])))).toBe('HTTP 503');
      const refusing = await ReportDb.open(forbidden.url, 'reports');
      expect(reportDbOutageReason(await failureOf(refusing.save([doc])))).toBeUndefined();
    } finally {
      await closed(unavailable.server);
      await closed(forbidden.server);
    }
  });
});
