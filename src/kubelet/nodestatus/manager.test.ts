// NodeStatusManager against the test API server (real HTTPS, node identity, Node authorizer).
// Time of the loop is a FakeClock; the HTTP I/O runs in real time, so tests poll for outcomes.
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { FakeClock } from '../../util/clock.js';
import { LocalEventStore } from '../events/index.js';
import { nopLogger } from '../../util/logger.js';
import { NodeStatusManager } from './manager.js';
import type { MachineFacts, NodeSettings, StatusInputs } from './setters.js';

const Gi = 1024 ** 3;
const machine: MachineFacts = {
  numCores: 2, memoryCapacity: 8 * Gi, rootFsCapacity: 100 * Gi, hugePages: [{ pageSizeKiB: 2048, numPages: 0 }],
  machineID: 'mid', systemUUID: 'uuid', bootID: 'boot-1', kernelVersion: '6.1.0', osImage: 'Debian GNU/Linux 12 (bookworm)', operatingSystem: 'linux', architecture: 'amd64',
};

function settings(node: string): NodeSettings {
  return { nodeName: node, hostname: node, nodeIP: '10.0.0.5', maxPods: 110, kubeletVersion: 'v1.30.0', kubeletPort: 10250, nodeLabels: { 'example.com/pool': 'a' }, kubeReserved: { memory: '1Gi' } };
}

async function until(clock: FakeClock, cond: () => boolean, what: string, stepMs = 100, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await clock.advance(stepMs);
    await new Promise((r) => setImmediate(r));
    await delay(2);
  }
}

interface Rig {
  m: NodeStatusManager;
  clock: FakeClock;
  inputs: StatusInputs;
  events: LocalEventStore;
}

function rig(s: TestApiServer, node: string, over: Partial<StatusInputs> = {}): Rig {
  const clock = new FakeClock();
  const inputs: StatusInputs = { machine, runtime: { name: 'containerd', version: '1.6.20' }, images: [], pressure: [], readyErrors: [], ...over };
  const events = new LocalEventStore(clock, nopLogger);
  const m = new NodeStatusManager({ kubeConfig: s.kubeconfig({ node }), clock, settings: settings(node), sources: { inputs: async () => structuredClone(inputs) }, recorder: events });
  return { m, clock, inputs, events };
}

const statusPatches = (s: TestApiServer, node: string): number => s.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith(`/api/v1/nodes/${node}/status`) && r.code === 200).length;

