// Image GC: the pure selection (thresholds, LRU order, protections, ages) with tables, and the
// manager on the simulated runtime with a fake statfs and a FakeClock.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Image, PodSandboxConfig } from '../../runtime/types.js';
import { SimRuntime } from '../../runtime/sim/index.js';
import { FakeClock } from '../../util/clock.js';
import { ConfigError } from '../../util/errors.js';
import { MemoryLogger } from '../../util/logger.js';
import { newRegistry } from '../../util/metrics.js';
import { LocalEventStore } from '../events/index.js';
import {
  amountToFree,
  detectImages,
  ImageGCManager,
  imagesInUse,
  imagesOverMaxAge,
  imagesToFree,
  validateImageGCPolicy,
  type ImageRecord,
} from './imagegc.js';

const min = 60_000;
const policy = { highThresholdPercent: 85, lowThresholdPercent: 80, minAgeMs: 2 * min, maxAgeMs: 0 };

function rec(id: string, size: number, firstDetected: number, lastUsed = 0, pinned = false): ImageRecord {
  return { id, repoTags: [], size, pinned, firstDetected, lastUsed };
}

function img(id: string, tags: string[] = [], digests: string[] = [], size = 1): Image {
  return { id, repoTags: tags, repoDigests: digests, size, uid: null, username: '', pinned: false };
}

