// EventBroadcaster with a scripted sink on a FakeClock: queueing, retries and backoff, give-up
// rules, 404 on patch, shutdown. (The API path itself is in cluster.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { track } from '../../util/testing.js';
import { ClientRateLimiter, sinkErrorAction, type EventSink } from './apisink.js';
import { EventBroadcaster } from './broadcaster.js';
import { makeEvent, UniqueNanos, type EventPatch, type KubeEvent } from './correlator.js';

const T0 = Date.UTC(2026, 0, 1);
const src = { component: 'kubelet', host: 'n1' };
const status = (code: number, reason: string): ApiException<string> =>
  new ApiException(code, `HTTP ${code}`, JSON.stringify({ kind: 'Status', code, reason, message: reason }), {});

type Step = 'ok' | Error;

class ScriptedSink implements EventSink {
  calls: { op: 'create' | 'patch'; name: string; count: number; patch?: EventPatch; at: number }[] = [];
  script: Step[] = [];
  /** Resolves the current call when set (to hold a request open). */
  hold: Promise<void> | undefined;
  constructor(private readonly clock: FakeClock) {}
  private async step(op: 'create' | 'patch', e: KubeEvent, patch?: EventPatch): Promise<KubeEvent> {
    this.calls.push({ op, name: e.name, count: e.count, ...(patch ? { patch } : {}), at: this.clock.now() });
    if (this.hold) await this.hold;
    const s = this.script.shift() ?? 'ok';
    if (s !== 'ok') throw s;
    return { ...e, resourceVersion: String(this.calls.length) };
  }
  create(e: KubeEvent): Promise<KubeEvent> {
    return this.step('create', e);
  }
  patch(e: KubeEvent, p: EventPatch): Promise<KubeEvent> {
    return this.step('patch', e, p);
  }
}

function setup(extra: { maxQueued?: number; random?: () => number } = {}) {
  const clock = new FakeClock(T0);
  const sink = new ScriptedSink(clock);
  const logger = new MemoryLogger();
  const b = new EventBroadcaster({ sink, clock, logger, random: extra.random ?? (() => 0.5), ...(extra.maxQueued !== undefined ? { maxQueued: extra.maxQueued } : {}) });
  const nanos = new UniqueNanos();
  const ev = (reason: string, message = 'm'): KubeEvent => makeEvent({ kind: 'Pod', namespace: 'ns', name: 'p', uid: 'u' }, 'Normal', reason, message, src, clock.now(), nanos);
  return { clock, sink, logger, b, ev };
}

describe('sinkErrorAction', () => {
  const cases: [string, unknown, string][] = [
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'retry'],
    ['409 AlreadyExists', status(409, 'AlreadyExists'), 'alreadyExists'],
    ['409 Conflict', status(409, 'Conflict'), 'rejected'],
    ['403 Forbidden', status(403, 'Forbidden'), 'rejected'],
    ['500 without Retry-After', status(500, 'InternalError'), 'rejected'],
    ['503 with Retry-After', new ApiException(503, 'x', '{}', { 'retry-after': '1' }), 'retry'],
    ['429', status(429, 'TooManyRequests'), 'retry'],
  ];
  for (const [name, err, want] of cases) it(`${name} -> ${want}`, () => assert.equal(sinkErrorAction(err), want));
});

