import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import {
  applyTaints,
  isControllerNoScheduleTaint,
  nodeConditionsToTaints,
  noExecuteAction,
  noExecuteTaintFor,
  noScheduleTaintsDiff,
  noScheduleTaintsFor,
  NotReadyTaintTemplate,
  reachableTaintRemovals,
  reconcileNodeLabels,
  taintsDiff,
  UnreachableTaintTemplate,
} from './taints.js';

const T0 = Date.UTC(2026, 0, 1);

function node(conds: Record<string, string>, opts: { unschedulable?: boolean; taints?: V1Taint[]; labels?: Record<string, string> } = {}): V1Node {
  return {
    metadata: { name: 'n1', ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: { ...(opts.unschedulable ? { unschedulable: true } : {}), ...(opts.taints ? { taints: opts.taints } : {}) },
    status: { conditions: Object.entries(conds).map(([type, status]) => ({ type, status })) },
  };
}

const keys = (ts: readonly V1Taint[]): string[] => ts.map((t) => `${t.key}:${t.effect}`).sort();
const ns = (key: string): V1Taint => ({ key: `node.kubernetes.io/${key}`, effect: 'NoSchedule' });

describe('noScheduleTaintsFor', () => {
  const table: [name: string, conds: Record<string, string>, unschedulable: boolean, want: string[]][] = [
    ['healthy node: none', { Ready: 'True', MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False', NetworkUnavailable: 'False' }, false, []],
    ['Ready False → not-ready', { Ready: 'False' }, false, ['node.kubernetes.io/not-ready:NoSchedule']],
    ['Ready Unknown → unreachable', { Ready: 'Unknown' }, false, ['node.kubernetes.io/unreachable:NoSchedule']],
    ['MemoryPressure True', { Ready: 'True', MemoryPressure: 'True' }, false, ['node.kubernetes.io/memory-pressure:NoSchedule']],
    ['DiskPressure True', { Ready: 'True', DiskPressure: 'True' }, false, ['node.kubernetes.io/disk-pressure:NoSchedule']],
    ['PIDPressure True', { Ready: 'True', PIDPressure: 'True' }, false, ['node.kubernetes.io/pid-pressure:NoSchedule']],
    ['NetworkUnavailable True', { Ready: 'True', NetworkUnavailable: 'True' }, false, ['node.kubernetes.io/network-unavailable:NoSchedule']],
    ['pressure Unknown (controller-set) → nothing for it', { Ready: 'Unknown', MemoryPressure: 'Unknown' }, false, ['node.kubernetes.io/unreachable:NoSchedule']],
    ['spec.unschedulable', { Ready: 'True' }, true, ['node.kubernetes.io/unschedulable:NoSchedule']],
    [
      'everything at once',
      { Ready: 'False', MemoryPressure: 'True', DiskPressure: 'True', PIDPressure: 'True', NetworkUnavailable: 'True' },
      true,
      ['disk-pressure', 'memory-pressure', 'network-unavailable', 'not-ready', 'pid-pressure', 'unschedulable'].map((k) => `node.kubernetes.io/${k}:NoSchedule`),
    ],
  ];
  for (const [name, conds, unsched, want] of table) {
    it(name, () => assert.deepEqual(keys(noScheduleTaintsFor(node(conds, { unschedulable: unsched }))), want));
  }
  it('the table has the upstream entries', () => {
    assert.deepEqual(nodeConditionsToTaints['Ready'], { False: 'node.kubernetes.io/not-ready', Unknown: 'node.kubernetes.io/unreachable' });
    assert.equal(Object.keys(nodeConditionsToTaints).length, 5);
  });
});

describe('taintsDiff / noScheduleTaintsDiff', () => {
  const user: V1Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const userSameKeyOtherEffect: V1Taint = { key: 'node.kubernetes.io/not-ready', effect: 'PreferNoSchedule' };
  const table: [name: string, n: V1Node, add: string[], remove: string[]][] = [
    ['nothing to do', node({ Ready: 'True' }, { taints: [user] }), [], []],
    ['adds the missing one, a user taint stays', node({ Ready: 'False' }, { taints: [user] }), ['node.kubernetes.io/not-ready:NoSchedule'], []],
    ['removes a stale controller taint', node({ Ready: 'True' }, { taints: [user, ns('memory-pressure')] }), [], ['node.kubernetes.io/memory-pressure:NoSchedule']],
    ['swaps not-ready for unreachable', node({ Ready: 'Unknown' }, { taints: [ns('not-ready')] }), ['node.kubernetes.io/unreachable:NoSchedule'], ['node.kubernetes.io/not-ready:NoSchedule']],
    ['unschedulable cleared → taint removed', node({ Ready: 'True' }, { taints: [ns('unschedulable')] }), [], ['node.kubernetes.io/unschedulable:NoSchedule']],
    ['NoExecute taints are not this pass’s business', node({ Ready: 'True' }, { taints: [{ ...UnreachableTaintTemplate }] }), [], []],
    ['a controller key with another effect is the user’s', node({ Ready: 'True' }, { taints: [userSameKeyOtherEffect] }), [], []],
    ['present with another value: matched by key+effect, left', node({ Ready: 'False' }, { taints: [{ ...ns('not-ready'), value: 'x' }] }), [], []],
  ];
  for (const [name, n, add, remove] of table) {
    it(name, () => {
      const d = noScheduleTaintsDiff(n);
      assert.deepEqual(keys(d.add), add);
      assert.deepEqual(keys(d.remove), remove);
    });
  }
  it('taintsDiff with another ownership rule', () => {
    const d = taintsDiff([{ key: 'a', effect: 'NoExecute' }, { key: 'b', effect: 'NoExecute' }], [{ key: 'c', effect: 'NoExecute' }], (t) => t.key !== 'b');
    assert.deepEqual(keys(d.add), ['c:NoExecute']);
    assert.deepEqual(keys(d.remove), ['a:NoExecute']);
  });
  it('isControllerNoScheduleTaint', () => {
    assert.equal(isControllerNoScheduleTaint(ns('pid-pressure')), true);
    assert.equal(isControllerNoScheduleTaint(ns('unschedulable')), true);
    assert.equal(isControllerNoScheduleTaint({ ...UnreachableTaintTemplate }), false);
    assert.equal(isControllerNoScheduleTaint(user), false);
  });
});

describe('applyTaints', () => {
  const user: V1Taint = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
  it('removes and adds in one list, added taints stamped with timeAdded = now', () => {
    const old: V1Taint = { ...NotReadyTaintTemplate, timeAdded: new Date(T0 - 1000) };
    const r = applyTaints([user, old], [{ ...UnreachableTaintTemplate }], [{ ...NotReadyTaintTemplate }], T0);
    assert.equal(r.changed, true);
    assert.deepEqual(keys(r.taints), ['dedicated:NoExecute', 'node.kubernetes.io/unreachable:NoExecute']);
    assert.equal(r.taints.find((t) => t.key === 'node.kubernetes.io/unreachable')?.timeAdded?.getTime(), T0);
    assert.equal(r.taints[0], user, 'user taint untouched');
  });
  it('a taint already there keeps its timeAdded (tolerationSeconds keep counting)', () => {
    const existing: V1Taint = { ...UnreachableTaintTemplate, timeAdded: new Date(T0 - 60_000) };
    const r = applyTaints([existing], [{ ...UnreachableTaintTemplate }], [{ ...NotReadyTaintTemplate }], T0);
    assert.equal(r.changed, false);
    assert.equal(r.taints[0]?.timeAdded?.getTime(), T0 - 60_000);
  });
  it('same key+effect with another value is replaced', () => {
    const r = applyTaints([{ key: 'k', value: 'a', effect: 'NoSchedule' }], [{ key: 'k', value: 'b', effect: 'NoSchedule' }], [], T0);
    assert.equal(r.changed, true);
    assert.equal(r.taints.length, 1);
    assert.equal(r.taints[0]?.value, 'b');
  });
  it('removing an absent taint changes nothing; input not mutated', () => {
    const input = [user];
    const r = applyTaints(input, [], [{ ...NotReadyTaintTemplate }], T0);
    assert.equal(r.changed, false);
    assert.deepEqual(input, [user]);
  });
  it('undefined taints', () => {
    const r = applyTaints(undefined, [ns('not-ready')], [], T0);
    assert.deepEqual(keys(r.taints), ['node.kubernetes.io/not-ready:NoSchedule']);
  });
});

describe('noExecuteTaintFor (the tainting queue’s action)', () => {
  it('False → not-ready, removing unreachable', () => {
    assert.deepEqual(noExecuteTaintFor({ type: 'Ready', status: 'False' }), { add: { ...NotReadyTaintTemplate }, remove: { ...UnreachableTaintTemplate } });
  });
  it('Unknown → unreachable, removing not-ready', () => {
    assert.deepEqual(noExecuteTaintFor({ type: 'Ready', status: 'Unknown' }), { add: { ...UnreachableTaintTemplate }, remove: { ...NotReadyTaintTemplate } });
  });
  it('True or missing → nothing (the node is ready again)', () => {
    assert.equal(noExecuteTaintFor({ type: 'Ready', status: 'True' }), undefined);
    assert.equal(noExecuteTaintFor(undefined), undefined);
  });
  it('applied, a node never carries both', () => {
    const n = node({ Ready: 'Unknown' }, { taints: [{ ...NotReadyTaintTemplate, timeAdded: new Date(T0) }] });
    const a = noExecuteTaintFor({ type: 'Ready', status: 'Unknown' })!;
    assert.deepEqual(keys(applyTaints(n.spec?.taints, [a.add], [a.remove], T0).taints), ['node.kubernetes.io/unreachable:NoExecute']);
  });
});

describe('noExecuteAction (processTaintBaseEviction)', () => {
  const nr = { ...NotReadyTaintTemplate };
  const ur = { ...UnreachableTaintTemplate };
  const table: [name: string, observed: string, taints: V1Taint[], want: unknown][] = [
    ['False, untainted → queue (remove first: taint missing)', 'False', [], { kind: 'enqueue', status: 'False', removeFromQueueFirst: true }],
    ['False, already not-ready → queue without removing (already processed: add is a no-op)', 'False', [nr], { kind: 'enqueue', status: 'False', removeFromQueueFirst: false }],
    ['False while unreachable → swap at once', 'False', [ur], { kind: 'swap', add: nr, remove: ur }],
    ['Unknown, untainted → queue', 'Unknown', [], { kind: 'enqueue', status: 'Unknown', removeFromQueueFirst: true }],
    ['Unknown, already unreachable → queue without removing', 'Unknown', [ur], { kind: 'enqueue', status: 'Unknown', removeFromQueueFirst: false }],
    ['Unknown while not-ready → swap at once', 'Unknown', [nr], { kind: 'swap', add: ur, remove: nr }],
    ['True, tainted → mark reachable, removing both', 'True', [nr, ur, { key: 'user', effect: 'NoExecute' }], { kind: 'markReachable', removeTaints: [nr, ur] }],
    ['True, clean → mark reachable (queue.remove only)', 'True', [], { kind: 'markReachable', removeTaints: [] }],
  ];
  for (const [name, observed, taints, want] of table) {
    it(name, () => assert.deepEqual(noExecuteAction(node({ Ready: observed }, { taints }), { type: 'Ready', status: observed }), want));
  }
  it('reachableTaintRemovals leaves NoSchedule and user taints', () => {
    const n = node({}, { taints: [ns('unreachable'), ur, { key: 'x', effect: 'NoExecute' }] });
    assert.deepEqual(reachableTaintRemovals(n), [ur]);
  });
});

describe('reconcileNodeLabels', () => {
  const table: [name: string, labels: Record<string, string> | undefined, want: Record<string, string> | undefined][] = [
    ['no labels', undefined, undefined],
    ['both beta twins created from the stable labels', { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' }, { 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64' }],
    ['in agreement: nothing', { 'kubernetes.io/os': 'linux', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64', 'beta.kubernetes.io/arch': 'arm64' }, undefined],
    ['a wrong beta label corrected from the stable one', { 'kubernetes.io/os': 'linux', 'beta.kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'arm64', 'beta.kubernetes.io/arch': 'arm64' }, { 'beta.kubernetes.io/os': 'linux' }],
    ['only a beta label: never copied to the stable one', { 'beta.kubernetes.io/os': 'linux' }, undefined],
  ];
  for (const [name, labels, want] of table) {
    it(name, () => assert.deepEqual(reconcileNodeLabels(node({}, labels ? { labels } : {})), want));
  }
});
