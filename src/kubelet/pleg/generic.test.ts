import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, flushMicrotasks } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { newRegistry, type Registry } from '../../util/metrics.js';
import type { PodStatusProvider } from '../container/runtime.js';
import type { RuntimeContainerState, RuntimePod, RuntimePodStatus } from '../container/types.js';
import { PodStatusCache, emptyPodStatus } from './cache.js';
import { GenericPLEG, generateEvents, type PlegContainerState } from './generic.js';
import type { PodLifecycleEvent } from './types.js';

const T0 = Date.UTC(2026, 0, 1);

type C = [id: string, state: RuntimeContainerState];
type S = [id: string, state: 'ready' | 'notready'];

function pod(uid: string, containers: C[], sandboxes: S[] = []): RuntimePod {
  return {
    uid,
    name: 'pod-' + uid,
    namespace: 'default',
    containers: containers.map(([id, state]) => ({ id, name: 'ctr-' + id, image: 'busybox', imageRef: 'sha256:1', hash: 'h', state, createdAt: 0, podSandboxId: sandboxes[0]?.[0] ?? '' })),
    sandboxes: sandboxes.map(([id, state], i) => ({ id, state, createdAt: 0, attempt: i })),
  };
}

/** A runtime whose pods a test changes between relists. */
class FakeProvider implements PodStatusProvider {
  pods: RuntimePod[] = [];
  ips = new Map<string, string[]>();
  getPodsError: Error | undefined;
  getPodsDelayMs = 0;
  statusErrors = new Map<string, Error>();
  getPodsCalls = 0;
  statusCalls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly clock: FakeClock) {}

  async getPods(all: boolean): Promise<RuntimePod[]> {
    assert.equal(all, true);
    this.getPodsCalls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.getPodsDelayMs) await this.clock.sleep(this.getPodsDelayMs);
      if (this.getPodsError) throw this.getPodsError;
      return structuredClone(this.pods);
    } finally {
      this.inFlight--;
    }
  }

  async getPodStatus(uid: string, name: string, namespace: string): Promise<RuntimePodStatus> {
    this.statusCalls.push(uid);
    const err = this.statusErrors.get(uid);
    if (err) throw err;
    const p = this.pods.find((x) => x.uid === uid);
    return {
      uid,
      name,
      namespace,
      ips: this.ips.get(uid) ?? [],
      sandboxStatuses: (p?.sandboxes ?? []).map((s) => ({ id: s.id, state: s.state, createdAt: 0, attempt: s.attempt, ip: '', additionalIps: [], hostNetwork: false })),
      containerStatuses: (p?.containers ?? []).map((c) => ({
        id: c.id,
        name: c.name,
        state: c.state,
        createdAt: 0,
        startedAt: 0,
        finishedAt: 0,
        exitCode: c.state === 'exited' ? 3 : 0,
        image: c.image,
        imageRef: c.imageRef,
        hash: c.hash,
        restartCount: 0,
        reason: '',
        message: '',
        podSandboxId: c.podSandboxId,
        logPath: '',
      })),
      timestamp: this.clock.now(),
    };
  }
}

function setup(opts: { relistPeriodMs?: number; registry?: Registry } = {}) {
  const clock = new FakeClock(T0);
  const provider = new FakeProvider(clock);
  const cache = new PodStatusCache();
  const logger = new MemoryLogger();
  const registry = opts.registry ?? newRegistry();
  const pleg = new GenericPLEG({ provider, cache, clock, logger, registry, ...(opts.relistPeriodMs ? { relistPeriodMs: opts.relistPeriodMs } : {}) });
  const events: PodLifecycleEvent[] = [];
  pleg.watch((e) => events.push(e));
  return { clock, provider, cache, logger, registry, pleg, events };
}

const ev = (type: PodLifecycleEvent['type'], data: string, podUid = 'u1'): PodLifecycleEvent => ({ podUid, type, data });

