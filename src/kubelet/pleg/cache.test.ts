import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flushMicrotasks } from '../../util/clock.js';
import type { RuntimePodStatus } from '../container/types.js';
import { PodStatusCache, emptyPodStatus } from './cache.js';
import { track } from '../../util/testing.js';

const T = Date.UTC(2026, 0, 1);

function status(uid: string, timestamp: number, ips: string[] = []): RuntimePodStatus {
  return { ...emptyPodStatus(uid, timestamp, 'p-' + uid, 'default'), ips };
}


describe('PodStatusCache', () => {
  it('get returns the stored status, or an empty status for an unknown pod', () => {
    const c = new PodStatusCache();
    assert.deepEqual(c.get('a'), emptyPodStatus('a', 0));
    c.set('a', status('a', T), T);
    assert.equal(c.get('a').name, 'p-a');
    c.updateTime(T + 5);
    assert.deepEqual(c.get('b'), emptyPodStatus('b', T + 5));
    c.delete('a');
    assert.equal(c.get('a').name, '');
    assert.equal(c.timestamp(), T + 5);
  });

  it('getNewerThan: immediate answers follow the entry time and the global timestamp (strictly newer)', async () => {
    const cases: {
      name: string;
      entry?: number;
      global?: number;
      minTime: number;
      ready: boolean;
      expectName?: string;
    }[] = [
      { name: 'entry newer', entry: T + 1, minTime: T, ready: true, expectName: 'p-a' },
      { name: 'entry at exactly minTime', entry: T, minTime: T, ready: false },
      { name: 'entry older, no global', entry: T - 1, minTime: T, ready: false },
      { name: 'entry older, global newer', entry: T - 1, global: T + 1, minTime: T, ready: true, expectName: 'p-a' },
      { name: 'no entry, global newer: empty status', global: T + 1, minTime: T, ready: true, expectName: '' },
      { name: 'no entry, global at minTime', global: T, minTime: T, ready: false },
      { name: 'nothing yet (cache not ready)', minTime: 0, ready: false },
    ];
    for (const tc of cases) {
      const c = new PodStatusCache();
      if (tc.entry !== undefined) c.set('a', status('a', tc.entry), tc.entry);
      if (tc.global !== undefined) c.updateTime(tc.global);
      const r = track(c.getNewerThan('a', tc.minTime));
      await flushMicrotasks();
      assert.equal(r.settled, tc.ready, tc.name);
      if (tc.ready) assert.equal(r.value!.name, tc.expectName, tc.name);
      assert.equal(c.pendingWaiters(), tc.ready ? 0 : 1, tc.name);
    }
  });

  it('a waiter is woken by a set newer than its minTime, not by an older or equal one', async () => {
    const c = new PodStatusCache();
    const r = track(c.getNewerThan('a', T));
    c.set('a', status('a', T - 10), T - 10);
    c.set('a', status('a', T), T);
    await flushMicrotasks();
    assert.equal(r.settled, false);
    c.set('b', status('b', T + 1), T + 1);
    await flushMicrotasks();
    assert.equal(r.settled, false, 'another pod does not wake it');
    c.set('a', status('a', T + 1, ['10.0.0.1']), T + 1);
    await flushMicrotasks();
    assert.equal(r.settled, true);
    assert.deepEqual(r.value!.ips, ['10.0.0.1']);
    assert.equal(c.pendingWaiters(), 0);
  });

  it('updateTime past minTime wakes every waiter with its current entry or an empty status', async () => {
    const c = new PodStatusCache();
    c.set('a', status('a', T - 100), T - 100);
    const a = track(c.getNewerThan('a', T));
    const gone = track(c.getNewerThan('gone', T));
    const later = track(c.getNewerThan('a', T + 1000));
    c.updateTime(T);
    await flushMicrotasks();
    assert.equal(a.settled || gone.settled, false, 'a global timestamp equal to minTime is not newer');
    c.updateTime(T + 1);
    await flushMicrotasks();
    assert.equal(a.value!.name, 'p-a');
    assert.deepEqual(gone.value, emptyPodStatus('gone', T + 1));
    assert.equal(later.settled, false);
    assert.equal(c.pendingWaiters(), 1);
  });

  it('a stored error is thrown by get and rejects getNewerThan, immediately or when woken', async () => {
    const c = new PodStatusCache();
    const waiting = track(c.getNewerThan('a', T));
    const boom = new Error('runtime down');
    c.set('a', boom, T + 1);
    await flushMicrotasks();
    assert.equal(waiting.error, boom);
    assert.throws(() => c.get('a'), /runtime down/);
    await assert.rejects(c.getNewerThan('a', T), /runtime down/);
    assert.equal(c.getAll().length, 0);
    c.set('a', status('a', T + 2), T + 2);
    assert.equal((await c.getNewerThan('a', T + 1)).name, 'p-a');
    assert.equal(c.getAll().length, 1);
  });

  it('an aborted waiter rejects with the reason and is forgotten', async () => {
    const c = new PodStatusCache();
    const ac = new AbortController();
    const r = track(c.getNewerThan('a', T, ac.signal));
    assert.equal(c.pendingWaiters(), 1);
    ac.abort(new Error('pod worker stopped'));
    await flushMicrotasks();
    assert.match(String(r.error), /pod worker stopped/);
    assert.equal(c.pendingWaiters(), 0);
    await assert.rejects(c.getNewerThan('a', T, ac.signal), /pod worker stopped/);
    // Already satisfiable: an aborted signal does not matter.
    c.updateTime(T + 1);
    assert.equal((await c.getNewerThan('a', T, ac.signal)).uid, 'a');
  });
});
