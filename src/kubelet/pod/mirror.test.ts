import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { applyStaticPodDefaults } from '../config/static.js';
import { decideMirrorPods, MirrorClient, type MirrorAction, type MirrorDecisionInput } from './index.js';

function staticPod(name: string, image = 'busybox:1.36'): V1Pod {
  const r = applyStaticPodDefaults(
    { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image }] } },
    { source: `/etc/kubernetes/manifests/${name}.yaml`, kind: 'file', nodeName: 'n1' },
  );
  if (r.error) throw r.error;
  return r.pod;
}

function mirrorOf(p: V1Pod, opts: { uid?: string; hash?: string; deleting?: boolean } = {}): V1Pod {
  return {
    metadata: {
      name: p.metadata!.name!,
      namespace: p.metadata!.namespace!,
      uid: opts.uid ?? `m-${p.metadata!.name!}`,
      annotations: { 'kubernetes.io/config.mirror': opts.hash ?? p.metadata!.annotations!['kubernetes.io/config.hash']! },
      ...(opts.deleting ? { deletionTimestamp: new Date(0) } : {}),
    },
    spec: p.spec!,
  };
}

const summary = (actions: MirrorAction[]): string[] =>
  actions.map((a) => (a.op === 'create' ? `create ${a.staticPod.metadata!.name!}` : `delete ${a.mirror.name}/${a.mirror.uid} ${a.reason}${a.staticPod ? ' +recreate' : ''}`));

describe('decideMirrorPods', () => {
  const a = staticPod('a');
  const b = staticPod('b');
  const a2 = staticPod('a', 'busybox:1.37'); // same name, new spec: new hash
  const cases: [string, MirrorDecisionInput, string[]][] = [
    ['no mirror pods: create them', { staticPods: [a, b], mirrorPods: [] }, ['create a-n1', 'create b-n1']],
    ['matching mirror pods: nothing', { staticPods: [a, b], mirrorPods: [mirrorOf(a), mirrorOf(b)] }, []],
    ['static pod changed (hash mismatch): delete and recreate', { staticPods: [a2], mirrorPods: [mirrorOf(a)] }, ['delete a-n1/m-a-n1 outdated +recreate']],
    ['mirror pod being deleted: delete at once and recreate', { staticPods: [a], mirrorPods: [mirrorOf(a, { deleting: true })] }, ['delete a-n1/m-a-n1 deleting +recreate']],
    ['orphaned mirror pod: delete', { staticPods: [a], mirrorPods: [mirrorOf(a), mirrorOf(b)] }, ['delete b-n1/m-b-n1 orphaned']],
    ['orphaned mirror pod of a terminating static pod: keep', { staticPods: [], mirrorPods: [mirrorOf(b)], terminating: new Set(['b-n1_default']) }, []],
    ['node unknown: no creates, outdated deleted without recreate', { staticPods: [a2, b], mirrorPods: [mirrorOf(a)], canCreate: false }, ['delete a-n1/m-a-n1 outdated']],
    ['mirror without annotation value match: outdated', { staticPods: [a], mirrorPods: [mirrorOf(a, { hash: 'other' })] }, ['delete a-n1/m-a-n1 outdated +recreate']],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => assert.deepEqual(summary(decideMirrorPods(input)), want));
  }
});

async function withServer(fn: (s: TestApiServer) => Promise<void>): Promise<void> {
  const s = await startTestApiServer();
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

describe('MirrorClient against the test API server', () => {
  it('creates, replaces, recreates and deletes mirror pods as the node', async () => {
    await withServer(async (s) => {
      const admin = s.kubeconfig().makeApiClient(CoreV1Api);
      const node = await admin.createNode({ body: { metadata: { name: 'n1' } } });
      const kc = s.kubeconfig({ node: 'n1' });
      const mc = new MirrorClient({ kubeConfig: kc, nodeName: 'n1', nodeUID: () => node.metadata!.uid });
      const mirrors = async (): Promise<V1Pod[]> =>
        (await admin.listNamespacedPod({ namespace: 'default' })).items.filter((p) => p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined);

      const a = staticPod('a');
      await mc.reconcile({ staticPods: [a], mirrorPods: await mirrors() });
      let [m] = await mirrors();
      assert.ok(m);
      assert.equal(m.metadata!.name, 'a-n1');
      assert.equal(m.metadata!.annotations!['kubernetes.io/config.mirror'], a.metadata!.annotations!['kubernetes.io/config.hash']);
      assert.equal(m.metadata!.annotations!['kubernetes.io/config.source'], 'file');
      assert.notEqual(m.metadata!.uid, a.metadata!.uid, 'the API gives the mirror pod its own UID');
      assert.deepEqual(JSON.parse(JSON.stringify(m.metadata!.ownerReferences)), [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: node.metadata!.uid, controller: true }]);
      assert.equal(m.spec!.nodeName, 'n1');

      // unchanged: nothing to do, no requests
      const before = s.requests.length;
      assert.deepEqual(await mc.reconcile({ staticPods: [a], mirrorPods: await mirrors() }), []);
      assert.equal(s.requests.length, before + 1, 'only the list this test made');

      // the static pod changes: replaced
      const a2 = staticPod('a', 'busybox:1.37');
      await mc.reconcile({ staticPods: [a2], mirrorPods: await mirrors() });
      const [m2] = await mirrors();
      assert.equal(m2?.metadata!.annotations!['kubernetes.io/config.mirror'], a2.metadata!.annotations!['kubernetes.io/config.hash']);
      assert.notEqual(m2?.metadata!.uid, m.metadata!.uid);
      const del = s.requests.filter((r) => r.method === 'DELETE');
      assert.equal(del.length, 1);
      m = m2!;

      // someone deletes the mirror pod (graceful: it stays with a deletionTimestamp): recreated
      await admin.deleteNamespacedPod({ name: 'a-n1', namespace: 'default' });
      const deleting = await mirrors();
      assert.ok(deleting[0]?.metadata?.deletionTimestamp);
      await mc.reconcile({ staticPods: [a2], mirrorPods: deleting });
      const [m3] = await mirrors();
      assert.ok(m3);
      assert.equal(m3.metadata!.deletionTimestamp, undefined);
      assert.notEqual(m3.metadata!.uid, m.metadata!.uid);

      // the static pod is gone: the orphaned mirror pod is deleted
      await mc.reconcile({ staticPods: [], mirrorPods: await mirrors() });
      assert.deepEqual(await mirrors(), []);
    });
  });

  it('a delete with a stale uid is refused by the precondition and reported as not deleted', async () => {
    await withServer(async (s) => {
      const admin = s.kubeconfig().makeApiClient(CoreV1Api);
      const node = await admin.createNode({ body: { metadata: { name: 'n1' } } });
      const mc = new MirrorClient({ kubeConfig: s.kubeconfig({ node: 'n1' }), nodeName: 'n1', nodeUID: () => node.metadata!.uid });
      const a = staticPod('a');
      await mc.createMirrorPod(a);
      await mc.createMirrorPod(a); // AlreadyExists with the same hash: fine
      assert.equal(await mc.deleteMirrorPod({ namespace: 'default', name: 'a-n1', uid: 'stale' }), false);
      assert.ok(s.get('pods', 'default', 'a-n1'));
      await assert.rejects(new MirrorClient({ kubeConfig: s.kubeconfig({ node: 'n1' }), nodeName: 'n1', nodeUID: () => undefined }).createMirrorPod(staticPod('b')), /failed to get node UID/);
    });
  });
});