describe('generateEvents (upstream table)', () => {
  it('maps every old -> new state pair', () => {
    const states: PlegContainerState[] = ['running', 'exited', 'unknown', 'non-existent'];
    const want: Record<PlegContainerState, Record<PlegContainerState, string[]>> = {
      running: { running: [], exited: ['ContainerDied'], unknown: ['ContainerChanged'], 'non-existent': ['ContainerDied', 'ContainerRemoved'] },
      exited: { running: ['ContainerStarted'], exited: [], unknown: ['ContainerChanged'], 'non-existent': ['ContainerRemoved'] },
      unknown: { running: ['ContainerStarted'], exited: ['ContainerDied'], unknown: [], 'non-existent': ['ContainerDied', 'ContainerRemoved'] },
      'non-existent': { running: ['ContainerStarted'], exited: ['ContainerDied'], unknown: ['ContainerChanged'], 'non-existent': [] },
    };
    for (const from of states) {
      for (const to of states) {
        const got = generateEvents('p', 'c', from, to);
        assert.deepEqual(got.map((e) => e.type), want[from][to], `${from} -> ${to}`);
        for (const e of got) assert.deepEqual([e.podUid, e.data], ['p', 'c']);
      }
    }
  });
});

describe('GenericPLEG relist', () => {
  it('turns container and sandbox transitions into events', async () => {
    const cases: { name: string; before: RuntimePod[]; after: RuntimePod[]; want: PodLifecycleEvent[]; reinspected: boolean }[] = [
      { name: 'created -> running', before: [pod('u1', [['c1', 'created']], [['s1', 'ready']])], after: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], want: [ev('ContainerStarted', 'c1')], reinspected: true },
      { name: 'running -> exited', before: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], after: [pod('u1', [['c1', 'exited']], [['s1', 'ready']])], want: [ev('ContainerDied', 'c1')], reinspected: true },
      { name: 'running -> gone', before: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], after: [pod('u1', [], [['s1', 'ready']])], want: [ev('ContainerDied', 'c1'), ev('ContainerRemoved', 'c1')], reinspected: true },
      { name: 'exited -> gone', before: [pod('u1', [['c1', 'exited']], [['s1', 'ready']])], after: [pod('u1', [], [['s1', 'ready']])], want: [ev('ContainerRemoved', 'c1')], reinspected: true },
      { name: 'new exited container', before: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], after: [pod('u1', [['c1', 'running'], ['c2', 'exited']], [['s1', 'ready']])], want: [ev('ContainerDied', 'c2')], reinspected: true },
      { name: 'sandbox ready -> notready', before: [pod('u1', [['c1', 'exited']], [['s1', 'ready']])], after: [pod('u1', [['c1', 'exited']], [['s1', 'notready']])], want: [ev('ContainerDied', 's1')], reinspected: true },
      { name: 'running -> unknown: re-read, ContainerChanged not emitted', before: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], after: [pod('u1', [['c1', 'unknown']], [['s1', 'ready']])], want: [], reinspected: true },
      { name: 'unknown -> exited', before: [pod('u1', [['c1', 'unknown']], [['s1', 'ready']])], after: [pod('u1', [['c1', 'exited']], [['s1', 'ready']])], want: [ev('ContainerDied', 'c1')], reinspected: true },
      { name: 'new pod: containers first, then sandboxes', before: [], after: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], want: [ev('ContainerStarted', 'c1'), ev('ContainerStarted', 's1')], reinspected: true },
      {
        name: 'pod vanished entirely',
        before: [pod('u1', [['c1', 'running'], ['c0', 'exited']], [['s1', 'ready']])],
        after: [],
        want: [ev('ContainerDied', 'c1'), ev('ContainerRemoved', 'c1'), ev('ContainerRemoved', 'c0'), ev('ContainerDied', 's1'), ev('ContainerRemoved', 's1')],
        reinspected: false,
      },
      { name: 'nothing changed', before: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], after: [pod('u1', [['c1', 'running']], [['s1', 'ready']])], want: [], reinspected: false },
      {
        name: 'only the changed pod',
        before: [pod('u1', [['c1', 'running']], [['s1', 'ready']]), pod('u2', [['d1', 'running']], [['t1', 'ready']])],
        after: [pod('u1', [['c1', 'running']], [['s1', 'ready']]), pod('u2', [['d1', 'exited']], [['t1', 'ready']])],
        want: [ev('ContainerDied', 'd1', 'u2')],
        reinspected: false,
      },
    ];
    for (const tc of cases) {
      const { clock, provider, pleg, events } = setup();
      provider.pods = tc.before;
      await pleg.relist();
      events.length = 0;
      provider.statusCalls = [];
      await clock.advance(1000);
      provider.pods = tc.after;
      await pleg.relist();
      assert.deepEqual(events, tc.want, tc.name);
      assert.equal(provider.statusCalls.includes('u1'), tc.reinspected, `${tc.name}: getPodStatus(u1)`);
    }
  });

  it('caches statuses at the relist start time, and getNewerThan waits for a relist past the asked time', async () => {
    const { clock, provider, cache, pleg } = setup();
    provider.getPodsDelayMs = 300; // the listing takes 300 ms of clock time
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']])];
    const relistStart = clock.now();
    const r1 = pleg.relist();
    await clock.advance(300);
    await r1;
    assert.equal(cache.get('u1').containerStatuses[0]!.state, 'running');
    assert.equal(cache.timestamp(), relistStart);
    // The entry's time is the relist start, not when the status was read (T0 + 300).
    assert.equal((await cache.getNewerThan('u1', relistStart - 1)).uid, 'u1');

    // A worker that synced at T0 + 500 waits for a relist started after that.
    const workerSync = relistStart + 500;
    const got: { u1?: RuntimePodStatus; absent?: RuntimePodStatus } = {};
    void cache.getNewerThan('u1', workerSync).then((s) => (got.u1 = s));
    void cache.getNewerThan('u-absent', workerSync).then((s) => (got.absent = s));
    await flushMicrotasks();
    assert.equal(got.u1 === undefined, true);
    await clock.advance(200); // now T0 + 500: a relist starting now is not newer than the sync
    const r2 = pleg.relist();
    await clock.advance(300);
    await r2;
    assert.equal(got.u1 === undefined, true, 'relist started at exactly the sync time');
    await clock.advance(100);
    provider.pods = [pod('u1', [['c1', 'exited']], [['s1', 'ready']])];
    const r3 = pleg.relist();
    await clock.advance(300);
    await r3;
    assert.equal(got.u1?.containerStatuses[0]!.state, 'exited');
    assert.deepEqual(got.absent, emptyPodStatus('u-absent', relistStart + 900));
    assert.equal(cache.pendingWaiters(), 0);
  });

  it('emits events only after the cache holds the new status and the new global timestamp', async () => {
    const { clock, provider, cache, pleg } = setup();
    provider.pods = [pod('u1', [['c1', 'created']], [['s1', 'ready']])];
    await pleg.relist();
    await clock.advance(1000);
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']])];
    const seen: { state?: string; ts?: number }[] = [];
    pleg.watch(() => seen.push({ state: cache.get('u1').containerStatuses[0]!.state, ts: cache.timestamp() }));
    await pleg.relist();
    assert.deepEqual(seen, [{ state: 'running', ts: clock.now() }]);
  });

  it('a pod that vanished gets an empty status (with its name) at the relist time', async () => {
    const { clock, provider, cache, pleg, events } = setup();
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']])];
    await pleg.relist();
    await clock.advance(1000);
    provider.pods = [];
    await pleg.relist();
    assert.deepEqual(cache.get('u1'), emptyPodStatus('u1', clock.now(), 'pod-u1', 'default'));
    // The record is gone: a later relist says nothing more.
    events.length = 0;
    await clock.advance(1000);
    await pleg.relist();
    assert.deepEqual(events, []);
  });

  it('re-inspects a pod whose status could not be read, and holds back its events until it can', async () => {
    const { clock, provider, cache, pleg, events, logger } = setup();
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']]), pod('u2', [['d1', 'running']], [['t1', 'ready']])];
    await pleg.relist();
    events.length = 0;

    // c1 dies, but its status cannot be read; u2 changes fine in the same relist.
    await clock.advance(1000);
    provider.pods = [pod('u1', [['c1', 'exited']], [['s1', 'ready']]), pod('u2', [['d1', 'exited']], [['t1', 'ready']])];
    provider.statusErrors.set('u1', new Error('ContainerStatus: deadline exceeded'));
    await pleg.relist();
    assert.deepEqual(events, [ev('ContainerDied', 'd1', 'u2')]);
    assert.throws(() => cache.get('u1'), /deadline exceeded/, 'the error is cached, as upstream');
    assert.ok(logger.find((r) => r.level === 'error' && r.msg === 'PLEG: Write status' && r.fields.podUid === 'u1'));

    // Still failing: still no event, still retried.
    provider.statusCalls = [];
    await clock.advance(1000);
    await pleg.relist();
    assert.deepEqual(provider.statusCalls, ['u1']);
    assert.equal(events.length, 1);

    // Readable again: the held-back event goes out with the status.
    provider.statusErrors.clear();
    await clock.advance(1000);
    await pleg.relist();
    assert.deepEqual(events.slice(1), [ev('ContainerDied', 'c1')]);
    assert.equal(cache.get('u1').containerStatuses[0]!.exitCode, 3);

    // Done: no more re-inspection.
    provider.statusCalls = [];
    await clock.advance(1000);
    await pleg.relist();
    assert.deepEqual(provider.statusCalls, []);
  });

  it('re-inspects a failed pod even when its containers went back to the old states', async () => {
    const { clock, provider, cache, pleg, events } = setup();
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']])];
    await pleg.relist();
    await clock.advance(1000);
    provider.pods = [pod('u1', [['c1', 'unknown']], [['s1', 'ready']])];
    provider.statusErrors.set('u1', new Error('boom'));
    await pleg.relist();
    provider.statusErrors.clear();
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']])];
    provider.statusCalls = [];
    await clock.advance(1000);
    await pleg.relist();
    assert.deepEqual(provider.statusCalls, ['u1'], 'podsToReinspect, not an event, triggered the read');
    assert.equal(cache.get('u1').containerStatuses[0]!.state, 'running');
    assert.deepEqual(events, [ev('ContainerStarted', 'c1'), ev('ContainerStarted', 's1')], 'only the first relist\'s events');
  });

  it('keeps the pod IPs of a torn-down pod (upstream getPodIPs)', async () => {
    const { clock, provider, cache, pleg } = setup();
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']])];
    provider.ips.set('u1', ['10.88.0.7']);
    await pleg.relist();
    assert.deepEqual(cache.get('u1').ips, ['10.88.0.7']);
    await clock.advance(1000);
    provider.pods = [pod('u1', [['c1', 'exited']], [['s1', 'notready']])];
    provider.ips.set('u1', []);
    await pleg.relist();
    assert.deepEqual(cache.get('u1').ips, ['10.88.0.7']);
    // A new ready sandbox without an IP yet reports none.
    await clock.advance(1000);
    provider.pods = [pod('u1', [['c1', 'exited']], [['s2', 'ready'], ['s1', 'notready']])];
    await pleg.relist();
    assert.deepEqual(cache.get('u1').ips, []);
  });

  it('a failed listing keeps the old state and does not count as seen', async () => {
    const { clock, provider, cache, pleg, events, logger } = setup();
    provider.pods = [pod('u1', [['c1', 'running']], [['s1', 'ready']])];
    await pleg.relist();
    const firstSeen = pleg.lastRelistTime();
    events.length = 0;
    await clock.advance(1000);
    provider.pods = [pod('u1', [['c1', 'exited']], [['s1', 'ready']])];
    provider.getPodsError = new Error('ListContainers: unavailable');
    await pleg.relist();
    assert.deepEqual(events, []);
    assert.equal(pleg.lastRelistTime(), firstSeen);
    assert.equal(cache.timestamp(), firstSeen);
    assert.ok(logger.find((r) => r.msg === 'GenericPLEG: Unable to retrieve pods' && r.fields.err === 'ListContainers: unavailable'));
    provider.getPodsError = undefined;
    await clock.advance(1000);
    await pleg.relist();
    assert.deepEqual(events, [ev('ContainerDied', 'c1')], 'the change is found against the state before the failure');
  });

  it('unsubscribed watchers get nothing more', async () => {
    const { provider, pleg } = setup();
    const got: PodLifecycleEvent[] = [];
    const off = pleg.watch((e) => got.push(e));
    off();
    provider.pods = [pod('u1', [['c1', 'running']])];
    await pleg.relist();
    assert.deepEqual(got, []);
  });
});

