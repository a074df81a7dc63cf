import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { classifyNodes, computeZoneState, evictionRateFor, handleDisruption, isNodeExcludedFromDisruptionChecks, zoneKey, type ZoneState } from './zones.js';

const withLabels = (labels?: Record<string, string>, name = 'n'): V1Node => ({ metadata: { name, ...(labels ? { labels } : {}) } });
const ready = (status: string | undefined): V1NodeCondition | undefined => (status === undefined ? undefined : { type: 'Ready', status });
const conds = (readyCount: number, notReady: number, status = 'Unknown'): (V1NodeCondition | undefined)[] => [
  ...Array.from({ length: readyCount }, () => ready('True')),
  ...Array.from({ length: notReady }, () => ready(status)),
];

describe('zoneKey (GetZoneKey)', () => {
  const table: [name: string, labels: Record<string, string> | undefined, want: string][] = [
    ['no labels: the empty zone', undefined, ''],
    ['unrelated labels', { a: 'b' }, ''],
    ['topology zone and region', { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r1' }, 'r1:\x00:z1'],
    ['zone only', { 'topology.kubernetes.io/zone': 'z1' }, ':\x00:z1'],
    ['region only', { 'topology.kubernetes.io/region': 'r1' }, 'r1:\x00:'],
    ['failure-domain beta labels', { 'failure-domain.beta.kubernetes.io/zone': 'z2', 'failure-domain.beta.kubernetes.io/region': 'r2' }, 'r2:\x00:z2'],
    [
      'both present: the beta label wins, as upstream component-helpers does',
      { 'failure-domain.beta.kubernetes.io/zone': 'old', 'topology.kubernetes.io/zone': 'new', 'topology.kubernetes.io/region': 'r' },
      'r:\x00:old',
    ],
    ['empty values: the empty zone', { 'topology.kubernetes.io/zone': '', 'topology.kubernetes.io/region': '' }, ''],
  ];
  for (const [name, labels, want] of table) it(name, () => assert.equal(zoneKey(withLabels(labels)), want));

  it('exclude-disruption label', () => {
    assert.equal(isNodeExcludedFromDisruptionChecks(withLabels({ 'node.kubernetes.io/exclude-disruption': '' })), true);
    assert.equal(isNodeExcludedFromDisruptionChecks(withLabels({})), false);
  });
});

describe('computeZoneState', () => {
  const table: [name: string, c: (V1NodeCondition | undefined)[], notReady: number, state: ZoneState][] = [
    ['empty zone', [], 0, 'Normal'],
    ['all ready', conds(4, 0), 0, 'Normal'],
    ['one of one down: full', conds(0, 1), 1, 'FullDisruption'],
    ['all down (False counts too)', conds(0, 3, 'False'), 3, 'FullDisruption'],
    ['no Ready condition counts as not ready', [undefined, ready('True')], 1, 'Normal'],
    ['2 of 3 down: not more than 2 → Normal', conds(1, 2), 2, 'Normal'],
    ['3 of 4 down → Partial', conds(1, 3), 3, 'PartialDisruption'],
    ['11 of 20 = 0.55 exactly → Partial (>=)', conds(9, 11), 11, 'PartialDisruption'],
    ['10 of 20 = 0.5 → Normal', conds(10, 10), 10, 'Normal'],
    ['55 of 100 → Partial', conds(45, 55), 55, 'PartialDisruption'],
  ];
  for (const [name, c, notReady, state] of table) it(name, () => assert.deepEqual(computeZoneState(c), { notReadyNodes: notReady, state }));
  it('threshold is configurable', () => assert.equal(computeZoneState(conds(7, 3), 0.3).state, 'PartialDisruption'));
});

describe('evictionRateFor', () => {
  const table: [state: ZoneState, size: number, allFull: boolean, want: number][] = [
    ['Normal', 10, false, 0.1],
    ['Initial', 10, false, 0.1],
    ['PartialDisruption', 50, false, 0], // small zone: stop
    ['PartialDisruption', 51, false, 0.01], // large zone: secondary rate
    ['FullDisruption', 10, false, 0.1], // one dead zone among live ones: normal rate
    ['FullDisruption', 10, true, 0],
    ['Normal', 10, true, 0],
  ];
  for (const [state, size, allFull, want] of table) {
    it(`${state}, ${size} nodes, all full ${allFull} → ${want}`, () => assert.equal(evictionRateFor(state, size, allFull), want));
  }
  it('custom rates', () => assert.equal(evictionRateFor('PartialDisruption', 6, false, { evictionRate: 1, secondaryEvictionRate: 0.5, largeClusterThreshold: 5 }), 0.5));
});

describe('handleDisruption', () => {
  const states = (o: Record<string, ZoneState>): Map<string, ZoneState> => new Map(Object.entries(o));
  const zc = (o: Record<string, (V1NodeCondition | undefined)[]>) => new Map(Object.entries(o));

  it('first pass: new zones go Initial → Normal at the normal rate', () => {
    const d = handleDisruption({ zoneStates: states({}), zoneReadyConditions: zc({ a: conds(3, 0), b: conds(2, 0) }) });
    assert.deepEqual([...d.zoneStates], [['a', 'Normal'], ['b', 'Normal']]);
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0.1 }, { zone: 'b', qps: 0.1 }]);
    assert.equal(d.enteredFullDisruption, false);
    assert.equal(d.exitedFullDisruption, false);
  });

  it('no change: no rate swaps', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'Normal', b: 'Normal' }), zoneReadyConditions: zc({ a: conds(3, 1), b: conds(2, 0) }) });
    assert.deepEqual(d.setRates, []);
  });

  it('3 of 4 down in a small zone → Partial with rate 0; the healthy zone keeps its rate', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'Normal', b: 'Normal' }), zoneReadyConditions: zc({ a: conds(1, 3), b: conds(4, 0) }) });
    assert.equal(d.zoneStates.get('a'), 'PartialDisruption');
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0 }]);
    const m = d.metrics.find((x) => x.zone === 'a')!;
    assert.deepEqual(m, { zone: 'a', size: 4, unhealthy: 3, healthPercent: 25 });
  });

  it('Partial in a large zone → secondary rate; back to Normal → normal rate', () => {
    let d = handleDisruption({ zoneStates: states({ a: 'Normal', b: 'Normal' }), zoneReadyConditions: zc({ a: conds(20, 40), b: conds(1, 0) }) });
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0.01 }]);
    d = handleDisruption({ zoneStates: d.zoneStates, zoneReadyConditions: zc({ a: conds(60, 0), b: conds(1, 0) }) });
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0.1 }]);
  });

  it('one zone fully down while another lives: that zone evicts at the normal rate', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'Normal', b: 'Normal' }), zoneReadyConditions: zc({ a: conds(0, 2), b: conds(2, 0) }) });
    assert.equal(d.zoneStates.get('a'), 'FullDisruption');
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0.1 }]);
    assert.equal(d.enteredFullDisruption, false);
  });

  it('every zone down → enter full disruption: all rates 0, all zones Full', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'Normal', b: 'PartialDisruption' }), zoneReadyConditions: zc({ a: conds(0, 2), b: conds(0, 5) }) });
    assert.equal(d.enteredFullDisruption, true);
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0 }, { zone: 'b', qps: 0 }]);
    assert.deepEqual([...d.zoneStates.values()], ['FullDisruption', 'FullDisruption']);
  });

  it('still all down: nothing to do', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'FullDisruption', b: 'FullDisruption' }), zoneReadyConditions: zc({ a: conds(0, 2), b: conds(0, 5) }) });
    assert.equal(d.enteredFullDisruption, false);
    assert.equal(d.exitedFullDisruption, false);
    assert.deepEqual(d.setRates, []);
  });

  it('one node back → exit: probe times reset, every zone gets its own rate (a still-dead zone: normal rate)', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'FullDisruption', b: 'FullDisruption' }), zoneReadyConditions: zc({ a: conds(1, 1), b: conds(0, 5) }) });
    assert.equal(d.exitedFullDisruption, true);
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0.1 }, { zone: 'b', qps: 0.1 }]);
    assert.deepEqual([...d.zoneStates], [['a', 'Normal'], ['b', 'FullDisruption']]);
  });

  it('a new zone appearing during full disruption counts as not fully disrupted before', () => {
    // upstream registers the unseen zone as Initial before judging "all were fully disrupted"
    const d = handleDisruption({ zoneStates: states({ a: 'FullDisruption' }), zoneReadyConditions: zc({ a: conds(0, 2), c: conds(0, 1) }) });
    assert.equal(d.enteredFullDisruption, true);
    assert.deepEqual(d.setRates, [{ zone: 'a', qps: 0 }, { zone: 'c', qps: 0 }]);
  });

  it('a zone with no nodes left is dropped and its gauges zeroed', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'Normal', gone: 'PartialDisruption' }), zoneReadyConditions: zc({ a: conds(2, 0) }) });
    assert.deepEqual(d.removedZones, ['gone']);
    assert.deepEqual([...d.zoneStates.keys()], ['a']);
    assert.deepEqual(d.metrics.find((m) => m.zone === 'gone'), { zone: 'gone', size: 0, unhealthy: 0, healthPercent: 100 });
  });

  it('the only live zone vanishing: the remaining ones were and are Full → no switch (as upstream)', () => {
    const d = handleDisruption({ zoneStates: states({ a: 'FullDisruption', b: 'Normal' }), zoneReadyConditions: zc({ a: conds(0, 2) }) });
    assert.equal(d.enteredFullDisruption, false, 'a was already Full and b is gone: all were fully disrupted');
    assert.deepEqual(d.setRates, []);
  });

  it('no nodes at all: nothing', () => {
    const d = handleDisruption({ zoneStates: states({}), zoneReadyConditions: zc({}) });
    assert.deepEqual(d, { zoneStates: new Map(), setRates: [], enteredFullDisruption: false, exitedFullDisruption: false, removedZones: [], metrics: [] });
  });

  it('input map is not modified', () => {
    const input = states({ a: 'Normal' });
    handleDisruption({ zoneStates: input, zoneReadyConditions: zc({ a: conds(0, 1) }) });
    assert.deepEqual([...input], [['a', 'Normal']]);
  });
});

describe('classifyNodes', () => {
  const z1 = { 'topology.kubernetes.io/zone': 'z1' };
  it('added, deleted and new zone representatives', () => {
    const a = withLabels(z1, 'a');
    const b = withLabels({ 'topology.kubernetes.io/zone': 'z2' }, 'b');
    const c = withLabels(z1, 'c');
    const gone = withLabels(z1, 'gone');
    const known = new Map([['a', a], ['b', b], ['gone', gone]]);
    const r = classifyNodes(known, [a, b, c], new Map([[':\x00:z1', 'Normal' as ZoneState]]));
    assert.deepEqual(r.added.map((n) => n.metadata?.name), ['c']);
    assert.deepEqual(r.deleted.map((n) => n.metadata?.name), ['gone']);
    assert.deepEqual(r.newZoneRepresentatives.map((n) => n.metadata?.name), ['b']);
  });
});
