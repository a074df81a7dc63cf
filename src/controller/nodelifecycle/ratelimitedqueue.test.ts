import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { nodeEvictionPeriodMs, RateLimitedTimedQueue, type ActionResult, type TimedValue } from './ratelimitedqueue.js';

/** Runs the tainting pass every `tickMs` for `ms`, as the controller's loop does; returns [name, ms since start] processed. */
async function drive(clock: FakeClock, q: RateLimitedTimedQueue, ms: number, fn?: (v: TimedValue) => ActionResult, tickMs = nodeEvictionPeriodMs, start = clock.now()) {
  const done: [string, number][] = [];
  const end = clock.now() + ms;
  for (;;) {
    await q.try((v) => {
      const r = fn ? fn(v) : { ok: true };
      if (r.ok) done.push([v.value, clock.now() - start]);
      return r;
    });
    if (clock.now() + tickMs > end) break;
    clock.step(tickMs);
  }
  return done;
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`);

describe('RateLimitedTimedQueue', () => {
  it('at 0.1 qps (burst 1) 10 nodes take 90 s: the first at once, then one every 10 s', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 0.1);
    for (const n of names(10)) assert.equal(q.add(n, `uid-${n}`), true);
    const done = await drive(clock, q, 200_000);
    assert.deepEqual(done.map(([, t]) => t), [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000]);
    assert.deepEqual(done.map(([n]) => n), names(10), 'in the order added');
    assert.equal(q.length, 0);
  });

  it('items carry the uid and times they were added with', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 1);
    q.add('a', 'uid-a');
    const seen: TimedValue[] = [];
    await q.try((v) => {
      seen.push(v);
      return { ok: true };
    });
    assert.deepEqual(seen, [{ value: 'a', uid: 'uid-a', addedAt: clock.now(), processAt: clock.now() }]);
  });

  it('swapped to 0.01 mid-way: the drained bucket stays drained, then one every 100 s', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const q = new RateLimitedTimedQueue(clock, 0.1);
    for (const n of names(5)) q.add(n);
    const first = await drive(clock, q, 25_000, undefined, 100, start);
    assert.deepEqual(first.map(([, t]) => t), [0, 10_000, 20_000]);
    q.swapLimiter(0.01);
    assert.equal(q.qps, 0.01);
    const rest = await drive(clock, q, 300_000, undefined, 100, start);
    assert.deepEqual(rest.map(([, t]) => t), [125_000, 225_000]);
  });

  it('a swap while the bucket holds a token keeps it: the next node goes at once', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 0.1);
    clock.step(60_000);
    q.swapLimiter(0.01);
    q.add('a');
    q.add('b');
    const done = await drive(clock, q, 150_000);
    assert.deepEqual(done.map(([, t]) => t), [0, 100_000]);
  });

  it('swapped to 0: nothing passes; back to 0.1: resumes 10 s later', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const q = new RateLimitedTimedQueue(clock, 0.1);
    for (const n of names(3)) q.add(n);
    assert.equal((await drive(clock, q, 5_000, undefined, 100, start)).length, 1);
    q.swapLimiter(0);
    assert.equal(q.qps, 0);
    assert.deepEqual(await drive(clock, q, 1_000_000, undefined, 100, start), []);
    assert.equal(q.length, 2);
    q.swapLimiter(0.1);
    const resumed = await drive(clock, q, 30_000, undefined, 100, start);
    assert.deepEqual(resumed.map(([, t]) => t - 1_005_000), [10_000, 20_000]);
  });

  it('a queue created at 0 does nothing; swapping to the same rate changes nothing', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 0);
    q.add('a');
    assert.deepEqual(await drive(clock, q, 60_000), []);
    const r = new RateLimitedTimedQueue(clock, 0.1);
    r.add('a');
    r.add('b');
    await drive(clock, r, 0);
    r.swapLimiter(0.1); // no new bucket: still drained
    assert.deepEqual((await drive(clock, r, 10_000)).map(([n]) => n), ['b']);
  });

  it('a name is queued once until removed; a processed name stays added until removed', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 10);
    assert.equal(q.add('a'), true);
    assert.equal(q.add('a'), false, 'queued already');
    await drive(clock, q, 0);
    assert.equal(q.length, 0);
    assert.equal(q.has('a'), true);
    assert.equal(q.add('a'), false, 'processed and not removed: not processed again');
    assert.equal(q.remove('a'), true);
    assert.equal(q.has('a'), false);
    assert.equal(q.add('a'), true, 'removed: can be queued again');
    assert.equal(q.remove('zzz'), false);
  });

  it('remove takes a waiting node out before it is processed', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 0.1);
    for (const n of names(3)) q.add(n);
    assert.equal(q.remove('node-1'), true);
    const done = await drive(clock, q, 60_000);
    assert.deepEqual(done, [['node-0', 0], ['node-2', 10_000]]);
  });

  it('a failed item is retried after retryAfterMs (50 ms) and does not hold up the others', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 1000);
    q.add('flaky');
    q.add('ok');
    const attempts: [string, number][] = [];
    let fails = 2;
    const start = clock.now();
    const done = await drive(
      clock,
      q,
      500,
      (v) => {
        attempts.push([v.value, clock.now() - start]);
        if (v.value === 'flaky' && fails-- > 0) return { ok: false, retryAfterMs: 50 };
        return { ok: true };
      },
      10,
    );
    assert.deepEqual(attempts, [['flaky', 0], ['ok', 10], ['flaky', 50], ['flaky', 100]]);
    assert.deepEqual(done, [['ok', 10], ['flaky', 100]]);
  });

  it('retried items are rate limited too (a token per attempt)', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 0.1);
    q.add('a');
    let n = 0;
    const attempts: number[] = [];
    const start = clock.now();
    await drive(clock, q, 35_000, () => {
      attempts.push(clock.now() - start);
      return { ok: ++n > 2, retryAfterMs: 50 };
    });
    assert.deepEqual(attempts, [0, 10_000, 20_000]);
  });

  it('an item removed while its action runs is not put back when the action fails', async () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 10);
    q.add('a');
    await q.try(async () => {
      await Promise.resolve();
      q.remove('a');
      return { ok: false, retryAfterMs: 50 };
    });
    assert.equal(q.length, 0);
    assert.equal(q.add('a'), true);
  });

  it('clear forgets everything', () => {
    const clock = new FakeClock();
    const q = new RateLimitedTimedQueue(clock, 0.1);
    q.add('a');
    q.add('b');
    q.clear();
    assert.equal(q.length, 0);
    assert.equal(q.add('a'), true);
    assert.deepEqual(q.items().map((v) => v.value), ['a']);
  });
});