describe('GenericPLEG loop', () => {
  it('relists at start, then every period after the previous relist, until stopped', async () => {
    const { clock, provider, pleg } = setup();
    pleg.start();
    pleg.start(); // idempotent
    await flushMicrotasks();
    assert.equal(provider.getPodsCalls, 1);
    await clock.advance(999);
    assert.equal(provider.getPodsCalls, 1);
    await clock.advance(1);
    assert.equal(provider.getPodsCalls, 2);
    await clock.advance(3000);
    assert.equal(provider.getPodsCalls, 5);
    await pleg.stop();
    await clock.advance(5000);
    assert.equal(provider.getPodsCalls, 5);
    assert.equal(clock.pendingTimers(), 0);
    pleg.start();
    await clock.advance(1000);
    assert.equal(provider.getPodsCalls, 7);
    await pleg.stop();
  });

  it('never overlaps relists when the listing is slow', async () => {
    const { clock, provider, pleg } = setup();
    provider.getPodsDelayMs = 5000;
    pleg.start();
    const manual = [pleg.relist(), pleg.relist()];
    await flushMicrotasks();
    assert.equal(provider.getPodsCalls, 1);
    await clock.advance(5000); // the first ends; a manual one starts
    assert.equal(provider.getPodsCalls, 2);
    // At 6 s the loop's timer fires; its relist queues behind the second manual one (10 s - 15 s).
    await clock.advance(10_000);
    await Promise.all(manual);
    assert.equal(provider.getPodsCalls, 4, 'the loop relist starts at 15 s, when the manual ones are done');
    // Then the loop alone: 5 s of listing + 1 s pause, starting at 21, 27, 33, 39, 45 s.
    await clock.advance(30_000);
    assert.equal(provider.getPodsCalls, 9);
    assert.equal(provider.maxInFlight, 1);
    await clock.advance(5000);
    await pleg.stop();
  });

  it('healthy() fails with upstream\'s message after 3 min without a successful relist, and recovers', async () => {
    const { clock, provider, pleg, registry } = setup();
    assert.deepEqual(pleg.healthy(), { ok: false, message: 'pleg has yet to be successful' });
    pleg.start();
    await flushMicrotasks();
    assert.deepEqual(pleg.healthy(), { ok: true, message: '' });
    const lastGood = clock.now();
    provider.getPodsError = new Error('runtime down');
    await clock.advance(180_000);
    assert.equal(pleg.healthy().ok, true, 'exactly at the threshold is still healthy');
    await clock.advance(500);
    assert.deepEqual(pleg.healthy(), { ok: false, message: 'pleg was last seen active 3m0.5s ago; threshold is 3m0s' });
    assert.match(await registry.metrics(), new RegExp(`kubelet_pleg_last_seen_seconds ${Math.floor(lastGood / 1000)}\\n`));
    provider.getPodsError = undefined;
    await clock.advance(1000);
    assert.deepEqual(pleg.healthy(), { ok: true, message: '' });
    await pleg.stop();
  });
});

