import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import type { ImageFsInfo } from '../../runtime/types.js';
import {
  cgroupV1WorkingSet,
  hostReaders,
  makeSignalObservations,
  parseLoadavgTasks,
  parseMeminfo,
  SignalObserver,
  type FsStats,
  type HostReaders,
} from './observations.js';

const Gi = 1024 ** 3;

describe('observation parsing', () => {
  it('meminfo, cgroup v1 working set, loadavg', () => {
    assert.deepEqual(parseMeminfo('MemTotal:       24683620 kB\nMemFree:        23620664 kB\nMemAvailable:   23902276 kB\n'), {
      memTotal: 24683620 * 1024,
      memAvailable: 23902276 * 1024,
    });
    assert.deepEqual(parseMeminfo('nothing'), {});
    assert.equal(cgroupV1WorkingSet('813424640\n', 'cache 1\ntotal_inactive_file 91652096\n'), 813424640 - 91652096);
    assert.equal(cgroupV1WorkingSet('100\n', 'total_inactive_file 500\n'), 0, 'never below 0');
    assert.equal(cgroupV1WorkingSet('100\n', ''), 100);
    assert.equal(cgroupV1WorkingSet('', ''), undefined);
    assert.equal(parseLoadavgTasks('20.51 17.00 11.24 4/299 18407\n'), 299);
    assert.equal(parseLoadavgTasks('garbage'), undefined);
  });

  it('makeSignalObservations derives each signal', () => {
    const nodeFs: FsStats = { capacityBytes: 100, availableBytes: 40, inodes: 10, inodesFree: 3 };
    const imageFs: FsStats = { capacityBytes: 200, availableBytes: 20, inodes: 20, inodesFree: 1 };
    const o = makeSignalObservations({ time: 7, nodeFs, imageFs, memory: { capacityBytes: 1000, workingSetBytes: 300 }, pids: { maxPid: 32768, running: 299 } });
    assert.deepEqual(o, {
      'memory.available': { available: 700, capacity: 1000, time: 7 },
      'nodefs.available': { available: 40, capacity: 100, time: 7 },
      'nodefs.inodesFree': { available: 3, capacity: 10, time: 7 },
      'imagefs.available': { available: 20, capacity: 200, time: 7 },
      'imagefs.inodesFree': { available: 1, capacity: 20, time: 7 },
      'pid.available': { available: 32768 - 299, capacity: 32768, time: 7 },
    });
    assert.deepEqual(makeSignalObservations({ time: 1 }), {});
  });

  it('the host readers read this machine', async () => {
    const fs = await hostReaders.statfs('/');
    assert.ok(fs.capacityBytes > 0 && fs.availableBytes <= fs.capacityBytes && fs.inodes >= fs.inodesFree);
    const mem = await hostReaders.memory();
    assert.ok(mem && mem.capacityBytes > mem.workingSetBytes);
    const p = await hostReaders.pids();
    assert.ok(p && p.maxPid > p.running && p.running > 0);
  });
});

interface FakeHost {
  readers: HostReaders;
  fs: Map<string, FsStats>;
  dev: Map<string, number>;
  statfsCalls: string[];
}

function fakeHost(): FakeHost {
  const fs = new Map<string, FsStats>();
  const dev = new Map<string, number>();
  const statfsCalls: string[] = [];
  const readers: HostReaders = {
    statfs: (p) => {
      statfsCalls.push(p);
      const s = fs.get(p);
      return s ? Promise.resolve({ ...s }) : Promise.reject(new Error(`ENOENT: no such file or directory, statfs '${p}'`));
    },
    deviceId: (p) => {
      const d = dev.get(p);
      return d !== undefined ? Promise.resolve(d) : Promise.reject(new Error(`ENOENT: no such file or directory, stat '${p}'`));
    },
    memory: () => Promise.resolve({ capacityBytes: 8 * Gi, workingSetBytes: 2 * Gi }),
    pids: () => Promise.resolve({ maxPid: 32768, running: 300 }),
  };
  return { readers, fs, dev, statfsCalls };
}

function fakeRuntime(mountpoint: string | undefined, fail = false): { imageFsInfo(): Promise<ImageFsInfo>; calls: number } {
  const rt = {
    calls: 0,
    imageFsInfo(): Promise<ImageFsInfo> {
      rt.calls++;
      if (fail) return Promise.reject(new Error('rpc error: code = Unavailable'));
      return Promise.resolve({
        imageFilesystems: [{ timestamp: 0, fsId: mountpoint === undefined ? null : { mountpoint }, usedBytes: { value: 1 }, inodesUsed: { value: 1 } }],
        containerFilesystems: [],
      });
    },
  };
  return rt;
}

