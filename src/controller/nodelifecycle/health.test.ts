import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Lease, V1Node, V1NodeCondition, V1Pod } from '@kubernetes/client-node';
import {
  defaultGracePeriods,
  getReadyCondition,
  isNodeReady,
  nodeNotReadyDecision,
  podReadyFalseConditions,
  resetProbeTimes,
  toMillis,
  tryUpdateNodeHealth,
  type NodeHealthData,
  type NodeHealthResult,
} from './health.js';

const T0 = Date.UTC(2026, 0, 1);
const sec = (s: number): number => T0 + s * 1000;
const YEAR = 365 * 24 * 3600 * 1000;

function cond(type: string, status: string, hb: number, tr: number, extra: Partial<V1NodeCondition> = {}): V1NodeCondition {
  return { type, status, lastHeartbeatTime: new Date(hb), lastTransitionTime: new Date(tr), reason: `Kubelet${type}`, message: `${type} msg`, ...extra };
}

function node(conditions: V1NodeCondition[] | undefined, created = T0): V1Node {
  return { metadata: { name: 'n1', uid: 'u1', resourceVersion: '5', creationTimestamp: new Date(created) }, status: conditions ? { conditions } : {} };
}

/** A kubelet-shaped node: Ready + the three pressure conditions + NetworkUnavailable. */
function kubeletNode(readyStatus: string, hb: number, readyTr = T0, created = T0): V1Node {
  return node(
    [
      cond('MemoryPressure', 'False', hb, T0),
      cond('DiskPressure', 'False', hb, T0),
      cond('PIDPressure', 'False', hb, T0),
      cond('NetworkUnavailable', 'False', hb, T0),
      cond('Ready', readyStatus, hb, readyTr),
    ],
    created,
  );
}

function lease(renew: number | undefined | string): V1Lease {
  return {
    metadata: { name: 'n1', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, ...(renew === undefined ? {} : { renewTime: (typeof renew === 'string' ? renew : new Date(renew)) as unknown as Date }) },
  };
}

/**
 * Runs monitor passes every 5 s from `from` to `to` (inclusive), the world given by `at(t)`;
 * writes succeed (the written node is what the informer shows from the next pass on).
 * Returns the time of the first status write and the last result.
 */
function simulate(from: number, to: number, at: (t: number) => { node: V1Node; lease?: V1Lease }, grace = defaultGracePeriods) {
  let health: NodeHealthData | undefined;
  let written: V1Node | undefined;
  let firstWriteAt: number | undefined;
  let last: NodeHealthResult | undefined;
  const writes: NodeHealthResult[] = [];
  for (let t = from; t <= to; t += 5000) {
    const world = at(t);
    const n = written ?? world.node;
    last = tryUpdateNodeHealth(n, world.lease, health, t, grace);
    health = last.health;
    if (last.nodeStatusUpdate) {
      firstWriteAt ??= t;
      writes.push(last);
      written = last.nodeStatusUpdate.node;
      health = last.nodeStatusUpdate.healthAfterWrite;
    }
  }
  return { firstWriteAt, last: last!, writes, health: health! };
}

