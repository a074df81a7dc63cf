import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesListObject, V1Pod } from '@kubernetes/client-node';
import { listAllPages, MemoryInformer, podCacheTransform } from './informers.js';

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
