// EventCorrelator and makeEvent: naming, fields, dedup, aggregation and the spam filter, on a FakeClock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import {
  aggregateKeys,
  combinedMessagePrefix,
  EventCorrelator,
  eventKey,
  LruCache,
  makeEvent,
  spamKey,
  UniqueNanos,
  type CorrelateResult,
  type KubeEvent,
} from './correlator.js';
import type { EventType, ObjectRef } from './recorder.js';

const T0 = Date.UTC(2026, 0, 1);
const src = { component: 'kubelet', host: 'node-1' };
const pod: ObjectRef = { kind: 'Pod', namespace: 'ns1', name: 'web-0', uid: 'uid-1' };
const node: ObjectRef = { kind: 'Node', name: 'node-1', uid: 'node-1' };

function setup(): { clock: FakeClock; c: EventCorrelator; ev: (ref: ObjectRef, reason: string, message: string, type?: EventType) => CorrelateResult } {
  const clock = new FakeClock(T0);
  const nanos = new UniqueNanos();
  const c = new EventCorrelator({ clock, nanos });
  const ev = (ref: ObjectRef, reason: string, message: string, type: EventType = 'Normal'): CorrelateResult => {
    const r = c.correlate(makeEvent(ref, type, reason, message, src, clock.now(), nanos));
    // as the sink would after a successful write
    if (r.event) c.updateState({ ...r.event, resourceVersion: String(Number(r.event.resourceVersion ?? 0) + 1) });
    return r;
  };
  return { clock, c, ev };
}

describe('makeEvent', () => {
  it('fills the fields as the kubelet recorder does', () => {
    const cases: { name: string; ref: ObjectRef; want: Partial<KubeEvent> }[] = [
      {
        name: 'pod container',
        ref: { ...pod, fieldPath: 'spec.containers{app}' },
        want: {
          name: `web-0.${(BigInt(T0) * 1_000_000n).toString(16)}`,
          namespace: 'ns1',
          involvedObject: { kind: 'Pod', namespace: 'ns1', name: 'web-0', uid: 'uid-1', apiVersion: 'v1', fieldPath: 'spec.containers{app}' },
        },
      },
      {
        name: 'node: namespace default, no apiVersion (upstream nodeRef)',
        ref: node,
        want: { namespace: 'default', involvedObject: { kind: 'Node', name: 'node-1', uid: 'node-1' } },
      },
      {
        name: 'explicit apiVersion and resourceVersion kept',
        ref: { ...pod, apiVersion: 'v1', resourceVersion: '42' },
        want: { involvedObject: { kind: 'Pod', namespace: 'ns1', name: 'web-0', uid: 'uid-1', apiVersion: 'v1', resourceVersion: '42' } },
      },
    ];
    for (const tc of cases) {
      const e = makeEvent(tc.ref, 'Warning', 'BackOff', 'Back-off restarting failed container', src, T0, new UniqueNanos());
      for (const [k, v] of Object.entries(tc.want)) assert.deepEqual(e[k as keyof KubeEvent], v, `${tc.name}: ${k}`);
      assert.equal(e.count, 1, tc.name);
      assert.equal(e.firstTimestamp, T0, tc.name);
      assert.equal(e.lastTimestamp, T0, tc.name);
      assert.deepEqual(e.source, { component: 'kubelet', host: 'node-1' }, tc.name);
      assert.equal(e.reportingComponent, 'kubelet', tc.name);
      assert.equal(e.reportingInstance, 'node-1', tc.name);
      assert.equal(e.type, 'Warning');
    }
  });

  it('names stay unique within one millisecond', () => {
    const n = new UniqueNanos();
    const a = makeEvent(pod, 'Normal', 'Pulled', 'm', src, T0, n).name;
    const b = makeEvent(pod, 'Normal', 'Pulled', 'm', src, T0, n).name;
    const c = makeEvent(pod, 'Normal', 'Pulled', 'm', src, T0 + 1, n).name;
    assert.equal(a, `web-0.${(BigInt(T0) * 1_000_000n).toString(16)}`);
    assert.equal(b, `web-0.${(BigInt(T0) * 1_000_000n + 1n).toString(16)}`);
    assert.equal(c, `web-0.${(BigInt(T0 + 1) * 1_000_000n).toString(16)}`);
  });
});