describe('NodeStatusManager', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });

  it('registers the Node with labels, capacity, allocatable, nodeInfo and conditions, then records events', async () => {
    const r = rig(s, 'reg1', { readyErrors: ['container runtime status check may not have completed yet'] });
    r.m.start();
    await until(r.clock, () => r.m.isRegistered() && statusPatches(s, 'reg1') >= 1, 'registration and first status');
    await r.m.stop();
    const n = s.get('nodes', '', 'reg1') as V1Node;
    assert.deepEqual(n.metadata?.labels, {
      'kubernetes.io/hostname': 'reg1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', 'example.com/pool': 'a',
    });
    assert.deepEqual(n.status?.capacity, { cpu: '2', memory: '8Gi', 'hugepages-2Mi': '0', pods: '110', 'ephemeral-storage': '100Gi' });
    assert.equal(n.status?.allocatable?.memory, '7Gi');
    assert.equal(n.status?.nodeInfo?.containerRuntimeVersion, 'containerd://1.6.20');
    assert.equal(n.status?.nodeInfo?.bootID, 'boot-1');
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    assert.deepEqual([ready?.status, ready?.reason, ready?.message], ['False', 'KubeletNotReady', 'container runtime status check may not have completed yet']);
    assert.deepEqual(n.status?.conditions?.map((c) => c.type), ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
    assert.deepEqual(r.events.list({ name: 'reg1' }).map((e) => e.reason), ['Starting', 'NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID']);
    assert.equal(s.requests.filter((q) => q.method === 'POST' && q.path.startsWith('/api/v1/nodes')).length >= 1, true);
  });

  it('reconciles an existing Node: one Node, kubelet labels updated, a user label kept', async () => {
    const admin = s.kubeconfig().makeApiClient(CoreV1Api);
    const pre = await admin.createNode({ body: { metadata: { name: 'rec1', labels: { 'kubernetes.io/hostname': 'stale', 'user/team': 'x' } } } });
    const r = rig(s, 'rec1');
    r.m.start();
    await until(r.clock, () => r.m.isRegistered() && statusPatches(s, 'rec1') >= 1, 'reconciliation');
    await r.m.stop();
    const nodes = s.list('nodes').filter((x) => x.metadata?.name === 'rec1');
    assert.equal(nodes.length, 1);
    const n = nodes[0] as V1Node;
    assert.equal(n.metadata?.uid, pre.metadata?.uid, 'same object, not re-created');
    assert.equal(n.metadata?.labels?.['kubernetes.io/hostname'], 'rec1');
    assert.equal(n.metadata?.labels?.['user/team'], 'x');
    assert.equal(n.metadata?.labels?.['kubernetes.io/arch'], 'amd64');
    assert.equal(n.metadata?.annotations?.['volumes.kubernetes.io/controller-managed-attach-detach'], 'true');
    assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  });

  it('posts status on a change, and otherwise only once the report frequency has passed', async () => {
    const r = rig(s, 'hb1');
    r.m.start();
    await until(r.clock, () => statusPatches(s, 'hb1') >= 1, 'first status');
    const readsAfter = (n: number): (() => boolean) => () => s.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/api/v1/nodes/hb1') && q.code === 200).length >= n;
    const gets = (): number => s.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/api/v1/nodes/hb1') && q.code === 200).length;
    // 2 minutes of unchanged status: the loop reads every 10 s but posts nothing.
    const g0 = gets();
    for (let i = 0; i < 12; i++) {
      const before = gets();
      await r.clock.advance(10_000);
      await until(r.clock, readsAfter(before + 1), 'a status pass', 0);
    }
    assert.ok(gets() - g0 >= 12);
    assert.equal(statusPatches(s, 'hb1'), 1, 'no post while nothing changed');
    // A change posts at the next pass.
    r.inputs.pressure = ['DiskPressure'];
    await r.clock.advance(10_000);
    await until(r.clock, () => statusPatches(s, 'hb1') === 2, 'post on change', 0);
    const n = s.get('nodes', '', 'hb1') as V1Node;
    assert.equal(n.status?.conditions?.find((c) => c.type === 'DiskPressure')?.status, 'True');
    // the event follows the answer to the patch
    await until(r.clock, () => r.events.list({ name: 'hb1' }).some((e) => e.reason === 'NodeHasDiskPressure'), 'NodeHasDiskPressure event', 0);
    // Unchanged again: the next post comes when 5 minutes have passed since the last one.
    for (let i = 0; i < 29; i++) {
      const before = gets();
      await r.clock.advance(10_000);
      await until(r.clock, readsAfter(before + 1), 'a status pass', 0);
    }
    assert.equal(statusPatches(s, 'hb1'), 2, 'still nothing at 4m50s');
    await r.clock.advance(10_000);
    await until(r.clock, () => statusPatches(s, 'hb1') === 3, 'post at the report frequency', 0);
    await r.m.stop();
  });

  it('fastStatusUpdate posts a Ready flip at once, with NodeReady', async () => {
    const r = rig(s, 'fast1', { readyErrors: ['container runtime is down'] });
    r.m.start();
    await until(r.clock, () => statusPatches(s, 'fast1') >= 1, 'first status');
    r.inputs.readyErrors = [];
    await r.m.fastStatusUpdate();
    assert.equal(statusPatches(s, 'fast1'), 2);
    assert.equal((s.get('nodes', '', 'fast1') as V1Node).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.ok(r.events.list({ name: 'fast1' }).some((e) => e.reason === 'NodeReady' && e.message === 'Node fast1 status is now: NodeReady'));
    await r.m.stop();
  });

  it('retries a conflict storm within one update (fresh read each time)', async () => {
    const r = rig(s, 'cf1');
    r.m.start();
    await until(r.clock, () => statusPatches(s, 'cf1') >= 1, 'first status');
    r.inputs.readyErrors = ['container runtime is down'];
    const conflictsBefore = s.requests.filter((q) => q.path.startsWith('/api/v1/nodes/cf1/status') && q.code === 409).length;
    s.faults.conflictStorm(3);
    await r.m.fastStatusUpdate();
    const conflicts = s.requests.filter((q) => q.path.startsWith('/api/v1/nodes/cf1/status') && q.code === 409).length - conflictsBefore;
    assert.equal(conflicts, 3);
    assert.equal(statusPatches(s, 'cf1'), 2);
    assert.equal((s.get('nodes', '', 'cf1') as V1Node).status?.conditions?.find((c) => c.type === 'Ready')?.message, 'container runtime is down');
    await r.m.stop();
  });

  it('registration retries with backoff while the API refuses, then succeeds', async () => {
    const r = rig(s, 'down1');
    s.faults.failNext(3, 500);
    r.m.start();
    await until(r.clock, () => r.m.isRegistered(), 'registration after failures');
    await r.m.stop();
    assert.ok(s.get('nodes', '', 'down1'));
    assert.equal(s.requests.filter((q) => q.method === 'POST' && q.path.startsWith('/api/v1/nodes') && q.code === 500).length >= 3, true);
  });
});
