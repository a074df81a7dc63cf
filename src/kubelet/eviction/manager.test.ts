import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { ValidationError } from '../../util/errors.js';
import { SimRuntime } from '../../runtime/sim/index.js';
import { LocalEventStore } from '../events/index.js';
import { isCriticalPodByPriority } from './admission.js';
import { EvictionManager, newEvictionManager, nodeReclaimSteps, type NodeReclaimer } from './manager.js';
import { SignalObserver, type FsStats, type HostReaders } from './observations.js';
import { parseThresholdConfig } from './thresholds.js';

const Gi = 1024 ** 3;
const ROOT = '/var/lib/nodelet';
const IMAGES = '/var/lib/containerd/snapshots';
const fiveMin = 5 * 60_000;

/** A host whose filesystems, memory and devices the test sets. */
class FakeHost {
  readonly fs = new Map<string, FsStats>();
  readonly dev = new Map<string, number>();
  memoryAvailable = 6 * Gi;
  statfsCount = 0;
  readonly readers: HostReaders = {
    statfs: (p) => {
      this.statfsCount++;
      const s = this.fs.get(p);
      return s ? Promise.resolve({ ...s }) : Promise.reject(new Error(`ENOENT: statfs '${p}'`));
    },
    deviceId: (p) => Promise.resolve(this.dev.get(p) ?? 1),
    memory: () => Promise.resolve({ capacityBytes: 8 * Gi, workingSetBytes: 8 * Gi - this.memoryAvailable }),
    pids: () => Promise.resolve({ maxPid: 32768, running: 300 }),
  };
  setAvailable(path: string, bytes: number): void {
    const s = this.fs.get(path)!;
    this.fs.set(path, { ...s, availableBytes: bytes });
  }
}

function fsOf(capacity: number, available: number): FsStats {
  return { capacityBytes: capacity, availableBytes: available, inodes: 1_000_000, inodesFree: 900_000 };
}

/** A reclaimer that records calls and frees `frees` bytes on `path` when deleting images. */
class FakeReclaimer implements NodeReclaimer {
  calls: string[] = [];
  constructor(
    private readonly host: FakeHost,
    private readonly path: string,
    public frees: number,
  ) {}
  deleteAllUnusedContainers(): Promise<void> {
    this.calls.push('containers');
    return Promise.resolve();
  }
  deleteUnusedImages(): Promise<number> {
    this.calls.push('images');
    const s = this.host.fs.get(this.path)!;
    this.host.setAvailable(this.path, s.availableBytes + this.frees);
    return Promise.resolve(this.frees);
  }
}

