import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeClock, RealClock, flushMicrotasks, since } from './clock.js';
import { track } from './testing.js';

const T0 = Date.UTC(2026, 0, 1);


describe('FakeClock', () => {
  it('starts at 2026-01-01 by default, or at the given time', () => {
    assert.equal(new FakeClock().now(), T0);
    assert.equal(new FakeClock(1234).now(), 1234);
    const c = new FakeClock(1000);
    c.step(500);
    assert.equal(since(c, 1000), 500);
  });

  it('step fires due timers in time order, ties in creation order, and leaves later ones', () => {
    const cases: { name: string; timers: [string, number][]; step: number; fired: string[]; pending: number }[] = [
      { name: 'out of order creation', timers: [['c', 30], ['a', 10], ['b', 20]], step: 30, fired: ['a', 'b', 'c'], pending: 0 },
      { name: 'ties by creation order', timers: [['x', 5], ['y', 5], ['z', 5]], step: 5, fired: ['x', 'y', 'z'], pending: 0 },
      { name: 'only due timers', timers: [['a', 10], ['late', 11]], step: 10, fired: ['a'], pending: 1 },
      { name: 'zero-ms timer needs step(0)', timers: [['now', 0]], step: 0, fired: ['now'], pending: 0 },
      { name: 'negative delay is clamped to 0', timers: [['neg', -50]], step: 0, fired: ['neg'], pending: 0 },
      { name: 'nothing due', timers: [['a', 100]], step: 99, fired: [], pending: 1 },
    ];
    for (const tc of cases) {
      const c = new FakeClock(0);
      const fired: string[] = [];
      const firedAt: number[] = [];
      for (const [name, ms] of tc.timers) {
        c.setTimeout(() => {
          fired.push(name);
          firedAt.push(c.now());
        }, ms);
      }
      assert.deepEqual(fired, [], `${tc.name}: nothing fires before step`);
      c.step(tc.step);
      assert.deepEqual(fired, tc.fired, tc.name);
      assert.equal(c.now(), tc.step, `${tc.name}: time ends at the step`);
      assert.equal(c.pendingTimers(), tc.pending, `${tc.name}: pending`);
      // each timer sees the clock at its own due time
      for (let i = 0; i < fired.length; i++) {
        const due = Math.max(0, tc.timers.find(([n]) => n === fired[i])![1]);
        assert.equal(firedAt[i], due, `${tc.name}: ${fired[i]} fired at its due time`);
      }
    }
  });

  it('fires timers scheduled by a firing timer within the same step', () => {
    const c = new FakeClock(0);
    const log: string[] = [];
    c.setTimeout(() => {
      log.push(`a@${c.now()}`);
      c.setTimeout(() => log.push(`b@${c.now()}`), 5);
      c.setTimeout(() => log.push(`late@${c.now()}`), 50);
    }, 10);
    c.step(20);
    assert.deepEqual(log, ['a@10', 'b@15']);
    assert.equal(c.pendingTimers(), 1);
    assert.equal(c.nextTimerAt(), 60);
  });

  it('intervals repeat every period until stopped', () => {
    const cases: { ms: number; step: number; count: number; next: number }[] = [
      { ms: 10, step: 35, count: 3, next: 40 },
      { ms: 10, step: 9, count: 0, next: 10 },
      { ms: 100, step: 1000, count: 10, next: 1100 },
      { ms: 0, step: 5, count: 5, next: 6 }, // clamped to 1 ms
    ];
    for (const tc of cases) {
      const c = new FakeClock(0);
      const at: number[] = [];
      const t = c.setInterval(() => at.push(c.now()), tc.ms);
      c.step(tc.step);
      assert.equal(at.length, tc.count, `interval ${tc.ms} over ${tc.step}`);
      const period = Math.max(1, tc.ms);
      assert.deepEqual(at, Array.from({ length: tc.count }, (_, i) => (i + 1) * period));
      assert.equal(c.nextTimerAt(), tc.next);
      assert.equal(c.pendingTimers(), 1);
      assert.equal(t.stop(), true);
      c.step(10 * period);
      assert.equal(at.length, tc.count, 'no fires after stop');
      assert.equal(c.pendingTimers(), 0);
    }
  });

  it('an interval can stop itself from its callback', () => {
    const c = new FakeClock(0);
    let n = 0;
    const t = c.setInterval(() => {
      if (++n === 3) assert.equal(t.stop(), true);
    }, 10);
    c.step(100);
    assert.equal(n, 3);
    assert.equal(c.pendingTimers(), 0);
  });

  it('stop() cancels a pending timer and returns false when called again or after firing', () => {
    const c = new FakeClock(0);
    let fired = 0;
    const t = c.setTimeout(() => fired++, 10);
    assert.equal(c.pendingTimers(), 1);
    assert.equal(t.stop(), true);
    assert.equal(t.stop(), false);
    assert.equal(t.stop(), false);
    assert.equal(c.pendingTimers(), 0);
    c.step(100);
    assert.equal(fired, 0);

    const f = c.setTimeout(() => fired++, 10);
    c.step(10);
    assert.equal(fired, 1);
    assert.equal(f.stop(), false, 'already fired');
    assert.equal(f.stop(), false);

    const i = c.setInterval(() => fired++, 10);
    c.step(10);
    assert.equal(i.stop(), true, 'an interval that has fired is still stoppable');
    assert.equal(i.stop(), false);
    assert.equal(i.stop(), false);
  });

  it('nextTimerAt and pendingTimers follow the timers', () => {
    const c = new FakeClock(1000);
    assert.equal(c.nextTimerAt(), undefined);
    assert.equal(c.pendingTimers(), 0);
    const a = c.setTimeout(() => {}, 300);
    const b = c.setTimeout(() => {}, 100);
    c.setInterval(() => {}, 200);
    assert.equal(c.pendingTimers(), 3);
    assert.equal(c.nextTimerAt(), 1100);
    b.stop();
    assert.equal(c.nextTimerAt(), 1200);
    assert.equal(c.pendingTimers(), 2);
    c.step(200); // interval fires, reschedules at 1400
    assert.equal(c.nextTimerAt(), 1300);
    a.stop();
    assert.equal(c.nextTimerAt(), 1400);
    assert.equal(c.pendingTimers(), 1);
  });

  it('setTime moves forward firing timers, and ignores the past', () => {
    const c = new FakeClock(0);
    const fired: number[] = [];
    c.setTimeout(() => fired.push(c.now()), 50);
    c.setTime(100);
    assert.equal(c.now(), 100);
    assert.deepEqual(fired, [50]);
    c.setTime(10);
    assert.equal(c.now(), 100, 'time never goes back');
  });

  it('sleep resolves only once its time has passed', async () => {
    const cases = [
      { ms: 1000, before: 999 },
      { ms: 1, before: 0 },
      { ms: 60_000, before: 59_999 },
    ];
    for (const tc of cases) {
      const c = new FakeClock(0);
      const s = track(c.sleep(tc.ms));
      await c.advance(tc.before);
      assert.equal(s.settled, false, `sleep(${tc.ms}) pending after ${tc.before} ms`);
      await c.advance(tc.ms - tc.before);
      assert.equal(s.settled, true, `sleep(${tc.ms}) resolved after ${tc.ms} ms`);
      assert.equal(s.error, undefined);
      assert.equal(c.pendingTimers(), 0);
    }
  });

  it('sleep(0) resolves on a zero-length advance, and not before', async () => {
    const c = new FakeClock(0);
    const s = track(c.sleep(0));
    await flushMicrotasks();
    assert.equal(s.settled, false);
    await c.advance(0);
    assert.equal(s.settled, true);
  });

  it('sleep with an AbortSignal rejects when aborted and cancels its timer', async () => {
    const custom = new Error('cancelled by test');
    const cases: { name: string; reason?: unknown; expect: (e: unknown) => void }[] = [
      { name: 'Error reason is passed through', reason: custom, expect: (e) => assert.equal(e, custom) },
      { name: 'non-Error reason becomes "aborted"', reason: 'just a string', expect: (e) => assert.equal((e as Error).message, 'aborted') },
      { name: 'default reason (an AbortError)', expect: (e) => assert.equal((e as Error).name, 'AbortError') },
    ];
    for (const tc of cases) {
      const c = new FakeClock(0);
      const ac = new AbortController();
      const s = track(c.sleep(1000, ac.signal));
      assert.equal(c.pendingTimers(), 1);
      await c.advance(500);
      assert.equal(s.settled, false, tc.name);
      if ('reason' in tc) ac.abort(tc.reason);
      else ac.abort();
      await flushMicrotasks();
      assert.equal(s.settled, true, `${tc.name}: rejects at once, without time passing`);
      assert.equal(c.now(), 500);
      assert.ok(s.error !== undefined, `${tc.name}: rejected`);
      tc.expect(s.error);
      assert.equal(c.pendingTimers(), 0, `${tc.name}: timer cancelled`);
    }
  });

  it('sleep with an already-aborted signal rejects at once and schedules nothing', async () => {
    const c = new FakeClock(0);
    const reason = new Error('already');
    await assert.rejects(c.sleep(1000, AbortSignal.abort(reason)), (e) => e === reason);
    assert.equal(c.pendingTimers(), 0);
  });

  it('aborting after a sleep resolved changes nothing', async () => {
    const c = new FakeClock(0);
    const ac = new AbortController();
    const p = c.sleep(10, ac.signal);
    await c.advance(10);
    await p;
    ac.abort(new Error('late'));
    await flushMicrotasks();
    assert.equal(c.pendingTimers(), 0);
  });

  it('advance() lets async chains that sleep several times complete', async () => {
    const cases = [
      { name: 'three sequential sleeps', steps: [100, 200, 300], advance: 600, done: true, marks: [100, 300, 600] },
      { name: 'not yet at the last sleep', steps: [100, 200, 300], advance: 599, done: false, marks: [100, 300] },
      { name: 'many small sleeps', steps: Array<number>(50).fill(10), advance: 500, done: true, marks: Array.from({ length: 50 }, (_, i) => (i + 1) * 10) },
    ];
    for (const tc of cases) {
      const c = new FakeClock(0);
      const marks: number[] = [];
      const chain = (async () => {
        for (const ms of tc.steps) {
          await c.sleep(ms);
          await Promise.resolve(); // extra microtask hops between sleeps
          marks.push(c.now());
        }
        return 'finished';
      })();
      const s = track(chain);
      await c.advance(tc.advance);
      assert.equal(s.settled, tc.done, tc.name);
      assert.deepEqual(marks, tc.marks, tc.name);
      if (tc.done) assert.equal(s.value, 'finished');
      assert.equal(c.now(), tc.advance);
    }
  });

  it('step() alone does not run async continuations (advance does)', async () => {
    const c = new FakeClock(0);
    const marks: number[] = [];
    void (async () => {
      await c.sleep(10);
      marks.push(c.now());
      await c.sleep(10);
      marks.push(c.now());
    })();
    c.step(100);
    assert.deepEqual(marks, [], 'continuation has not run synchronously');
    await flushMicrotasks();
    assert.deepEqual(marks, [100], 'first continuation sees the end time; second sleep is pending');
    assert.equal(c.nextTimerAt(), 110);
    await c.advance(10);
    assert.deepEqual(marks, [100, 110]);
  });
});

