import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { FakeClock, flushMicrotasks, RealClock } from '../../util/clock.js';
import { ApiserverSource, nodePodListWatcher, type PodListWatcher } from './apiserver.js';

// ---------- unit tests: a fake list/watch and the fake clock ----------

interface FakeWatch {
  rv: string;
  onEvent: (type: string, obj: unknown) => void;
  onDone: (err: unknown) => void;
  aborted: boolean;
}

class FakeLW implements PodListWatcher {
  items: V1Pod[] = [];
  rv = '10';
  lists: string[] = [];
  watches: FakeWatch[] = [];
  failLists = 0;

  list(resourceVersion: string): Promise<{ items: V1Pod[]; resourceVersion: string }> {
    this.lists.push(resourceVersion);
    if (this.failLists > 0) {
      this.failLists--;
      return Promise.reject(new Error('connect ECONNREFUSED'));
    }
    return Promise.resolve({ items: structuredClone(this.items), resourceVersion: this.rv });
  }

  watch(rv: string, _t: number, onEvent: (type: string, obj: unknown) => void, onDone: (err: unknown) => void): Promise<{ abort(): void }> {
    const w: FakeWatch = { rv, onEvent, onDone, aborted: false };
    this.watches.push(w);
    return Promise.resolve({ abort: () => (w.aborted = true) });
  }

  get current(): FakeWatch {
    const w = this.watches.at(-1);
    assert.ok(w, 'a watch is open');
    return w;
  }
}

const raw = (name: string, rv: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv, creationTimestamp: '2026-01-01T00:00:00Z', ...extra },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
});

function setup(lw: FakeLW): { clock: FakeClock; sets: V1Pod[][]; mirrors: V1Pod[][]; src: ApiserverSource } {
  const clock = new FakeClock();
  const sets: V1Pod[][] = [];
  const mirrors: V1Pod[][] = [];
  const src = new ApiserverSource({ clock, listWatcher: lw, onSet: (p) => sets.push(p), onMirrorPods: (p) => mirrors.push(p), random: () => 0 });
  return { clock, sets, mirrors, src };
}

const names = (pods: V1Pod[] | undefined): string[] => (pods ?? []).map((p) => p.metadata!.name!);

describe('ApiserverSource (fake list/watch)', () => {
  it('sends the first set at once, then coalesces bursts to one send per 100 ms', async () => {
    const lw = new FakeLW();
    const { clock, sets, src } = setup(lw);
    src.start();
    await flushMicrotasks();
    assert.deepEqual(sets.map(names), [[]], 'the empty first set says the source is ready');
    assert.equal(src.hasSynced(), true);
    assert.deepEqual(lw.lists, ['0']);
    assert.equal(lw.current.rv, '10');

    await clock.advance(100);
    lw.current.onEvent('ADDED', raw('a', '11')); // after a quiet period: sent at once
    assert.deepEqual(sets.map(names), [[], ['a']]);
    assert.ok(sets[1]![0]!.metadata!.creationTimestamp instanceof Date, 'watch objects are decoded');
    lw.current.onEvent('ADDED', raw('b', '12'));
    lw.current.onEvent('MODIFIED', raw('a', '13', { labels: { x: 'y' } }));
    lw.current.onEvent('ADDED', raw('c', '14'));
    assert.equal(sets.length, 2, 'nothing more within 100 ms');
    await clock.advance(99);
    assert.equal(sets.length, 2);
    await clock.advance(1);
    assert.deepEqual(sets.map(names), [[], ['a'], ['a', 'b', 'c']]);
    assert.deepEqual(sets[2]![0]!.metadata!.labels, { x: 'y' });
    lw.current.onEvent('DELETED', raw('b', '15'));
    await clock.advance(100);
    assert.deepEqual(names(sets.at(-1)), ['a', 'c']);
    assert.equal(sets.length, 4);
    await src.stop();
  });

  it('relists after a 410 ERROR event; an unchanged relist sends nothing; a clean close re-watches from the last version', async () => {
    const lw = new FakeLW();
    lw.items = [raw('a', '5') as V1Pod];
    const { clock, sets, src } = setup(lw);
    src.start();
    await flushMicrotasks();
    assert.deepEqual(sets.map(names), [['a']]);
    lw.current.onEvent('BOOKMARK', { metadata: { resourceVersion: '20' } });
    lw.current.onDone(null);
    await flushMicrotasks();
    assert.equal(lw.watches.length, 2);
    assert.equal(lw.current.rv, '20', 'watched again from the bookmark');
    assert.deepEqual(lw.lists, ['0'], 'no relist after a clean close');

    lw.current.onEvent('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 20 (30)' });
    await flushMicrotasks();
    assert.deepEqual(lw.lists, ['0', ''], 'relisted at once, from the latest');
    assert.equal(lw.watches[1]!.aborted, true);
    await clock.advance(1000);
    assert.equal(sets.length, 1, 'the same set is not sent again');
    await src.stop();
  });

  it('backs off after a broken watch and failed lists, then relists', async () => {
    const lw = new FakeLW();
    lw.items = [raw('a', '5') as V1Pod];
    const { clock, sets, src } = setup(lw);
    src.start();
    await flushMicrotasks();
    lw.failLists = 2;
    lw.current.onDone(new Error('socket hang up'));
    await flushMicrotasks();
    assert.equal(lw.lists.length, 1, 'waits before relisting');
    await clock.advance(799);
    assert.equal(lw.lists.length, 1);
    await clock.advance(1);
    assert.equal(lw.lists.length, 2, 'first retry after 800 ms (fails)');
    await clock.advance(1599);
    assert.equal(lw.lists.length, 2);
    await clock.advance(1);
    assert.equal(lw.lists.length, 3, 'then after 1.6 s (fails)');
    lw.items.push(raw('b', '30') as V1Pod);
    await clock.advance(3200);
    assert.equal(lw.lists.length, 4);
    assert.deepEqual(names(sets.at(-1)), ['a', 'b']);
    assert.equal(lw.watches.length, 2);
    await src.stop();
    assert.equal(lw.current.aborted, true, 'stop aborts the watch');
  });

  it('keeps mirror pods out of the set and reports them separately', async () => {
    const lw = new FakeLW();
    lw.items = [raw('a', '5') as V1Pod, raw('s-n1', '6', { annotations: { 'kubernetes.io/config.mirror': 'h' } }) as V1Pod];
    const { sets, mirrors, src } = setup(lw);
    src.start();
    await flushMicrotasks();
    assert.deepEqual(sets.map(names), [['a']]);
    assert.deepEqual(mirrors.map(names), [['s-n1']]);
    assert.equal(src.getPod('uid-s-n1')?.metadata?.name, 's-n1');
    await src.stop();
  });
});