function apiPod(name: string): V1Pod {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations: { 'kubernetes.io/config.source': 'api' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}
function staticPod(name: string): V1Pod {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations: { 'kubernetes.io/config.source': 'file' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

function setup(o: { dedicated?: boolean; rootAvail?: number; imageAvail?: number; frees?: number; evictionHard?: Record<string, string>; minReclaim?: Record<string, string>; conditionEvents?: boolean } = {}) {
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const events = new LocalEventStore(clock, logger);
  const host = new FakeHost();
  host.fs.set(ROOT, fsOf(100 * Gi, o.rootAvail ?? 50 * Gi));
  if (o.dedicated) {
    host.fs.set(IMAGES, fsOf(100 * Gi, o.imageAvail ?? 50 * Gi));
    host.dev.set(ROOT, 1).set(IMAGES, 2);
  }
  const imagePath = o.dedicated ? IMAGES : ROOT;
  const reclaimer = new FakeReclaimer(host, imagePath, o.frees ?? 0);
  let observeCount = 0;
  const observer = new SignalObserver({
    rootDir: ROOT,
    runtime: { imageFsInfo: () => Promise.resolve({ imageFilesystems: [{ timestamp: 0, fsId: { mountpoint: IMAGES }, usedBytes: null, inodesUsed: null }], containerFilesystems: [] }) },
    clock,
    readers: host.readers,
  });
  const counting = {
    observe: () => {
      observeCount++;
      return observer.observe();
    },
  };
  const m = new EvictionManager({
    clock,
    logger,
    recorder: events,
    nodeName: 'node-a',
    thresholds: parseThresholdConfig({ evictionHard: o.evictionHard ?? { 'memory.available': '100Mi', 'nodefs.available': '10%', 'imagefs.available': '15%' }, ...(o.minReclaim ? { evictionMinimumReclaim: o.minReclaim } : {}) }),
    pressureTransitionPeriodMs: fiveMin,
    observer: counting,
    reclaimer,
    ...(o.conditionEvents ? { recordNodeConditionEvents: true } : {}),
  });
  return { clock, logger, events, host, reclaimer, m, observes: () => observeCount };
}

const nodeEvents = (events: LocalEventStore, reason?: string) => events.list({ name: 'node-a' }).filter((e) => !reason || e.reason === reason);

describe('EvictionManager', () => {
  it('no pressure: admits every pod and reclaims nothing', async () => {
    const { m, reclaimer, events } = setup();
    await m.start();
    assert.deepEqual(m.pressure(), []);
    assert.deepEqual(m.admit(apiPod('a')), { admit: true });
    assert.deepEqual(reclaimer.calls, []);
    assert.deepEqual(nodeEvents(events), []);
    assert.deepEqual(
      m.conditions().map((c) => [c.type, c.status, c.reason]),
      [
        ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
        ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
        ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
      ],
    );
    m.stop();
  });

  it('imagefs below 15% (same filesystem as nodefs): DiskPressure, new API pods rejected, static pods admitted, reclaim tried', async () => {
    // 12 GiB free of 100: under imagefs 15%, above nodefs 10%; image GC frees 1 GiB, not enough
    const { m, reclaimer, events, logger } = setup({ rootAvail: 12 * Gi, frees: 1 * Gi });
    await m.start();
    assert.deepEqual(m.pressure(), ['DiskPressure']);
    assert.equal(m.isUnderDiskPressure(), true);
    assert.deepEqual(m.admit(apiPod('new')), { admit: false, reason: 'Evicted', message: 'The node had condition: [DiskPressure]. ' });
    assert.deepEqual(m.admit(staticPod('static')), { admit: true }, 'upstream: static pods are critical');
    assert.deepEqual(reclaimer.calls, ['containers', 'images'], 'unused containers, then unused images');
    const [ev] = nodeEvents(events, 'EvictionThresholdMet');
    assert.equal(ev?.type, 'Warning');
    assert.equal(ev?.message, 'Attempting to reclaim ephemeral-storage');
    assert.equal(ev?.involvedObject.kind, 'Node');
    assert.ok(logger.find((r) => r.msg.startsWith('Eviction manager: must evict pod(s) to reclaim')));
    assert.ok(logger.find((r) => r.msg === 'Failed to admit pod to node' && r.fields['pod'] === 'default/new'));
    m.stop();
  });

  it('reclaim that frees enough is seen by the re-observation; the condition holds for the transition period, then clears', async () => {
    const { m, reclaimer, logger, clock, events, observes } = setup({ rootAvail: 12 * Gi, frees: 10 * Gi });
    await m.start();
    assert.deepEqual(reclaimer.calls, ['containers', 'images']);
    assert.equal(observes(), 2, 'observed again after reclaim');
    assert.ok(logger.find((r) => r.msg === 'Eviction manager: able to reduce resource pressure without evicting pods.'));
    assert.ok(!logger.find((r) => r.msg.startsWith('Eviction manager: must evict')));
    assert.deepEqual(m.pressure(), ['DiskPressure'], 'still reported: the threshold was met at t=0');

    await clock.advance(10_000);
    assert.equal(observes(), 3, 'a pass every 10 s');
    assert.deepEqual(reclaimer.calls.length, 2, 'no threshold met: no more reclaim');
    assert.deepEqual(m.admit(apiPod('x')).admit, false);

    await clock.advance(fiveMin - 10_000 - 10_000);
    assert.deepEqual(m.pressure(), ['DiskPressure'], '4m50s after last seen');
    await clock.advance(10_000);
    assert.deepEqual(m.pressure(), [], '5 min after last seen: cleared');
    assert.deepEqual(m.admit(apiPod('x')), { admit: true });
    assert.equal(nodeEvents(events, 'EvictionThresholdMet')[0]?.count, 1);
    m.stop();
  });

  it('while the threshold stays met every pass records the event again (aggregated) and tries reclaim again', async () => {
    const { m, reclaimer, clock, events } = setup({ rootAvail: 5 * Gi, frees: 0 });
    await m.start();
    await clock.advance(10_000);
    await clock.advance(10_000);
    assert.equal(nodeEvents(events, 'EvictionThresholdMet')[0]?.count, 3);
    assert.equal(reclaimer.calls.filter((c) => c === 'images').length, 3);
    m.stop();
  });

  it('a dedicated imagefs: nodefs pressure has no node-level reclaim, imagefs pressure deletes images', async () => {
    const a = setup({ dedicated: true, rootAvail: 5 * Gi, imageAvail: 50 * Gi });
    await a.m.start();
    assert.deepEqual(a.m.pressure(), ['DiskPressure']);
    assert.deepEqual(a.reclaimer.calls, []);
    a.m.stop();

    const b = setup({ dedicated: true, rootAvail: 50 * Gi, imageAvail: 10 * Gi, frees: 20 * Gi });
    await b.m.start();
    assert.deepEqual(b.m.pressure(), ['DiskPressure']);
    assert.deepEqual(b.reclaimer.calls, ['containers', 'images']);
    assert.equal(b.host.fs.get(IMAGES)?.availableBytes, 30 * Gi, 'images were freed on the image filesystem');
    assert.equal(b.host.fs.get(ROOT)?.availableBytes, 50 * Gi);
    b.m.stop();
  });

  it('minimum reclaim: a met threshold stays met until available exceeds threshold + minimum reclaim', async () => {
    // nodefs < 10% with minimum reclaim 5Gi; image GC frees nothing
    const { m, reclaimer, host, clock } = setup({ rootAvail: 9 * Gi, evictionHard: { 'nodefs.available': '10%' }, minReclaim: { 'nodefs.available': '5Gi' } });
    await m.start();
    assert.equal(reclaimer.calls.length, 2);
    host.setAvailable(ROOT, 12 * Gi); // above 10%, below 10% + 5Gi
    await clock.advance(10_000);
    assert.equal(reclaimer.calls.length, 4, 'still reclaiming');
    host.setAvailable(ROOT, 16 * Gi);
    await clock.advance(10_000);
    assert.equal(reclaimer.calls.length, 4, 'resolved');
    m.stop();
  });

  it('memory pressure: BestEffort pods rejected, others admitted, no node-level reclaim', async () => {
    const { m, host, reclaimer, events } = setup();
    host.memoryAvailable = 50 * 1024 * 1024;
    await m.start();
    assert.deepEqual(m.pressure(), ['MemoryPressure']);
    assert.deepEqual(m.admit(apiPod('be')), { admit: false, reason: 'Evicted', message: 'The node had condition: [MemoryPressure]. ' });
    const burstable = apiPod('bu');
    burstable.spec!.containers[0]!.resources = { requests: { memory: '10Mi' } };
    assert.deepEqual(m.admit(burstable), { admit: true });
    assert.deepEqual(reclaimer.calls, []);
    assert.equal(nodeEvents(events, 'EvictionThresholdMet')[0]?.message, 'Attempting to reclaim memory');
    m.stop();
  });

  it('the critical-pod rule is the caller’s: by priority only, static pods are rejected under DiskPressure', async () => {
    const clock = new FakeClock();
    const m = new EvictionManager({
      clock,
      nodeName: 'n',
      thresholds: parseThresholdConfig({ evictionHard: { 'nodefs.available': '10%' } }),
      pressureTransitionPeriodMs: fiveMin,
      observer: { observe: () => Promise.resolve({ observations: { 'nodefs.available': { available: 1, capacity: 100, time: clock.now() } }, dedicatedImageFs: false }) },
      isCritical: isCriticalPodByPriority,
    });
    await m.synchronize();
    assert.deepEqual(m.admit(staticPod('s')), { admit: false, reason: 'Evicted', message: 'The node had condition: [DiskPressure]. ' });
  });

  it('records NodeHas* events on condition changes when asked', async () => {
    const { m, host, clock, events } = setup({ conditionEvents: true });
    await m.start();
    assert.deepEqual(
      nodeEvents(events)
        .filter((e) => e.type === 'Normal')
        .map((e) => [e.reason, e.message]),
      [
        ['NodeHasSufficientMemory', 'Node node-a status is now: NodeHasSufficientMemory'],
        ['NodeHasNoDiskPressure', 'Node node-a status is now: NodeHasNoDiskPressure'],
        ['NodeHasSufficientPID', 'Node node-a status is now: NodeHasSufficientPID'],
      ],
    );
    host.setAvailable(ROOT, 1 * Gi);
    await clock.advance(10_000);
    host.setAvailable(ROOT, 50 * Gi);
    await clock.advance(fiveMin);
    const reasons = nodeEvents(events)
      .filter((e) => e.type === 'Normal')
      .map((e) => `${e.reason}x${e.count}`);
    assert.deepEqual(reasons, ['NodeHasSufficientMemoryx1', 'NodeHasSufficientPIDx1', 'NodeHasDiskPressurex1', 'NodeHasNoDiskPressurex2']);
    m.stop();
  });

  it('a failed observation is logged and the loop goes on; stop() ends it', async () => {
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    let calls = 0;
    const m = new EvictionManager({
      clock,
      logger,
      nodeName: 'n',
      thresholds: parseThresholdConfig({ evictionHard: { 'nodefs.available': '10%' } }),
      pressureTransitionPeriodMs: fiveMin,
      observer: {
        observe: () => {
          calls++;
          return calls === 1 ? Promise.reject(new Error('statfs exploded')) : Promise.resolve({ observations: {}, dedicatedImageFs: false });
        },
      },
    });
    await m.start();
    assert.ok(logger.find((r) => r.level === 'error' && r.fields['err'] === 'statfs exploded'));
    await clock.advance(10_000);
    assert.equal(calls, 2);
    assert.ok(logger.find((r) => r.level === 'warn' && r.msg === 'Eviction manager: no observation found for eviction signal' && r.fields['signal'] === 'nodefs.available'));
    m.stop();
    assert.equal(clock.pendingTimers(), 0);
    await clock.advance(60_000);
    assert.equal(calls, 2);
  });

  it('no thresholds: nothing is observed', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const m = new EvictionManager({
      clock,
      nodeName: 'n',
      thresholds: [],
      pressureTransitionPeriodMs: fiveMin,
      observer: {
        observe: () => {
          calls++;
          return Promise.resolve({ observations: {}, dedicatedImageFs: false });
        },
      },
    });
    await m.synchronize();
    assert.equal(calls, 0);
  });
});

describe('nodeReclaimSteps', () => {
  it('follows buildSignalToNodeReclaimFuncs', () => {
    assert.deepEqual(nodeReclaimSteps('nodefs.available', false), ['containers', 'images']);
    assert.deepEqual(nodeReclaimSteps('nodefs.inodesFree', true), []);
    assert.deepEqual(nodeReclaimSteps('imagefs.inodesFree', true), ['containers', 'images']);
    assert.deepEqual(nodeReclaimSteps('memory.available', false), []);
    assert.deepEqual(nodeReclaimSteps('pid.available', false), []);
  });
});

describe('newEvictionManager', () => {
  it('builds from the kubelet configuration and observes through the runtime', async () => {
    const clock = new FakeClock();
    const runtime = new SimRuntime({ clock });
    const host = new FakeHost();
    host.fs.set(ROOT, fsOf(100 * Gi, 12 * Gi));
    const m = newEvictionManager({
      config: { evictionHard: { 'nodefs.available': '10%', 'imagefs.available': '15%', 'containerfs.available': '5%' }, evictionPressureTransitionPeriod: '5m0s' },
      rootDir: ROOT,
      runtime,
      clock,
      nodeName: 'n',
      readers: host.readers,
    });
    assert.deepEqual(m.activeThresholds().map((t) => t.signal), ['nodefs.available', 'imagefs.available']);
    await m.synchronize();
    assert.deepEqual(m.pressure(), ['DiskPressure']);
    runtime.close();
  });

  it('rejects bad settings naming the field', () => {
    const base = { rootDir: ROOT, runtime: new SimRuntime({ clock: new FakeClock() }), clock: new FakeClock(), nodeName: 'n' };
    assert.throws(() => newEvictionManager({ ...base, config: { evictionHard: { 'nodefs.available': '200%' }, evictionPressureTransitionPeriod: '5m' } }), ValidationError);
    assert.throws(() => newEvictionManager({ ...base, config: { evictionHard: {}, evictionPressureTransitionPeriod: 'later' } }), /evictionPressureTransitionPeriod: invalid duration "later"/);
  });
});
