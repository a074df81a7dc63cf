// Container garbage collection (models pkg/kubelet/kuberuntime/kuberuntime_gc.go, driven as
// pkg/kubelet/container/container_gc.go and Kubelet.StartGarbageCollection do: every minute).
//
// A pass lists the runtime's containers and sandboxes once, then:
// 1. dead containers (not running, created at least minAge ago) are grouped per (pod UID,
//    container name); those of pods that no longer exist are all removed (once all pod sources
//    are ready); each group keeps its newest maxPerPodContainer; with maxContainers set and more
//    dead containers left than that, each group keeps maxContainers / groups (at least 1), and
//    then the oldest overall go until maxContainers are left. A container in unknown state is
//    stopped first.
// 2. sandboxes that are not ready and have no containers are removed (stop, then remove), except
//    the newest sandbox of a pod that still exists.
// 3. pod log directories (<podLogsDir>/<namespace>_<name>_<uid>) of pods that no longer exist are
//    removed (once all pod sources are ready).
// 4. the cgroup directories containerd leaves behind under <cgroupRoot>/<controller>/k8s.io/<id>
//    are removed with rmdir (only empty cgroups can be removed).
// Errors on one object are logged and do not stop the pass; a pass fails (ContainerGCFailed event
// on the node) only when it cannot list what it needs, as upstream.
//
// Differences from upstream:
// - Only containers and sandboxes labelled with this node's name (nodelet.dev/node-name) are
//   touched: several nodelets may share one runtime.
// - A pod log directory is also kept while any runtime object of any node still carries its pod
//   UID, or while it is younger than a minute (another nodelet sharing the directory may be
//   creating that pod); names that are not <namespace>_<name>_<uid> are never touched.
// - Cgroup cleanup is nodelet's (the kubelet has cadvisor and the container manager for that):
//   directories of sandboxes and containers removed now, and, as a safety net, empty directories
//   named by a 64-hex id that no listed container or sandbox has and that are older than a minute.
// - Sandboxes of deleted pods are removed only once all pod sources are ready (upstream relies on
//   its pod workers not reporting unknown pods as deleted before then).
// - No legacy /var/log/containers symlinks.

import { readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, PodSandbox, Runtime } from '../../runtime/types.js';
import { isNotFound } from '../../runtime/errors.js';
import type { Clock, Timer } from '../../util/clock.js';
import { Serializer } from '../../util/serial.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { nopRecorder, type EventRecorder, type ObjectRef } from '../events/index.js';
import { containerInfoFromLabels, nodeNameLabel, podUidLabel } from './labels.js';

/** The kubelet's ContainerGCPeriod. */
export const containerGCPeriodMs = 60_000;
/** Minimum age of a leftover pod log or cgroup directory before GC removes it. */
export const leftoverMinAgeMs = 60_000;

export interface ContainerGCPolicy {
  /** A dead container is removed only once created at least this long ago (minimum-container-ttl-duration). */
  minAgeMs: number;
  /** Dead containers kept per (pod, container name); negative = no limit (maximum-dead-containers-per-container). */
  maxPerPodContainer: number;
  /** Dead containers kept in all; negative = no limit (maximum-dead-containers). */
  maxContainers: number;
}

export const defaultContainerGCPolicy: Readonly<ContainerGCPolicy> = { minAgeMs: 0, maxPerPodContainer: 1, maxContainers: -1 };

/** What the kubelet knows of pods (upstream's podStateProvider, the pod workers). */
export interface PodStateProvider {
  /** The pod is gone (deleted, or unknown): its containers, sandboxes and logs may all go (ShouldPodContentBeRemoved). */
  isPodDeleted(uid: string): boolean;
  /** The pod will not run again; used when the eviction side asks to evict non-deleted pods too (ShouldPodRuntimeBeRemoved). */
  isPodTerminated(uid: string): boolean;
}

/** A dead container GC may remove (containerGCInfo). Times in ms. */
export interface GCContainer {
  id: string;
  podUid: string;
  name: string;
  createdAt: number;
  /** In unknown state: stopped before removal. */
  unknown: boolean;
  /** Grace period for stopping an unknown container (from its annotations). */
  gracePeriodSeconds: number;
}

