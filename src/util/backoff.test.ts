import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.js';
import { FakeClock } from './clock.js';

describe('Backoff (CrashLoopBackOff timing)', () => {
  it('starts at 10 s and doubles to a 5 m cap', () => {
    const clock = new FakeClock();
    const b = new Backoff(clock, 10_000, 300_000);
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.next('c', clock.now());
      seen.push(b.get('c'));
      clock.step(b.get('c'));
    }
    assert.deepEqual(seen, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('is in backoff only until the duration has passed since the failure', () => {
    const clock = new FakeClock();
    const b = new Backoff(clock, 10_000, 300_000);
    const failedAt = clock.now();
    assert.equal(b.isInBackOffSince('c', failedAt), false, 'no entry: no backoff');
    b.next('c', failedAt);
    assert.equal(b.isInBackOffSince('c', failedAt), true);
    clock.step(9_999);
    assert.equal(b.isInBackOffSince('c', failedAt), true);
    clock.step(1);
    assert.equal(b.isInBackOffSince('c', failedAt), false);
  });

  it('starts over after 10 minutes (2 x max) without a failure', () => {
    const clock = new FakeClock();
    const b = new Backoff(clock, 10_000, 300_000);
    b.next('c', clock.now());
    clock.step(10_000);
    b.next('c', clock.now());
    assert.equal(b.get('c'), 20_000);
    clock.step(600_001);
    b.next('c', clock.now());
    assert.equal(b.get('c'), 10_000, 'reset after clean running');
  });

  it('keeps keys apart and forgets stale ones on gc', () => {
    const clock = new FakeClock();
    const b = new Backoff(clock, 1_000, 4_000);
    b.next('a', clock.now());
    b.next('a', clock.now());
    b.next('b', clock.now());
    assert.equal(b.get('a'), 2_000);
    assert.equal(b.get('b'), 1_000);
    clock.step(8_001);
    b.gc();
    assert.equal(b.get('a'), 0);
  });
});
