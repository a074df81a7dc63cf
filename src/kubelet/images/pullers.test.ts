// Tests for the pull schedulers (serial / parallel with a cap) and the registry token bucket.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { TokenBucket } from '../../util/ratelimit.js';
import { track } from '../../util/testing.js';
import { newPullScheduler } from './pullers.js';

/** Runs n jobs of 1 s each through a scheduler; returns when each finished (ms after start) and the start order. */
async function runJobs(serialize: boolean, max: number | undefined, n: number): Promise<{ done: number[]; starts: number[] }> {
  const clock = new FakeClock();
  const t0 = clock.now();
  const s = newPullScheduler(serialize, max);
  const starts: number[] = [];
  const done: number[] = [];
  const jobs = Array.from({ length: n }, (_, i) =>
    s.run(async () => {
      starts.push(i);
      await clock.sleep(1000);
      done[i] = clock.now() - t0;
    }),
  );
  const all = track(Promise.all(jobs));
  for (let i = 0; i < n + 1 && !all.settled; i++) await clock.advance(1000);
  assert.ok(all.settled);
  return { done, starts };
}

describe('pull schedulers', () => {
  it('serialized: one at a time in FIFO order', async () => {
    const { done, starts } = await runJobs(true, 5, 3);
    assert.deepEqual(done, [1000, 2000, 3000]);
    assert.deepEqual(starts, [0, 1, 2]);
  });

  it('parallel without a cap (undefined or 0): all at once', async () => {
    assert.deepEqual((await runJobs(false, undefined, 4)).done, [1000, 1000, 1000, 1000]);
    assert.deepEqual((await runJobs(false, 0, 4)).done, [1000, 1000, 1000, 1000]);
  });

  it('parallel with maxParallelImagePulls 2: two at a time, the rest in FIFO order', async () => {
    const { done, starts } = await runJobs(false, 2, 5);
    assert.deepEqual(done, [1000, 1000, 2000, 2000, 3000]);
    assert.deepEqual(starts, [0, 1, 2, 3, 4]);
  });

  it('a failed job frees its slot and its error reaches its caller', async () => {
    const s = newPullScheduler(true);
    const a = track(s.run(() => Promise.reject(new Error('boom'))));
    const b = track(s.run(() => Promise.resolve('ok')));
    await new FakeClock().advance(0);
    assert.equal((a.error as Error).message, 'boom');
    assert.equal(b.value, 'ok');
    assert.deepEqual([s.active, s.waiting], [0, 0]);
  });

  it('reports active and waiting pulls', async () => {
    const clock = new FakeClock();
    const s = newPullScheduler(false, 2);
    for (let i = 0; i < 5; i++) void s.run(() => clock.sleep(1000));
    await clock.advance(0);
    assert.deepEqual([s.active, s.waiting, s.limit], [2, 3, 2]);
    await clock.advance(3000);
    assert.deepEqual([s.active, s.waiting], [0, 0]);
  });
});

describe('TokenBucket (registryPullQPS / registryBurst)', () => {
  it('starts with burst tokens, then refills at qps', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(clock, 5, 10);
    for (let i = 0; i < 10; i++) assert.ok(b.tryAccept(), `burst token ${i}`);
    assert.equal(b.tryAccept(), false);
    clock.step(199);
    assert.equal(b.tryAccept(), false);
    clock.step(1);
    assert.ok(b.tryAccept(), 'one token every 200 ms at 5 QPS');
    assert.equal(b.tryAccept(), false);
    clock.step(60_000);
    assert.equal(Math.round(b.available()), 10, 'never more than burst');
  });

  it('a refused request takes nothing', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(clock, 1, 1);
    assert.ok(b.tryAccept());
    clock.step(500);
    assert.equal(b.tryAccept(), false);
    clock.step(500);
    assert.ok(b.tryAccept());
  });

  it('rejects nonsense settings', () => {
    assert.throws(() => new TokenBucket(new FakeClock(), 0, 1), /qps must be a positive number/);
    assert.throws(() => new TokenBucket(new FakeClock(), 1, -1), /burst must be a non-negative integer/);
  });
});
