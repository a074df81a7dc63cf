// Signal observations (models pkg/kubelet/eviction/helpers.go makeSignalObservations, the parts of
// the summary stats provider it reads, eviction_manager.go's HasDedicatedImageFs check, and
// pkg/kubelet/stats/pidlimit).
//
// - nodefs: statfs of the kubelet root dir (available = bavail * bsize, capacity = blocks * bsize,
//   inodes = files, inodesFree = ffree), as cadvisor reports the root filesystem.
// - imagefs: the runtime's ImageFsInfo mountpoint, statfs'd here. When that mountpoint is on the
//   root dir's device (st_dev), or the runtime names none, imagefs is the nodefs filesystem
//   ("no dedicated imagefs"), as upstream. Determined once, like upstream's dedicatedImageFs.
// - pid.available: /proc/sys/kernel/pid_max minus the number of tasks (upstream reads sysinfo's
//   procs; /proc/loadavg's "running/total" total is the same kernel counter).
// - memory.available: MemTotal minus the working set. Upstream takes the working set of the root
//   cgroup from cadvisor (usage - total_inactive_file); nodelet reads the same cgroup v1 files
//   (/sys/fs/cgroup/memory/memory.usage_in_bytes and memory.stat). Where they are missing
//   (cgroup v2), it falls back to /proc/meminfo's MemAvailable, which also counts reclaimable
//   slab and most of the page cache as available, so it reads higher than the kubelet's figure.
//
// Differences: no containerfs split (the CRI's containerFilesystems are ignored), no
// allocatableMemory.available (no pods cgroup); when the image filesystem cannot be determined or
// statfs'd, imagefs falls back to nodefs instead of skipping the pass. All host access goes through
// HostReaders so tests are pure.

import { readFile, stat, statfs } from 'node:fs/promises';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { fsStatsFromStatfs, type FsStats } from '../../util/statfs.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import type { ImageFsInfo } from '../../runtime/types.js';
import type { Signal } from './thresholds.js';

export interface SignalObservation {
  available: number;
  capacity: number;
  /** When it was observed (Clock ms). */
  time: number;
}

export type SignalObservations = Partial<Record<Signal, SignalObservation>>;

export type { FsStats } from '../../util/statfs.js';

export interface MemoryStats {
  capacityBytes: number;
  workingSetBytes: number;
}

export interface PidStats {
  maxPid: number;
  running: number;
}

/** The host reads observations need; the defaults read the real host. */
export interface HostReaders {
  statfs(path: string): Promise<FsStats>;
  /** The device a path is on (st_dev). */
  deviceId(path: string): Promise<number>;
  /** undefined when memory cannot be read. */
  memory(): Promise<MemoryStats | undefined>;
  pids(): Promise<PidStats | undefined>;
}

/** MemTotal and MemAvailable in bytes from /proc/meminfo text (undefined when absent). */
export function parseMeminfo(text: string): { memTotal?: number; memAvailable?: number } {
  const out: { memTotal?: number; memAvailable?: number } = {};
  for (const line of text.split('\n')) {
    const m = /^(MemTotal|MemAvailable):\s+(\d+)\s*kB/.exec(line);
    if (!m) continue;
    const bytes = Number(m[2]) * 1024;
    if (m[1] === 'MemTotal') out.memTotal = bytes;
    else out.memAvailable = bytes;
  }
  return out;
}

/** cadvisor's working set of a cgroup v1 memory cgroup: usage minus total_inactive_file (not below 0). */
export function cgroupV1WorkingSet(usageText: string, statText: string): number | undefined {
  const usage = Number(usageText.trim());
  if (!Number.isFinite(usage) || usageText.trim() === '') return undefined;
  const m = /^total_inactive_file (\d+)$/m.exec(statText);
  const inactive = m ? Number(m[1]) : 0;
  return inactive < usage ? usage - inactive : 0;
}

