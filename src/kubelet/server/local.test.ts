// The local API (healthz, /pods, /events, /metrics) over real HTTP on loopback, with a fake
// source, a real event store on a fake clock, and a fresh prom-client registry.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { Counter, Registry } from 'prom-client';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { LocalEventStore, type RecordedEvent } from '../events/index.js';
import { LocalServer, toKubeJSON, type LocalApiSource } from './local.js';

const T0 = Date.UTC(2026, 0, 1);

class FakeSource implements LocalApiSource {
  pods: { pod: V1Pod; status: V1PodStatus | undefined }[] = [];
  checks: { name: string; ok: boolean; message: string }[] = [];
  filters: ({ name?: string; namespace?: string; uid?: string } | undefined)[] = [];
  throwOnPods = false;
  constructor(readonly events: LocalEventStore) {}
  getPods(): { pod: V1Pod; status: V1PodStatus | undefined }[] {
    if (this.throwOnPods) throw new Error('boom');
    return this.pods;
  }
  healthChecks(): { name: string; ok: boolean; message: string }[] {
    return this.checks;
  }
  listEvents(filter?: { name?: string; namespace?: string; uid?: string }): RecordedEvent[] {
    this.filters.push(filter);
    return this.events.list(filter);
  }
}

const healthy = (): { name: string; ok: boolean; message: string }[] => [
  { name: 'ping', ok: true, message: 'ok' },
  { name: 'syncloop', ok: true, message: 'ok' },
  { name: 'pleg', ok: true, message: 'ok' },
];