describe('EventBroadcaster', () => {
  it('never blocks: events queue and are written in order; identical ones become patches', async () => {
    const { sink, b, ev } = setup();
    assert.equal(b.action(ev('A')), true);
    assert.equal(b.action(ev('A')), true);
    assert.equal(b.action(ev('B')), true);
    assert.equal(sink.calls.length <= 1, true, 'nothing awaited by action()');
    await b.flush();
    assert.deepEqual(sink.calls.map((c) => [c.op, c.count]), [['create', 1], ['patch', 2], ['create', 1]]);
    assert.equal(sink.calls[1]!.name, sink.calls[0]!.name);
    assert.deepEqual(b.stats(), { queued: 0, dropped: 0, skipped: 0, written: 3, failed: 0, retries: 0 });
  });

  it('a full queue drops the event with a warning', async () => {
    const { sink, b, ev, logger } = setup({ maxQueued: 3 });
    let release!: () => void;
    sink.hold = new Promise((r) => (release = r));
    const accepted = Array.from({ length: 6 }, (_, i) => b.action(ev(`R${i}`)));
    // the first is taken by the worker, three wait, two are dropped
    assert.deepEqual(accepted, [true, true, true, true, false, false]);
    assert.equal(logger.records.filter((r) => r.level === 'warn' && r.msg === 'Unable to record event: too many queued events, dropped event').length, 2);
    sink.hold = undefined;
    release();
    await b.flush();
    assert.equal(sink.calls.length, 4);
    assert.equal(b.stats().dropped, 2);
  });

  it('transport errors: retried after a jittered first sleep, then every 10 s; later events wait', async () => {
    const { clock, sink, b, ev, logger } = setup({ random: () => 0.25 });
    const refused = new Error('connect ECONNREFUSED');
    sink.script = [refused, refused, refused, 'ok'];
    b.action(ev('A'));
    b.action(ev('B'));
    const done = track(b.flush());
    await clock.advance(2_499);
    assert.equal(sink.calls.length, 1, 'first retry after 0.25 × 10 s');
    await clock.advance(1);
    assert.equal(sink.calls.length, 2);
    await clock.advance(9_999);
    assert.equal(sink.calls.length, 2);
    await clock.advance(1);
    assert.equal(sink.calls.length, 3);
    await clock.advance(10_000);
    assert.equal(done.settled, true);
    assert.deepEqual(sink.calls.map((c) => [c.op, c.at - T0]), [['create', 0], ['create', 2_500], ['create', 12_500], ['create', 22_500], ['create', 22_500]]);
    assert.equal(sink.calls[4]!.count, 1, 'B after A');
    assert.equal(b.stats().retries, 3);
    assert.equal(logger.records.filter((r) => r.msg === 'Unable to write event (may retry after sleeping)').length, 3);
  });

  it('gives up after 12 tries', async () => {
    const { clock, sink, b, ev, logger } = setup();
    sink.script = Array.from({ length: 20 }, () => new Error('ECONNRESET'));
    b.action(ev('A'));
    const done = track(b.flush());
    await clock.advance(5_000 + 10 * 10_000);
    assert.equal(done.settled, true);
    assert.equal(sink.calls.length, 12);
    assert.ok(logger.find((r) => r.level === 'error' && r.msg === 'Unable to write event (retry limit exceeded!)'));
    assert.equal(b.stats().failed, 1);
  });

  const final: [string, Error, 'debug' | 'error'][] = [
    ['409 AlreadyExists (quietly)', status(409, 'AlreadyExists'), 'debug'],
    ['409 Conflict', status(409, 'Conflict'), 'error'],
    ['500', status(500, 'InternalError'), 'error'],
  ];
  for (const [name, err, level] of final) {
    it(`status error ${name}: not retried`, async () => {
      const { sink, b, ev, logger } = setup();
      sink.script = [err];
      b.action(ev('A'));
      await b.flush();
      assert.equal(sink.calls.length, 1);
      assert.equal(logger.find((r) => r.msg === 'Server rejected event (will not retry!)')?.level, level);
      assert.equal(b.stats().failed, 1);
    });
  }

  it('a patch answered 404 creates the event anew with the same name and count', async () => {
    const { sink, b, ev } = setup();
    b.action(ev('A'));
    await b.flush();
    sink.script = [status(404, 'NotFound')];
    b.action(ev('A'));
    await b.flush();
    assert.deepEqual(sink.calls.map((c) => [c.op, c.count]), [['create', 1], ['patch', 2], ['create', 2]]);
    assert.equal(sink.calls[2]!.name, sink.calls[0]!.name);
  });

  it('spam-filtered events are not written', async () => {
    const { sink, b, ev } = setup();
    for (let i = 0; i < 27; i++) b.action(ev(`R${i}`));
    await b.flush();
    assert.equal(sink.calls.length, 25);
    assert.equal(b.stats().skipped, 2);
  });

  it('stop() aborts a retry sleep, drops the queue and refuses later events', async () => {
    const { clock, sink, b, ev, logger } = setup();
    sink.script = [new Error('ECONNREFUSED')];
    b.action(ev('A'));
    b.action(ev('B'));
    await clock.advance(0);
    assert.equal(clock.pendingTimers(), 1, 'sleeping before the retry');
    await b.stop();
    assert.equal(sink.calls.length, 1);
    assert.ok(logger.find((r) => r.msg === 'Unable to write event (broadcaster is shut down)'));
    assert.equal(b.action(ev('C')), false);
    await clock.advance(60_000);
    assert.equal(sink.calls.length, 1);
  });
});

describe('ClientRateLimiter', () => {
  it('lets a burst through, then one request per 1/qps on the clock', async () => {
    const clock = new FakeClock(T0);
    const l = new ClientRateLimiter(clock, 2, 3);
    for (let i = 0; i < 3; i++) await l.wait();
    const w = track(l.wait());
    await clock.advance(499);
    assert.equal(w.settled, false);
    await clock.advance(1);
    assert.equal(w.settled, true);
  });

  it('qps 0 means no limit', async () => {
    const l = new ClientRateLimiter(new FakeClock(T0), 0, 0);
    for (let i = 0; i < 1000; i++) await l.wait();
  });
});