describe('RealClock (smoke, 0-ms timers only)', () => {
  it('now() is the wall clock', () => {
    const c = new RealClock();
    const a = Date.now();
    const n = c.now();
    const b = Date.now();
    assert.ok(n >= a && n <= b);
  });

  it('setTimeout(0) fires once; stop() after firing returns false', async () => {
    const c = new RealClock();
    let fired = 0;
    let t!: ReturnType<RealClock['setTimeout']>;
    await new Promise<void>((resolve) => {
      t = c.setTimeout(() => {
        fired++;
        resolve();
      }, 0);
    });
    assert.equal(fired, 1);
    assert.equal(t.stop(), false);
  });

  it('stop() before firing cancels and returns true, then false', async () => {
    const c = new RealClock();
    let fired = 0;
    const t = c.setTimeout(() => fired++, 0);
    assert.equal(t.stop(), true);
    assert.equal(t.stop(), false);
    await c.sleep(0); // a later 0-ms timer has fired, so the cancelled one would have too
    await flushMicrotasks();
    assert.equal(fired, 0);
  });

  it('setInterval(0) repeats until stopped', async () => {
    const c = new RealClock();
    let n = 0;
    let t!: ReturnType<RealClock['setInterval']>;
    await new Promise<void>((resolve) => {
      t = c.setInterval(() => {
        if (++n === 2) resolve();
      }, 0);
    });
    assert.equal(t.stop(), true);
    assert.equal(t.stop(), false);
    assert.equal(n, 2);
  });

  it('sleep(0) resolves; sleep with an aborted signal rejects at once', async () => {
    const c = new RealClock();
    await c.sleep(0);
    const reason = new Error('stop');
    await assert.rejects(c.sleep(0, AbortSignal.abort(reason)), (e) => e === reason);
    const ac = new AbortController();
    const long = c.sleep(3_600_000, ac.signal); // never waited for: aborted below
    ac.abort(reason);
    await assert.rejects(long, (e) => e === reason);
  });
});

describe('RealClock', () => {
  it('waits out a delay longer than a Node timer holds (2^31 ms) instead of firing at once', async () => {
    const clock = new RealClock();
    let fired = false;
    const t = clock.setTimeout(() => (fired = true), 30 * 24 * 3600_000);
    await delay(20); // the broken timer fires after 1 ms
    assert.equal(fired, false);
    assert.equal(t.stop(), true, 'still pending');
  });
});