describe('tryUpdateNodeHealth', () => {
  it('first sight of a node with a Ready condition: probe time = the controller clock, nothing written', () => {
    const r = tryUpdateNodeHealth(kubeletNode('True', T0 - YEAR), undefined, undefined, sec(100));
    assert.equal(r.health.probeTimestamp, sec(100));
    assert.equal(r.health.readyTransitionTimestamp, sec(100));
    assert.equal(r.gracePeriodMs, 50_000);
    assert.equal(r.nodeStatusUpdate, undefined);
    assert.equal(r.currentReadyCondition?.status, 'True');
  });

  const table: {
    name: string;
    world: (t: number) => { node: V1Node; lease?: V1Lease };
    to: number;
    grace?: typeof defaultGracePeriods;
    firstWriteAt: number | undefined;
    readyAtEnd: string;
  }[] = [
    {
      name: 'heartbeats every 10 s (no Lease): healthy',
      world: (t) => ({ node: kubeletNode('True', t - (t % 10_000)) }),
      to: sec(600),
      firstWriteAt: undefined,
      readyAtEnd: 'True',
    },
    {
      name: 'status never changes but the Lease renews every 10 s: healthy',
      world: (t) => ({ node: kubeletNode('True', T0), lease: lease(t - (t % 10_000)) }),
      to: sec(600),
      firstWriteAt: undefined,
      readyAtEnd: 'True',
    },
    {
      name: 'clock skew: Lease renewTime a year in the future, moving: healthy',
      world: (t) => ({ node: kubeletNode('True', T0 + YEAR), lease: lease(YEAR + t - (t % 10_000)) }),
      to: sec(600),
      firstWriteAt: undefined,
      readyAtEnd: 'True',
    },
    {
      name: 'clock skew: Lease renewTime a year in the past, moving: healthy',
      world: (t) => ({ node: kubeletNode('True', T0 - YEAR), lease: lease(t - YEAR - (t % 10_000)) }),
      to: sec(600),
      firstWriteAt: undefined,
      readyAtEnd: 'True',
    },
    {
      name: 'Lease renewTime as a watch string, moving: healthy',
      world: (t) => ({ node: kubeletNode('True', T0), lease: lease(new Date(t - (t % 10_000)).toISOString()) }),
      to: sec(600),
      firstWriteAt: undefined,
      readyAtEnd: 'True',
    },
    {
      name: 'Lease stops at 100 s: Unknown on the first pass past 50 s after the last probe',
      world: (t) => ({ node: kubeletNode('True', T0), lease: lease(Math.min(t, sec(100))) }),
      to: sec(300),
      // the last renewal was seen at 100 s → 150 s is not yet past the grace (strictly after), 155 s is
      firstWriteAt: sec(155),
      readyAtEnd: 'Unknown',
    },
    {
      name: 'Lease stops at 100 s with the old 40 s grace: Unknown at 145 s',
      world: (t) => ({ node: kubeletNode('True', T0), lease: lease(Math.min(t, sec(100))) }),
      to: sec(300),
      grace: { nodeMonitorGracePeriodMs: 40_000, nodeStartupGracePeriodMs: 60_000 },
      firstWriteAt: sec(145),
      readyAtEnd: 'Unknown',
    },
    {
      name: 'Lease renewTime goes backwards (kubelet clock stepped back): not a renewal, as upstream',
      world: (t) => ({ node: kubeletNode('True', T0), lease: lease(t < sec(100) ? t : t - YEAR) }),
      to: sec(300),
      // last forward renewal seen at 95 s
      firstWriteAt: sec(150),
      readyAtEnd: 'Unknown',
    },
    {
      name: 'Ready=False posted with heartbeats: stays False, never Unknown',
      world: (t) => ({ node: kubeletNode('False', t - (t % 10_000), sec(20)), lease: lease(t) }),
      to: sec(600),
      firstWriteAt: undefined,
      readyAtEnd: 'False',
    },
    {
      name: 'a node that never posts a status: NeverUpdated after the 60 s startup grace from its creation',
      world: () => ({ node: node(undefined, sec(10)) }),
      to: sec(200),
      // created at 10 s → 70 s is not past, 75 s is
      firstWriteAt: sec(75),
      readyAtEnd: 'Unknown',
    },
    {
      name: 'no status but a renewing Lease: left alone (upstream: the Lease alone proves life)',
      world: (t) => ({ node: node(undefined, sec(0)), lease: lease(t) }),
      to: sec(600),
      firstWriteAt: undefined,
      readyAtEnd: 'none',
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const { firstWriteAt, last, writes } = simulate(sec(0), c.to, c.world, c.grace);
      assert.equal(firstWriteAt, c.firstWriteAt);
      assert.equal(last.currentReadyCondition?.status ?? 'none', c.readyAtEnd);
      assert.ok(writes.length <= 1, `written once, not every pass (${writes.length})`);
    });
  }

  it('the conditions it writes: Unknown with NodeStatusUnknown, heartbeat kept, transition now; NetworkUnavailable untouched', () => {
    const n = kubeletNode('True', sec(30), sec(5));
    const prev: NodeHealthData = { probeTimestamp: sec(40), readyTransitionTimestamp: sec(5), status: n.status, lease: undefined };
    const now = sec(90) + 1;
    const r = tryUpdateNodeHealth(n, undefined, prev, now);
    const u = r.nodeStatusUpdate;
    assert.ok(u);
    assert.deepEqual(u.changed.sort(), ['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready']);
    const byType = new Map(u.conditions.map((c) => [c.type, c]));
    for (const t of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      const c = byType.get(t)!;
      assert.equal(c.status, 'Unknown', t);
      assert.equal(c.reason, 'NodeStatusUnknown');
      assert.equal(c.message, 'Kubelet stopped posting node status.');
      assert.equal(toMillis(c.lastHeartbeatTime), sec(30), 'heartbeat kept');
      assert.equal(toMillis(c.lastTransitionTime), now);
    }
    assert.equal(byType.get('NetworkUnavailable')?.status, 'False');
    assert.equal(byType.get('NetworkUnavailable')?.reason, 'KubeletNetworkUnavailable');
    assert.equal(u.node.status?.conditions, u.conditions);
    assert.equal(u.node.metadata?.resourceVersion, '5', 'the write carries the resourceVersion it read');
    assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', 'input not mutated');
    assert.equal(r.observedReadyCondition.status, 'True');
    assert.equal(r.currentReadyCondition?.status, 'Unknown');
    assert.equal(r.health.probeTimestamp, sec(40), 'the health to keep if the write fails');
    assert.equal(u.healthAfterWrite.probeTimestamp, sec(40));
    assert.equal(u.healthAfterWrite.readyTransitionTimestamp, now);
    assert.equal(getReadyCondition({ status: u.healthAfterWrite.status })?.status, 'Unknown');
  });

  it('a missing condition is added as NeverUpdated with the creation time as heartbeat', () => {
    const n = node([cond('Ready', 'True', sec(30), sec(5))], sec(1));
    const prev: NodeHealthData = { probeTimestamp: sec(40), readyTransitionTimestamp: sec(5), status: n.status, lease: undefined };
    const u = tryUpdateNodeHealth(n, undefined, prev, sec(100)).nodeStatusUpdate!;
    const mem = u.conditions.find((c) => c.type === 'MemoryPressure')!;
    assert.equal(mem.status, 'Unknown');
    assert.equal(mem.reason, 'NodeStatusNeverUpdated');
    assert.equal(mem.message, 'Kubelet never posted node status.');
    assert.equal(toMillis(mem.lastHeartbeatTime), sec(1));
    assert.equal(toMillis(mem.lastTransitionTime), sec(100));
    assert.equal(u.conditions.find((c) => c.type === 'Ready')?.reason, 'NodeStatusUnknown');
  });

  it('never-posted node: the observed condition is a fake Unknown dated at creation, startup grace applies', () => {
    const r = tryUpdateNodeHealth(node(undefined, sec(10)), undefined, undefined, sec(20));
    assert.equal(r.gracePeriodMs, 60_000);
    assert.equal(r.observedReadyCondition.status, 'Unknown');
    assert.equal(toMillis(r.observedReadyCondition.lastHeartbeatTime), sec(10));
    assert.equal(r.health.probeTimestamp, sec(10), 'counted from creation, not from first sight');
    assert.equal(r.currentReadyCondition, undefined);
    const late = tryUpdateNodeHealth(node(undefined, sec(10)), undefined, r.health, sec(71));
    const ready = late.nodeStatusUpdate?.conditions.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'NodeStatusNeverUpdated');
    assert.equal(late.currentReadyCondition?.reason, 'NodeStatusNeverUpdated');
  });

  it('a Ready condition already Unknown (written by the controller) is not written again', () => {
    const n = node([cond('Ready', 'Unknown', sec(30), sec(80), { reason: 'NodeStatusUnknown' }), cond('MemoryPressure', 'Unknown', sec(30), sec(80)), cond('DiskPressure', 'Unknown', sec(30), sec(80)), cond('PIDPressure', 'Unknown', sec(30), sec(80))]);
    const prev: NodeHealthData = { probeTimestamp: sec(30), readyTransitionTimestamp: sec(80), status: n.status, lease: undefined };
    const r = tryUpdateNodeHealth(n, undefined, prev, sec(500));
    assert.equal(r.nodeStatusUpdate, undefined);
    assert.equal(r.currentReadyCondition?.status, 'Unknown');
  });

  it('Ready=False past the grace period becomes Unknown too (regardless of its value)', () => {
    const n = kubeletNode('False', sec(30), sec(20));
    const prev: NodeHealthData = { probeTimestamp: sec(30), readyTransitionTimestamp: sec(20), status: n.status, lease: undefined };
    const r = tryUpdateNodeHealth(n, undefined, prev, sec(81));
    assert.equal(r.observedReadyCondition.status, 'False');
    assert.equal(r.nodeStatusUpdate?.conditions.find((c) => c.type === 'Ready')?.status, 'Unknown');
  });

  it('readyTransitionTimestamp moves only when the Ready condition transitioned', () => {
    const a = kubeletNode('True', sec(10), sec(0));
    let h = tryUpdateNodeHealth(a, undefined, undefined, sec(12)).health;
    h = tryUpdateNodeHealth(kubeletNode('True', sec(20), sec(0)), undefined, h, sec(22)).health;
    assert.equal(h.probeTimestamp, sec(22));
    assert.equal(h.readyTransitionTimestamp, sec(12), 'heartbeat only: transition kept');
    h = tryUpdateNodeHealth(kubeletNode('False', sec(30), sec(30)), undefined, h, sec(32)).health;
    assert.equal(h.readyTransitionTimestamp, sec(32), 'transitioned: the controller clock');
  });

  it('the same instant as Date (list) and as string (watch) is not a heartbeat', () => {
    const listed = kubeletNode('True', sec(10));
    const h = tryUpdateNodeHealth(listed, undefined, undefined, sec(12)).health;
    const watched = structuredClone(listed);
    for (const c of watched.status!.conditions!) {
      c.lastHeartbeatTime = (c.lastHeartbeatTime as Date).toISOString() as unknown as Date;
      c.lastTransitionTime = (c.lastTransitionTime as Date).toISOString() as unknown as Date;
    }
    const r = tryUpdateNodeHealth(watched, undefined, h, sec(40));
    assert.equal(r.health.probeTimestamp, sec(12));
  });

  it('a status change forgets the saved Lease, so the next pass counts the Lease once more (as upstream)', () => {
    const l = lease(sec(5));
    let h = tryUpdateNodeHealth(kubeletNode('True', sec(5)), l, undefined, sec(6)).health;
    assert.equal(h.lease, l);
    h = tryUpdateNodeHealth(kubeletNode('True', sec(15)), l, h, sec(16)).health;
    assert.equal(h.lease, undefined, 'new status: lease forgotten');
    assert.equal(h.probeTimestamp, sec(16));
    h = tryUpdateNodeHealth(kubeletNode('True', sec(15)), l, h, sec(21)).health;
    assert.equal(h.probeTimestamp, sec(21), 'the unchanged Lease counted again');
    h = tryUpdateNodeHealth(kubeletNode('True', sec(15)), l, h, sec(26)).health;
    assert.equal(h.probeTimestamp, sec(21), 'and only once');
  });

  it('a saved Lease without renewTime does not block later renewals', () => {
    let h = tryUpdateNodeHealth(kubeletNode('True', sec(0)), lease(undefined), undefined, sec(1)).health;
    h = tryUpdateNodeHealth(kubeletNode('True', sec(0)), lease(sec(50)), h, sec(51)).health;
    assert.equal(h.probeTimestamp, sec(51));
  });
  it('health is replaced, never mutated: a pass where nothing moved gives back the saved object', () => {
    const n = kubeletNode('True', sec(0));
    const l = lease(sec(0));
    const first = tryUpdateNodeHealth(n, l, undefined, sec(1)).health;
    const frozen = Object.freeze({ ...first });
    const again = tryUpdateNodeHealth(n, l, frozen, sec(6)).health;
    assert.equal(again, frozen, 'same heartbeat, same Lease: the same object');
    const renewed = tryUpdateNodeHealth(n, lease(sec(10)), frozen, sec(11)).health;
    assert.notEqual(renewed, frozen);
    assert.equal(renewed.probeTimestamp, sec(11));
    assert.equal(frozen.probeTimestamp, sec(1), 'the saved object untouched');
  });
});

