// Container log rotation (models the kubelet's pkg/kubelet/logs/container_log_manager.go).
//
// Every monitor period (containerLogMonitorInterval, 10 s) each running container's log
// (ContainerStatus.logPath) is checked; one that reached containerLogMaxSize (10Mi) is rotated:
//   1. rotated files left by a failed earlier round are cleaned up (`*.tmp`, and an uncompressed
//      file whose `.gz` exists);
//   2. the oldest rotated files are removed so that, with the current log and the one about to be
//      rotated, at most containerLogMaxFiles (5) files remain;
//   3. every rotated file not compressed yet is gzipped (to `<file>.gz` via `<file>.tmp`);
//   4. `<log>` is renamed to `<log>.<YYYYMMDD-HHMMSS>` and the runtime is asked to reopen the
//      container's log (ReopenContainerLog), which creates a new `<log>`; if that fails the file is
//      renamed back, to be rotated again next round.
// So the newest rotated file stays uncompressed (a reader may still be finishing it). A log that
// has disappeared is recreated with ReopenContainerLog, as upstream does.

import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parseQuantity } from '../../api/quantity.js';
import type { Runtime } from '../../runtime/types.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';

/** KubeletConfiguration defaults. */
export const defaultContainerLogMaxSize = 10 * 1024 * 1024; // "10Mi"
export const defaultContainerLogMaxFiles = 5;
export const defaultContainerLogMonitorIntervalMs = 10_000;

const compressSuffix = '.gz';
const tmpSuffix = '.tmp';

export interface ContainerLogManagerOptions {
  clock: Clock;
  runtime: Runtime;
  logger: Logger;
  /** containerLogMaxSize: bytes, or a quantity ("10Mi"). */
  maxSize?: number | string;
  /** containerLogMaxFiles: the current log plus rotated ones; at least 2. */
  maxFiles?: number;
  /** containerLogMonitorInterval in ms. */
  monitorPeriodMs?: number;
}