/** A (pod UID, container name) group of dead containers (evictUnit). */
export interface EvictUnit {
  podUid: string;
  name: string;
  containers: GCContainer[];
}

/** A sandbox as sandbox GC sees it (sandboxGCInfo). */
export interface GCSandbox {
  id: string;
  podUid: string;
  createdAt: number;
  /** Ready, or still has containers: never removed. */
  active: boolean;
}

const ns2ms = (ns: number): number => Math.floor(ns / 1e6);

function isOurs(labels: Record<string, string>, nodeName: string): boolean {
  return labels[nodeNameLabel] === nodeName;
}

/**
 * Upstream's evictableContainers: this node's containers that are not running and were created at
 * least minAge ago, grouped by (pod UID, container name).
 */
export function evictableContainers(containers: readonly Container[], nodeName: string, now: number, minAgeMs: number): EvictUnit[] {
  const units = new Map<string, EvictUnit>();
  const newest = now - minAgeMs;
  for (const c of containers) {
    if (c.state === 'CONTAINER_RUNNING' || !isOurs(c.labels, nodeName)) continue;
    const createdAt = ns2ms(c.createdAt);
    if (createdAt > newest) continue;
    const info = containerInfoFromLabels(c.labels, c.annotations);
    const name = c.metadata.name;
    const key = `${info.podUid}/${name}`;
    let u = units.get(key);
    if (!u) units.set(key, (u = { podUid: info.podUid, name, containers: [] }));
    const grace = info.deletionGracePeriodSeconds ?? info.terminationGracePeriodSeconds ?? 30;
    u.containers.push({ id: c.id, podUid: info.podUid, name, createdAt, unknown: c.state === 'CONTAINER_UNKNOWN', gracePeriodSeconds: Math.max(2, grace) });
  }
  return [...units.values()];
}

const newestFirst = (a: { createdAt: number }, b: { createdAt: number }): number => b.createdAt - a.createdAt;

/**
 * The dead containers to remove, in removal order (upstream's evictContainers decisions).
 * `podRemoved(uid)`: the pod no longer exists (only asked when all sources are ready).
 */
export function selectContainersToRemove(units: readonly EvictUnit[], policy: ContainerGCPolicy, podRemoved: (uid: string) => boolean): GCContainer[] {
  const out: GCContainer[] = [];
  /** removeOldestN: the oldest n go (oldest first); returns what is kept, newest first. */
  const removeOldestN = (list: GCContainer[], n: number): GCContainer[] => {
    const sorted = [...list].sort(newestFirst);
    const keep = Math.max(0, sorted.length - n);
    for (let i = sorted.length - 1; i >= keep; i--) out.push(sorted[i]!);
    return sorted.slice(0, keep);
  };
  let groups = units.map((u) => ({ ...u, containers: [...u.containers] }));
  groups = groups.filter((u) => {
    if (!podRemoved(u.podUid)) return true;
    removeOldestN(u.containers, u.containers.length);
    return false;
  });
  const enforcePerUnit = (max: number): void => {
    for (const u of groups) if (u.containers.length > max) u.containers = removeOldestN(u.containers, u.containers.length - max);
  };
  if (policy.maxPerPodContainer >= 0) enforcePerUnit(policy.maxPerPodContainer);
  const count = (): number => groups.reduce((a, u) => a + u.containers.length, 0);
  if (policy.maxContainers >= 0 && count() > policy.maxContainers) {
    // leave an equal number per unit (at least 1), then the oldest overall go
    enforcePerUnit(Math.max(1, Math.floor(policy.maxContainers / groups.length)));
    const total = count();
    if (total > policy.maxContainers) removeOldestN(groups.flatMap((u) => u.containers), total - policy.maxContainers);
  }
  return out;
}

/**
 * This node's sandboxes, with `active` set for ready ones and those any listed container
 * (after this pass's removals) still belongs to.
 */
