import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import {
  disruptionTargetCondition,
  evictionDecision,
  getMatchingTolerations,
  getNoExecuteTaints,
  taintsEqual,
  tolerationsEqual,
  toleratesTaint,
} from './decisions.js';

const unreachable: V1Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
const notReady: V1Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
const custom: V1Taint = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
const tol = (key: string | undefined, seconds?: number, extra: Partial<V1Toleration> = {}): V1Toleration => ({
  ...(key !== undefined ? { key } : {}),
  operator: 'Exists',
  effect: 'NoExecute',
  ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}),
  ...extra,
});
const pod = (tolerations: V1Toleration[] = []): V1Pod => ({ metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { nodeName: 'n1', containers: [], tolerations } });

describe('toleratesTaint', () => {
  const cases: [string, V1Toleration, V1Taint, boolean][] = [
    ['Exists with the key', tol('node.kubernetes.io/unreachable'), unreachable, true],
    ['Exists without a key matches any key', tol(undefined), custom, true],
    ['another key', tol('node.kubernetes.io/not-ready'), unreachable, false],
    ['another effect', { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }, custom, false],
    ['empty effect matches all effects', { key: 'dedicated', operator: 'Exists' }, custom, true],
    ['Equal with the value', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoExecute' }, custom, true],
    ['Equal with another value', { key: 'dedicated', operator: 'Equal', value: 'cpu', effect: 'NoExecute' }, custom, false],
    ['empty operator is Equal', { key: 'dedicated', value: 'gpu' }, custom, true],
    ['empty operator, empty value vs a valued taint', { key: 'dedicated' }, custom, false],
    ['unknown operator', { key: 'dedicated', operator: 'Lt', value: 'gpu' }, custom, false],
  ];
  for (const [name, t, taint, want] of cases) it(name, () => assert.equal(toleratesTaint(t, taint), want));
});

describe('getMatchingTolerations', () => {
  it('no taints: tolerated, none used', () => assert.deepEqual(getMatchingTolerations([], []), { tolerated: true, used: [] }));
  it('taints but no tolerations: not tolerated', () => assert.deepEqual(getMatchingTolerations([unreachable], undefined), { tolerated: false, used: [] }));
  it('every taint must be tolerated', () => {
    assert.deepEqual(getMatchingTolerations([unreachable, notReady], [tol('node.kubernetes.io/unreachable', 30)]), { tolerated: false, used: [] });
  });
  it('the first toleration tolerating each taint is used, one per taint', () => {
    const a = tol('node.kubernetes.io/unreachable', 30);
    const any = tol(undefined);
    const b = tol('node.kubernetes.io/not-ready', 60);
    assert.deepEqual(getMatchingTolerations([unreachable, notReady], [a, any, b]), { tolerated: true, used: [a, any] });
  });
});

describe('getNoExecuteTaints', () => {
  it('keeps NoExecute only', () => {
    assert.deepEqual(getNoExecuteTaints([{ key: 'a', effect: 'NoSchedule' }, unreachable, { key: 'b', effect: 'PreferNoSchedule' }]), [unreachable]);
    assert.deepEqual(getNoExecuteTaints(undefined), []);
  });
});

describe('evictionDecision', () => {
  const now = 1_000_000;
  const cases: [string, V1Pod, V1Taint[], { createdAt: number; fireAt: number } | undefined, ReturnType<typeof evictionDecision>][] = [
    ['no taints: cancel', pod(), [], undefined, { action: 'cancel' }],
    ['not tolerated: evict now', pod(), [unreachable], undefined, { action: 'evictNow' }],
    ['one of two taints not tolerated: evict now', pod([tol('node.kubernetes.io/unreachable', 30)]), [unreachable, custom], undefined, { action: 'evictNow' }],
    ['not tolerated, even with work scheduled: evict now', pod(), [unreachable], { createdAt: now - 5000, fireAt: now + 25_000 }, { action: 'evictNow' }],
    ['tolerated forever: cancel', pod([tol('node.kubernetes.io/unreachable')]), [unreachable], undefined, { action: 'cancel' }],
    ['tolerated for 30 s: evict at now + 30 s', pod([tol('node.kubernetes.io/unreachable', 30)]), [unreachable], undefined, { action: 'evictAt', at: now + 30_000, createdAt: now }],
    ['tolerationSeconds 0: evict at now', pod([tol('node.kubernetes.io/unreachable', 0)]), [unreachable], undefined, { action: 'evictAt', at: now, createdAt: now }],
    ['two taints, 30 s and 300 s: the smaller', pod([tol('node.kubernetes.io/unreachable', 300), tol('dedicated', 30)]), [unreachable, custom], undefined, { action: 'evictAt', at: now + 30_000, createdAt: now }],
    ['one forever, one 60 s: 60 s', pod([tol('node.kubernetes.io/unreachable'), tol('dedicated', 60)]), [unreachable, custom], undefined, { action: 'evictAt', at: now + 60_000, createdAt: now }],
    ['scheduled earlier: kept (deadline runs from its creation)', pod([tol('node.kubernetes.io/unreachable', 30)]), [unreachable], { createdAt: now - 10_000, fireAt: now + 20_000 }, { action: 'none' }],
    ['zero and negative tolerationSeconds: at once', pod([tol('node.kubernetes.io/unreachable', 300), tol('dedicated', -5)]), [unreachable, custom], undefined, { action: 'evictAt', at: now, createdAt: now }],
    ['taint added 20 s ago, 30 s tolerated: 10 s left', pod([tol('node.kubernetes.io/unreachable', 30)]), [{ ...unreachable, timeAdded: new Date(now - 20_000) }], undefined, { action: 'evictAt', at: now + 10_000, createdAt: now }],
    ['taint added 40 s ago, 30 s tolerated: past, fires at once', pod([tol('node.kubernetes.io/unreachable', 30)]), [{ ...unreachable, timeAdded: new Date(now - 40_000) }], undefined, { action: 'evictAt', at: now - 10_000, createdAt: now }],
    ['timeAdded as the watch delivers it (RFC 3339 string)', pod([tol('node.kubernetes.io/unreachable', 30)]), [{ ...unreachable, timeAdded: new Date(now - 5000).toISOString() as unknown as Date }], undefined, { action: 'evictAt', at: now + 25_000, createdAt: now }],
    ['timeAdded ahead of the clock (skew): counts as now', pod([tol('node.kubernetes.io/unreachable', 30)]), [{ ...unreachable, timeAdded: new Date(now + 3_600_000) }], undefined, { action: 'evictAt', at: now + 30_000, createdAt: now }],
    ['per taint: an old taint with 300 s vs a new one with 30 s', pod([tol('node.kubernetes.io/unreachable', 300), tol('dedicated', 30)]), [{ ...unreachable, timeAdded: new Date(now - 290_000) }, { ...custom, timeAdded: new Date(now) }], undefined, { action: 'evictAt', at: now + 10_000, createdAt: now }],
    ['swapped for a newer taint: the earlier scheduled deadline is kept', pod([tol('node.kubernetes.io/not-ready', 30), tol('node.kubernetes.io/unreachable', 30)]), [{ ...unreachable, timeAdded: new Date(now) }], { createdAt: now - 20_000, fireAt: now + 10_000 }, { action: 'none' }],
    ['scheduled at this very instant: replaced', pod([tol('node.kubernetes.io/unreachable', 10)]), [unreachable], { createdAt: now, fireAt: now + 30_000 }, { action: 'evictAt', at: now + 10_000, createdAt: now }],
  ];
  for (const [name, p, taints, scheduled, want] of cases) it(name, () => assert.deepEqual(evictionDecision(p, taints, now, scheduled), want));
});

describe('taintsEqual / tolerationsEqual', () => {
  it('taints: timeAdded compared as an instant; order and values matter', () => {
    const t = Date.UTC(2026, 0, 1);
    assert.ok(taintsEqual([{ ...unreachable, timeAdded: new Date(t) }], [{ ...unreachable, timeAdded: new Date(t).toISOString() as unknown as Date }]));
    assert.ok(!taintsEqual([{ ...unreachable, timeAdded: new Date(t) }], [{ ...unreachable, timeAdded: new Date(t + 1000) }]));
    assert.ok(!taintsEqual([unreachable, notReady], [notReady, unreachable]));
    assert.ok(!taintsEqual([custom], [{ ...custom, value: 'cpu' }]));
    assert.ok(taintsEqual([], []));
  });
  it('tolerations: absent equals empty; tolerationSeconds matters', () => {
    assert.ok(tolerationsEqual(undefined, []));
    assert.ok(tolerationsEqual([tol('a', 30)], [tol('a', 30)]));
    assert.ok(!tolerationsEqual([tol('a', 30)], [tol('a', 60)]));
    assert.ok(!tolerationsEqual([tol('a')], [tol('a', 60)]));
  });
});

describe('disruptionTargetCondition', () => {
  const now = new Date(Date.UTC(2026, 0, 1, 0, 1));
  const earlier = new Date(Date.UTC(2026, 0, 1));
  const want = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' };
  it('absent: added, transition now', () => {
    assert.deepEqual(disruptionTargetCondition({ conditions: [{ type: 'Ready', status: 'True' }] }, now), { condition: { ...want, lastTransitionTime: now }, changed: true });
  });
  it('already there: unchanged, transition kept', () => {
    assert.deepEqual(disruptionTargetCondition({ conditions: [{ ...want, lastTransitionTime: earlier }] }, now), { condition: { ...want, lastTransitionTime: earlier }, changed: false });
  });
  it('True with another reason: rewritten, transition kept', () => {
    const r = disruptionTargetCondition({ conditions: [{ ...want, reason: 'PreemptionByScheduler', lastTransitionTime: earlier }] }, now);
    assert.deepEqual(r, { condition: { ...want, lastTransitionTime: earlier }, changed: true });
  });
  it('False before: rewritten, transition now', () => {
    const r = disruptionTargetCondition({ conditions: [{ ...want, status: 'False', lastTransitionTime: earlier }] }, now);
    assert.deepEqual(r, { condition: { ...want, lastTransitionTime: now }, changed: true });
  });
});