describe('nodeNotReadyDecision', () => {
  const c = (status: string): V1NodeCondition => ({ type: 'Ready', status });
  const table: [observed: string, current: string, retry: boolean, event: boolean, mark: boolean][] = [
    ['True', 'Unknown', false, true, true], // the controller just took Ready away
    ['True', 'True', false, false, false],
    ['False', 'False', false, false, false], // the kubelet said False itself
    ['False', 'Unknown', false, false, false],
    ['Unknown', 'Unknown', false, false, false],
    ['Unknown', 'Unknown', true, false, true], // marking failed last pass
    ['True', 'True', true, false, false], // Ready again: retry dropped
    ['False', 'False', true, false, true],
  ];
  for (const [o, cur, retry, event, mark] of table) {
    it(`observed ${o}, now ${cur}, retry ${retry} → event ${event}, mark ${mark}`, () => {
      assert.deepEqual(nodeNotReadyDecision(c(o), c(cur), retry), { recordNodeNotReady: event, markPodsNotReady: mark });
    });
  }
});

describe('podReadyFalseConditions (MarkPodsNotReady)', () => {
  const pod = (nodeName: string, ready?: string): V1Pod => ({
    metadata: { name: 'p', namespace: 'ns' },
    spec: { nodeName, containers: [] },
    status: { conditions: [{ type: 'PodScheduled', status: 'True' }, ...(ready ? [{ type: 'Ready', status: ready, reason: 'r', lastTransitionTime: new Date(T0) }] : [])] },
  });
  it('Ready True → False with a new transition time, reason kept, other conditions kept', () => {
    const out = podReadyFalseConditions(pod('n1', 'True'), 'n1', sec(9))!;
    assert.equal(out.length, 2);
    assert.deepEqual(out[0], { type: 'PodScheduled', status: 'True' });
    assert.equal(out[1]!.status, 'False');
    assert.equal(out[1]!.reason, 'r');
    assert.equal(toMillis(out[1]!.lastTransitionTime), sec(9));
  });
  it('nothing to write: already False, no Ready condition, another node', () => {
    assert.equal(podReadyFalseConditions(pod('n1', 'False'), 'n1', sec(9)), undefined);
    assert.equal(podReadyFalseConditions(pod('n1'), 'n1', sec(9)), undefined);
    assert.equal(podReadyFalseConditions(pod('n2', 'True'), 'n1', sec(9)), undefined);
  });
});

