import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1ContainerStatus, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { FakeClock, RealClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { decodePod } from '../config/apiserver.js';
import { applyStaticPodDefaults } from '../config/static.js';
import { MirrorClient } from '../pod/index.js';
import { ApiStatusSync, mergePodStatus, podStatusPatch, type ApiStatusSyncOptions } from './apisync.js';
import { StatusManager } from './manager.js';

const T = new Date('2026-01-01T00:00:00Z');
const T2 = new Date('2026-01-01T00:00:05Z');

describe('podStatusPatch', () => {
  const base: V1PodStatus = {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: T }, { type: 'PodScheduled', status: 'True', lastTransitionTime: T }],
    containerStatuses: [
      { name: 'a', ready: false, restartCount: 0, image: 'busybox', imageID: 'x', state: { running: { startedAt: T } } },
      { name: 'b', ready: false, restartCount: 0, image: 'busybox', imageID: 'x', state: { running: { startedAt: T } } },
    ],
    podIP: '10.88.0.2',
    podIPs: [{ ip: '10.88.0.2' }],
    startTime: T,
  };
  const cases: [string, V1PodStatus, unknown][] = [
    ['equal (times at second precision, empty lists as absent): unchanged', { ...structuredClone(base), startTime: new Date(T.getTime() + 400), initContainerStatuses: [] }, undefined],
    ['phase only', { ...structuredClone(base), phase: 'Succeeded' }, { phase: 'Succeeded' }],
    [
      'a condition: the changed fields by type, with the element order',
      { ...structuredClone(base), conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: T2 }, { type: 'PodScheduled', status: 'True', lastTransitionTime: T }] },
      { '$setElementOrder/conditions': [{ type: 'Ready' }, { type: 'PodScheduled' }], conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' }] },
    ],
    [
      'a condition removed: $patch delete',
      { ...structuredClone(base), conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: T }] },
      { '$setElementOrder/conditions': [{ type: 'PodScheduled' }], conditions: [{ type: 'Ready', $patch: 'delete' }] },
    ],
    [
      'one container changed: the whole containerStatuses list',
      { ...structuredClone(base), containerStatuses: [{ ...structuredClone(base.containerStatuses![0]!), ready: true }, structuredClone(base.containerStatuses![1]!)] },
      {
        containerStatuses: [
          { image: 'busybox', imageID: 'x', name: 'a', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
          { image: 'busybox', imageID: 'x', name: 'b', ready: false, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
        ],
      },
    ],
    ['a field removed: null', { ...structuredClone(base), podIP: undefined, podIPs: undefined }, { podIP: null, podIPs: null }],
  ];
  for (const [name, next, want] of cases) {
    it(name, () => {
      const { patch, unchanged } = podStatusPatch('u1', base, next);
      assert.deepEqual(patch.metadata, { uid: 'u1' }, 'the uid goes along as a precondition');
      assert.equal(unchanged, want === undefined);
      assert.deepEqual(patch.status, want);
    });
  }
});

describe('mergePodStatus', () => {
  const api: V1PodStatus = {
    phase: 'Running',
    nominatedNodeName: 'n9',
    conditions: [{ type: 'example.com/Gate', status: 'True' }, { type: 'Ready', status: 'True' }],
  };
  it('keeps the conditions the kubelet does not own and nominatedNodeName', () => {
    const m = mergePodStatus(api, { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }, false);
    assert.equal(m.refused, undefined);
    assert.deepEqual(m.status.conditions?.map((c) => [c.type, c.status]), [['example.com/Gate', 'True'], ['Ready', 'False']]);
    assert.equal(m.status.nominatedNodeName, 'n9');
  });
  it('never leaves a terminal phase the API has', () => {
    assert.match(mergePodStatus({ phase: 'Failed' }, { phase: 'Running' }, false).refused ?? '', /may not leave the terminal phase Failed/);
    assert.match(mergePodStatus({ phase: 'Succeeded' }, { phase: 'Failed' }, false).refused ?? '', /terminal phase Succeeded/);
    assert.equal(mergePodStatus({ phase: 'Failed' }, { phase: 'Failed', message: 'x' }, false).refused, undefined);
  });
  it('holds a terminal phase back while containers could still run; DisruptionTarget only with it', () => {
    const next: V1PodStatus = { phase: 'Failed', reason: 'Evicted', message: 'gone', conditions: [{ type: 'DisruptionTarget', status: 'True' }] };
    const held = mergePodStatus({ phase: 'Running' }, next, true).status;
    assert.deepEqual([held.phase, held.reason, held.message, held.conditions?.length], ['Running', undefined, undefined, 0]);
    const sent = mergePodStatus({ phase: 'Running' }, next, false).status;
    assert.deepEqual([sent.phase, sent.reason, sent.conditions?.map((c) => c.type)], ['Failed', 'Evicted', ['DisruptionTarget']]);
  });
});