describe('image GC selection', () => {
  it('computes usage and the bytes to free with the upstream integer arithmetic', () => {
    const table: [capacity: number, available: number, usage: number, toFree: number][] = [
      [100, 10, 90, 10], // 90 % used: free down to 80 %
      [100, 15, 85, 5], // exactly at the high threshold: GC runs
      [100, 16, 84, 0], // below: nothing
      [100, 20, 80, 0],
      [1000, 149, 86, 51], // 100 - trunc(14.9) = 86; 200 - 149
      [100, 150, 0, 0], // available above capacity counts as capacity
    ];
    for (const [capacity, available, usage, toFree] of table) {
      assert.deepEqual(amountToFree(capacity, available, policy), { usagePercent: usage, bytesToFree: toFree }, `capacity ${capacity} available ${available}`);
    }
  });

  it('frees least recently used first, ties broken by the earlier first detection', () => {
    const now = 100 * min;
    const records = [
      rec('used-late', 10, 0, 50 * min),
      rec('never-used-detected-later', 10, 20 * min),
      rec('used-early', 10, 0, 10 * min),
      rec('never-used-detected-first', 10, 5 * min),
    ];
    assert.deepEqual(
      imagesToFree(records, new Set(), now, policy, 1000).map((r) => r.id),
      ['never-used-detected-first', 'never-used-detected-later', 'used-early', 'used-late'],
    );
  });

  it('stops as soon as the images chosen add up to the bytes to free', () => {
    const records = [rec('a', 30, 0), rec('b', 30, 1), rec('c', 30, 2)];
    const table: [bytes: number, ids: string[]][] = [
      [0, []],
      [1, ['a']],
      [30, ['a']],
      [31, ['a', 'b']],
      [90, ['a', 'b', 'c']],
      [1000, ['a', 'b', 'c']],
    ];
    for (const [bytes, ids] of table) assert.deepEqual(imagesToFree(records, new Set(), 10 * min, policy, bytes).map((r) => r.id), ids, `${bytes} bytes`);
  });

  it('never chooses an image in use, a pinned one, or one first detected less than the minimum age ago', () => {
    const now = 10 * min;
    const records = [
      rec('in-use', 100, 0),
      rec('pinned', 100, 0, 0, true),
      rec('young', 100, now - 2 * min + 1),
      rec('just-old-enough', 100, now - 2 * min),
      rec('old', 100, 0),
    ];
    assert.deepEqual(
      imagesToFree(records, new Set(['in-use']), now, policy, 10_000).map((r) => r.id),
      ['old', 'just-old-enough'],
    );
  });

  it('removes by max age only when set, once GC has run longer than it, counting from the last use or first detection', () => {
    const records = [rec('unused-long', 1, 0), rec('used-recently', 1, 0, 50 * min), rec('pulled-recently', 1, 55 * min), rec('in-use', 1, 0)];
    const inUse = new Set(['in-use']);
    const maxAge = { maxAgeMs: 30 * min };
    assert.deepEqual(imagesOverMaxAge(records, inUse, 60 * min, { maxAgeMs: 0 }, 0), [], 'off by default');
    assert.deepEqual(imagesOverMaxAge(records, inUse, 30 * min, maxAge, 0), [], 'GC not yet running for longer than the max age');
    assert.deepEqual(imagesOverMaxAge(records, inUse, 60 * min, maxAge, 0).map((r) => r.id), ['unused-long']);
    assert.deepEqual(imagesOverMaxAge(records, inUse, 90 * min, maxAge, 0).map((r) => r.id), ['unused-long', 'pulled-recently', 'used-recently'], 'eviction order: never used first');
  });

  it('keeps first detection across passes, marks images in use as used now, and forgets images gone', () => {
    let records = detectImages(new Map(), [img('a'), img('b')], new Set(['b']), 1000);
    assert.deepEqual([...records.values()].map((r) => [r.id, r.firstDetected, r.lastUsed]), [['a', 1000, 0], ['b', 1000, 1000]]);
    records = detectImages(records, [img('b'), img('c')], new Set(['c']), 5000);
    assert.deepEqual([...records.values()].map((r) => [r.id, r.firstDetected, r.lastUsed]), [['b', 1000, 1000], ['c', 5000, 5000]]);
  });

  it('finds the images containers use by id, tag (normalized) or digest', () => {
    const images = [
      img('sha256:aaa', ['docker.io/library/busybox:latest']),
      img('sha256:bbb', ['localhost/app:1'], ['localhost/app@sha256:' + 'b'.repeat(64)]),
      img('sha256:ccc', ['localhost/other:1']),
      img('sha256:ddd'),
    ];
    const used = imagesInUse(images, ['busybox', 'localhost/app@sha256:' + 'b'.repeat(64), 'sha256:ddd', '']);
    assert.deepEqual([...used].sort(), ['sha256:aaa', 'sha256:bbb', 'sha256:ddd']);
  });

  it('rejects a policy upstream rejects, with its wording', () => {
    assert.throws(() => validateImageGCPolicy({ ...policy, highThresholdPercent: 101 }), { name: 'ConfigError', message: 'invalid HighThresholdPercent 101, must be in range [0-100]' });
    assert.throws(() => validateImageGCPolicy({ ...policy, lowThresholdPercent: -1 }), { message: 'invalid LowThresholdPercent -1, must be in range [0-100]' });
    assert.throws(() => validateImageGCPolicy({ ...policy, lowThresholdPercent: 90 }), (e: unknown) => e instanceof ConfigError && e.message === 'LowThresholdPercent 90 can not be higher than HighThresholdPercent 85');
  });
});