describe('helpers', () => {
  it('isNodeReady', () => {
    assert.equal(isNodeReady(kubeletNode('True', T0)), true);
    assert.equal(isNodeReady(kubeletNode('False', T0)), false);
    assert.equal(isNodeReady(node(undefined)), false);
  });
  it('resetProbeTimes restarts every known node at now', () => {
    const h = new Map<string, NodeHealthData>([['a', { probeTimestamp: 1, readyTransitionTimestamp: 2, status: undefined, lease: undefined }]]);
    const out = resetProbeTimes(h, ['a', 'b'], sec(7));
    assert.deepEqual([...out.keys()], ['a']);
    assert.equal(out.get('a')!.probeTimestamp, sec(7));
    assert.equal(out.get('a')!.readyTransitionTimestamp, sec(7));
    assert.equal(h.get('a')!.probeTimestamp, 1, 'input kept');
  });
  it('toMillis reads Date, RFC 3339 strings and MicroTime strings', () => {
    assert.equal(toMillis(new Date(T0)), T0);
    assert.equal(toMillis('2026-01-01T00:00:00Z'), T0);
    assert.equal(toMillis('2026-01-01T00:00:00.123456Z'), T0 + 123);
    assert.equal(toMillis(undefined), undefined);
    assert.equal(toMillis('garbage'), undefined);
  });
});