/** Number of tasks from /proc/loadavg ("0.1 0.2 0.3 4/299 1234" -> 299). */
export function parseLoadavgTasks(text: string): number | undefined {
  const m = /^\S+ \S+ \S+ \d+\/(\d+) /.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads the real host. */
export const hostReaders: HostReaders = {
  async statfs(path) {
    return fsStatsFromStatfs(await statfs(path));
  },
  async deviceId(path) {
    return (await stat(path)).dev;
  },
  async memory() {
    const info = parseMeminfo((await readText('/proc/meminfo')) ?? '');
    if (info.memTotal === undefined) return undefined;
    const usage = await readText('/sys/fs/cgroup/memory/memory.usage_in_bytes');
    const st = await readText('/sys/fs/cgroup/memory/memory.stat');
    const ws = usage !== undefined && st !== undefined ? cgroupV1WorkingSet(usage, st) : undefined;
    if (ws !== undefined) return { capacityBytes: info.memTotal, workingSetBytes: ws };
    if (info.memAvailable === undefined) return undefined;
    return { capacityBytes: info.memTotal, workingSetBytes: Math.max(0, info.memTotal - info.memAvailable) };
  },
  async pids() {
    const max = Number(((await readText('/proc/sys/kernel/pid_max')) ?? '').trim());
    const running = parseLoadavgTasks((await readText('/proc/loadavg')) ?? '');
    if (!Number.isFinite(max) || max <= 0 || running === undefined) return undefined;
    return { maxPid: max, running };
  },
};

export interface ObservationInputs {
  time: number;
  nodeFs?: FsStats;
  /** The image filesystem; pass nodeFs again when it is not dedicated. */
  imageFs?: FsStats;
  memory?: MemoryStats;
  pids?: PidStats;
}

/** makeSignalObservations: one observation per signal that has figures. */
export function makeSignalObservations(inp: ObservationInputs): SignalObservations {
  const out: SignalObservations = {};
  const time = inp.time;
  if (inp.memory) {
    const { capacityBytes, workingSetBytes } = inp.memory;
    out['memory.available'] = { available: Math.max(0, capacityBytes - workingSetBytes), capacity: capacityBytes, time };
  }
  if (inp.nodeFs) {
    out['nodefs.available'] = { available: inp.nodeFs.availableBytes, capacity: inp.nodeFs.capacityBytes, time };
    out['nodefs.inodesFree'] = { available: inp.nodeFs.inodesFree, capacity: inp.nodeFs.inodes, time };
  }
  if (inp.imageFs) {
    out['imagefs.available'] = { available: inp.imageFs.availableBytes, capacity: inp.imageFs.capacityBytes, time };
    out['imagefs.inodesFree'] = { available: inp.imageFs.inodesFree, capacity: inp.imageFs.inodes, time };
  }
  if (inp.pids) {
    out['pid.available'] = { available: inp.pids.maxPid - inp.pids.running, capacity: inp.pids.maxPid, time };
  }
  return out;
}

export interface ObservationResult {
  observations: SignalObservations;
  /** True when images live on another filesystem than the root dir (HasDedicatedImageFs). */
  dedicatedImageFs: boolean;
}

/** What observations need from the runtime (the CRI ImageService's ImageFsInfo). */
export interface ImageFsInfoProvider {
  imageFsInfo(): Promise<ImageFsInfo>;
}

export interface SignalObserverOptions {
  /** The kubelet root dir: its filesystem is nodefs. */
  rootDir: string;
  runtime: ImageFsInfoProvider;
  clock: Clock;
  logger?: Logger;
  readers?: HostReaders;
  /** Read only what these signals need (default: all). */
  signals?: Iterable<Signal>;
}

/** Where images live, once known. */
interface ImageFsPlace {
  mountpoint: string;
  dedicated: boolean;
}

/** Takes the observations for a synchronize pass. */
export class SignalObserver {
  private readonly readers: HostReaders;
  private readonly log: Logger;
  private readonly wanted: Set<Signal> | undefined;
  private imageFs: ImageFsPlace | undefined;
  private readonly warned = new Set<string>();

  constructor(private readonly opts: SignalObserverOptions) {
    this.readers = opts.readers ?? hostReaders;
    this.log = opts.logger ?? nopLogger;
    this.wanted = opts.signals ? new Set(opts.signals) : undefined;
  }

  private wants(...s: Signal[]): boolean {
    return !this.wanted || s.some((x) => this.wanted!.has(x));
  }

  private warnOnce(key: string, msg: string, fields: Record<string, unknown>): void {
    if (this.warned.has(key)) {
      this.log.debug(msg, fields);
      return;
    }
    this.warned.add(key);
    this.log.warn(msg, fields);
  }

  async observe(): Promise<ObservationResult> {
    const time = this.opts.clock.now();
    const inputs: ObservationInputs = { time };
    const wantsDisk = this.wants('nodefs.available', 'nodefs.inodesFree', 'imagefs.available', 'imagefs.inodesFree');
    let dedicated = false;
    if (wantsDisk) {
      try {
        inputs.nodeFs = await this.readers.statfs(this.opts.rootDir);
      } catch (e) {
        this.warnOnce('nodefs', 'Eviction manager: cannot statfs the root dir (nodefs)', { path: this.opts.rootDir, err: errorMessage(e) });
      }
      const place = await this.imageFsPlace();
      dedicated = place?.dedicated ?? false;
      if (place?.dedicated) {
        try {
          inputs.imageFs = await this.readers.statfs(place.mountpoint);
        } catch (e) {
          this.warnOnce('imagefs', 'Eviction manager: cannot statfs the image filesystem; using nodefs for imagefs', { path: place.mountpoint, err: errorMessage(e) });
          inputs.imageFs = inputs.nodeFs;
        }
      } else {
        inputs.imageFs = inputs.nodeFs;
      }
    }
    if (this.wants('memory.available')) {
      try {
        const m = await this.readers.memory();
        if (m) inputs.memory = m;
        else this.warnOnce('memory', 'Eviction manager: memory figures are unavailable', {});
      } catch (e) {
        this.warnOnce('memory', 'Eviction manager: cannot read memory figures', { err: errorMessage(e) });
      }
    }
    if (this.wants('pid.available')) {
      try {
        const p = await this.readers.pids();
        if (p) inputs.pids = p;
        else this.warnOnce('pids', 'Eviction manager: PID figures are unavailable', {});
      } catch (e) {
        this.warnOnce('pids', 'Eviction manager: cannot read PID figures', { err: errorMessage(e) });
      }
    }
    return { observations: makeSignalObservations(inputs), dedicatedImageFs: dedicated };
  }

  /**
   * The image filesystem's mountpoint and whether it is dedicated; asked of the runtime until it
   * answers, then kept. undefined (= not dedicated, this pass) while the runtime cannot answer.
   */
  private async imageFsPlace(): Promise<ImageFsPlace | undefined> {
    if (this.imageFs) return this.imageFs;
    let mountpoint: string | undefined;
    try {
      const info = await this.opts.runtime.imageFsInfo();
      mountpoint = info.imageFilesystems[0]?.fsId?.mountpoint || undefined;
    } catch (e) {
      this.warnOnce('imagefsinfo', 'Eviction manager: ImageFsInfo failed; using nodefs for imagefs until it answers', { err: errorMessage(e) });
      return undefined;
    }
    if (!mountpoint) {
      this.imageFs = { mountpoint: '', dedicated: false };
      this.log.info('Eviction manager: the runtime names no image filesystem; imagefs is nodefs', {});
      return this.imageFs;
    }
    let dedicated = false;
    try {
      const [img, root] = await Promise.all([this.readers.deviceId(mountpoint), this.readers.deviceId(this.opts.rootDir)]);
      dedicated = img !== root;
    } catch (e) {
      this.warnOnce('imagefsdev', 'Eviction manager: cannot stat the image filesystem; imagefs is nodefs', { path: mountpoint, err: errorMessage(e) });
    }
    this.imageFs = { mountpoint, dedicated };
    this.log.info('Eviction manager: filesystem detection', { imageFs: mountpoint, dedicatedImageFs: dedicated });
    return this.imageFs;
  }
}
