// The node lifecycle controller's loops on in-memory informers and a fake clock: simulated nodes
// (a Node with a Ready condition and a Lease the "kubelet" renews every 10 s) stop renewing, report
// Ready=False or pressure, and the controller's writes land back in the informers, as an API
// server's watch would deliver them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Lease, V1Node, V1NodeCondition, V1Pod, V1Taint } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { newRegistry } from '../../util/metrics.js';
import { MemoryEventRecorder } from '../events.js';
import { MemoryInformer, nodeCacheTransform, podCacheTransform } from '../informers.js';
import { memoryNodeLifecycleClient, type NodeLifecycleClient } from './client.js';
import { NodeLifecycleController, type NodeLifecycleSettings } from './controller.js';

const T0 = Date.UTC(2026, 10, 24, 8, 0, 0);

class Cluster {
  readonly clock = new FakeClock(T0);
  // the caches keep what ControllerManager's transforms keep: the controller must need no more
  readonly nodes = new MemoryInformer<V1Node>([], nodeCacheTransform);
  readonly leases = new MemoryInformer<V1Lease>();
  readonly pods = new MemoryInformer<V1Pod>([], podCacheTransform);
  readonly recorder = new MemoryEventRecorder();
  readonly registry = newRegistry();
  readonly client = memoryNodeLifecycleClient({
    getNode: (n) => this.nodes.get(n),
    putNode: (n) => this.nodes.upsert(n),
    putPod: (p) => this.pods.upsert(p),
  });
  /** Nodes whose kubelet is alive (renews its Lease, posts Ready heartbeats). */
  readonly alive = new Set<string>();
  readonly controller: NodeLifecycleController;

  /** `client`: what the controller writes through (default: straight into the informers). */
  constructor(settings: Partial<NodeLifecycleSettings> = {}, client?: (direct: NodeLifecycleClient) => NodeLifecycleClient) {
    this.controller = new NodeLifecycleController({ nodes: this.nodes, leases: this.leases, pods: this.pods, client: client ? client(this.client) : this.client, clock: this.clock, recorder: this.recorder, registry: this.registry, settings });
    // the kubelets: a lease renewal every 10 s
    this.clock.setInterval(() => {
      for (const name of this.alive) this.renew(name);
    }, 10_000);
  }