describe('ImageGCManager on the simulated runtime', () => {
  const PAUSE = 'localhost/pause:3.9';
  const capacity = 100_000;
  let clock: FakeClock;
  let sim: SimRuntime;
  let events: LocalEventStore;
  let logger: MemoryLogger;
  /** Bytes used on the image filesystem by things other than images. */
  let otherBytes: number;
  let lastUsedBytes: number;
  let mgr: ImageGCManager;
  const registry = newRegistry();

  function newManager(extra: Partial<ConstructorParameters<typeof ImageGCManager>[0]> = {}): ImageGCManager {
    const rt = {
      listImages: sim.listImages.bind(sim),
      listContainers: sim.listContainers.bind(sim),
      removeImage: sim.removeImage.bind(sim),
      imageFsInfo: async () => {
        const info = await sim.imageFsInfo();
        lastUsedBytes = info.imageFilesystems[0]?.usedBytes?.value ?? 0;
        return info;
      },
    };
    return new ImageGCManager({
      runtime: rt,
      clock,
      nodeName: 'node-a',
      logger,
      recorder: events,
      registry,
      sandboxImage: PAUSE,
      statfs: async (path) => {
        assert.equal(path, '/var/lib/nodelet-sim/images', 'statfs of the mountpoint ImageFsInfo reports');
        return { capacityBytes: capacity, availableBytes: capacity - otherBytes - lastUsedBytes, inodes: 0, inodesFree: 0 };
      },
      imageListPeriodMs: 0,
      ...extra,
    });
  }

  let podSeq = 0;
  async function runContainer(image: string, exit: boolean): Promise<string> {
    const name = `p${++podSeq}`;
    const cfg: PodSandboxConfig = { metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 } };
    const sb = await sim.runPodSandbox(cfg);
    const id = await sim.createContainer(sb, { metadata: { name: 'c', attempt: 0 }, image: { image }, command: ['sleep', '3600'] }, cfg);
    await sim.startContainer(id);
    if (exit) sim.exitContainer(id, 0);
    return id;
  }

  async function tags(): Promise<string[]> {
    return (await sim.listImages()).flatMap((i) => i.repoTags).sort();
  }

  function gcCount(reason: string): Promise<number> {
    return registry.getSingleMetricAsString('kubelet_image_garbage_collected_total').then((text) => {
      const m = new RegExp(`reason="${reason}"\\} (\\d+)`).exec(text);
      return m ? Number(m[1]) : 0;
    });
  }

  beforeEach(() => {
    registry.resetMetrics();
    clock = new FakeClock();
    logger = new MemoryLogger();
    events = new LocalEventStore(clock, logger);
    otherBytes = 0;
    sim = new SimRuntime({
      clock,
      images: [
        { ref: 'localhost/a:1', size: 2000 },
        { ref: 'localhost/c:1', size: 4000 },
        { ref: 'localhost/d:1', size: 4000 },
        { ref: 'localhost/pinned:1', size: 5000, pinned: true },
        { ref: PAUSE, size: 6000 },
      ],
      registry: [
        { ref: 'localhost/b:1', size: 3000 },
        { ref: 'localhost/young:1', size: 1000 },
      ],
    });
  });

  afterEach(() => {
    mgr?.stop();
    sim.close();
  });

  /**
   * t0: a, c (used by a container until t0+1m), d (used by an exited container), pinned, pause;
   * b pulled at t0+30s. At t0+3m every image but young is older than the minimum age.
   */
  async function scenario(): Promise<void> {
    mgr = newManager();
    const cId = await runContainer('localhost/c:1', false);
    await runContainer('localhost/d:1', true);
    otherBytes = 0; // plenty of room: the first pass only records what it sees
    await mgr.garbageCollect();
    await clock.advance(30_000);
    await sim.pullImage('localhost/b:1');
    await clock.advance(30_000);
    await mgr.garbageCollect(); // c still in use at t0+1m
    await sim.stopContainer(cId, 0);
    await sim.removeContainer(cId);
    await clock.advance(2 * min);
  }

  it('frees least recently used images down to the low threshold, never one in use, pinned or the sandbox image', async () => {
    await scenario();
    // images use 2000+3000+4000+4000+5000+6000 = 24000; 15000 available: usage 85 %, free 20000-15000 = 5000
    otherBytes = capacity - 24_000 - 15_000;
    const idOf = async (ref: string): Promise<string> => (await sim.imageStatus(ref))!.id;
    const [aId, bId] = [await idOf('localhost/a:1'), await idOf('localhost/b:1')];
    const result = await mgr.garbageCollect();
    assert.deepEqual(result, { usagePercent: 85, bytesToFree: 5000, bytesFreed: 5000, removed: [aId, bId] });
    assert.deepEqual(await tags(), ['localhost/c:1', 'localhost/d:1', PAUSE, 'localhost/pinned:1'].sort(), 'a and b (never used) went first; c (used until a minute ago) stays');
    assert.equal(await gcCount('space'), 2);
    assert.deepEqual(events.list(), []);
    const over = logger.find((r) => r.msg.startsWith('Disk usage on image filesystem is over the high threshold'));
    assert.deepEqual(over?.fields, { usage: 85, highThreshold: 85, amountToFree: 5000, lowThreshold: 80 });
  });

  it('does nothing below the high threshold', async () => {
    await scenario();
    otherBytes = capacity - 24_000 - 16_000; // usage 84 %
    const result = await mgr.garbageCollect();
    assert.equal(result.removed.length, 0);
    assert.equal(sim.calls.get('RemoveImage') ?? 0, 0);
    assert.equal((await tags()).length, 6);
  });

  it('reports FreeDiskSpaceFailed on the node when not enough is eligible, and ImageGCFailed when passes keep failing', async () => {
    await scenario();
    await sim.pullImage('localhost/young:1'); // first detected by the next pass: too young to go
    otherBytes = capacity - 25_000 - 5_000; // usage 95 %: free 20000 - 5000 = 15000
    const want = 'Failed to garbage collect required amount of images. Attempted to free 15000 bytes, but only found 9000 bytes eligible to free.';
    await assert.rejects(mgr.garbageCollect(), { message: want });
    assert.deepEqual(await tags(), ['localhost/d:1', PAUSE, 'localhost/pinned:1', 'localhost/young:1'].sort(), 'a, b and c (9000 bytes) removed');
    const ev = events.list();
    assert.equal(ev.length, 1);
    assert.deepEqual([ev[0]!.involvedObject, ev[0]!.type, ev[0]!.reason, ev[0]!.message], [{ kind: 'Node', name: 'node-a', uid: 'node-a' }, 'Warning', 'FreeDiskSpaceFailed', want]);

    // the periodic loop: one failure is an error log, a second in a row an ImageGCFailed event too
    mgr.start();
    await clock.advance(0);
    assert.ok(logger.find((r) => r.level === 'error' && r.msg === 'Image garbage collection failed once. Stats initialization may not have completed yet'));
    assert.equal(events.list().filter((e) => e.reason === 'ImageGCFailed').length, 0);
    await clock.advance(5 * min);
    const failed = events.list().filter((e) => e.reason === 'ImageGCFailed');
    assert.equal(failed.length, 1);
    // by then young was old enough: it went, and was not enough either
    assert.equal(failed[0]!.message, 'Failed to garbage collect required amount of images. Attempted to free 6000 bytes, but only found 1000 bytes eligible to free.');
    assert.ok(logger.find((r) => r.level === 'error' && r.msg === 'Image garbage collection failed multiple times in a row'));
  });

  it('matches the sandbox image by id too', async () => {
    const pauseId = (await sim.imageStatus(PAUSE))!.id;
    mgr = newManager({ sandboxImage: pauseId });
    await mgr.garbageCollect();
    await clock.advance(3 * min);
    assert.equal(await mgr.deleteUnusedImages(), 2000 + 4000 + 4000);
    assert.deepEqual(await tags(), [PAUSE, 'localhost/pinned:1'].sort());
    assert.ok(mgr.getImagesInUse().has(pauseId));
  });

  it('deleteUnusedImages removes every unused image old enough and returns the bytes freed', async () => {
    mgr = newManager();
    await runContainer('localhost/d:1', true);
    assert.equal(await mgr.deleteUnusedImages(), 0, 'everything was first detected just now');
    await clock.advance(2 * min);
    assert.equal(await mgr.deleteUnusedImages(), 2000 + 4000);
    assert.deepEqual(await tags(), ['localhost/d:1', PAUSE, 'localhost/pinned:1'].sort());
  });

  it('removes images unused for longer than the maximum age whatever the usage', async () => {
    mgr = newManager({ policy: { maxAgeMs: 10 * min } });
    mgr.start();
    await clock.advance(0);
    const cId = await runContainer('localhost/c:1', false);
    await clock.advance(5 * min); // pass at 5 m: c in use
    await sim.stopContainer(cId, 0);
    await sim.removeContainer(cId);
    await clock.advance(5 * min); // pass at 10 m: running for 10 m, not longer: nothing
    assert.equal(sim.calls.get('RemoveImage') ?? 0, 0);
    await clock.advance(5 * min); // pass at 15 m: a, d unused for 15 m go; c unused for 10 m stays
    assert.deepEqual(await tags(), ['localhost/c:1', PAUSE, 'localhost/pinned:1'].sort());
    assert.equal(await gcCount('age'), 2);
    await clock.advance(5 * min); // 20 m: c unused for 15 m
    assert.deepEqual(await tags(), [PAUSE, 'localhost/pinned:1'].sort());
  });

  it('runs at start and every 5 minutes on the clock, and not at all with the high threshold at 100 and no max age', async () => {
    mgr = newManager();
    mgr.start();
    await clock.advance(0);
    assert.equal(sim.calls.get('ImageFsInfo'), 1);
    await clock.advance(5 * min - 1);
    assert.equal(sim.calls.get('ImageFsInfo'), 1);
    await clock.advance(1);
    assert.equal(sim.calls.get('ImageFsInfo'), 2);
    mgr.stop();
    await clock.advance(10 * min);
    assert.equal(sim.calls.get('ImageFsInfo'), 2);

    const off = newManager({ policy: { highThresholdPercent: 100, lowThresholdPercent: 80 } });
    off.start();
    await clock.advance(20 * min);
    off.stop();
    assert.equal(sim.calls.get('ImageFsInfo'), 2, 'image GC disabled');
    assert.equal(off.getImageList().length, 5, 'the image list is still kept');
  });

  it('reports InvalidDiskCapacity for an image filesystem of capacity 0', async () => {
    mgr = newManager({ statfs: async () => ({ capacityBytes: 0, availableBytes: 0, inodes: 0, inodesFree: 0 }) });
    await assert.rejects(mgr.garbageCollect(), { message: 'invalid capacity 0 on image filesystem' });
    assert.deepEqual(events.list().map((e) => [e.type, e.reason]), [['Warning', 'InvalidDiskCapacity']]);
  });

  it('exposes the image list (largest first), the records and the images in use', async () => {
    mgr = newManager();
    await runContainer('localhost/c:1', true);
    await mgr.garbageCollect();
    assert.deepEqual(mgr.getImageList().map((i) => i.size), [6000, 5000, 4000, 4000, 2000]);
    const cId = (await sim.imageStatus('localhost/c:1'))!.id;
    const pauseId = (await sim.imageStatus(PAUSE))!.id;
    assert.deepEqual([...mgr.getImagesInUse()].sort(), [cId, pauseId].sort());
    const c = mgr.getImageRecords().find((r) => r.id === cId)!;
    assert.deepEqual([c.firstDetected, c.lastUsed, c.size, c.repoTags], [clock.now(), clock.now(), 4000, ['localhost/c:1']]);
    assert.equal(mgr.getImageRecords().find((r) => r.repoTags.includes('localhost/pinned:1'))?.pinned, true);
  });

  it('reads the image filesystem usage from ImageFsInfo and statfs', async () => {
    mgr = newManager();
    otherBytes = 1000;
    assert.deepEqual(await mgr.imageFsStats(), { mountpoint: '/var/lib/nodelet-sim/images', usedBytes: 21_000, capacityBytes: capacity, availableBytes: capacity - 22_000 });
  });
});
