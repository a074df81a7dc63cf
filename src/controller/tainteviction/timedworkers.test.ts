import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, type Clock, type Timer } from '../../util/clock.js';
import { TimedWorkerQueue } from './timedworkers.js';

function setup(clock: Clock = new FakeClock()): { q: TimedWorkerQueue<string>; fired: { key: string; arg: string; at: number; fireAt: number }[]; clock: Clock } {
  const fired: { key: string; arg: string; at: number; fireAt: number }[] = [];
  const q = new TimedWorkerQueue<string>(clock, (key, arg, fireAt) => {
    fired.push({ key, arg, at: clock.now(), fireAt });
    return Promise.resolve();
  });
  return { q, fired, clock };
}

describe('TimedWorkerQueue', () => {
  it('runs work at its time, not before', async () => {
    const clock = new FakeClock();
    const { q, fired } = setup(clock);
    const t0 = clock.now();
    assert.ok(q.add('a', 'x', t0, t0 + 30_000));
    assert.deepEqual(q.get('a'), { createdAt: t0, fireAt: t0 + 30_000 });
    await clock.advance(29_999);
    assert.equal(fired.length, 0);
    await clock.advance(1);
    assert.deepEqual(fired, [{ key: 'a', arg: 'x', at: t0 + 30_000, fireAt: t0 + 30_000 }]);
    await q.idle();
    await clock.advance(0);
    assert.deepEqual(q.keys(), [], 'finished work forgets its key');
  });

  it('work due now or in the past runs at once and has no timed worker', async () => {
    const clock = new FakeClock();
    const { q, fired } = setup(clock);
    q.add('a', 'x', clock.now(), clock.now());
    q.add('b', 'y', clock.now() - 5000, clock.now() - 1000);
    assert.deepEqual(fired.map((f) => f.key), ['a', 'b']);
    assert.equal(q.get('a'), undefined);
    await q.idle();
  });

  it('add is a no-op while the key has work; cancel stops it and allows a new one', async () => {
    const clock = new FakeClock();
    const { q, fired } = setup(clock);
    const t0 = clock.now();
    q.add('a', 'first', t0, t0 + 10_000);
    assert.equal(q.add('a', 'second', t0, t0 + 1000), false);
    await clock.advance(5000);
    assert.equal(q.cancel('a'), true);
    assert.equal(q.cancel('a'), false, 'nothing left to cancel');
    q.add('a', 'third', clock.now(), clock.now() + 20_000);
    await clock.advance(10_000);
    assert.equal(fired.length, 0, 'the cancelled work never runs');
    await clock.advance(10_000);
    assert.deepEqual(fired.map((f) => [f.arg, f.at - t0]), [['third', 25_000]]);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('cancel of running work returns false and forgets the key', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    const q = new TimedWorkerQueue<string>(clock, () => new Promise<void>((r) => (release = r)));
    q.add('a', 'x', clock.now(), clock.now());
    assert.deepEqual(q.keys(), ['a']);
    assert.equal(q.add('a', 'y', clock.now(), clock.now()), false, 'running work blocks a new one');
    assert.equal(q.cancel('a'), false);
    assert.deepEqual(q.keys(), []);
    release();
    await q.idle();
  });

  it('cancelAll stops every waiting work', async () => {
    const clock = new FakeClock();
    const { q, fired } = setup(clock);
    for (const k of ['a', 'b', 'c']) q.add(k, k, clock.now(), clock.now() + 1000);
    await q.cancelAll();
    await clock.advance(5000);
    assert.equal(fired.length, 0);
    assert.deepEqual(q.keys(), []);
  });

  it('a timer waking early by the clock is re-armed (never runs before fireAt)', async () => {
    // a clock whose timers fire early (half the delay), as a real timer may against the wall clock
    const fake = new FakeClock();
    const early: Clock = {
      now: () => fake.now(),
      setTimeout: (fn: () => void, ms: number): Timer => fake.setTimeout(fn, ms - Math.floor(ms / 2)),
      setInterval: (fn, ms) => fake.setInterval(fn, ms),
      sleep: (ms, s) => fake.sleep(ms, s),
    };
    const { q, fired } = setup(early);
    const t0 = fake.now();
    q.add('a', 'x', t0, t0 + 100);
    await fake.advance(99);
    assert.equal(fired.length, 0);
    await fake.advance(1);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]!.at >= t0 + 100);
  });

  it('a failing work is logged and forgets its key', async () => {
    const clock = new FakeClock();
    const q = new TimedWorkerQueue<string>(clock, () => Promise.reject(new Error('boom')));
    q.add('a', 'x', clock.now(), clock.now());
    await q.idle();
    await clock.advance(0);
    assert.deepEqual(q.keys(), []);
  });
});