/** The rotated file's suffix: the time as Go's "20060102-150405", in UTC. */
export function rotationTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** A rotated file still in use: temporaries are not, nor an uncompressed file whose .gz exists. */
function isInUse(l: string, logs: string[]): boolean {
  if (l.endsWith(tmpSuffix)) return false;
  if (l.endsWith(compressSuffix)) return true;
  return !logs.includes(l + compressSuffix);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ContainerLogManager {
  /** Log path by container ID (stable for a container's lifetime). */
  private readonly logPaths = new Map<string, string>();
  readonly maxSize: number;
  readonly maxFiles: number;
  readonly monitorPeriodMs: number;
  private readonly clock: Clock;
  private readonly runtime: Runtime;
  private readonly logger: Logger;
  private timer: Timer | undefined;
  private lock: Promise<void> = Promise.resolve();
  private busy = false;

  constructor(opts: ContainerLogManagerOptions) {
    this.clock = opts.clock;
    this.runtime = opts.runtime;
    this.logger = opts.logger;
    this.maxSize = typeof opts.maxSize === 'string' ? parseQuantity(opts.maxSize, 'containerLogMaxSize') : (opts.maxSize ?? defaultContainerLogMaxSize);
    this.maxFiles = opts.maxFiles ?? defaultContainerLogMaxFiles;
    this.monitorPeriodMs = opts.monitorPeriodMs ?? defaultContainerLogMonitorIntervalMs;
    if (!(this.maxFiles > 1)) throw new Error(`invalid MaxFiles ${this.maxFiles}, must be > 1`);
    if (!(this.maxSize > 0)) throw new Error(`invalid MaxSize ${this.maxSize}, must be > 0`);
  }

  /** Starts the periodic rotation (a round is skipped while the previous one still runs). */
  start(): void {
    if (this.timer) return;
    this.logger.info('Initializing container log rotate workers', { workers: 1, monitorPeriod: `${this.monitorPeriodMs / 1000}s` });
    this.timer = this.clock.setInterval(() => {
      if (this.busy) return;
      void this.rotateNow();
    }, this.monitorPeriodMs);
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    this.timer?.stop();
    this.timer = undefined;
    await this.lock;
  }

  /** One rotation round over the running containers (what the timer runs; public for tests). */
  rotateNow(): Promise<void> {
    return this.locked(async () => {
      this.busy = true;
      try {
        await this.rotateLogs();
      } finally {
        this.busy = false;
      }
    });
  }

  /** Removes all log files of a container, rotated ones included (upstream's Clean, for container GC). */
  clean(containerId: string): Promise<void> {
    return this.locked(async () => {
      const resp = await this.runtime.containerStatus(containerId);
      const log = resp.status.logPath;
      if (!log) return;
      for (const f of await this.rotatedFiles(log, true)) {
        await unlink(f).catch((e: unknown) => {
          if ((e as { code?: string }).code !== 'ENOENT') throw new Error(`failed to remove container "${containerId}" log "${f}": ${errText(e)}`);
        });
      }
    });
  }

  private locked(fn: () => Promise<void>): Promise<void> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async rotateLogs(): Promise<void> {
    let containers;
    try {
      containers = await this.runtime.listContainers({ state: 'CONTAINER_RUNNING' });
    } catch (e) {
      this.logger.error('Failed to rotate container logs', { err: `failed to list containers: ${errText(e)}` });
      return;
    }
    for (const c of containers) {
      // only running containers write: an exited one would get an empty new log for nothing
      if (c.state !== 'CONTAINER_RUNNING') continue;
      await this.processContainer(c.id);
    }
    // forget the paths of containers that stopped running
    const live = new Set(containers.map((c) => c.id));
    for (const id of this.logPaths.keys()) if (!live.has(id)) this.logPaths.delete(id);
  }

  private async processContainer(id: string): Promise<void> {
    // a container's log path never changes: ask the runtime once per container, not every period
    let path = this.logPaths.get(id);
    if (path === undefined) {
      try {
        path = (await this.runtime.containerStatus(id)).status.logPath;
      } catch (e) {
        this.logger.error('Failed to get container status', { containerID: id, err: e });
        return;
      }
      this.logPaths.set(id, path);
    }
    if (!path) return;
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') {
        this.logger.error('Failed to stat container log', { containerID: id, path, err: e });
        return;
      }
      // a failed earlier rotation may have lost the log: the runtime opens a new one
      try {
        await this.runtime.reopenContainerLog(id);
        size = (await stat(path)).size;
      } catch (e2) {
        this.logger.error("Container log doesn't exist, reopen container log failed", { containerID: id, path, err: e2 });
        return;
      }
    }
    if (size < this.maxSize) return;
    try {
      await this.rotateLog(id, path);
    } catch (e) {
      this.logger.error('Failed to rotate log for container', { containerID: id, path, currentSize: size, maxSize: this.maxSize, err: e });
    }
  }

  /** `<log>.*` (with `prefixOnly`, `<log>*`: the log itself too), sorted oldest first. */
  private async rotatedFiles(log: string, prefixOnly = false): Promise<string[]> {
    const dir = dirname(log);
    const base = basename(log);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return [];
      throw e;
    }
    return names
      .filter((n) => (prefixOnly ? n.startsWith(base) : n.startsWith(`${base}.`)))
      .sort()
      .map((n) => join(dir, n));
  }

  private async rotateLog(id: string, log: string): Promise<void> {
    let logs = await this.rotatedFiles(log);
    logs = await this.cleanupUnusedLogs(logs);
    logs = await this.removeExcessLogs(logs);
    for (const l of logs) {
      if (l.endsWith(compressSuffix)) continue;
      await this.compressLog(l);
    }
    await this.rotateLatestLog(id, log);
  }

  private async cleanupUnusedLogs(logs: string[]): Promise<string[]> {
    const inuse: string[] = [];
    for (const l of logs) {
      if (isInUse(l, logs)) {
        inuse.push(l);
        continue;
      }
      try {
        await unlink(l);
      } catch (e) {
        throw new Error(`failed to remove unused log "${l}": ${errText(e)}`);
      }
    }
    return inuse;
  }

  /** Keeps maxFiles-2 rotated files: with the current log and the one rotated now, maxFiles in all. */
  private async removeExcessLogs(logs: string[]): Promise<string[]> {
    const sorted = [...logs].sort();
    const keep = Math.max(0, this.maxFiles - 2);
    const excess = Math.max(0, sorted.length - keep);
    // oldest first, so as not to break a reader of a newer one
    for (const l of sorted.slice(0, excess)) {
      try {
        await unlink(l);
      } catch (e) {
        throw new Error(`failed to remove old log "${l}": ${errText(e)}`);
      }
    }
    return sorted.slice(excess);
  }

  private async compressLog(log: string): Promise<void> {
    const tmp = log + tmpSuffix;
    try {
      await pipeline(createReadStream(log), createGzip(), createWriteStream(tmp, { mode: 0o644 }));
      await rename(tmp, log + compressSuffix);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`failed to compress log "${log}": ${errText(e)}`);
    }
    try {
      await unlink(log);
    } catch (e) {
      throw new Error(`failed to remove log "${log}" after compress: ${errText(e)}`);
    }
  }

  private async rotateLatestLog(id: string, log: string): Promise<void> {
    const rotated = `${log}.${rotationTimestamp(this.clock.now())}`;
    if (await stat(rotated).then(() => true, () => false)) {
      // rotated twice within a second: renaming now would overwrite the earlier file
      throw new Error(`failed to rotate log "${log}" to "${rotated}": file exists`);
    }
    try {
      await rename(log, rotated);
    } catch (e) {
      throw new Error(`failed to rotate log "${log}" to "${rotated}": ${errText(e)}`);
    }
    try {
      await this.runtime.reopenContainerLog(id);
    } catch (e) {
      // rename it back so that the next round rotates it again
      await rename(rotated, log).catch((renameErr: unknown) =>
        this.logger.error('Failed to rename rotated log', { rotatedLog: rotated, newLog: log, containerID: id, err: renameErr }),
      );
      throw new Error(`failed to reopen container log "${id}": ${errText(e)}`);
    }
    this.logger.debug('Rotated container log', { containerID: id, path: log, rotated });
  }
}
