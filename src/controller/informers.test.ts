import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesListObject, V1Node, V1Pod } from '@kubernetes/client-node';
import { Interner, listAllPages, MemoryInformer, nodeCacheTransform, podCacheTransform } from './informers.js';

const pod = (i: number): V1Pod => ({ metadata: { name: `p${i}`, namespace: 'default', uid: `u${i}`, labels: { big: 'x'.repeat(100) } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], tolerations: [{ key: 'k', operator: 'Exists' }] }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [] } });

describe('listAllPages', () => {
  it('reads every page (limit + continue), transforming each page as it comes, with the first page\'s resourceVersion', async () => {
    const calls: [string | undefined, number][] = [];
    const pages: KubernetesListObject<V1Pod>[] = [
      { metadata: { resourceVersion: '10', _continue: 'a' }, items: [pod(1), pod(2)] },
      { metadata: { resourceVersion: '10', _continue: 'b' }, items: [pod(3), pod(4)] },
      { metadata: { resourceVersion: '10' }, items: [pod(5)] },
    ];
    const got = await listAllPages((token, limit) => {
      calls.push([token, limit]);
      return Promise.resolve(pages[calls.length - 1]!);
    }, podCacheTransform, 2);
    assert.deepEqual(calls, [[undefined, 2], ['a', 2], ['b', 2]]);
    assert.deepEqual(got.items.map((p) => p.metadata?.name), ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.equal(got.metadata?.resourceVersion, '10');
    assert.equal(got.items[0]!.metadata?.labels, undefined, 'transformed');
  });
});

describe('podCacheTransform', () => {
  it('keeps what the node controllers read and nothing else', () => {
    const t = podCacheTransform(pod(1));
    assert.deepEqual(t, { metadata: { name: 'p1', namespace: 'default', uid: 'u1', resourceVersion: undefined }, spec: { nodeName: 'n1', tolerations: [{ key: 'k', operator: 'Exists' }], containers: [] }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
  });

  it('is applied by MemoryInformer to what it stores', () => {
    const inf = new MemoryInformer<V1Pod>([pod(1)], podCacheTransform);
    inf.upsert(pod(2));
    assert.equal(inf.get('p2', 'default')!.spec!.containers.length, 0);
    assert.equal(inf.get('p1', 'default')!.metadata!.labels, undefined);
  });
});

describe('nodeCacheTransform', () => {
  const full: V1Node = {
    metadata: { name: 'n1', uid: 'u', resourceVersion: '7', creationTimestamp: new Date(0), labels: { 'topology.kubernetes.io/zone': 'a' }, annotations: { big: 'x'.repeat(100) } },
    spec: { podCIDR: '10.0.0.0/24', taints: [{ key: 'k', effect: 'NoSchedule' }], unschedulable: true },
    status: { conditions: [{ type: 'Ready', status: 'True' }], images: [{ names: ['a'], sizeBytes: 1 }], addresses: [{ type: 'InternalIP', address: '10.0.0.1' }], capacity: { cpu: '4' } },
  };

  it('keeps what the node controllers read (name, uid, labels, times, taints, unschedulable, conditions) and nothing else', () => {
    assert.deepEqual(nodeCacheTransform(full), {
      metadata: { name: 'n1', uid: 'u', resourceVersion: '7', creationTimestamp: new Date(0), labels: { 'topology.kubernetes.io/zone': 'a' } },
      spec: { taints: [{ key: 'k', effect: 'NoSchedule' }], unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  });

  it('a node without taints, conditions or labels stays without them', () => {
    assert.deepEqual(nodeCacheTransform({ metadata: { name: 'bare' } }), { metadata: { name: 'bare', uid: undefined, resourceVersion: undefined, creationTimestamp: undefined }, spec: {}, status: {} });
  });
});

describe('podCacheTransform: what is dropped and shared', () => {
  const withExtras = (i: number): V1Pod => {
    const p = pod(i);
    return {
      ...p,
      metadata: { ...p.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'r' }] },
      spec: { ...p.spec!, tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] },
      status: { phase: 'Running', conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready', 'DisruptionTarget'].map((type) => ({ type, status: 'True' })) },
    };
  };

  it('keeps only the Ready and DisruptionTarget conditions and no owners', () => {
    const t = podCacheTransform(withExtras(1));
    assert.deepEqual(t.status?.conditions?.map((c) => c.type), ['Ready', 'DisruptionTarget']);
    assert.equal(t.metadata?.ownerReferences, undefined);
  });

  it('pods with equal tolerations share one array; different ones do not', () => {
    const a = podCacheTransform(withExtras(1));
    const b = podCacheTransform(withExtras(2));
    assert.equal(a.spec?.tolerations, b.spec?.tolerations);
    const c = podCacheTransform({ ...withExtras(3), spec: { ...withExtras(3).spec!, tolerations: [{ key: 'other', operator: 'Exists' }] } });
    assert.notEqual(c.spec?.tolerations, a.spec?.tolerations);
    assert.deepEqual(c.spec?.tolerations, [{ key: 'other', operator: 'Exists' }]);
  });
});

describe('Interner', () => {
  it('returns the first of equal values, and starts over past its bound', () => {
    const i = new Interner<{ k: number }>(2);
    const first = { k: 1 };
    assert.equal(i.intern(first), first);
    assert.equal(i.intern({ k: 1 }), first);
    i.intern({ k: 2 });
    i.intern({ k: 3 }); // the table was full: cleared, then holds {k:3}
    const again = { k: 1 };
    assert.equal(i.intern(again), again, 'forgotten after the reset');
  });
});
