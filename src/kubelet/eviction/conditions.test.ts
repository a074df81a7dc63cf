import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  nodeConditions,
  nodeConditionsLastObservedAt,
  nodeConditionsObservedSince,
  pressureConditions,
  sortByEvictionPriority,
  thresholdsFirstObservedAt,
  thresholdsMet,
  thresholdsMetGracePeriod,
  thresholdsUpdatedStats,
} from './conditions.js';
import type { SignalObservations } from './observations.js';
import { parseThresholdConfig } from './thresholds.js';

const Gi = 1024 ** 3;
const parsed = parseThresholdConfig({
  evictionHard: { 'nodefs.available': '10%', 'imagefs.available': '15%', 'memory.available': '100Mi', 'pid.available': '1000' },
  evictionMinimumReclaim: { 'imagefs.available': '5Gi' },
});
const [nodefs, imagefs, memory, pid] = [parsed[0]!, parsed[1]!, parsed[2]!, parsed[3]!];
const all = [nodefs, imagefs, memory, pid];

function obs(o: { node?: number; image?: number; mem?: number; pids?: number; time?: number }): SignalObservations {
  const time = o.time ?? 0;
  const out: SignalObservations = {};
  if (o.node !== undefined) out['nodefs.available'] = { available: o.node, capacity: 100 * Gi, time };
  if (o.image !== undefined) out['imagefs.available'] = { available: o.image, capacity: 100 * Gi, time };
  if (o.mem !== undefined) out['memory.available'] = { available: o.mem, capacity: 8 * Gi, time };
  if (o.pids !== undefined) out['pid.available'] = { available: o.pids, capacity: 32768, time };
  return out;
}

describe('thresholdsMet', () => {
  const table: { name: string; o: SignalObservations; minReclaim?: boolean; want: string[] }[] = [
    { name: 'plenty of everything', o: obs({ node: 50 * Gi, image: 50 * Gi, mem: 4 * Gi, pids: 30000 }), want: [] },
    { name: 'imagefs below 15% but nodefs above 10%', o: obs({ node: 12 * Gi, image: 12 * Gi }), want: ['imagefs.available'] },
    { name: 'both below', o: obs({ node: 9 * Gi, image: 9 * Gi }), want: ['nodefs.available', 'imagefs.available'] },
    { name: 'exactly at the threshold is not below it', o: obs({ node: Math.trunc(100 * Gi * Math.fround(0.1)) }), want: [] },
    { name: 'one byte under', o: obs({ node: Math.trunc(100 * Gi * Math.fround(0.1)) - 1 }), want: ['nodefs.available'] },
    { name: 'memory and pids by quantity', o: obs({ mem: 99 * 1024 * 1024, pids: 999 }), want: ['memory.available', 'pid.available'] },
    { name: 'no observation: skipped', o: {}, want: [] },
    { name: 'min reclaim: 16 GiB free is under 15% + 5 GiB', o: obs({ image: 16 * Gi }), minReclaim: true, want: ['imagefs.available'] },
    { name: 'min reclaim: 21 GiB free clears it', o: obs({ image: 21 * Gi }), minReclaim: true, want: [] },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(thresholdsMet(all, c.o, c.minReclaim ?? false).map((t) => t.signal), c.want);
    });
  }
});

describe('node conditions', () => {
  it('maps signals to conditions in a fixed order', () => {
    assert.deepEqual(nodeConditions([pid, imagefs, nodefs, memory]), ['MemoryPressure', 'DiskPressure', 'PIDPressure']);
    assert.deepEqual(nodeConditions([imagefs, nodefs]), ['DiskPressure']);
    assert.deepEqual(nodeConditions([]), []);
  });

  it('stay for the transition period after the threshold was last met', () => {
    const period = 5 * 60_000;
    let at = nodeConditionsLastObservedAt(['DiskPressure'], new Map(), 0);
    assert.deepEqual(nodeConditionsObservedSince(at, period, 0), ['DiskPressure']);
    // met again at 60 s, then no more
    at = nodeConditionsLastObservedAt(['DiskPressure'], at, 60_000);
    at = nodeConditionsLastObservedAt([], at, 70_000);
    assert.deepEqual(nodeConditionsObservedSince(at, period, 70_000), ['DiskPressure']);
    assert.deepEqual(nodeConditionsObservedSince(at, period, 60_000 + period - 1), ['DiskPressure']);
    assert.deepEqual(nodeConditionsObservedSince(at, period, 60_000 + period), [], 'gone once the period since last seen has passed');
  });

  it('reports all three conditions with the kubelet reasons and messages', () => {
    assert.deepEqual(pressureConditions(['DiskPressure']), [
      { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
      { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure', message: 'kubelet has disk pressure' },
      { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
    ]);
    assert.deepEqual(
      pressureConditions(['MemoryPressure', 'PIDPressure']).map((c) => [c.status, c.reason, c.message]),
      [
        ['True', 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available'],
        ['False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
        ['True', 'KubeletHasInsufficientPID', 'kubelet has insufficient PID available'],
      ],
    );
  });
});

describe('grace periods and updated stats', () => {
  const [soft] = parseThresholdConfig({ evictionSoft: { 'nodefs.available': '20%' }, evictionSoftGracePeriod: { 'nodefs.available': '1m' } });
  it('a soft threshold acts only after being met for its grace period; a hard one at once', () => {
    let first = thresholdsFirstObservedAt([soft!, imagefs], new Map(), 1000);
    assert.deepEqual(thresholdsMetGracePeriod(first, 1000).map((t) => t.signal), ['imagefs.available']);
    first = thresholdsFirstObservedAt([soft!, imagefs], first, 61_000);
    assert.deepEqual(thresholdsMetGracePeriod(first, 61_000).map((t) => t.signal), ['nodefs.available', 'imagefs.available']);
    // no longer met: forgotten, the grace period starts again
    first = thresholdsFirstObservedAt([imagefs], first, 62_000);
    first = thresholdsFirstObservedAt([soft!, imagefs], first, 63_000);
    assert.deepEqual(thresholdsMetGracePeriod(first, 63_000).map((t) => t.signal), ['imagefs.available']);
  });

  it('acts only on thresholds with newer figures', () => {
    const last = obs({ node: 1, image: 1, time: 10 });
    assert.deepEqual(thresholdsUpdatedStats([nodefs, imagefs], obs({ node: 1, image: 1, time: 10 }), last), []);
    assert.deepEqual(thresholdsUpdatedStats([nodefs, imagefs], obs({ node: 1, image: 1, time: 11 }), last).length, 2);
    assert.deepEqual(thresholdsUpdatedStats([nodefs], obs({ node: 1, time: 5 }), {}).length, 1, 'no last observation');
  });

  it('memory thresholds come first', () => {
    assert.deepEqual(sortByEvictionPriority([imagefs, pid, memory, nodefs]).map((t) => t.signal), ['memory.available', 'imagefs.available', 'pid.available', 'nodefs.available']);
  });
});
