// The cache-based object manager (cache_based_manager.go): registration by pods, the TTL on the
// fake clock, NotFound as a distinct result, stale data on transient errors, shared requests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { FakeClock } from './clock.js';
import { CachingObjectManager, ObjectNotFoundError, ttlFromNodeAnnotations } from './objectcache.js';

/** The names a test pod references: its envFrom configMapRefs. */
const podConfigMapNames = (pod: V1Pod): Set<string> => new Set((pod.spec?.containers ?? []).flatMap((c) => (c.envFrom ?? []).map((e) => e.configMapRef?.name ?? '')));

function podWith(name: string, cms: string[], uid = `uid-${name}`): V1Pod {
  return {
    metadata: { name, namespace: 'ns', uid },
    spec: { containers: [{ name: 'c', envFrom: cms.map((n) => ({ configMapRef: { name: n } })) }] },
  };
}

/** A fake API: objects by name with a resourceVersion; counts GETs; can fail. */
class FakeApi {
  objects = new Map<string, V1ConfigMap>();
  gets = 0;
  failWith: Error | undefined;
  pending: (() => void)[] = [];
  hold = false;
  put(name: string, value: string, rv: number): void {
    this.objects.set(name, { metadata: { name, namespace: 'ns', resourceVersion: String(rv) }, data: { v: value } });
  }
  fetch = async (namespace: string, name: string): Promise<V1ConfigMap> => {
    this.gets++;
    if (this.hold) await new Promise<void>((r) => this.pending.push(r));
    if (this.failWith) throw this.failWith;
    const o = this.objects.get(name);
    if (!o) throw new ObjectNotFoundError('configmap', namespace, name);
    return structuredClone(o);
  };
}

function setup(ttlMs?: number, getTTL?: () => number | undefined): { clock: FakeClock; api: FakeApi; m: CachingObjectManager<V1ConfigMap> } {
  const clock = new FakeClock();
  const api = new FakeApi();
  const m = new CachingObjectManager<V1ConfigMap>({ fetch: api.fetch, clock, referencedNames: podConfigMapNames, ...(ttlMs !== undefined ? { ttlMs } : {}), ...(getTTL ? { getTTL } : {}) });
  return { clock, api, m };
}

const value = async (m: CachingObjectManager<V1ConfigMap>, name: string): Promise<string | undefined> => (await m.get('ns', name)).data?.['v'];

describe('CachingObjectManager', () => {
  it('an object no registered pod references is refused without asking the API', async () => {
    const { api, m } = setup();
    await assert.rejects(m.get('ns', 'cfg'), { message: 'object "ns"/"cfg" not registered' });
    assert.equal(api.gets, 0);
  });

  it('serves from the cache for the TTL (default 1 m), then fetches again', async () => {
    const { clock, api, m } = setup();
    api.put('cfg', 'one', 1);
    m.registerPod(podWith('p', ['cfg']));
    assert.equal(await value(m, 'cfg'), 'one');
    api.put('cfg', 'two', 2);
    clock.step(59_999);
    assert.equal(await value(m, 'cfg'), 'one', 'fresh: served from the cache');
    assert.equal(api.gets, 1);
    clock.step(1);
    assert.equal(await value(m, 'cfg'), 'two', 'TTL over: fetched again');
    assert.equal(api.gets, 2);
  });

  it('the node annotation TTL wins over the default; ttlFromNodeAnnotations reads node.alpha.kubernetes.io/ttl', async () => {
    let ttl: number | undefined = 10_000;
    const { clock, api, m } = setup(undefined, () => ttl);
    api.put('cfg', 'one', 1);
    m.registerPod(podWith('p', ['cfg']));
    await value(m, 'cfg');
    clock.step(10_000);
    await value(m, 'cfg');
    assert.equal(api.gets, 2);
    ttl = undefined;
    clock.step(30_000);
    await value(m, 'cfg');
    assert.equal(api.gets, 2, 'back to the 1 m default');
    assert.equal(ttlFromNodeAnnotations({ 'node.alpha.kubernetes.io/ttl': '15' }), 15_000);
    assert.equal(ttlFromNodeAnnotations({ 'node.alpha.kubernetes.io/ttl': '-1' }), undefined);
    assert.equal(ttlFromNodeAnnotations(undefined), undefined);
  });

  it('registering a pod (again) forces a fetch on the next get', async () => {
    const { api, m } = setup();
    api.put('cfg', 'one', 1);
    const p = podWith('p', ['cfg']);
    m.registerPod(p);
    await value(m, 'cfg');
    api.put('cfg', 'two', 2);
    m.registerPod(p); // a pod update
    assert.equal(await value(m, 'cfg'), 'two');
    assert.equal(api.gets, 2);
  });

  it('entries live while some registered pod references them (reference counts across pods and updates)', async () => {
    const { m } = setup();
    const a = podWith('a', ['shared', 'only-a']);
    const b = podWith('b', ['shared']);
    m.registerPod(a);
    m.registerPod(b);
    assert.equal(m.size, 2);
    m.registerPod(podWith('a', ['shared', 'new-a'])); // update of a: only-a dropped, new-a added
    assert.ok(!m.isReferenced('ns', 'only-a'));
    assert.ok(m.isReferenced('ns', 'new-a'));
    m.unregisterPod(a);
    assert.ok(m.isReferenced('ns', 'shared'), 'b still references it');
    assert.ok(!m.isReferenced('ns', 'new-a'));
    m.unregisterPod(b);
    assert.equal(m.size, 0);
    await assert.rejects(m.get('ns', 'shared'), /not registered/);
    m.unregisterPod(b); // twice: no effect
    assert.equal(m.size, 0);
  });

  it('a 404 is ObjectNotFoundError ("configmap \\"x\\" not found"), and asked again on the next get', async () => {
    const { api, m } = setup();
    m.registerPod(podWith('p', ['cfg']));
    await assert.rejects(m.get('ns', 'cfg'), (e: unknown) => e instanceof ObjectNotFoundError && e.message === 'configmap "cfg" not found');
    api.put('cfg', 'now', 1);
    assert.equal(await value(m, 'cfg'), 'now', 'a cached NotFound does not wait for the TTL');
    assert.equal(api.gets, 2);
  });

  it('a transient error serves the object fetched before; with nothing cached, the error', async () => {
    const { clock, api, m } = setup();
    m.registerPod(podWith('p', ['cfg', 'never']));
    api.put('cfg', 'one', 1);
    await value(m, 'cfg');
    api.failWith = new Error('connection refused');
    clock.step(60_000);
    assert.equal(await value(m, 'cfg'), 'one', 'stale but available');
    await assert.rejects(m.get('ns', 'never'), { message: 'connection refused' });
  });

  it('an answer older than the cached object (resourceVersion) is ignored', async () => {
    const { clock, api, m } = setup();
    m.registerPod(podWith('p', ['cfg']));
    api.put('cfg', 'new', 7);
    await value(m, 'cfg');
    api.put('cfg', 'old', 5); // a lagging API server cache
    clock.step(60_000);
    assert.equal(await value(m, 'cfg'), 'new');
  });

  it('concurrent gets of one object share one request', async () => {
    const { api, m } = setup();
    m.registerPod(podWith('p', ['cfg']));
    api.put('cfg', 'one', 1);
    api.hold = true;
    const all = Promise.all([value(m, 'cfg'), value(m, 'cfg'), value(m, 'cfg')]);
    await new Promise((r) => setImmediate(r));
    assert.equal(api.gets, 1);
    for (const r of api.pending) r();
    assert.deepEqual(await all, ['one', 'one', 'one']);
  });
});
