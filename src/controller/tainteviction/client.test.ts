// ApiTaintEvictionClient and the whole controller against the test API server (admin identity).
// The controller runs on a FakeClock; HTTP and watches run in real time, so the tests poll for
// outcomes.
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node, type V1Pod, type V1PodCondition, type V1Taint } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { ApiInformer } from '../informers.js';
import { FakeClock } from '../../util/clock.js';
import { ApiTaintEvictionClient } from './client.js';
import { PodGoneError, TaintEvictionController } from './controller.js';

async function until(clock: FakeClock, cond: () => boolean, what: string, stepMs = 0, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await clock.advance(stepMs);
    await delay(5);
  }
}

type StoredPod = { metadata?: { uid?: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number }; status?: { conditions?: V1PodCondition[] } };
const disruption = (p: StoredPod | undefined): V1PodCondition | undefined => p?.status?.conditions?.find((c) => c.type === 'DisruptionTarget');

describe('taint eviction against the test API server', () => {
  let s: TestApiServer;
  let core: CoreV1Api;
  before(async () => {
    s = await startTestApiServer();
    core = s.kubeconfig().makeApiClient(CoreV1Api);
  });
  after(async () => {
    await s.close();
  });

  const createPod = (name: string, nodeName: string): Promise<V1Pod> =>
    core.createNamespacedPod({ namespace: 'default', body: { metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] } } });
  const taint = (name: string, taints: V1Taint[]): Promise<V1Node> =>
    core.patchNode({ name, body: { spec: { taints } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const stored = (name: string): StoredPod | undefined => s.get('pods', 'default', name) as StoredPod | undefined;

  it('ApiTaintEvictionClient: DisruptionTarget condition, then a graceful delete with a UID precondition', async () => {
    await core.createNode({ body: { metadata: { name: 'c1' } } });
    const p = await createPod('cp1', 'c1');
    const clock = new FakeClock();
    const client = ApiTaintEvictionClient.fromKubeConfig(s.kubeconfig(), clock);

    const cur = s.get('pods', 'default', 'cp1')!;
    s.put('pods', { ...cur, status: { ...(cur.status as object), conditions: [{ type: 'PodScheduled', status: 'True' }] } });

    await client.addDisruptionTargetCondition(p);
    assert.deepEqual(stored('cp1')?.status?.conditions, [
      { type: 'PodScheduled', status: 'True' },
      { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ], 'merged by type: the other conditions kept');

    const patches = (): number => s.requests.filter((r) => r.method === 'PATCH' && r.path === '/api/v1/namespaces/default/pods/cp1/status').length;
    const before = patches();
    clock.setTime(clock.now() + 60_000);
    await client.addDisruptionTargetCondition(p);
    assert.equal(patches(), before, 'already there: no second patch');
    assert.equal(disruption(stored('cp1'))?.lastTransitionTime, '2026-01-01T00:00:00Z');

    await assert.rejects(client.deletePod('default', 'cp1', 'another-uid'), PodGoneError, 'a UID precondition failure means another pod');
    assert.equal(stored('cp1')?.metadata?.deletionTimestamp, undefined);

    await client.deletePod('default', 'cp1', p.metadata!.uid!);
    // a bound pod is deleted gracefully: it stays with a deletionTimestamp until its kubelet is done
    const after = stored('cp1');
    assert.ok(after?.metadata?.deletionTimestamp, 'deletionTimestamp set');
    assert.equal(after?.metadata?.deletionGracePeriodSeconds, 30);
    const del = s.requests.filter((r) => r.method === 'DELETE' && r.path === '/api/v1/namespaces/default/pods/cp1');
    assert.deepEqual(del.map((r) => r.code), [409, 200]);

    await assert.rejects(client.addDisruptionTargetCondition({ metadata: { name: 'nope', namespace: 'default' } }), PodGoneError);
    await client.deletePod('default', 'nope', 'x'); // already gone: success
  });

  it('the controller over ApiInformers: untolerated pods get the condition and are deleted; the 300 s default toleration is honoured', async () => {
    const clock = new FakeClock();
    const kc = s.kubeconfig();
    const nodes = new ApiInformer<V1Node>({ kubeConfig: kc, path: '/api/v1/nodes', list: () => core.listNode(), clock });
    const pods = new ApiInformer<V1Pod>({ kubeConfig: kc, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), clock });
    const events: string[] = [];
    const c = new TaintEvictionController({
      nodes, pods, clock,
      client: ApiTaintEvictionClient.fromKubeConfig(kc, clock),
      recorder: (ref, type, reason, message) => events.push(`${ref.namespace}/${ref.name} ${type} ${reason} ${message}`),
    });
    try {
      await core.createNode({ body: { metadata: { name: 'e1' } } });
      await createPod('ep1', 'e1');
      await Promise.all([nodes.start(), pods.start()]);
      await c.start();

      // a taint no pod tolerates: deleted at once
      await taint('e1', [{ key: 'example.com/evict', effect: 'NoExecute' }]);
      await until(clock, () => stored('ep1')?.metadata?.deletionTimestamp !== undefined, 'ep1 deleted');
      assert.equal(disruption(stored('ep1'))?.reason, 'DeletionByTaintManager');
      const writes = s.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/default/pods/ep1') && ['PATCH', 'DELETE'].includes(r.method));
      assert.deepEqual(writes.map((r) => `${r.method} ${r.path} ${r.code}`), ['PATCH /api/v1/namespaces/default/pods/ep1/status 200', 'DELETE /api/v1/namespaces/default/pods/ep1 200']);
      assert.deepEqual(events, ['default/ep1 Normal TaintManagerEviction Marking for deletion Pod default/ep1']);

      // unreachable: the API server's DefaultTolerationSeconds gives every pod 300 s
      await core.createNode({ body: { metadata: { name: 'e2' } } });
      await createPod('ep2', 'e2');
      await until(clock, () => pods.get('ep2', 'default') !== undefined, 'ep2 in the cache');
      const t0 = clock.now();
      await taint('e2', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: new Date(t0).toISOString() as unknown as Date }]);
      await until(clock, () => c.scheduled().has('default/ep2'), 'ep2 eviction scheduled');
      assert.equal(c.scheduled().get('default/ep2')?.fireAt, t0 + 300_000);
      await clock.advance(299_999);
      await delay(50);
      assert.equal(stored('ep2')?.metadata?.deletionTimestamp, undefined, 'not before 300 s');
      await clock.advance(1);
      await until(clock, () => stored('ep2')?.metadata?.deletionTimestamp !== undefined, 'ep2 deleted at 300 s');
      assert.equal(disruption(stored('ep2'))?.status, 'True');
    } finally {
      await c.stop();
      await nodes.stop();
      await pods.stop();
    }
  });
});