describe('keys', () => {
  const base = makeEvent({ ...pod, fieldPath: 'spec.containers{a}' }, 'Normal', 'Pulled', 'msg', src, T0, new UniqueNanos());
  const cases: { name: string; change: (e: KubeEvent) => void; event: boolean; spam: boolean; aggregate: boolean }[] = [
    { name: 'message', change: (e) => (e.message = 'other'), event: true, spam: false, aggregate: false },
    { name: 'reason', change: (e) => (e.reason = 'Created'), event: true, spam: false, aggregate: true },
    { name: 'type', change: (e) => (e.type = 'Warning'), event: true, spam: false, aggregate: true },
    { name: 'fieldPath', change: (e) => (e.involvedObject.fieldPath = 'spec.containers{b}'), event: true, spam: false, aggregate: false },
    { name: 'uid', change: (e) => (e.involvedObject.uid = 'uid-2'), event: true, spam: true, aggregate: true },
    { name: 'host', change: (e) => (e.source.host = 'node-2'), event: true, spam: true, aggregate: true },
    { name: 'timestamps and name', change: (e) => ((e.lastTimestamp += 5000), (e.name = 'x')), event: false, spam: false, aggregate: false },
  ];
  for (const tc of cases) {
    it(`a different ${tc.name} changes: event key ${tc.event}, spam key ${tc.spam}, aggregate key ${tc.aggregate}`, () => {
      const e = structuredClone(base);
      tc.change(e);
      assert.equal(eventKey(e) !== eventKey(base), tc.event);
      assert.equal(spamKey(e) !== spamKey(base), tc.spam);
      assert.equal(aggregateKeys(e)[0] !== aggregateKeys(base)[0], tc.aggregate);
    });
  }
});

describe('EventCorrelator: dedup (eventLogger)', () => {
  it('an identical event updates the first one: same name, count + 1, a patch of count/lastTimestamp/message', () => {
    const { clock, ev } = setup();
    const first = ev(pod, 'BackOff', 'Back-off pulling image "x"');
    assert.equal(first.skip, false);
    assert.equal(first.patch, undefined, 'the first is created');
    assert.equal(first.event!.count, 1);
    for (let i = 2; i <= 5; i++) {
      clock.step(7_000);
      const r = ev(pod, 'BackOff', 'Back-off pulling image "x"');
      assert.equal(r.event!.name, first.event!.name, 'same Event object');
      assert.equal(r.event!.count, i);
      assert.equal(r.event!.firstTimestamp, T0);
      assert.equal(r.event!.lastTimestamp, clock.now());
      assert.equal(r.event!.resourceVersion, String(i - 1), 'resourceVersion from the last write');
      assert.deepEqual(r.patch, { count: i, lastTimestamp: clock.now(), message: 'Back-off pulling image "x"' });
    }
  });

  it('another message, reason, type or container is another event', () => {
    const { ev } = setup();
    const a = ev({ ...pod, fieldPath: 'spec.containers{a}' }, 'Pulled', 'm1').event!;
    const variants = [
      ev({ ...pod, fieldPath: 'spec.containers{a}' }, 'Pulled', 'm2'),
      ev({ ...pod, fieldPath: 'spec.containers{a}' }, 'Created', 'm1'),
      ev({ ...pod, fieldPath: 'spec.containers{a}' }, 'Pulled', 'm1', 'Warning'),
      ev({ ...pod, fieldPath: 'spec.containers{b}' }, 'Pulled', 'm1'),
    ];
    for (const v of variants) {
      assert.notEqual(v.event!.name, a.name);
      assert.equal(v.event!.count, 1);
      assert.equal(v.patch, undefined);
    }
  });

  it('an empty message is left out of the patch (equal on both sides of the two-way patch)', () => {
    const { ev } = setup();
    ev(node, 'NodeReady', '');
    assert.deepEqual(Object.keys(ev(node, 'NodeReady', '').patch!).sort(), ['count', 'lastTimestamp']);
  });
});

