import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { MemoryEventRecorder } from '../events.js';
import { MemoryInformer } from '../informers.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { newRegistry } from '../../util/metrics.js';
import { PodGoneError, TaintEvictionController, type PodRef, type TaintEvictionClient } from './controller.js';

const unreachable = (t: number): V1Taint => ({ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: new Date(t) });
const notReady = (t: number): V1Taint => ({ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: new Date(t) });
const tolerate = (key: string, seconds?: number): V1Toleration => ({ key, operator: 'Exists', effect: 'NoExecute', ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}) });

const node = (name: string, taints: V1Taint[] = []): V1Node => ({ metadata: { name }, spec: { taints } });
let uids = 0;
const pod = (name: string, nodeName: string, tolerations: V1Toleration[] = []): V1Pod => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}-${++uids}` },
  spec: { nodeName, containers: [{ name: 'c' }], tolerations },
});

class FakeClient implements TaintEvictionClient {
  readonly calls: string[] = [];
  /** The next n calls fail. */
  failures = 0;
  gone = false;
  constructor(private readonly clock: FakeClock, private readonly t0: number) {}
  private fail(): void {
    if (this.gone) throw new PodGoneError('default', 'x', 'not found');
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('the server is currently unable to handle the request'), { code: 503 });
    }
  }
  addDisruptionTargetCondition(p: V1Pod): Promise<void> {
    this.calls.push(`+${this.clock.now() - this.t0} condition ${p.metadata?.namespace}/${p.metadata?.name}`);
    this.fail();
    return Promise.resolve();
  }
  deletePod(namespace: string, name: string, uid: string): Promise<void> {
    this.calls.push(`+${this.clock.now() - this.t0} delete ${namespace}/${name} ${uid}`);
    this.fail();
    return Promise.resolve();
  }
}

async function setup(nodes: V1Node[] = [], pods: V1Pod[] = [], start = true) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const ni = new MemoryInformer<V1Node>(nodes);
  const pi = new MemoryInformer<V1Pod>(pods);
  const client = new FakeClient(clock, t0);
  const events: string[] = [];
  const recorder = (ref: PodRef, type: string, reason: string, message: string): void => {
    events.push(`+${clock.now() - t0} ${ref.kind} ${ref.namespace}/${ref.name} ${type} ${reason} ${message}`);
  };
  const logger = new MemoryLogger();
  const registry = newRegistry();
  const c = new TaintEvictionController({ nodes: ni, pods: pi, client, recorder, clock, logger, registry });
  await ni.start();
  await pi.start();
  if (start) await c.start();
  const settle = async (): Promise<void> => {
    await clock.advance(0);
    await c.idle();
  };
  return { clock, t0, ni, pi, client, events, logger, registry, c, settle };
}

describe('TaintEvictionController', () => {
  it('a pod not tolerating a NoExecute taint is deleted at once: condition first, then delete', async () => {
    const { clock, ni, client, events, settle, registry, t0 } = await setup([node('n1')], [pod('p1', 'n1')]);
    ni.upsert(node('n1', [unreachable(clock.now())]));
    await settle();
    const uid = client.calls[1]?.split(' ').at(-1);
    assert.deepEqual(client.calls, ['+0 condition default/p1', `+0 delete default/p1 ${uid}`]);
    assert.match(uid ?? '', /^uid-p1-/);
    assert.deepEqual(events, ['+0 Pod default/p1 Normal TaintManagerEviction Marking for deletion Pod default/p1']);
    assert.match(await registry.metrics(), /taint_eviction_controller_pod_deletions_total 1/);
    assert.equal(clock.now(), t0);
  });

  it('a NoSchedule taint does nothing', async () => {
    const { ni, client, settle } = await setup([node('n1')], [pod('p1', 'n1')]);
    ni.upsert(node('n1', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]));
    await settle();
    assert.deepEqual(client.calls, []);
  });

  it('tolerated for 30 s: deleted 30 s after the taint was added, not before', async () => {
    const { clock, ni, client, events, settle, c, t0 } = await setup([node('n1')], [pod('p1', 'n1', [tolerate('node.kubernetes.io/unreachable', 30)])]);
    ni.upsert(node('n1', [unreachable(t0)]));
    await settle();
    assert.deepEqual([...c.scheduled().values()], [{ createdAt: t0, fireAt: t0 + 30_000 }]);
    await clock.advance(29_999);
    await settle();
    assert.deepEqual(client.calls, []);
    await clock.advance(1);
    await settle();
    assert.equal(client.calls.length, 2);
    assert.match(client.calls[0]!, /^\+30000 condition default\/p1$/);
    assert.match(client.calls[1]!, /^\+30000 delete default\/p1 /);
    assert.deepEqual(events, ['+30000 Pod default/p1 Normal TaintManagerEviction Marking for deletion Pod default/p1']);
  });

  it('tolerated without tolerationSeconds: stays', async () => {
    const { clock, ni, client, events, settle, c, t0 } = await setup([node('n1')], [pod('p1', 'n1', [tolerate('node.kubernetes.io/unreachable')])]);
    ni.upsert(node('n1', [unreachable(t0)]));
    await clock.advance(3_600_000);
    await settle();
    assert.deepEqual(client.calls, []);
    assert.deepEqual(events, []);
    assert.equal(c.scheduled().size, 0);
  });

  it('the taint removed before the deadline: cancelled with an event, never deleted', async () => {
    const { clock, ni, client, events, settle, c, t0 } = await setup([node('n1')], [pod('p1', 'n1', [tolerate('node.kubernetes.io/unreachable', 30)])]);
    ni.upsert(node('n1', [unreachable(t0)]));
    await clock.advance(20_000);
    ni.upsert(node('n1', []));
    await clock.advance(60_000);
    await settle();
    assert.deepEqual(client.calls, []);
    assert.deepEqual(events, ['+20000 Pod default/p1 Normal TaintManagerEviction Cancelling deletion of Pod default/p1']);
    assert.equal(c.scheduled().size, 0);
  });

  it('the pod deleted, or recreated on an untainted node, before the deadline: cancelled', async () => {
    const tol = [tolerate('node.kubernetes.io/unreachable', 30)];
    const { clock, ni, pi, client, events, settle, t0 } = await setup([node('n1'), node('n2')], [pod('p1', 'n1', tol), pod('p2', 'n1', tol)]);
    ni.upsert(node('n1', [unreachable(t0)]));
    await clock.advance(10_000);
    pi.remove('p1', 'default');
    pi.remove('p2', 'default');
    pi.upsert(pod('p2', 'n2', tol));
    await clock.advance(60_000);
    await settle();
    assert.deepEqual(client.calls, []);
    assert.deepEqual(events, [
      '+10000 Pod default/p1 Normal TaintManagerEviction Cancelling deletion of Pod default/p1',
      '+10000 Pod default/p2 Normal TaintManagerEviction Cancelling deletion of Pod default/p2',
    ]);
  });

  it('a pod whose nodeName changes to an untainted node: cancelled', async () => {
    const tol = [tolerate('node.kubernetes.io/unreachable', 30)];
    const p = pod('p1', 'n1', tol);
    const { clock, ni, pi, client, settle, t0 } = await setup([node('n1'), node('n2')], [p]);
    ni.upsert(node('n1', [unreachable(t0)]));
    await clock.advance(10_000);
    pi.upsert({ ...p, spec: { ...p.spec!, nodeName: 'n2' } });
    await clock.advance(60_000);
    await settle();
    assert.deepEqual(client.calls, []);
  });

  it('two NoExecute taints with different tolerationSeconds: the smaller one', async () => {
    const tol = [tolerate('node.kubernetes.io/unreachable', 300), tolerate('node.kubernetes.io/not-ready', 60)];
    const { clock, ni, client, settle, t0 } = await setup([node('n1')], [pod('p1', 'n1', tol)]);
    ni.upsert(node('n1', [unreachable(t0), notReady(t0)]));
    await clock.advance(59_999);
    await settle();
    assert.deepEqual(client.calls, []);
    await clock.advance(1);
    await settle();
    assert.equal(client.calls.length, 2);
    assert.match(client.calls[1]!, /^\+60000 delete default\/p1/);
  });

  it('the deadline runs from the first scheduling: another tolerated taint later does not postpone it', async () => {
    const tol = [tolerate('node.kubernetes.io/unreachable', 30), tolerate('node.kubernetes.io/not-ready', 300)];
    const { clock, ni, client, settle, t0, events } = await setup([node('n1')], [pod('p1', 'n1', tol)]);
    ni.upsert(node('n1', [unreachable(t0)]));
    await clock.advance(20_000);
    ni.upsert(node('n1', [unreachable(t0), notReady(clock.now()), { key: 'x', effect: 'NoSchedule' }]));
    await clock.advance(10_000);
    await settle();
    assert.equal(client.calls.length, 2);
    assert.match(client.calls[1]!, /^\+30000 delete/);
    assert.deepEqual(events, ['+30000 Pod default/p1 Normal TaintManagerEviction Marking for deletion Pod default/p1']);
  });

  it('a node update that leaves the NoExecute taints alone changes nothing', async () => {
    const { clock, ni, client, settle, c, t0 } = await setup([node('n1')], [pod('p1', 'n1', [tolerate('node.kubernetes.io/unreachable', 30)])]);
    ni.upsert(node('n1', [unreachable(t0)]));
    await clock.advance(10_000);
    ni.upsert({ ...node('n1', [unreachable(t0), { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]), status: { conditions: [] } });
    assert.deepEqual([...c.scheduled().values()], [{ createdAt: t0, fireAt: t0 + 30_000 }]);
    await clock.advance(20_000);
    await settle();
    assert.equal(client.calls.length, 2);
  });

  it('a pod added to an already tainted node is evaluated', async () => {
    const { clock, pi, client, settle, t0 } = await setup([node('n1', [unreachable(Date.UTC(2026, 0, 1))])], []);
    pi.upsert(pod('p1', 'n1'));
    pi.upsert(pod('p2', 'n1', [tolerate('node.kubernetes.io/unreachable', 5)]));
    await settle();
    assert.equal(client.calls.length, 2, 'p1 at once');
    await clock.advance(5000);
    await settle();
    assert.deepEqual(client.calls.map((x) => x.split(' ').slice(0, 3).join(' ')), ['+0 condition default/p1', '+0 delete default/p1', '+5000 condition default/p2', '+5000 delete default/p2']);
    assert.equal(clock.now() - t0, 5000);
  });

  it('start() evaluates nodes tainted before it; nothing acts before start() or after stop()', async () => {
    const t = Date.UTC(2026, 0, 1);
    const { clock, ni, client, settle, c } = await setup([node('n1', [unreachable(t)]), node('n2')], [pod('p1', 'n1'), pod('p2', 'n2', [tolerate('node.kubernetes.io/unreachable', 30)])], false);
    ni.upsert(node('n2', [unreachable(clock.now())]));
    await clock.advance(20_000);
    await settle();
    assert.equal(client.calls.length, 0, 'not started: no action');
    await c.start();
    await settle();
    assert.deepEqual(client.calls.map((x) => x.split(' ').slice(1, 3).join(' ')), ['condition default/p1', 'delete default/p1'], 'p1 at once, p2 scheduled');
    assert.equal(c.scheduled().size, 1);
    await c.stop();
    assert.equal(c.scheduled().size, 0);
    await clock.advance(60_000);
    await settle();
    assert.equal(client.calls.length, 2, 'stopped: p2 never deleted');
    ni.upsert(node('n2', [unreachable(clock.now()), notReady(clock.now())]));
    await settle();
    assert.equal(client.calls.length, 2, 'stopped: node updates ignored');
  });

  it('the deadline runs from the taint\'s timeAdded: started 20 s after the taint, a 30 s toleration ends 10 s later; a timeAdded ahead of the clock counts as now', async () => {
    const { clock, ni, client, settle, c, t0 } = await setup([node('n1'), node('n2')], [pod('p1', 'n1', [tolerate('node.kubernetes.io/unreachable', 30)]), pod('p2', 'n2', [tolerate('node.kubernetes.io/unreachable', 30)])], false);
    ni.upsert(node('n1', [unreachable(t0)]));
    ni.upsert(node('n2', [unreachable(t0 + 3_600_000)])); // stamped by a clock an hour ahead
    await clock.advance(20_000);
    await c.start();
    await settle();
    assert.equal(client.calls.length, 0);
    await clock.advance(9_900);
    await settle();
    assert.equal(client.calls.length, 0, 'p1 not before timeAdded + 30 s');
    await clock.advance(100);
    await settle();
    assert.deepEqual(client.calls.map((x) => x.split(' ').slice(0, 3).join(' ')), ['+30000 condition default/p1', '+30000 delete default/p1'], 'p1 at timeAdded + 30 s');
    await clock.advance(20_000);
    await settle();
    assert.equal(client.calls.length, 4, 'p2: 30 s after the controller saw the taint (its future timeAdded counted as now)');
    assert.equal(client.calls[3]!.split(' ')[0], '+50000');
  });

  it('start() waits for both informers to sync', async () => {
    const clock = new FakeClock();
    const ni = new MemoryInformer<V1Node>([node('n1', [unreachable(clock.now())])]);
    const pi = new MemoryInformer<V1Pod>([pod('p1', 'n1')]);
    const client = new FakeClient(clock, clock.now());
    const c = new TaintEvictionController({ nodes: ni, pods: pi, client, clock });
    const started = c.start();
    await ni.start();
    await clock.advance(1000);
    assert.deepEqual(client.calls, []);
    await pi.start();
    await clock.advance(100);
    await started;
    await c.idle();
    assert.equal(client.calls.length, 2);
  });

  it('a failed deletion is retried 10 ms later, up to 5 attempts', async () => {
    const { clock, ni, client, settle, logger, events } = await setup([node('n1')], [pod('p1', 'n1')]);
    client.failures = 2;
    ni.upsert(node('n1', [unreachable(clock.now())]));
    await clock.advance(100);
    await settle();
    const p1 = client.calls.filter((x) => x.includes('p1')).map((x) => x.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(p1, ['+0 condition', '+10 condition', '+20 condition', '+20 delete'], 'two failures, then success');
    assert.equal(events.filter((e) => e.includes('Marking')).length, 1, 'one event, not one per attempt');

    const s2 = await setup([node('n1')], [pod('p3', 'n1')]);
    s2.client.failures = 100;
    s2.ni.upsert(node('n1', [unreachable(s2.clock.now())]));
    await s2.clock.advance(1000);
    await s2.settle();
    assert.deepEqual(s2.client.calls, ['+0 condition default/p3', '+10 condition default/p3', '+20 condition default/p3', '+30 condition default/p3', '+40 condition default/p3']);
    assert.ok(s2.logger.records.some((r) => r.level === 'error' && /cannot delete pod default\/p3 after 5 attempts/.test(String(r.fields.err))));
    assert.ok(logger.records.some((r) => r.level === 'warn' && r.msg === 'Failed to delete pod'));
  });

  it('a pod gone meanwhile ends the eviction without retries', async () => {
    const { clock, ni, client, settle } = await setup([node('n1')], [pod('p1', 'n1')]);
    client.gone = true;
    ni.upsert(node('n1', [unreachable(clock.now())]));
    await clock.advance(1000);
    await settle();
    assert.deepEqual(client.calls, ['+0 condition default/p1']);
  });

  it('the node deleted: forgotten; a pod added later to that name is not evicted for old taints', async () => {
    const { clock, ni, pi, client, settle } = await setup([node('n1', [unreachable(Date.UTC(2026, 0, 1))])], []);
    ni.remove('n1');
    pi.upsert(pod('p1', 'n1'));
    await clock.advance(1000);
    await settle();
    assert.deepEqual(client.calls, []);
  });

  it('takes a ControllerEventRecorder too: events name the pod as upstream (v1 Pod, no UID)', async () => {
    const clock = new FakeClock();
    const ni = new MemoryInformer<V1Node>([node('n1', [unreachable(clock.now())])]);
    const pi = new MemoryInformer<V1Pod>([pod('p1', 'n1')]);
    const recorder = new MemoryEventRecorder();
    const c = new TaintEvictionController({ nodes: ni, pods: pi, client: new FakeClient(clock, clock.now()), clock, recorder });
    await ni.start();
    await pi.start();
    await c.start();
    await c.idle();
    assert.deepEqual(recorder.events, [{ obj: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'p1' }, type: 'Normal', reason: 'TaintManagerEviction', message: 'Marking for deletion Pod default/p1' }]);
  });
});
