// LeaderElector against the test API server (real HTTP), candidates on FakeClocks: the clocks are
// advanced in 100 ms steps with a short real pause for the HTTP round trips.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { newRegistry, type Registry } from '../../util/metrics.js';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { LeaderElector, type LeaderElectorOptions } from './leaderelection.js';
import type { LeaseObjectRef } from './leaselock.js';

interface LeaseSpecWire {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Candidate {
  el: LeaderElector;
  clock: FakeClock;
  registry: Registry;
  /** Signals given to onStartedLeading, in order. */
  signals: AbortSignal[];
  startedAt: number[];
  stoppedAt: number[];
  newLeaders: string[];
  events: { ref: LeaseObjectRef; type: string; reason: string; message: string }[];
  logger: MemoryLogger;
  done: Promise<void>;
}

describe('leader election with a Lease (against the test API server)', () => {
  let s: TestApiServer;
  const blocked = new Set<string>();
  const users = ['a', 'b', 'c'];
  /** Order of leadership changes across candidates: "a+" started, "a-" stopped. */
  let order: string[] = [];
  let leaseN = 0;

  before(async () => {
    s = await startTestApiServer({
      tls: false,
      tokens: Object.fromEntries(users.map((u) => [`tok-${u}`, { name: `cand-${u}` }])),
      authorize: (a) => !blocked.has(a.user.name),
    });
  });
  after(async () => {
    await s.close();
  });

  /** A fresh lease name per test, so the tests do not see each other. */
  function newLease(): string {
    order = [];
    blocked.clear();
    s.faults.clear();
    return `lock-${++leaseN}`;
  }

  function candidate(user: string, clock: FakeClock, leaseName: string, extra: Partial<LeaderElectorOptions> = {}): Candidate {
    const registry = newRegistry();
    const c: Candidate = {
      clock, registry, signals: [], startedAt: [], stoppedAt: [], newLeaders: [], events: [], logger: new MemoryLogger(),
    } as unknown as Candidate;
    c.el = new LeaderElector({
      kubeConfig: s.kubeconfig({ token: `tok-${user}` }),
      clock,
      identity: `host-${user}_${user}0000000-0000-4000-8000-000000000000`,
      leaseName,
      random: () => 0,
      registry,
      logger: c.logger,
      recorder: { event: (ref, type, reason, message) => c.events.push({ ref, type, reason, message }) },
      onStartedLeading: (signal) => {
        c.signals.push(signal);
        c.startedAt.push(clock.now());
        order.push(`${user}+`);
      },
      onStoppedLeading: () => {
        c.stoppedAt.push(clock.now());
        order.push(`${user}-`);
      },
      onNewLeader: (id) => c.newLeaders.push(id),
      ...extra,
    });
    c.done = c.el.run();
    return c;
  }

  const lease = (name: string): LeaseSpecWire | undefined => (s.get('leases', 'kube-system', name) as { spec?: LeaseSpecWire } | undefined)?.spec;

  /** Advances every clock 100 ms at a time (5 ms real each, for the HTTP) until check() holds; each step runs `every`. */
  async function until<T>(what: string, clocks: FakeClock[], check: () => T | undefined | false, maxMs = 60_000, every?: () => void): Promise<T> {
    for (let t = 0; t <= maxMs; t += 100) {
      every?.();
      const v = check();
      if (v) return v;
      for (const c of clocks) await c.advance(100);
      await pause(5);
    }
    throw new Error(`timed out (simulated ${maxMs} ms) waiting for ${what}`);
  }
  const during = (clocks: FakeClock[], ms: number, every?: () => void): Promise<boolean> => until('time to pass', clocks, () => false, ms, every).catch(() => true);

  async function masterStatus(c: Candidate): Promise<number | undefined> {
    const m = c.registry.getSingleMetric('leader_election_master_status');
    return (await m?.get())?.values[0]?.value;
  }

  it('one candidate acquires: creates the Lease as client-go writes it, renews it every retry period, records the events', async () => {
    const name = newLease();
    const clock = new FakeClock();
    const a = candidate('a', clock, name);
    assert.equal(await masterStatus(a), 0);
    await until('a leads', [clock], () => a.el.isLeader());
    const l = lease(name)!;
    assert.equal(l.holderIdentity, a.el.identity);
    assert.equal(l.leaseDurationSeconds, 15);
    assert.equal(l.leaseTransitions, 0);
    assert.match(l.acquireTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(Date.parse(l.renewTime!) >= Date.parse(l.acquireTime!), 'renewed at once after acquiring, as client-go');
    assert.equal(a.signals.length, 1);
    assert.equal(a.signals[0]!.aborted, false);
    assert.equal(await masterStatus(a), 1);
    assert.deepEqual(a.events.map((e) => [e.ref.kind, e.ref.apiVersion, e.ref.namespace, e.ref.name, e.type, e.reason, e.message]),
      [['Lease', 'coordination.k8s.io/v1', 'kube-system', name, 'Normal', 'LeaderElection', `${a.el.identity} became leader`]]);
    await pause(1);
    assert.deepEqual(a.newLeaders, [a.el.identity]);

    // renewals: renewTime moves every ~2 s, acquireTime and the transitions stay
    const renewals = new Set<string>();
    await during([clock], 10_000, () => renewals.add(lease(name)!.renewTime!));
    assert.ok(renewals.size >= 4 && renewals.size <= 6, `renewals in 10 s: ${renewals.size}`);
    assert.equal(lease(name)!.acquireTime, l.acquireTime);
    assert.equal(lease(name)!.leaseTransitions, 0);

    // stop without release: the callbacks run, the Lease keeps the holder
    await a.el.stop();
    await a.done;
    assert.equal(a.signals[0]!.aborted, true);
    assert.equal(a.el.isLeader(), false);
    assert.equal(a.stoppedAt.length, 1);
    assert.equal(await masterStatus(a), 0);
    assert.equal(lease(name)!.holderIdentity, a.el.identity);
    assert.equal(a.events.at(-1)!.message, `${a.el.identity} stopped leading`);
  });

  it('two candidates: exactly one leads; the Lease and the other candidate agree on who', async () => {
    const name = newLease();
    const clock = new FakeClock();
    const a = candidate('a', clock, name);
    const b = candidate('b', clock, name);
    let maxLeaders = 0;
    const count = (): void => {
      maxLeaders = Math.max(maxLeaders, [a, b].filter((c) => c.el.isLeader()).length);
    };
    const leader = await until('a leader', [clock], () => [a, b].find((c) => c.el.isLeader()), 10_000, count);
    const follower = leader === a ? b : a;
    await during([clock], 30_000, count);
    assert.equal(maxLeaders, 1);
    assert.equal(leader.el.isLeader(), true);
    assert.equal(follower.el.isLeader(), false);
    assert.equal(follower.signals.length, 0);
    assert.equal(lease(name)!.holderIdentity, leader.el.identity);
    assert.equal(follower.el.getLeader(), leader.el.identity);
    assert.deepEqual(follower.newLeaders, [leader.el.identity]);
    await Promise.all([a.el.stop(), b.el.stop()]);
    assert.deepEqual(follower.stoppedAt.length, 1, 'onStoppedLeading runs once per run, as client-go');
  });

  it('a leader that stops renewing is replaced after the lease duration as the other candidate observed it', async () => {
    const name = newLease();
    const clock = new FakeClock();
    const a = candidate('a', clock, name);
    await until('a leads', [clock], () => a.el.isLeader());
    const b = candidate('b', clock, name);
    await during([clock], 6_000);
    assert.equal(b.el.isLeader(), false);
    const before = lease(name)!;
    await a.el.stop(); // no release: the Lease still names a
    const t0 = clock.now();
    await until('b leads', [clock], () => b.el.isLeader(), 30_000);
    const took = clock.now() - t0;
    // a's last renewal was at most one retry period before the stop, and b saw it within its own retry
    // period: b takes over between 15 - 2 and 15 + 2 + 2 s after the stop
    assert.ok(took >= 13_000 && took <= 19_500, `b took over ${took} ms after a stopped`);
    const after = lease(name)!;
    assert.equal(after.holderIdentity, b.el.identity);
    assert.equal(after.leaseTransitions, (before.leaseTransitions ?? 0) + 1);
    assert.notEqual(after.acquireTime, before.acquireTime);
    assert.deepEqual(order, ['a+', 'a-', 'b+']);
    await b.el.stop();
  });

  it('a leader whose renewals fail for the renew deadline stops at once, before the lease could be taken', async () => {
    const name = newLease();
    const clock = new FakeClock();
    const a = candidate('a', clock, name);
    await until('a leads', [clock], () => a.el.isLeader());
    const b = candidate('b', clock, name);
    await during([clock], 5_000);
    blocked.add('cand-a'); // every request of a now gets 403
    const t0 = clock.now();
    await until('a loses', [clock], () => a.stoppedAt.length > 0, 20_000);
    const lostAfter = a.stoppedAt[0]! - t0;
    assert.ok(lostAfter >= 8_000 && lostAfter <= 12_500, `a lost leadership ${lostAfter} ms after its renewals began to fail`);
    assert.equal(a.signals[0]!.aborted, true, 'the leader\'s signal is aborted with the callback');
    assert.equal(a.el.isLeader(), false);
    assert.equal(b.el.isLeader(), false, 'nobody could take the lease yet');
    assert.ok(s.requests.some((r) => r.user === 'cand-a' && r.code === 403));
    await until('b leads', [clock], () => b.el.isLeader(), 20_000);
    assert.ok(b.startedAt[0]! - a.stoppedAt[0]! >= 1_000, 'b took over after a had stopped');
    assert.deepEqual(order, ['a+', 'a-', 'b+']);
    await a.done; // the run of a has ended by itself
    await b.el.stop();
  });

  it('keeps leadership through a few 409 conflicts (retried at the next period, slow path)', async () => {
    const name = newLease();
    const clock = new FakeClock();
    const a = candidate('a', clock, name);
    await until('a leads', [clock], () => a.el.isLeader());
    s.faults.conflictStorm(3);
    const rv = lease(name)!.renewTime;
    await until('a renewal after the conflicts', [clock], () => lease(name)!.renewTime !== rv && s.requests.filter((r) => r.code === 409).length >= 3, 10_000);
    await during([clock], 12_000);
    assert.equal(a.el.isLeader(), true);
    assert.equal(a.stoppedAt.length, 0);
    const slow = (await a.registry.getSingleMetric('leader_election_slowpath_total')?.get())?.values[0]?.value ?? 0;
    assert.ok(slow >= 1, 'renewed through the slow path (get + update)');
    assert.ok(a.logger.find((r) => r.msg === 'Failed to update lock optimistically, falling back to slow path'));
    await a.el.stop();
  });

  it('release on stop: an empty holder lets the other candidate acquire at its next try', async () => {
    const name = newLease();
    const clock = new FakeClock();
    let holderWhenWorkEnded: string | undefined;
    const a = candidate('a', clock, name, {
      releaseOnCancel: true,
      onStartedLeading: (signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => {
        holderWhenWorkEnded = lease(name)!.holderIdentity;
        resolve();
      })),
    });
    await until('a leads', [clock], () => a.el.isLeader());
    const b = candidate('b', clock, name);
    await during([clock], 4_000);
    await a.el.stop();
    assert.equal(holderWhenWorkEnded, a.el.identity, 'released only after the leader\'s work ended');
    const released = lease(name)!;
    assert.equal(released.holderIdentity, '');
    assert.equal(released.leaseDurationSeconds, 1);
    assert.equal(released.leaseTransitions, 0);
    const t0 = clock.now();
    await until('b leads', [clock], () => b.el.isLeader(), 10_000);
    assert.ok(clock.now() - t0 <= 2_500, `b took over ${clock.now() - t0} ms after the release`);
    assert.equal(lease(name)!.leaseTransitions, 1);
    await pause(1);
    assert.deepEqual(b.newLeaders, [a.el.identity, b.el.identity], 'the empty holder is taken in the same try, so not reported');
    await b.el.stop();
  });

  it('release on stop waits for the leader\'s work, and does not release when it does not end', async () => {
    const name = newLease();
    const clock = new FakeClock();
    const a = candidate('a', clock, name, { releaseOnCancel: true, onStartedLeading: () => new Promise<void>(() => undefined) });
    await until('a leads', [clock], () => a.el.isLeader());
    const stopped = a.el.stop();
    await until('the stop to end', [clock], () => a.stoppedAt.length > 0, 15_000);
    await stopped;
    assert.equal(lease(name)!.holderIdentity, a.el.identity);
    assert.ok(a.logger.find((r) => r.msg.startsWith('Not releasing the lease')));
  });

  for (const skewMs of [10 * 86_400_000, -10 * 86_400_000]) {
    it(`clock skew does not matter: a candidate ${skewMs > 0 ? 'ahead' : 'behind'} by 10 days waits while the leader renews, and takes over 15 s after it stops`, async () => {
      const name = newLease();
      const ca = new FakeClock();
      const cb = new FakeClock(ca.now() + skewMs);
      const a = candidate('a', ca, name);
      await until('a leads', [ca, cb], () => a.el.isLeader());
      const b = candidate('c', cb, name);
      await during([ca, cb], 40_000);
      assert.equal(b.el.isLeader(), false, 'the skewed candidate did not take a renewed lease');
      assert.equal(a.el.isLeader(), true);
      assert.equal(lease(name)!.holderIdentity, a.el.identity);
      await a.el.stop();
      const t0 = cb.now();
      await until('the skewed candidate leads', [ca, cb], () => b.el.isLeader(), 30_000);
      const took = cb.now() - t0;
      assert.ok(took >= 13_000 && took <= 19_500, `took over ${took} ms after the stop`);
      await b.el.stop();
    });
  }

  it('rejects timings client-go rejects', () => {
    const base = { kubeConfig: s.kubeconfig(), clock: new FakeClock(), onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000 }), /leaseDuration must be greater than renewDeadline/);
    assert.throws(() => new LeaderElector({ ...base, retryPeriodMs: 9_000 }), /renewDeadline must be greater than retryPeriod\*JitterFactor/);
    assert.throws(() => new LeaderElector({ ...base, identity: '' }), /Lock identity is empty/);
    assert.match(new LeaderElector(base).identity, /_/);
    assert.equal(new LeaderElector(base).describe(), 'kube-system/kube-controller-manager');
  });
});