describe('EventCorrelator: aggregation', () => {
  const msgs = (n: number): string[] => Array.from({ length: n }, (_, i) => `Liveness probe failed: attempt ${i + 1}`);

  it('the 10th different message within 10 minutes becomes one combined event, updated by later ones', () => {
    const { clock, ev } = setup();
    const out = msgs(13).map((m) => {
      clock.step(1_000);
      return ev(pod, 'Unhealthy', m, 'Warning');
    });
    for (let i = 0; i < 9; i++) {
      assert.equal(out[i]!.event!.message, `Liveness probe failed: attempt ${i + 1}`, `event ${i + 1} as is`);
      assert.equal(out[i]!.event!.count, 1);
    }
    const combined = out.slice(9).map((r) => r.event!);
    assert.equal(combined[0]!.message, `${combinedMessagePrefix}Liveness probe failed: attempt 10`);
    assert.equal(combined[0]!.message, '(combined from similar events): Liveness probe failed: attempt 10');
    assert.equal(combined[0]!.count, 1);
    assert.equal(out[9]!.patch, undefined, 'the combined event is created');
    assert.equal(combined[0]!.reportingComponent, undefined, 'upstream leaves the reporting fields out of the combined copy');
    assert.equal(combined[0]!.type, 'Warning');
    assert.equal(combined[0]!.reason, 'Unhealthy');
    for (const [i, c] of combined.entries()) {
      assert.equal(c.name, combined[0]!.name, 'one combined event');
      assert.equal(c.count, i + 1);
      assert.equal(c.message, `(combined from similar events): Liveness probe failed: attempt ${i + 10}`);
    }
    assert.deepEqual(out[12]!.patch, { count: 4, lastTimestamp: clock.now(), message: '(combined from similar events): Liveness probe failed: attempt 13' });
  });

  const table: { name: string; count: number; gapMs: number; combined: boolean }[] = [
    { name: '9 different messages', count: 9, gapMs: 1_000, combined: false },
    { name: '10 different messages, 1 min apart', count: 10, gapMs: 60_000, combined: true },
    { name: '10 different messages, 10 min apart (not over the interval)', count: 10, gapMs: 600_000, combined: true },
    { name: '10 different messages, just over 10 min apart', count: 10, gapMs: 600_001, combined: false },
  ];
  for (const tc of table) {
    it(`${tc.name}: combined ${tc.combined}`, () => {
      const { clock, ev } = setup();
      let last: CorrelateResult | undefined;
      for (const m of msgs(tc.count)) {
        clock.step(tc.gapMs);
        last = ev(pod, 'Unhealthy', m, 'Warning');
      }
      assert.equal(last!.event!.message.startsWith(combinedMessagePrefix), tc.combined);
    });
  }

  it('repeating one message does not aggregate; other objects and reasons count apart', () => {
    const { ev } = setup();
    for (let i = 0; i < 20; i++) assert.equal(ev(pod, 'BackOff', 'same').event!.message, 'same');
    const p2: ObjectRef = { ...pod, uid: 'uid-2', name: 'web-1' };
    const p3: ObjectRef = { ...pod, uid: 'uid-3', name: 'web-2' };
    for (let i = 0; i < 9; i++) {
      ev(p2, 'ReasonA', `a${i}`);
      ev(p3, 'ReasonA', `a${i}`);
    }
    assert.equal(ev(p2, 'ReasonB', 'b').event!.message, 'b', 'another reason: its own group');
    assert.equal(ev(p3, 'ReasonA', 'a9').event!.message, `${combinedMessagePrefix}a9`, 'the 10th message of the group');
  });
});

describe('EventCorrelator: spam filter', () => {
  it('25 events about one object pass, then 1 per 5 minutes', () => {
    const { clock, ev } = setup();
    const reasons = Array.from({ length: 30 }, (_, i) => `Reason${i}`);
    const passed = reasons.map((r) => !ev(pod, r, 'm').skip);
    assert.deepEqual(passed, [...Array(25).fill(true), ...Array(5).fill(false)]);
    clock.step(299_000);
    assert.equal(ev(pod, 'Late', 'm').skip, true, 'not refilled before 300 s');
    clock.step(1_000);
    assert.equal(ev(pod, 'Late', 'm').skip, false, 'one token after 300 s');
    assert.equal(ev(pod, 'Late2', 'm').skip, true);
    clock.step(600_000);
    assert.equal(ev(pod, 'A', 'm').skip, false);
    assert.equal(ev(pod, 'B', 'm').skip, false);
    assert.equal(ev(pod, 'C', 'm').skip, true, 'two tokens after 600 s');
  });

  it('identical events use the bucket too, and a skipped one still counts toward the next update', () => {
    const { ev } = setup();
    for (let i = 0; i < 25; i++) assert.equal(ev(pod, 'BackOff', 'same').skip, false);
    const r = ev(pod, 'BackOff', 'same');
    assert.equal(r.skip, true);
    assert.equal(r.event, undefined);
  });

  it('containers of one pod share the bucket; other pods and the node have their own', () => {
    const { ev } = setup();
    for (let i = 0; i < 25; i++) ev({ ...pod, fieldPath: `spec.containers{c${i % 3}}` }, `R${i}`, 'm');
    assert.equal(ev({ ...pod, fieldPath: 'spec.containers{other}' }, 'X', 'm').skip, true);
    assert.equal(ev({ ...pod, name: 'web-1', uid: 'uid-2' }, 'X', 'm').skip, false);
    assert.equal(ev(node, 'X', 'm').skip, false);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry; get refreshes', () => {
    const c = new LruCache<number>(2);
    c.add('a', 1);
    c.add('b', 2);
    assert.equal(c.get('a'), 1);
    c.add('c', 3);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('a'), 1);
    assert.equal(c.get('c'), 3);
    assert.equal(c.size, 2);
  });

  it('a forgotten event is created anew (no patch) once the cache evicted it', () => {
    const clock = new FakeClock(T0);
    const nanos = new UniqueNanos();
    const c = new EventCorrelator({ clock, nanos, lruCacheSize: 2 });
    const mk = (reason: string): KubeEvent => makeEvent(node, 'Normal', reason, 'm', src, clock.now(), nanos);
    c.correlate(mk('A'));
    c.correlate(mk('B'));
    c.correlate(mk('C'));
    const again = c.correlate(mk('A'));
    assert.equal(again.patch, undefined);
    assert.equal(again.event!.count, 1);
  });
});