export function gcSandboxes(sandboxes: readonly PodSandbox[], nodeName: string, containerSandboxIds: ReadonlySet<string>): GCSandbox[] {
  return sandboxes
    .filter((s) => isOurs(s.labels, nodeName))
    .map((s) => ({
      id: s.id,
      podUid: s.labels[podUidLabel] || s.metadata.uid,
      createdAt: ns2ms(s.createdAt),
      active: s.state === 'SANDBOX_READY' || containerSandboxIds.has(s.id),
    }));
}

/**
 * The sandboxes to remove (upstream's evictSandboxes): inactive ones, except the newest sandbox
 * of a pod that still exists; oldest first per pod.
 */
export function selectSandboxesToRemove(sandboxes: readonly GCSandbox[], podRemoved: (uid: string) => boolean): GCSandbox[] {
  const byPod = new Map<string, GCSandbox[]>();
  for (const s of sandboxes) {
    const list = byPod.get(s.podUid) ?? [];
    list.push(s);
    byPod.set(s.podUid, list);
  }
  const out: GCSandbox[] = [];
  for (const [uid, list] of byPod) {
    const sorted = [...list].sort(newestFirst);
    const keep = podRemoved(uid) ? 0 : 1;
    for (let i = sorted.length - 1; i >= keep; i--) if (!sorted[i]!.active) out.push(sorted[i]!);
  }
  return out;
}

/** The pod UID of a pod log directory `<namespace>_<name>_<uid>`, or undefined for any other name. */
export function podUidFromLogsDirectory(name: string): string | undefined {
  const parts = name.split('_');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  return parts[2];
}