// ---------- against the test API server ----------

const running = (ready: boolean, names = ['c']): V1PodStatus => ({
  phase: 'Running',
  conditions: [
    { type: 'Initialized', status: 'True' },
    { type: 'Ready', status: ready ? 'True' : 'False' },
    { type: 'ContainersReady', status: ready ? 'True' : 'False' },
    { type: 'PodScheduled', status: 'True' },
  ],
  hostIP: '127.0.0.1',
  podIP: '10.88.0.5',
  podIPs: [{ ip: '10.88.0.5' }],
  qosClass: 'BestEffort',
  containerStatuses: names.map(
    (name): V1ContainerStatus => ({ name, ready, restartCount: 0, image: 'busybox:1.36', imageID: 'sha256:1', containerID: `containerd://${name}`, started: true, state: { running: { startedAt: T } } }),
  ),
});

interface Rig {
  s: TestApiServer;
  clock: FakeClock;
  sync: ApiStatusSync;
  sm: StatusManager;
  log: MemoryLogger;
  admin: CoreV1Api;
  patches: (name: string) => number;
}

async function withRig(opts: Partial<ApiStatusSyncOptions>, fn: (r: Rig) => Promise<void>, asAdmin = false): Promise<void> {
  const s = await startTestApiServer();
  const clock = new FakeClock();
  const log = new MemoryLogger();
  const sync = new ApiStatusSync({ clock, kubeConfig: asAdmin ? s.kubeconfig() : s.kubeconfig({ node: 'n1' }), logger: log, ...opts });
  const sm = new StatusManager({ clock, sink: sync });
  sync.start();
  // the status patches nodelet sent (not the test's own admin patches)
  const patches = (name: string): number =>
    s.requests.filter((r) => r.method === 'PATCH' && r.user !== 'kubernetes-admin' && r.path.startsWith(`/api/v1/namespaces/default/pods/${name}/status`)).length;
  try {
    await fn({ s, clock, sync, sm, log, admin: s.kubeconfig().makeApiClient(CoreV1Api), patches });
  } finally {
    await sync.stop();
    await s.close();
  }
}

const podOn = (name: string, containers = ['c']): V1Pod => ({ metadata: { name }, spec: { nodeName: 'n1', containers: containers.map((c) => ({ name: c, image: 'busybox:1.36' })) } });
const apiStatus = (s: TestApiServer, name: string): V1PodStatus => decodePod(s.get('pods', 'default', name)).status ?? {};

