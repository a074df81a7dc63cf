// The controllers against the test API server (real REST, real watches) with simulated nodes: each
// a Node whose "kubelet" renews its Lease every 10 s on the fake clock. A node that stops renewing
// goes Unknown, is tainted unreachable, its pods are marked NotReady and evicted as their
// tolerations say; renewing again brings it back. The controllers run on a FakeClock; the API
// calls are real HTTP, so the clock is advanced in small steps with a short real pause.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { ApiException, CoordinationV1Api, CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../test/apiserver/index.js';
import { FakeClock } from '../util/clock.js';
import { MemoryLogger } from '../util/logger.js';
import { newRegistry } from '../util/metrics.js';
import { ControllerManager } from './manager.js';
import { kubeNodeLifecycleClient } from './nodelifecycle/index.js';

/** Simulated nodes in the test API server: a Node whose "kubelet" renews its Lease every 10 s on the fake clock. */
class SimulatedNodes {
  readonly alive = new Set<string>();
  private readonly core: CoreV1Api;
  private readonly leases: CoordinationV1Api;

  constructor(
    readonly s: TestApiServer,
    readonly clock: FakeClock,
  ) {
    this.core = s.kubeconfig().makeApiClient(CoreV1Api);
    this.leases = s.kubeconfig().makeApiClient(CoordinationV1Api);
    // the kubelets renew every 10 s
    clock.setInterval(() => {
      for (const name of this.alive) {
        const lease = s.get('leases', 'kube-node-lease', name) as { spec: object };
        s.put('leases', { ...lease, spec: { ...lease.spec, renewTime: new Date(clock.now()).toISOString().replace('Z', '000Z') } } as never);
      }
    }, 10_000);
  }

  /** A Ready node with its Lease, posting what a kubelet posts (addresses, images, nodeInfo: what the controllers do not cache and must not lose when they write). */
  async add(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name: 'kube-node-lease' } } }).catch(() => undefined);
    const now = new Date(this.clock.now());
    await this.core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...labels } } } });
    const kubeletOnly = { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }], images: [{ names: ['registry.local/app:1'], sizeBytes: 1000 }], nodeInfo: { kubeletVersion: 'v1.30.0', machineID: 'm', systemUUID: 's', bootID: 'b', kernelVersion: 'k', osImage: 'o', containerRuntimeVersion: 'c', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' } };
    await this.core.replaceNodeStatus({ name, body: { ...this.node(name), status: { ...kubeletOnly, conditions: ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: type === 'Ready' ? 'True' : 'False', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now })) } } as V1Node });
    await this.leases.createNamespacedLease({ namespace: 'kube-node-lease', body: { metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now as never } } });
    this.alive.add(name);
  }

  /** A running pod straight into the store: no default tolerations (the API server's admission would add 300 s ones). */
  putPod(name: string, nodeName: string, tolerations?: object[]): void {
    this.s.put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } as never);
  }

  /** The kubelet posts its conditions (a heartbeat now), and optionally spec fields. */
  async setConditions(name: string, set: Record<string, string>, extra: Partial<V1Node['spec']> = {}): Promise<void> {
    const n = this.node(name);
    const now = new Date(this.clock.now());
    const conditions = n.status!.conditions!.map((c) => (set[c.type] !== undefined ? { ...c, status: set[c.type]!, reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now } : c));
    const written = await this.core.replaceNodeStatus({ name, body: { ...n, status: { ...n.status, conditions } } });
    if (Object.keys(extra).length) await this.core.replaceNode({ name, body: { ...written, spec: { ...written.spec, ...extra } } });
  }

  node(name: string): V1Node {
    return this.s.get('nodes', '', name) as V1Node;
  }

  taints(name: string): string[] {
    return (this.node(name).spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
  }

  pod(name: string): V1Pod | undefined {
    return this.s.get('pods', 'default', name) as V1Pod | undefined;
  }

  gone(name: string): boolean {
    const p = this.pod(name);
    return !p || !!p.metadata?.deletionTimestamp;
  }

  /** Advances the fake clock in 100 ms steps (a short real pause each, for the HTTP calls) until `check` holds. */
  async until<T>(what: string, check: () => T | undefined | false, maxMs = 120_000): Promise<T> {
    for (let t = 0; t <= maxMs; t += 100) {
      const v = check();
      if (v) return v;
      await this.clock.advance(100);
      await pause(3);
    }
    throw new Error(`timed out (simulated ${maxMs} ms) waiting for ${what}`);
  }
}