describe('LocalServer', () => {
  const clock = new FakeClock(T0);
  const logger = new MemoryLogger();
  const events = new LocalEventStore(clock, logger);
  const src = new FakeSource(events);
  const registry = new Registry();
  const counter = new Counter({ name: 'kubelet_test_requests_total', help: 'A test counter.', labelNames: ['kind'], registers: [registry] });
  const server = new LocalServer(src, registry, logger);
  let base = '';

  before(async () => {
    const port = await server.listen(0);
    assert.ok(port > 0, `listen(0) returns the port, got ${port}`);
    base = `http://127.0.0.1:${port}`;
    events.event({ kind: 'Pod', name: 'web', namespace: 'default', uid: 'u-web' }, 'Normal', 'Pulled', 'Container image "busybox" already present on machine');
    clock.step(5_000);
    events.event({ kind: 'Pod', name: 'db', namespace: 'data', uid: 'u-db' }, 'Warning', 'BackOff', 'Back-off restarting failed container');
    events.event({ kind: 'Pod', name: 'web', namespace: 'other', uid: 'u-web2', fieldPath: 'spec.containers{main}' }, 'Normal', 'Started', 'Started container main');
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    src.checks = healthy();
    src.throwOnPods = false;
    src.filters = [];
  });

  const get = async (path: string, init?: RequestInit): Promise<{ status: number; type: string; body: string }> => {
    const res = await fetch(`${base}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  describe('/healthz', () => {
    it('all checks pass: 200 "ok"', async () => {
      const r = await get('/healthz');
      assert.deepEqual([r.status, r.body], [200, 'ok']);
      assert.match(r.type, /^text\/plain/);
    });

    it('one failing check: 500 listing every check, the failed one with its message', async () => {
      src.checks = [...healthy().slice(0, 2), { name: 'pleg', ok: false, message: 'pleg was last seen active 3m0s ago; threshold is 3m0s' }];
      const r = await get('/healthz');
      assert.equal(r.status, 500);
      const lines = r.body.split('\n');
      assert.ok(lines.includes('[+]ping ok'), r.body);
      assert.ok(lines.includes('[+]syncloop ok'), r.body);
      assert.ok(lines.some((l) => l.startsWith('[-]pleg failed')), r.body);
      assert.ok(lines.includes('healthz check failed'), r.body);
      assert.match(r.body, /pleg check failed: pleg was last seen active 3m0s ago; threshold is 3m0s/);
    });

    it('?verbose lists the checks even when all pass', async () => {
      const r = await get('/healthz?verbose');
      assert.equal(r.status, 200);
      assert.match(r.body, /^\[\+\]ping ok\n\[\+\]syncloop ok\n\[\+\]pleg ok\nhealthz check passed\n$/);
    });

    it('/healthz/pleg answers for that check alone', async () => {
      src.checks = [{ name: 'ping', ok: true, message: 'ok' }, { name: 'syncloop', ok: false, message: 'sync Loop took longer than expected' }, { name: 'pleg', ok: true, message: 'ok' }];
      assert.deepEqual(await get('/healthz/pleg').then((r) => [r.status, r.body]), [200, 'ok']);
      const bad = await get('/healthz/syncloop');
      assert.equal(bad.status, 500);
      assert.match(bad.body, /sync Loop took longer than expected/);
      assert.equal((await get('/healthz')).status, 500, 'the whole healthz fails with it');
    });

    it('/healthz/pleg failing: 500 with its message', async () => {
      src.checks = [{ name: 'pleg', ok: false, message: 'PLEG is not healthy' }];
      const r = await get('/healthz/pleg');
      assert.equal(r.status, 500);
      assert.match(r.body, /PLEG is not healthy/);
    });

    it('/healthz/unknown: 404', async () => {
      const r = await get('/healthz/unknown');
      assert.equal(r.status, 404);
      assert.match(r.body, /unknown/);
    });
  });

  describe('/pods', () => {
    it('a v1 PodList with the statuses, times as RFC 3339 seconds', async () => {
      const created = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
      src.pods = [
        {
          pod: { metadata: { name: 'web', namespace: 'default', uid: 'u-web', creationTimestamp: created }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
          status: { phase: 'Running', startTime: new Date(T0 + 1500), podIP: '10.88.0.2', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(T0 + 2000) }] },
        },
        { pod: { metadata: { name: 'pending', namespace: 'default', uid: 'u-p' }, spec: { containers: [] }, status: { phase: 'Pending' } }, status: undefined },
      ];
      const r = await get('/pods');
      assert.equal(r.status, 200);
      assert.match(r.type, /^application\/json/);
      assert.ok(r.body.includes('"creationTimestamp":"2026-01-01T00:00:00Z"'), r.body);
      assert.ok(r.body.includes('"startTime":"2026-01-01T00:00:01Z"'), r.body);
      const list = JSON.parse(r.body) as { kind: string; apiVersion: string; items: (V1Pod & { status: { phase?: string; conditions?: { lastTransitionTime: string }[] } })[] };
      assert.deepEqual([list.kind, list.apiVersion, list.items.length], ['PodList', 'v1', 2]);
      const [web, pending] = list.items;
      assert.deepEqual([web!.kind, web!.apiVersion, web!.metadata?.name, web!.status.phase], ['Pod', 'v1', 'web', 'Running']);
      assert.equal(web!.status.conditions?.[0]?.lastTransitionTime, '2026-01-01T00:00:02Z');
      assert.equal(pending!.status.phase, 'Pending', 'the pod own status when the source has none');
    });

    it('an empty PodList, and a trailing slash is the same path', async () => {
      src.pods = [];
      const r = await get('/pods/');
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [] });
    });

    it('a source that throws: 500, logged, and the server keeps serving', async () => {
      src.throwOnPods = true;
      assert.equal((await get('/pods')).status, 500);
      assert.ok(logger.find((rec) => rec.level === 'error' && rec.msg === 'local API handler failed'));
      assert.equal((await get('/healthz')).status, 200);
    });
  });

  describe('/events', () => {
    it('all events, oldest first, with RFC 3339 timestamps', async () => {
      const r = await get('/events');
      assert.equal(r.status, 200);
      const list = JSON.parse(r.body) as { kind: string; items: { reason: string; count: number; firstTimestamp: string; lastTimestamp: string; involvedObject: { name: string } }[] };
      assert.equal(list.kind, 'EventList');
      assert.deepEqual(list.items.map((e) => e.reason), ['Pulled', 'BackOff', 'Started']);
      assert.equal(list.items[0]!.firstTimestamp, '2026-01-01T00:00:00Z');
      assert.equal(list.items[1]!.lastTimestamp, '2026-01-01T00:00:05Z');
      assert.equal(list.items[0]!.count, 1);
    });

    const filters: [string, string, string[]][] = [
      ['namespace', '?namespace=data', ['BackOff']],
      ['name', '?name=web', ['Pulled', 'Started']],
      ['namespace and name', '?namespace=other&name=web', ['Started']],
      ['uid', '?uid=u-web', ['Pulled']],
      ['nothing matching', '?namespace=none', []],
    ];
    for (const [name, query, reasons] of filters) {
      it(`filters by ${name}`, async () => {
        const r = await get(`/events${query}`);
        assert.deepEqual((JSON.parse(r.body) as { items: { reason: string }[] }).items.map((e) => e.reason), reasons);
      });
    }

    it('passes only the given filter fields to the source (empty ones dropped)', async () => {
      await get('/events?namespace=default&name=&uid=');
      assert.deepEqual(src.filters, [{ namespace: 'default' }]);
    });
  });

  describe('/metrics and the rest', () => {
    it('/metrics: the registry in Prometheus text format', async () => {
      counter.inc({ kind: 'a' }, 3);
      const r = await get('/metrics');
      assert.equal(r.status, 200);
      assert.equal(r.type, registry.contentType);
      assert.match(r.body, /# HELP kubelet_test_requests_total A test counter\./);
      assert.match(r.body, /^kubelet_test_requests_total\{kind="a"\} 3$/m);
    });

    const others: [string, string, RequestInit | undefined, number][] = [
      ['POST /healthz', '/healthz', { method: 'POST' }, 405],
      ['PUT /pods', '/pods', { method: 'PUT', body: '{}' }, 405],
      ['DELETE /metrics', '/metrics', { method: 'DELETE' }, 405],
      ['GET of an unknown path', '/nope', undefined, 404],
      ['GET /', '/', undefined, 404],
      ['GET /podsx', '/podsx', undefined, 404],
    ];
    for (const [name, path, init, code] of others) {
      it(`${name}: ${code}`, async () => assert.equal((await get(path, init)).status, code));
    }
  });
});

describe('LocalServer healthz-only (cluster mode: the rest is on the authenticated :10250)', () => {
  const logger = new MemoryLogger();
  const src = new FakeSource(new LocalEventStore(new FakeClock(T0), logger));
  src.checks = healthy();
  const server = new LocalServer(src, new Registry(), logger);
  server.addRoute('/containerLogs', (_req, res) => void res.end('secret log'));
  let base = '';
  before(async () => {
    base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1', { healthzOnly: true })}`;
  });
  after(() => server.close());

  it('answers /healthz and /healthz/ping', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal(await (await fetch(`${base}/healthz/ping`)).text(), 'ok');
  });
  for (const path of ['/pods', '/metrics', '/events', '/containerLogs/default/web/main', '/healthzx']) {
    it(`404 for ${path}`, async () => assert.equal((await fetch(`${base}${path}`)).status, 404));
  }
});

describe('toKubeJSON', () => {
  it('writes Dates to the second in UTC and drops undefined fields', () => {
    assert.equal(toKubeJSON({ a: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 999)), b: undefined, c: [new Date(T0)], d: 'x' }), '{"a":"2026-01-01T00:00:00Z","c":["2026-01-01T00:00:00Z"],"d":"x"}');
  });
});