describe('ApiStatusSync against the test API server', () => {
  it('patches once per real change, with the full container list, keeping others\' conditions; the batch sends nothing when equal', async () => {
    await withRig({}, async ({ s, sm, sync, admin, patches }) => {
      const pod = await admin.createNamespacedPod({ namespace: 'default', body: podOn('p', ['a', 'b']) });
      await admin.patchNamespacedPodStatus(
        { name: 'p', namespace: 'default', body: { status: { conditions: [{ type: 'example.com/Gate', status: 'True' }] } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      assert.equal(sm.setPodStatus(pod, running(false, ['a', 'b'])), 'updated');
      await sync.flush();
      assert.equal(patches('p'), 1);
      let st = apiStatus(s, 'p');
      assert.equal(st.phase, 'Running');
      assert.deepEqual(st.containerStatuses?.map((c) => [c.name, c.ready]), [['a', false], ['b', false]]);
      assert.ok(st.conditions?.some((c) => c.type === 'example.com/Gate'), 'a condition the kubelet does not own stays');
      assert.equal(sync.apiVersion(pod.metadata!.uid!), 1);

      assert.equal(sm.setPodStatus(pod, running(false, ['a', 'b'])), 'unchanged');
      await sync.syncBatch();
      assert.equal(patches('p'), 1, 'nothing new: no patch, also not from the batch');

      const next = running(true, ['a', 'b']);
      next.containerStatuses![1]!.ready = false;
      next.conditions = running(false).conditions;
      sm.setPodStatus(pod, next);
      await sync.flush();
      assert.equal(patches('p'), 2);
      st = apiStatus(s, 'p');
      assert.deepEqual(st.containerStatuses?.map((c) => [c.name, c.ready]), [['a', true], ['b', false]], 'both containers still there');
      assert.ok(st.conditions?.some((c) => c.type === 'example.com/Gate'));
    });
  });

  it('retries a conflict storm with fresh GETs', async () => {
    await withRig({}, async ({ s, sm, sync, admin, patches }) => {
      const pod = await admin.createNamespacedPod({ namespace: 'default', body: podOn('p') });
      s.faults.conflictStorm(3);
      sm.setPodStatus(pod, running(true));
      await sync.flush();
      assert.equal(apiStatus(s, 'p').phase, 'Running');
      assert.equal(patches('p'), 4, '3 conflicts then success');
      const conflicts = s.requests.filter((r) => r.method === 'PATCH' && r.code === 409).length;
      assert.equal(conflicts, 3);
    });
  });

  it('catches up on the next reconcile after the API server was down', async () => {
    await withRig({}, async ({ s, sm, sync, clock, admin }) => {
      const pod = await admin.createNamespacedPod({ namespace: 'default', body: podOn('p') });
      await s.faults.down(200);
      sm.setPodStatus(pod, running(true));
      await sync.flush();
      assert.equal(apiStatus(s, 'p').phase, 'Pending', 'not sent while down');
      assert.equal(sync.apiVersion(pod.metadata!.uid!), 0);
      await new RealClock().sleep(300); // the server is back (real time: its fault timer)
      await clock.advance(10_000);
      await sync.flush();
      assert.equal(apiStatus(s, 'p').phase, 'Running');
      assert.equal(sync.apiVersion(pod.metadata!.uid!), 1);
    });
  });

  it('reconciles a status someone else changed (seen through the pod watch cache)', async () => {
    let s!: TestApiServer;
    const lookupApiPod = (uid: string): V1Pod | undefined => {
      const o = s.list('pods', 'default').find((p) => p.metadata?.uid === uid);
      return o ? decodePod(o) : undefined;
    };
    await withRig({ lookupApiPod }, async (r) => {
      s = r.s;
      const pod = await r.admin.createNamespacedPod({ namespace: 'default', body: podOn('p') });
      r.sm.setPodStatus(pod, running(true));
      await r.sync.flush();
      assert.equal(r.patches('p'), 1);
      await r.clock.advance(10_000);
      await r.sync.flush();
      assert.equal(r.patches('p'), 1, 'in sync: the reconcile sends nothing');
      await r.admin.patchNamespacedPodStatus({ name: 'p', namespace: 'default', body: { status: { podIP: '10.9.9.9' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await r.clock.advance(10_000);
      await r.sync.flush();
      assert.equal(r.patches('p'), 2);
      assert.equal(apiStatus(s, 'p').podIP, '10.88.0.5');
    });
  });

  it('does not move a pod the API has as Failed back to Running', async () => {
    await withRig({}, async ({ s, sm, sync, admin, patches, log }) => {
      const pod = await admin.createNamespacedPod({ namespace: 'default', body: podOn('p') });
      await admin.patchNamespacedPodStatus({ name: 'p', namespace: 'default', body: { status: { phase: 'Failed', reason: 'Evicted' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      sm.setPodStatus(pod, running(true));
      await sync.flush();
      await sync.syncBatch();
      assert.equal(patches('p'), 0, 'nothing sent');
      assert.equal(apiStatus(s, 'p').phase, 'Failed');
      assert.ok(log.find((r) => r.msg === 'Status update on pod aborted' && /terminal phase Failed/.test(String(r.fields.err))));
    });
  });

  it('does the final delete (grace 0, uid precondition) once the pod is terminal and reclaimed', async () => {
    const reclaimed = new Set<string>();
    await withRig({ canBeDeleted: (uid) => reclaimed.has(uid) }, async ({ s, sm, sync, clock, admin }) => {
      const pod = await admin.createNamespacedPod({ namespace: 'default', body: podOn('p') });
      const uid = pod.metadata!.uid!;
      sm.setPodStatus(pod, running(true));
      await sync.flush();
      const deleting = await admin.deleteNamespacedPod({ name: 'p', namespace: 'default' });
      assert.ok(deleting.metadata?.deletionTimestamp);
      const done = running(false);
      done.phase = 'Failed';
      done.containerStatuses![0]!.state = { terminated: { exitCode: 137, reason: 'Error', startedAt: T, finishedAt: T2 } };
      sm.setPodStatus(deleting, done);
      await sync.flush();
      assert.equal(apiStatus(s, 'p').phase, 'Failed');
      assert.ok(s.get('pods', 'default', 'p'), 'resources not reclaimed yet: still there');
      reclaimed.add(uid);
      await clock.advance(10_000);
      await sync.flush();
      assert.equal(s.get('pods', 'default', 'p'), undefined, 'gone');
      const del = s.requests.filter((r) => r.method === 'DELETE');
      assert.deepEqual(del.map((r) => [r.user, r.code]), [['kubernetes-admin', 200], ['system:node:n1', 200]]);
      assert.equal(sync.has(uid), false, 'forgotten');
    });
  });

  // As admin: this fixture's node authorizer answers a node's GET of a missing pod with 403, where
  // a real API server (the system:node rules allow getting pods) answers 404.
  it('forgets a pod that is gone, and one recreated under the same name', async () => {
    await withRig({}, async ({ s, sm, sync, admin }) => {
      const a = await admin.createNamespacedPod({ namespace: 'default', body: podOn('a') });
      await admin.deleteNamespacedPod({ name: 'a', namespace: 'default', body: { gracePeriodSeconds: 0 } });
      sm.setPodStatus(a, running(true));
      await sync.flush();
      assert.equal(sync.has(a.metadata!.uid!), false);
      const b = await admin.createNamespacedPod({ namespace: 'default', body: podOn('b') });
      await admin.deleteNamespacedPod({ name: 'b', namespace: 'default', body: { gracePeriodSeconds: 0 } });
      await admin.createNamespacedPod({ namespace: 'default', body: podOn('b') });
      sm.setPodStatus(b, running(true));
      await sync.flush();
      assert.equal(sync.has(b.metadata!.uid!), false);
      assert.equal(s.requests.filter((r) => r.method === 'PATCH').length, 0, 'the new pod b is not given the old one\'s status');
    }, true);
  });

  it('sends a static pod\'s status to its mirror pod once there is one', async () => {
    await withRig({}, async ({ s, sm, sync, clock, admin, patches }) => {
      const node = await admin.createNode({ body: { metadata: { name: 'n1' } } });
      const r = applyStaticPodDefaults({ metadata: { name: 'st' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } }, { source: '/m/st.yaml', kind: 'file', nodeName: 'n1' });
      assert.ok(r.pod);
      const staticPod = r.pod;
      sm.setPodStatus(staticPod, running(true));
      await sync.flush();
      assert.equal(patches('st-n1'), 0, 'no mirror pod yet');
      assert.equal(sync.has(staticPod.metadata!.uid!), true, 'kept for later');
      await new MirrorClient({ kubeConfig: s.kubeconfig({ node: 'n1' }), nodeName: 'n1', nodeUID: () => node.metadata!.uid }).createMirrorPod(staticPod);
      await clock.advance(10_000);
      await sync.flush();
      assert.equal(patches('st-n1'), 1);
      assert.equal(apiStatus(s, 'st-n1').phase, 'Running');
      assert.equal(sync.apiVersion(staticPod.metadata!.uid!), 1);
    });
  });
});