describe('controllers against the test API server (simulated nodes, fake clock)', () => {
  let s: TestApiServer;
  let clock: FakeClock;
  let m: ControllerManager;
  let sim: SimulatedNodes;
  const until = <T>(what: string, check: () => T | undefined | false, maxMs?: number): Promise<T> => sim.until(what, check, maxMs);
  const node = (name: string): V1Node => sim.node(name);
  const taints = (name: string): string[] => sim.taints(name);
  const pod = (name: string): V1Pod | undefined => sim.pod(name);
  const setConditions = (name: string, set: Record<string, string>, extra: Partial<V1Node['spec']> = {}): Promise<void> => sim.setConditions(name, set, extra);

  before(async () => {
    s = await startTestApiServer({ tls: false });
    clock = new FakeClock(Date.now());
    sim = new SimulatedNodes(s, clock);
    for (const name of ['n1', 'n2', 'n3']) await sim.add(name);
    sim.putPod('intolerant', 'n1');
    sim.putPod('tolerates-30s', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }]);
    sim.putPod('tolerates-forever', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]);
    sim.putPod('elsewhere', 'n2');
    m = new ControllerManager({ kubeConfig: s.kubeconfig(), clock, logger: new MemoryLogger(), registry: newRegistry() });
    await m.start();
  });

  after(async () => {
    await m.stop();
    await s.close();
  });

  it('a node that stops renewing: Unknown after the grace period, unreachable taints, pods NotReady and evicted as their tolerations say', async () => {
    await until('a few healthy passes', () => false, 10_000).catch(() => undefined);
    assert.deepEqual(taints('n1'), []);
    sim.alive.delete('n1');
    const t0 = clock.now();
    const unknown = await until('n1 Unknown', () => node('n1').status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'Unknown'));
    assert.equal(unknown.reason, 'NodeStatusUnknown');
    const written = node('n1').status!;
    assert.deepEqual(written.conditions!.map((c) => `${c.type}=${c.status}`), ['Ready=Unknown', 'MemoryPressure=Unknown', 'DiskPressure=Unknown', 'PIDPressure=Unknown']);
    assert.equal(written.images?.[0]?.names?.[0], 'registry.local/app:1', 'the conditions patch keeps what the kubelet wrote (images)');
    assert.equal(written.nodeInfo?.kubeletVersion, 'v1.30.0');
    assert.equal(written.addresses?.[0]?.address, '10.0.0.1');
    assert.equal(m.informers.nodes.get('n1')?.status?.images, undefined, 'the controllers\' cache keeps no images');
    const after = clock.now() - t0;
    assert.ok(after >= 40_000 && after <= 70_000, `Unknown ${after} ms after the last renewal`);
    await until('the unreachable taints', () => taints('n1').join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule');
    const tainted = clock.now();
    const gone = (name: string): boolean => sim.gone(name);
    await until('the intolerant pod evicted', () => gone('intolerant'), 5_000);
    const dt = pod('intolerant')?.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    if (pod('intolerant')) assert.equal(dt?.reason, 'DeletionByTaintManager');
    assert.ok(!gone('tolerates-30s'), 'the 30 s toleration holds');
    assert.equal(pod('tolerates-30s')!.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'False', 'pods on the node are marked NotReady');
    await until('tolerates-30s evicted', () => gone('tolerates-30s'), 40_000);
    const at = clock.now() - tainted;
    assert.ok(at >= 29_000 && at <= 32_000, `evicted ${at} ms after the taint`);
    assert.ok(!gone('tolerates-forever'), 'a toleration without seconds holds forever');
    assert.ok(!gone('elsewhere'));
    assert.deepEqual(taints('n2'), []);
    const events = s.list('events', 'default').map((e) => (e as { reason: string; source?: { component?: string } }).reason);
    assert.ok(events.includes('NodeNotReady') && events.includes('TaintManagerEviction'), events.join(' '));
  });

  it('renewing again: taints removed', async () => {
    sim.alive.add('n1');
    // the kubelet posts Ready again with its next status
    await setConditions('n1', { Ready: 'True', MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False' });
    await until('n1 untainted', () => taints('n1').length === 0, 20_000);
    assert.ok(pod('tolerates-forever') && !pod('tolerates-forever')!.metadata?.deletionTimestamp);
  });

  it('the conditions write carries the resourceVersion read: a Node changed since answers 409', async () => {
    const client = kubeNodeLifecycleClient(s.kubeconfig());
    const stale = node('n2');
    await clock.advance(1000);
    await setConditions('n2', { Ready: 'True' }); // the kubelet posts a heartbeat meanwhile
    await assert.rejects(client.patchNodeConditions(stale, [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }]), (e: unknown) => e instanceof ApiException && e.code === 409);
    assert.equal(node('n2').status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', 'nothing written');
  });

  it('Ready=False from the kubelet: not-ready taints (NoSchedule, NoExecute); then silence swaps them to unreachable', async () => {
    await setConditions('n2', { Ready: 'False' });
    await until('n2 not-ready taints', () => taints('n2').join() === 'node.kubernetes.io/not-ready:NoExecute,node.kubernetes.io/not-ready:NoSchedule', 20_000);
    sim.alive.delete('n2');
    await until('n2 unreachable taints (swapped, never both)', () => taints('n2').join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule', 90_000);
    sim.alive.add('n2');
    await setConditions('n2', { Ready: 'True' });
    await until('n2 untainted', () => taints('n2').length === 0, 20_000);
  });

  it('pressure conditions and unschedulable become NoSchedule taints; a user\'s taint stays', async () => {
    await setConditions('n3', { DiskPressure: 'True' }, { taints: [{ key: 'example.com/dedicated', value: 'db', effect: 'NoSchedule' }], unschedulable: true });
    await until('n3 NoSchedule taints', () => taints('n3').join() === 'example.com/dedicated:NoSchedule,node.kubernetes.io/disk-pressure:NoSchedule,node.kubernetes.io/unschedulable:NoSchedule', 10_000);
    await setConditions('n3', { DiskPressure: 'False' }, { unschedulable: false });
    await until('only the user\'s taint left', () => taints('n3').join() === 'example.com/dedicated:NoSchedule', 10_000);
  });

  it('a node that never reports: NodeStatusNeverUpdated after the startup grace period', async () => {
    // created "now" on the controller's (fake) clock: the startup grace counts from creationTimestamp
    s.put('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'silent', creationTimestamp: new Date(clock.now()).toISOString() }, spec: {} } as never);
    const t0 = clock.now();
    const c = await until('silent Unknown', () => node('silent').status?.conditions?.find((x) => x.type === 'Ready'), 90_000);
    assert.equal(c.status, 'Unknown');
    assert.equal(c.reason, 'NodeStatusNeverUpdated');
    assert.ok(clock.now() - t0 >= 55_000, `not before the 60 s startup grace (${clock.now() - t0} ms)`);
  });
});

describe('zones against the test API server (simulated nodes, fake clock)', () => {
  let s: TestApiServer;
  let m: ControllerManager;
  let sim: SimulatedNodes;
  const registry = newRegistry();
  const zoneA = ['a1', 'a2', 'a3', 'a4'];
  const zoneB = ['b1', 'b2', 'b3', 'b4'];
  const noExecute = (name: string): string[] => sim.taints(name).filter((t) => t.endsWith(':NoExecute'));

  before(async () => {
    s = await startTestApiServer({ tls: false });
    sim = new SimulatedNodes(s, new FakeClock(Date.now()));
    for (const name of zoneA) await sim.add(name, { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'za' });
    for (const name of zoneB) await sim.add(name, { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'zb' });
    for (const name of [...zoneA, ...zoneB]) sim.putPod(`on-${name}`, name);
    m = new ControllerManager({ kubeConfig: s.kubeconfig(), clock: sim.clock, logger: new MemoryLogger(), registry });
    await m.start();
    await sim.until('a few healthy passes', () => false, 10_000).catch(() => undefined);
  });

  after(async () => {
    await m.stop();
    await s.close();
  });

  it('3 of 4 down in a small zone: PartialDisruption, no NoExecute taints there, while the healthy zone taints its silent node at the normal rate', async () => {
    for (const n of ['a1', 'a2', 'a3', 'b1']) sim.alive.delete(n);
    await sim.until('all four Unknown with NoSchedule unreachable taints', () => ['a1', 'a2', 'a3', 'b1'].every((n) => sim.taints(n).includes('node.kubernetes.io/unreachable:NoSchedule')));
    await sim.until('b1 tainted NoExecute (zone zb Normal)', () => noExecute('b1').length === 1, 20_000);
    await sim.until('the pod on b1 evicted', () => sim.gone('on-b1'), 5_000);
    await sim.until('30 s more', () => false, 30_000).catch(() => undefined);
    for (const n of ['a1', 'a2', 'a3']) assert.deepEqual(noExecute(n), [], `${n}: zone za in PartialDisruption with 4 nodes (≤ 50): rate 0`);
    for (const n of ['a1', 'a2', 'a3']) assert.ok(!sim.gone(`on-${n}`), `the pod on ${n} stays`);
    assert.match(await registry.metrics(), /node_collector_zone_health\{zone="r1::za"\} 25/);
  });

  it('every zone down: NoExecute taints removed and none added; a node back ends it', async () => {
    for (const n of [...zoneA, ...zoneB]) sim.alive.delete(n);
    await sim.until('every node Unknown', () => [...zoneA, ...zoneB].every((n) => sim.node(n).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown'));
    await sim.until('the controller removed its NoExecute taint from b1', () => noExecute('b1').length === 0, 20_000);
    await sim.until('30 s more', () => false, 30_000).catch(() => undefined);
    for (const n of [...zoneA, ...zoneB]) assert.deepEqual(noExecute(n), [], `${n}: no NoExecute taint while every zone is fully disrupted`);
    for (const n of ['on-a4', 'on-b2', 'on-b3', 'on-b4']) assert.ok(!sim.gone(n), `${n} not evicted`);
    sim.alive.add('b2');
    await sim.setConditions('b2', { Ready: 'True', MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False' });
    // not every zone is fully disrupted any more: tainting resumes where a zone's state allows it.
    // za (no Ready node: FullDisruption) taints at the normal rate again, as upstream; zb (3 of 4
    // not Ready: PartialDisruption, 4 nodes ≤ 50) not at all
    await sim.until('a node of zone za tainted NoExecute again', () => zoneA.some((n) => noExecute(n).length > 0), 90_000);
    for (const n of zoneB) assert.deepEqual(noExecute(n), [], `${n}: zone zb in PartialDisruption`);
  });
});
