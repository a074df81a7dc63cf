// NodeLeaseController against the test API server (node identity). The renew loop runs on a
// FakeClock; HTTP runs in real time, so the tests poll for outcomes and never assert timings.
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Lease } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { newLease, NodeLeaseController } from './controller.js';

async function until(clock: FakeClock, cond: () => boolean, what: string, stepMs = 100, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await clock.advance(stepMs);
    await delay(2);
  }
}

const lease = (s: TestApiServer, node: string): V1Lease | undefined => s.get('leases', 'kube-node-lease', node) as V1Lease | undefined;
const renewTime = (s: TestApiServer, node: string): number => {
  const t = lease(s, node)?.spec?.renewTime as unknown;
  return t ? Date.parse(String(t)) : 0;
};
const leaseWrites = (s: TestApiServer, node: string): number =>
  s.requests.filter((r) => (r.method === 'PUT' || r.method === 'POST') && r.path.startsWith('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases') && r.code >= 200 && r.code < 300 && r.user === `system:node:${node}`).length;

describe('newLease', () => {
  it('a new Lease, or a copy of the base with renewTime now', () => {
    const t = Date.UTC(2026, 0, 1, 0, 0, 0, 123);
    const l = newLease(undefined, 'n1', 40, t);
    assert.deepEqual(JSON.parse(JSON.stringify(l)), {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.123000Z' },
    });
    const base: V1Lease = { metadata: { name: 'n1', resourceVersion: '7' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 } };
    const u = newLease(base, 'n1', 40, t + 10_000);
    assert.equal(u.metadata?.resourceVersion, '7');
    assert.equal((u.spec?.renewTime as Date).getTime(), t + 10_000);
    assert.equal(base.spec?.renewTime, undefined, 'base untouched');
  });
});

describe('NodeLeaseController', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });

  async function createNode(name: string): Promise<string> {
    const n = await s.kubeconfig().makeApiClient(CoreV1Api).createNode({ body: { metadata: { name } } });
    return n.metadata!.uid!;
  }

  it('creates the Lease with the owner reference and renews it every 10 s', async () => {
    const uid = await createNode('l1');
    const clock = new FakeClock();
    const c = new NodeLeaseController({ kubeConfig: s.kubeconfig({ node: 'l1' }), clock, nodeName: 'l1' });
    assert.equal(c.renewIntervalMs(), 10_000);
    c.start();
    await until(clock, () => lease(s, 'l1') !== undefined, 'lease created', 0);
    const l = lease(s, 'l1')!;
    assert.equal(l.spec?.holderIdentity, 'l1');
    assert.equal(l.spec?.leaseDurationSeconds, 40);
    assert.deepEqual(l.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'l1', uid }]);
    const t0 = renewTime(s, 'l1');
    assert.equal(t0, clock.now());
    const w0 = leaseWrites(s, 'l1');
    await clock.advance(9_000);
    await delay(20);
    assert.equal(leaseWrites(s, 'l1'), w0, 'nothing before the interval');
    await clock.advance(1_000);
    await until(clock, () => renewTime(s, 'l1') > t0, 'renewal', 0);
    assert.equal(renewTime(s, 'l1'), t0 + 10_000);
    await clock.advance(10_000);
    await until(clock, () => renewTime(s, 'l1') === t0 + 20_000, 'second renewal', 0);
    // renewals go from the last Lease written: no GET of the Lease once it exists
    const gets = s.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/l1')).length;
    assert.equal(gets, 1, 'one GET (the NotFound before the create)');
    await c.stop();
  });

  it('does not create the Lease before the Node exists; creates it with the owner reference once it does', async () => {
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    const c = new NodeLeaseController({ kubeConfig: s.kubeconfig({ node: 'l2' }), clock, nodeName: 'l2', logger });
    c.start();
    await until(clock, () => logger.records.some((r) => r.msg === 'Failed to get node when trying to set owner ref to the node lease'), 'node lookup failure', 0);
    assert.equal(lease(s, 'l2'), undefined);
    const uid = await createNode('l2');
    await until(clock, () => lease(s, 'l2') !== undefined, 'lease after the node appears', 1000);
    assert.deepEqual(lease(s, 'l2')!.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'l2', uid }]);
    await c.stop();
  });

  it('keeps renewing after the API server was down', async () => {
    await createNode('l3');
    const clock = new FakeClock();
    const c = new NodeLeaseController({ kubeConfig: s.kubeconfig({ node: 'l3' }), clock, nodeName: 'l3' });
    c.start();
    await until(clock, () => lease(s, 'l3') !== undefined, 'lease created', 0);
    await s.faults.down(300);
    const before = renewTime(s, 'l3');
    await clock.advance(10_000); // this renewal fails: connection refused
    await delay(400); // the server is back
    await until(clock, () => renewTime(s, 'l3') > before, 'renewal after the outage', 200);
    const t = renewTime(s, 'l3');
    await clock.advance(10_000);
    await until(clock, () => renewTime(s, 'l3') > t, 'next regular renewal', 0);
    await c.stop();
  });

  it('a slow API does not stall renewals: a hung request is cut at the next interval and renewing goes on', async () => {
    await createNode('l4');
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    const c = new NodeLeaseController({ kubeConfig: s.kubeconfig({ node: 'l4' }), clock, nodeName: 'l4', logger });
    c.start();
    await until(clock, () => lease(s, 'l4') !== undefined, 'lease created', 0);
    const before = renewTime(s, 'l4');
    s.faults.slow(3_000);
    const hanging = (): boolean => s.requests.some((r) => r.method === 'PUT' && r.path.includes('/leases/l4') && r.code === 0);
    await clock.advance(10_000); // renewal request hangs
    await until(clock, hanging, 'the renewal request to reach the server', 0);
    assert.equal(renewTime(s, 'l4'), before);
    s.faults.slow(0);
    await clock.advance(10_000); // the hung request hits its deadline and the next pass starts at this tick
    await until(clock, () => renewTime(s, 'l4') > before, 'renewal after the slow request', 0);
    assert.equal(renewTime(s, 'l4'), before + 20_000, 'renewed at the very next tick');
    assert.ok(logger.records.some((r) => r.msg === 'Node lease renewal took longer than the renew interval; starting a new attempt'));
    await c.stop();
  });
});