  addNode(name: string, opts: { zone?: string; conditions?: Partial<Record<string, string>>; taints?: V1Taint[] } = {}): void {
    const now = new Date(this.clock.now());
    const conditions: V1NodeCondition[] = Object.entries({ Ready: 'True', MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False', ...opts.conditions }).map(([type, status]) => ({
      type, status: status!, lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletReady',
    }));
    this.nodes.upsert({
      metadata: { name, uid: `uid-${name}`, creationTimestamp: now, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...(opts.zone ? { 'topology.kubernetes.io/zone': opts.zone, 'topology.kubernetes.io/region': 'r1' } : {}) } },
      spec: opts.taints ? { taints: opts.taints } : {},
      status: { conditions },
    });
    this.alive.add(name);
    this.renew(name);
  }

  renew(name: string): void {
    this.leases.upsert({ metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date(this.clock.now()) as never } });
  }

  setCondition(name: string, type: string, status: string): void {
    const n = this.nodes.get(name)!;
    const now = new Date(this.clock.now());
    const conditions = (n.status?.conditions ?? []).map((c) => (c.type === type ? { ...c, status, lastHeartbeatTime: now, lastTransitionTime: now } : c));
    this.nodes.upsert({ ...n, status: { ...n.status, conditions } });
  }

  addPod(name: string, node: string): void {
    this.pods.upsert({ metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { nodeName: node, containers: [] }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
  }

  taints(name: string): string[] {
    return (this.nodes.get(name)?.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
  }

  ready(name: string): string | undefined {
    return this.nodes.get(name)?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  }

  async start(): Promise<void> {
    await Promise.all([this.nodes.start(), this.leases.start(), this.pods.start()]);
    this.controller.start();
    await this.clock.advance(0);
  }

  /** Advances in 100 ms steps (the tainting pass period), letting promises settle. */
  async run(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 100) await this.clock.advance(100);
  }
}

describe('NodeLifecycleController (in memory, fake clock)', () => {
  it('a node that stops renewing goes Unknown after the grace period, is tainted unreachable (NoSchedule and NoExecute), its pods NotReady; renewing again clears it', async () => {
    const c = new Cluster();
    c.addNode('n1');
    c.addNode('n2');
    c.addNode('n3');
    c.addPod('web', 'n1');
    await c.start();
    await c.run(20_000);
    assert.equal(c.ready('n1'), 'True');
    c.alive.delete('n1');
    const stoppedAt = c.clock.now();
    await c.run(45_000);
    assert.equal(c.ready('n1'), 'True', 'within the 50 s grace period nothing happens');
    await c.run(20_000);
    assert.equal(c.ready('n1'), 'Unknown');
    const ready = c.nodes.get('n1')!.status!.conditions!.find((x) => x.type === 'Ready')!;
    assert.equal(ready.reason, 'NodeStatusUnknown');
    assert.equal(ready.message, 'Kubelet stopped posting node status.');
    for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(c.nodes.get('n1')!.status!.conditions!.find((x) => x.type === t)!.status, 'Unknown');
    assert.ok(c.clock.now() - stoppedAt < 80_000);
    await c.run(10_000);
    assert.deepEqual(c.taints('n1'), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    assert.deepEqual(c.taints('n2'), []);
    assert.equal(c.pods.get('web', 'default')!.status!.conditions!.find((x) => x.type === 'Ready')!.status, 'False');
    assert.ok(c.recorder.events.some((e) => e.obj.kind === 'Node' && e.reason === 'NodeNotReady' && e.message === 'Node n1 status is now: NodeNotReady'));
    assert.ok(c.recorder.events.some((e) => e.obj.kind === 'Pod' && e.obj.name === 'web' && e.reason === 'NodeNotReady' && e.message === 'Node is not ready'));
    // the kubelet comes back: heartbeat + lease
    c.alive.add('n1');
    c.setCondition('n1', 'Ready', 'True');
    await c.run(15_000);
    assert.equal(c.ready('n1'), 'True');
    assert.deepEqual(c.taints('n1'), []);
  });

  it('Ready=False reported by the kubelet: not-ready taints, pods untouched; then silence swaps to unreachable (never both)', async () => {
    const c = new Cluster();
    for (const n of ['a', 'b', 'c', 'd']) c.addNode(n);
    c.addPod('p', 'a');
    await c.start();
    await c.run(5_000);
    c.setCondition('a', 'Ready', 'False');
    await c.run(12_000);
    assert.deepEqual(c.taints('a'), ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/not-ready:NoSchedule']);
    assert.ok(!c.recorder.events.some((e) => e.reason === 'NodeNotReady' && e.obj.kind === 'Node'), 'a Ready=False from the kubelet is not the controller\'s NotReady');
    c.alive.delete('a');
    await c.run(75_000);
    assert.equal(c.ready('a'), 'Unknown');
    assert.deepEqual(c.taints('a'), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
  });

  it('pressure conditions and unschedulable become NoSchedule taints; a user\'s own taints stay', async () => {
    const c = new Cluster();
    c.addNode('n1', { taints: [{ key: 'example.com/dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    await c.start();
    c.setCondition('n1', 'DiskPressure', 'True');
    c.setCondition('n1', 'MemoryPressure', 'True');
    await c.run(1_000);
    assert.deepEqual(c.taints('n1'), ['example.com/dedicated:NoSchedule', 'node.kubernetes.io/disk-pressure:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule']);
    c.setCondition('n1', 'DiskPressure', 'False');
    const n = c.nodes.get('n1')!;
    c.nodes.upsert({ ...n, spec: { ...n.spec, unschedulable: true } });
    await c.run(1_000);
    assert.deepEqual(c.taints('n1'), ['example.com/dedicated:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
  });

  it('a node that never reports gets NodeStatusNeverUpdated after the startup grace period', async () => {
    const c = new Cluster();
    c.addNode('ok');
    c.nodes.upsert({ metadata: { name: 'silent', uid: 'u-silent', creationTimestamp: new Date(c.clock.now()) }, spec: {}, status: {} });
    await c.start();
    await c.run(55_000);
    assert.equal(c.ready('silent'), undefined, 'still within the 60 s startup grace');
    await c.run(15_000);
    const ready = c.nodes.get('silent')!.status!.conditions!.find((x) => x.type === 'Ready')!;
    assert.equal(ready.status, 'Unknown');
    assert.equal(ready.reason, 'NodeStatusNeverUpdated');
    assert.equal(ready.message, 'Kubelet never posted node status.');
  });

  it('zones: 3 of 4 down is PartialDisruption (no NoExecute tainting in a small zone) while a healthy zone keeps its rate', async () => {
    const c = new Cluster();
    for (const n of ['a1', 'a2', 'a3', 'a4']) c.addNode(n, { zone: 'za' });
    for (const n of ['b1', 'b2', 'b3']) c.addNode(n, { zone: 'zb' });
    await c.start();
    await c.run(10_000);
    for (const n of ['a1', 'a2', 'a3', 'b1']) c.alive.delete(n);
    await c.run(90_000);
    assert.equal(c.controller.zoneState('r1:\0:za'), 'PartialDisruption');
    assert.equal(c.controller.zoneState('r1:\0:zb'), 'Normal');
    for (const n of ['a1', 'a2', 'a3']) assert.ok(!c.taints(n).includes('node.kubernetes.io/unreachable:NoExecute'), `${n}: evictions stop in a small partially disrupted zone`);
    assert.ok(c.taints('b1').includes('node.kubernetes.io/unreachable:NoExecute'), 'the healthy zone taints its one dead node');
    const metrics = await c.registry.getSingleMetricAsString('node_collector_zone_health');
    assert.match(metrics, /node_collector_zone_health\{zone="r1::za"\} 25/);
  });

  it('every zone down: no NoExecute taints (the controller removes its own), and they come when a node is back', async () => {
    const c = new Cluster();
    for (const n of ['a1', 'a2']) c.addNode(n, { zone: 'za' });
    for (const n of ['b1', 'b2']) c.addNode(n, { zone: 'zb' });
    await c.start();
    await c.run(10_000);
    for (const n of ['a1', 'a2', 'b1', 'b2']) c.alive.delete(n);
    await c.run(90_000);
    assert.equal(c.controller.zoneState('r1:\0:za'), 'FullDisruption');
    for (const n of ['a1', 'a2', 'b1', 'b2']) assert.ok(!c.taints(n).some((t) => t.endsWith(':NoExecute')), `${n}: no NoExecute taint in full disruption`);
    assert.ok(c.taints('a1').includes('node.kubernetes.io/unreachable:NoSchedule'), 'NoSchedule taints still follow the conditions');
  });

  it('status writes that take time go 8 at a time (upstream\'s nodeUpdateWorkerSize): 16 silent nodes are all Unknown within two write latencies', async () => {
    let inFlight = 0;
    let peak = 0;
    const writtenAt: number[] = [];
    const c: Cluster = new Cluster({}, (direct) => ({
      ...direct,
      patchNodeConditions: async (node, conditions) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await c.clock.sleep(1000); // an API server answering in 1 s
        inFlight--;
        writtenAt.push(c.clock.now());
        return direct.patchNodeConditions(node, conditions);
      },
    }));
    for (let i = 0; i < 16; i++) c.addNode(`n${i}`);
    await c.start();
    await c.run(10_000);
    c.alive.clear();
    await c.run(70_000);
    assert.equal(writtenAt.length, 16);
    assert.ok([...Array(16).keys()].every((i) => c.ready(`n${i}`) === 'Unknown'));
    assert.equal(peak, 8, 'eight writes at once');
    const spread = Math.max(...writtenAt) - Math.min(...writtenAt);
    assert.ok(spread <= 1000, `all written within two 1 s latencies (${spread} ms between the first and the last; one at a time would be 15 s)`);
  });

  it('tains at the configured rate: 0.1 per second in a normal zone', async () => {
    const c = new Cluster();
    const names = Array.from({ length: 20 }, (_, i) => `n${i}`);
    for (const n of names) c.addNode(n);
    await c.start();
    await c.run(10_000);
    for (const n of names.slice(0, 3)) c.alive.delete(n);
    await c.run(61_000);
    // the first dead node is tainted when the grace period ends; the next ones every 10 s
    const tainted = () => names.filter((n) => c.taints(n).includes('node.kubernetes.io/unreachable:NoExecute')).length;
    const first = tainted();
    assert.ok(first >= 1 && first <= 2, `tainted right after the grace period: ${first}`);
    await c.run(25_000);
    assert.equal(tainted(), 3);
  });
});