describe('GenericPLEG metrics', () => {
  it('records relist duration and interval on the clock, last seen, and discarded events', async () => {
    const registry = newRegistry();
    const { clock, provider, pleg } = setup({ registry });
    // A second PLEG on the same registry shares the metrics instead of clashing.
    const other = setup({ registry });
    assert.ok(other.pleg);
    provider.getPodsDelayMs = 200;
    provider.pods = [pod('u1', [['c1', 'running'], ['c2', 'exited']], [['s1', 'ready']])];
    pleg.watch(() => {
      throw new Error('watcher bug');
    });
    pleg.start();
    await clock.advance(200 + 1000 + 200);
    await pleg.stop();
    const text = await registry.metrics();
    for (const [name, type] of [
      ['kubelet_pleg_relist_duration_seconds', 'histogram'],
      ['kubelet_pleg_relist_interval_seconds', 'histogram'],
      ['kubelet_pleg_last_seen_seconds', 'gauge'],
      ['kubelet_pleg_discard_events', 'counter'],
      ['kubelet_running_pods', 'gauge'],
      ['kubelet_running_containers', 'gauge'],
    ]) {
      assert.ok(text.includes(`# TYPE ${name} ${type}\n`), `${name} ${type}`);
    }
    assert.match(text, /kubelet_pleg_relist_duration_seconds_count 2\n/);
    assert.match(text, /kubelet_pleg_relist_duration_seconds_sum 0\.4\n/);
    assert.match(text, /kubelet_pleg_relist_interval_seconds_count 1\n/);
    assert.match(text, /kubelet_pleg_relist_interval_seconds_sum 1\.2\n/);
    assert.match(text, new RegExp(`kubelet_pleg_last_seen_seconds ${Math.floor((T0 + 1200) / 1000)}\\n`));
    // Three events (c1 and s1 started, c2 died), each thrown on by one of the two watchers.
    assert.match(text, /kubelet_pleg_discard_events 3\n/);
    assert.match(text, /kubelet_running_pods 1\n/);
    assert.match(text, /kubelet_running_containers\{container_state="running"\} 1\n/);
    assert.match(text, /kubelet_running_containers\{container_state="exited"\} 1\n/);
  });
});