const ROOT = '/var/lib/nodelet';
const IMAGES = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs';
const rootFs: FsStats = { capacityBytes: 100 * Gi, availableBytes: 30 * Gi, inodes: 1000, inodesFree: 900 };
const imgFs: FsStats = { capacityBytes: 50 * Gi, availableBytes: 5 * Gi, inodes: 500, inodesFree: 400 };

describe('SignalObserver', () => {
  it('imagefs is nodefs when the image mountpoint is on the root dir device', async () => {
    const h = fakeHost();
    h.fs.set(ROOT, rootFs).set(IMAGES, imgFs);
    h.dev.set(ROOT, 1).set(IMAGES, 1);
    const rt = fakeRuntime(IMAGES);
    const clock = new FakeClock();
    const o = new SignalObserver({ rootDir: ROOT, runtime: rt, clock, readers: h.readers });
    const r = await o.observe();
    assert.equal(r.dedicatedImageFs, false);
    assert.deepEqual(r.observations['imagefs.available'], { available: 30 * Gi, capacity: 100 * Gi, time: clock.now() });
    assert.deepEqual(r.observations['nodefs.inodesFree'], { available: 900, capacity: 1000, time: clock.now() });
    assert.deepEqual(h.statfsCalls, [ROOT]);
    await o.observe();
    assert.equal(rt.calls, 1, 'the image filesystem is determined once');
  });

  it('a dedicated image filesystem is statfs-ed on its own', async () => {
    const h = fakeHost();
    h.fs.set(ROOT, rootFs).set(IMAGES, imgFs);
    h.dev.set(ROOT, 1).set(IMAGES, 2);
    const o = new SignalObserver({ rootDir: ROOT, runtime: fakeRuntime(IMAGES), clock: new FakeClock(), readers: h.readers });
    const r = await o.observe();
    assert.equal(r.dedicatedImageFs, true);
    assert.equal(r.observations['imagefs.available']?.available, 5 * Gi);
    assert.equal(r.observations['imagefs.inodesFree']?.capacity, 500);
    assert.equal(r.observations['nodefs.available']?.available, 30 * Gi);
    assert.equal(r.observations['memory.available']?.available, 6 * Gi);
    assert.equal(r.observations['pid.available']?.available, 32768 - 300);
  });

  it('falls back to nodefs when the runtime names no mountpoint or it cannot be stat-ed', async () => {
    // no fsId; an empty mountpoint; a mountpoint that does not exist on this host (stat fails)
    for (const mount of [undefined, '', IMAGES]) {
      const h = fakeHost();
      h.fs.set(ROOT, rootFs);
      h.dev.set(ROOT, 1);
      const logger = new MemoryLogger();
      const o = new SignalObserver({ rootDir: ROOT, runtime: fakeRuntime(mount), clock: new FakeClock(), readers: h.readers, logger });
      const r = await o.observe();
      assert.equal(r.dedicatedImageFs, false);
      assert.equal(r.observations['imagefs.available']?.available, 30 * Gi, `mountpoint ${String(mount)}`);
    }
  });

  it('when ImageFsInfo fails, imagefs is nodefs for now and the runtime is asked again next time', async () => {
    const h = fakeHost();
    h.fs.set(ROOT, rootFs);
    h.dev.set(ROOT, 1);
    const rt = fakeRuntime(IMAGES, true);
    const logger = new MemoryLogger();
    const o = new SignalObserver({ rootDir: ROOT, runtime: rt, clock: new FakeClock(), readers: h.readers, logger });
    assert.equal((await o.observe()).observations['imagefs.available']?.available, 30 * Gi);
    await o.observe();
    assert.equal(rt.calls, 2);
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1, 'warned once');
  });

  it('without a nodefs statfs there are no disk observations, and only wanted signals are read', async () => {
    const h = fakeHost();
    const logger = new MemoryLogger();
    const o = new SignalObserver({ rootDir: ROOT, runtime: fakeRuntime(undefined), clock: new FakeClock(), readers: h.readers, logger, signals: ['nodefs.available'] });
    const r = await o.observe();
    assert.deepEqual(r.observations, {});
    assert.ok(logger.find((x) => x.level === 'warn' && x.msg.includes('cannot statfs the root dir') && String(x.fields['err']).includes('ENOENT')));
    const o2 = new SignalObserver({ rootDir: ROOT, runtime: fakeRuntime(undefined), clock: new FakeClock(), readers: h.readers, signals: ['memory.available'] });
    assert.deepEqual(Object.keys((await o2.observe()).observations), ['memory.available']);
    assert.equal(h.statfsCalls.length, 1, 'a memory-only observer never statfs-es');
  });
});