/** Formats errors as apimachinery's utilerrors.NewAggregate: one message, or `[a, b]`. */
function aggregateMessage(errors: readonly unknown[]): string {
  const msgs = errors.map(errorMessage);
  return msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`;
}

export interface ContainerGCResult {
  containersRemoved: number;
  sandboxesRemoved: number;
  logDirsRemoved: number;
  cgroupDirsRemoved: number;
  /** Objects whose removal failed (logged). */
  failures: number;
}

export interface ContainerGCOptions {
  runtime: Pick<Runtime, 'listContainers' | 'listPodSandbox' | 'stopContainer' | 'removeContainer' | 'stopPodSandbox' | 'removePodSandbox'>;
  clock: Clock;
  nodeName: string;
  podStateProvider: PodStateProvider;
  /** Whether every pod source has delivered its pods (upstream's sourcesReady.AllReady); default always. */
  sourcesReady?: () => boolean;
  /** The kubelet's podLogsDir (e.g. /var/log/pods); '' = no log directory cleanup. */
  podLogsDir: string;
  /** cgroupfs root (default /sys/fs/cgroup); '' = no cgroup cleanup. */
  cgroupRoot?: string;
  /** The runtime's cgroup parent for pods with an empty cgroup_parent (containerd: k8s.io). */
  cgroupParent?: string;
  policy?: Partial<ContainerGCPolicy>;
  logger?: Logger;
  recorder?: EventRecorder;
  /** GC period (default 1 m). */
  periodMs?: number;
}

const idRe = /^[0-9a-f]{64}$/;

export class ContainerGC {
  readonly policy: Readonly<ContainerGCPolicy>;
  private readonly opts: ContainerGCOptions;
  private readonly logger: Logger;
  private readonly recorder: EventRecorder;
  private readonly nodeRef: ObjectRef;
  private readonly cgroupRoot: string;
  private readonly cgroupParent: string;
  private timer: Timer | undefined;
  private prevFailed = false;
  private readonly serializer = new Serializer();

  constructor(opts: ContainerGCOptions) {
    this.opts = opts;
    this.policy = { ...defaultContainerGCPolicy, ...opts.policy };
    this.logger = opts.logger ?? nopLogger;
    this.recorder = opts.recorder ?? nopRecorder;
    this.nodeRef = { kind: 'Node', name: opts.nodeName, uid: opts.nodeName };
    this.cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup';
    this.cgroupParent = opts.cgroupParent ?? 'k8s.io';
  }

  /** Runs a pass now and every period (1 m). */
  start(): void {
    if (this.timer) return;
    const tick = (): void => void this.periodicPass();
    this.timer = this.opts.clock.setInterval(tick, this.opts.periodMs ?? containerGCPeriodMs);
    tick();
  }

  stop(): void {
    this.timer?.stop();
    this.timer = undefined;
  }

  /** One pass (upstream's GarbageCollect). Rejects (after doing what it could) when listing failed. */
  garbageCollect(): Promise<ContainerGCResult> {
    return this.serializer.run(() => this.collect(false));
  }

  /** A pass that also removes the containers of terminated pods that still exist (eviction's DeleteAllUnusedContainers). */
  deleteAllUnusedContainers(): Promise<ContainerGCResult> {
    return this.serializer.run(() => this.collect(true));
  }

  /** rmdir of the cgroup directories of one sandbox or container id in every controller (ENOENT/EBUSY ignored); returns how many went. */
  removeCgroupDirs(id: string): number {
    let n = 0;
    for (const parent of this.cgroupParents()) {
      try {
        rmdirSync(join(parent, id));
        n++;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') this.logger.debug('Failed to remove cgroup directory', { path: join(parent, id), err: e });
      }
    }
    return n;
  }

  // ------------------------------------------------------------ internals

  private async periodicPass(): Promise<void> {
    try {
      await this.garbageCollect();
      if (this.prevFailed) this.logger.info('Container garbage collection succeeded');
      else this.logger.debug('Container garbage collection succeeded');
      this.prevFailed = false;
    } catch (e) {
      this.logger.error('Container garbage collection failed', { err: errorMessage(e) });
      this.recorder.event(this.nodeRef, 'Warning', 'ContainerGCFailed', errorMessage(e));
      this.prevFailed = true;
    }
  }

  private async collect(evictNonDeletedPods: boolean): Promise<ContainerGCResult> {
    const { runtime, clock, nodeName, podStateProvider: pods } = this.opts;
    const allSourcesReady = this.opts.sourcesReady?.() ?? true;
    const podRemoved = (uid: string): boolean => allSourcesReady && (pods.isPodDeleted(uid) || (evictNonDeletedPods && pods.isPodTerminated(uid)));
    const result: ContainerGCResult = { containersRemoved: 0, sandboxesRemoved: 0, logDirsRemoved: 0, cgroupDirsRemoved: 0, failures: 0 };
    const errors: unknown[] = [];
    const now = clock.now();

    const [containers, sandboxes] = await Promise.all([
      runtime.listContainers().catch((e: unknown) => (errors.push(e), undefined)),
      runtime.listPodSandbox().catch((e: unknown) => (errors.push(e), undefined)),
    ]);
    const removedIds: string[] = [];

    // 1. dead containers
    const gone = new Set<string>();
    if (containers) {
      for (const c of selectContainersToRemove(evictableContainers(containers, nodeName, now, this.policy.minAgeMs), this.policy, podRemoved)) {
        try {
          if (c.unknown) await runtime.stopContainer(c.id, c.gracePeriodSeconds);
          await runtime.removeContainer(c.id);
          gone.add(c.id);
          removedIds.push(c.id);
          result.containersRemoved++;
        } catch (e) {
          result.failures++;
          this.logger.error(c.unknown ? 'Failed to stop container' : 'Failed to remove container', { containerID: c.id, err: e });
        }
      }
    }

    // 2. sandboxes with no containers left
    if (containers && sandboxes) {
      const withContainers = new Set(containers.filter((c) => !gone.has(c.id)).map((c) => c.podSandboxId));
      for (const s of selectSandboxesToRemove(gcSandboxes(sandboxes, nodeName, withContainers), podRemoved)) {
        this.logger.debug('Removing sandbox', { sandboxID: s.id });
        try {
          await runtime.stopPodSandbox(s.id);
        } catch (e) {
          if (isNotFound(e)) continue; // removed meanwhile (housekeeping): nothing left to collect
          result.failures++;
          this.logger.error('Failed to stop sandbox before removing', { sandboxID: s.id, err: e });
          continue;
        }
        try {
          await runtime.removePodSandbox(s.id);
          removedIds.push(s.id);
          result.sandboxesRemoved++;
        } catch (e) {
          if (isNotFound(e)) continue;
          result.failures++;
          this.logger.error('Failed to remove sandbox', { sandboxID: s.id, err: e });
        }
      }
    }

    // 3. pod log directories
    if (allSourcesReady && this.opts.podLogsDir && containers && sandboxes) {
      // pod UIDs other nodes' runtime objects carry: their log directories are theirs
      const elsewhere = new Set<string>();
      for (const o of [...containers, ...sandboxes]) if (!isOurs(o.labels, nodeName)) elsewhere.add(o.labels[podUidLabel] ?? '');
      try {
        // only pods that are gone: a terminated pod's logs stay while it exists (ShouldPodContentBeRemoved)
        result.logDirsRemoved = this.evictPodLogsDirectories(now, (uid) => pods.isPodDeleted(uid), elsewhere);
      } catch (e) {
        errors.push(e);
      }
    }

    // 4. cgroup directories
    if (this.cgroupRoot) {
      for (const id of removedIds) result.cgroupDirsRemoved += this.removeCgroupDirs(id);
      if (containers && sandboxes) result.cgroupDirsRemoved += this.sweepCgroups(now, new Set([...containers, ...sandboxes].map((o) => o.id)));
    }

    if (result.containersRemoved + result.sandboxesRemoved + result.logDirsRemoved + result.cgroupDirsRemoved + result.failures > 0) {
      this.logger.info('Container garbage collection removed', { ...result });
    }
    if (errors.length) throw new Error(aggregateMessage(errors));
    return result;
  }

  private evictPodLogsDirectories(now: number, podRemoved: (uid: string) => boolean, elsewhere: ReadonlySet<string>): number {
    const dir = this.opts.podLogsDir;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new Error(`failed to read podLogsDirectory "${dir}": ${errorMessage(e)}`);
    }
    let n = 0;
    for (const name of names) {
      const uid = podUidFromLogsDirectory(name);
      if (!uid || elsewhere.has(uid) || !podRemoved(uid)) continue;
      const path = join(dir, name);
      try {
        const st = statSync(path);
        if (!st.isDirectory() || now - st.mtimeMs < leftoverMinAgeMs) continue;
        this.logger.debug('Removing pod logs', { podUID: uid });
        rmSync(path, { recursive: true, force: true });
        n++;
      } catch (e) {
        this.logger.error('Failed to remove pod logs directory', { path: name, err: e });
      }
    }
    return n;
  }

  /** The directories holding pod cgroups: <root>/<parent> (cgroup v2) and <root>/<controller>/<parent> (v1). */
  private cgroupParents(): string[] {
    const out: string[] = [];
    const add = (p: string): void => {
      try {
        if (statSync(p).isDirectory()) out.push(p);
      } catch {
        // not there: nothing to clean
      }
    };
    add(join(this.cgroupRoot, this.cgroupParent));
    let controllers: string[] = [];
    try {
      controllers = readdirSync(this.cgroupRoot);
    } catch {
      return out;
    }
    for (const c of controllers) if (c !== this.cgroupParent) add(join(this.cgroupRoot, c, this.cgroupParent));
    return out;
  }

  /** Empty leftover cgroup directories of ids no listed object has, older than a minute. */
  private sweepCgroups(now: number, listed: ReadonlySet<string>): number {
    let n = 0;
    for (const parent of this.cgroupParents()) {
      let names: string[];
      try {
        names = readdirSync(parent);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!idRe.test(name) || listed.has(name)) continue;
        const path = join(parent, name);
        try {
          if (now - statSync(path).mtimeMs < leftoverMinAgeMs) continue;
          rmdirSync(path);
          n++;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT') this.logger.debug('Failed to remove cgroup directory', { path, err: e });
        }
      }
    }
    return n;
  }
}