// ---------- against the test API server ----------

const real = new RealClock();

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = real.now() + ms;
  while (!cond()) {
    if (real.now() > end) throw new Error(`timed out waiting for ${what}`);
    await real.sleep(5);
  }
}

const pod = (name: string, nodeName: string): V1Pod => ({ metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.36' }] } });

describe('ApiserverSource against the test API server', () => {
  it('sends the node pods only, with updates, graceful and final deletes, through closed watches, 410 and downtime, without duplicates', async () => {
    const s: TestApiServer = await startTestApiServer();
    const sets: V1Pod[][] = [];
    const src = new ApiserverSource({
      clock: real,
      listWatcher: nodePodListWatcher(s.kubeconfig({ node: 'n1' }), 'n1'),
      onSet: (p) => sets.push(p),
      coalesceMs: 20,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
    });
    const last = (): V1Pod[] => sets.at(-1) ?? [];
    const has = (name: string): boolean => last().some((p) => p.metadata?.name === name);
    try {
      const admin = s.kubeconfig().makeApiClient(CoreV1Api);
      const p1 = await admin.createNamespacedPod({ namespace: 'default', body: pod('p1', 'n1') });
      await admin.createNamespacedPod({ namespace: 'default', body: pod('other', 'n2') });
      src.start();
      await waitFor(() => sets.length > 0, 'first set');
      assert.deepEqual(names(last()), ['p1']);
      assert.equal(last()[0]!.metadata!.uid, p1.metadata!.uid, 'API UIDs are kept');

      await admin.createNamespacedPod({ namespace: 'default', body: pod('p2', 'n1') });
      await waitFor(() => has('p2'), 'p2 added');
      await admin.deleteNamespacedPod({ name: 'p1', namespace: 'default' });
      await waitFor(() => last().some((p) => p.metadata?.name === 'p1' && p.metadata.deletionTimestamp instanceof Date), 'p1 being deleted');
      await admin.deleteNamespacedPod({ name: 'p1', namespace: 'default', body: { gracePeriodSeconds: 0, preconditions: { uid: p1.metadata!.uid! } } });
      await waitFor(() => !has('p1'), 'p1 gone');

      s.faults.closeWatches();
      await admin.createNamespacedPod({ namespace: 'default', body: pod('p3', 'n1') });
      await waitFor(() => has('p3'), 'p3 after a closed watch');

      const lists = src.stats.lists;
      // a write the node's watch does not see, then a compaction: the node's version is too old
      await admin.createNamespacedPod({ namespace: 'default', body: pod('other2', 'n2') });
      s.store.compact();
      s.faults.closeWatches();
      await admin.createNamespacedPod({ namespace: 'default', body: pod('p4', 'n1') });
      await waitFor(() => has('p4'), 'p4 after 410');
      assert.ok(src.stats.lists > lists, 'relisted after 410');

      await s.faults.down(300);
      await admin.createNamespacedPod({ namespace: 'default', body: pod('p5', 'n1') }).catch(() => undefined);
      await real.sleep(350);
      await admin.createNamespacedPod({ namespace: 'default', body: pod('p6', 'n1') });
      await waitFor(() => has('p6'), 'p6 after downtime');
      assert.deepEqual(names(last()), ['p2', 'p3', 'p4', 'p6']);

      for (const set of sets) {
        const uids = set.map((p) => p.metadata!.uid);
        assert.equal(new Set(uids).size, uids.length, 'no duplicate pods in a set');
        assert.ok(set.every((p) => p.spec?.nodeName === 'n1'), 'only pods bound to n1');
      }
      const keys = sets.map((set) => set.map((p) => `${p.metadata!.uid}@${p.metadata!.resourceVersion}`).join(','));
      assert.ok(keys.every((k, i) => i === 0 || k !== keys[i - 1]), 'no set sent twice in a row');
    } finally {
      await src.stop();
      await s.close();
    }
  });
});
