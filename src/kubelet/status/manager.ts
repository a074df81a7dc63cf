// StatusManager: the kubelet's memory of what it last said about each pod (models
// pkg/kubelet/status/status_manager.go: SetPodStatus/updateStatusInternal, GetPodStatus,
// RemoveOrphanedStatuses, with checkContainerStateTransition, updateLastTransitionTime and
// normalizeStatus).
//
// Standalone mode keeps the statuses in memory only. Cluster mode plugs in behind the same
// interface through a StatusSink: the manager pushes every status that really changed (never an
// equal one) with its version, and the sink patches the API server, retrying and reconciling as
// upstream's syncPod/syncBatch do. The default sink does nothing.
//
// Differences from upstream: no sync loop or API calls here (the sink's job); a move out of a
// terminal phase is refused outright; SetContainerReadiness/SetContainerStartup/TerminatePod are
// not here yet (the pod worker regenerates the whole status instead); versions count per pod from 1.

import type { V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { KUBELET_CONDITIONS, updateLastTransitionTime } from './conditions.js';
import { normalizePodStatus, podStatusEqual } from './equal.js';
import { isPhaseTerminal } from './phase.js';

/** A status that changed, as given to onChange listeners and the sink. Do not mutate. */
export interface PodStatusChange {
  uid: string;
  /** The pod the status belongs to (its name and namespace locate it in the API). */
  pod: V1Pod;
  status: V1PodStatus;
  /** What was stored before (undefined for the first status of a pod). */
  oldStatus: V1PodStatus | undefined;
  /** 1 for a pod's first status, +1 on every change. */
  version: number;
}

/** Where changed statuses go beyond memory (the API server in cluster mode). */
export interface StatusSink {
  /** Called once per real change, in version order for each pod. A rejected promise is logged. */
  push(change: PodStatusChange): void | Promise<void>;
  /** The manager forgot the pod (deleted). */
  forget?(uid: string): void;
}

export const noopStatusSink: StatusSink = { push: () => {} };

/** updated: stored and pushed; unchanged: equal to what was stored; refused: an illegal transition. */
export type SetStatusResult = 'updated' | 'unchanged' | 'refused';

/** What the pod workers, the HTTP server and the CLI use of the status manager. */
export interface PodStatusManager {
  setPodStatus(pod: V1Pod, status: V1PodStatus): SetStatusResult;
  /** The latest status of the pod (a copy), if any. */
  getPodStatus(uid: string): V1PodStatus | undefined;
  /** The version of the pod's latest status; 0 when none. */
  getVersion(uid: string): number;
  deletePod(uid: string): void;
  /** Subscribes to real changes; returns the function that unsubscribes. */
  onChange(cb: (change: PodStatusChange) => void): () => void;
}

export interface StatusManagerOptions {
  clock: Clock;
  sink?: StatusSink;
  logger?: Logger;
}

interface Entry {
  pod: V1Pod;
  status: V1PodStatus;
  version: number;
}

/**
 * A container that terminated for good (restartPolicy Never, or OnFailure with exit 0) may not
 * show as anything but terminated again (status_manager checkContainerStateTransition).
 */
export function checkContainerStateTransition(
  oldStatuses: readonly V1ContainerStatus[] | undefined,
  newStatuses: readonly V1ContainerStatus[] | undefined,
  restartPolicy: string,
): string | undefined {
  if (restartPolicy === 'Always') return undefined;
  for (const o of oldStatuses ?? []) {
    const t = o.state?.terminated;
    if (!t) continue;
    if (t.exitCode !== 0 && restartPolicy === 'OnFailure') continue;
    const n = newStatuses?.find((s) => s.name === o.name);
    if (n && !n.state?.terminated) return `terminated container ${o.name} attempted illegal transition to non-terminated state`;
  }
  return undefined;
}

export class StatusManager implements PodStatusManager {
  private readonly clock: Clock;
  private readonly sink: StatusSink;
  private readonly logger: Logger;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(change: PodStatusChange) => void>();

  constructor(opts: StatusManagerOptions) {
    this.clock = opts.clock;
    this.sink = opts.sink ?? noopStatusSink;
    this.logger = opts.logger ?? nopLogger;
  }

  setPodStatus(pod: V1Pod, status: V1PodStatus): SetStatusResult {
    const uid = pod.metadata?.uid ?? '';
    const entry = this.entries.get(uid);
    const oldStatus: V1PodStatus = entry?.status ?? pod.status ?? {};
    const log = { pod: `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, podUID: uid };

    const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
    const illegal =
      checkContainerStateTransition(oldStatus.containerStatuses, status.containerStatuses, restartPolicy) ??
      checkContainerStateTransition(oldStatus.initContainerStatuses, status.initContainerStatuses, restartPolicy);
    if (illegal) {
      this.logger.warn('Status update on pod aborted', { ...log, err: illegal });
      return 'refused';
    }
    if (isPhaseTerminal(oldStatus.phase) && status.phase !== oldStatus.phase) {
      this.logger.warn('Status update on pod aborted: pod may not leave a terminal phase', {
        ...log,
        phase: oldStatus.phase,
        newPhase: status.phase,
      });
      return 'refused';
    }

    const next = structuredClone(status);
    const now = new Date(this.clock.now());
    for (const type of KUBELET_CONDITIONS) updateLastTransitionTime(next, oldStatus, type, now);
    if (oldStatus.startTime) next.startTime = new Date(oldStatus.startTime.getTime());
    else if (!next.startTime) next.startTime = now;
    const normalized = normalizePodStatus(next);

    if (entry && podStatusEqual(entry.status, normalized)) {
      entry.pod = pod;
      return 'unchanged';
    }
    const version = (entry?.version ?? 0) + 1;
    this.entries.set(uid, { pod, status: normalized, version });
    const change: PodStatusChange = { uid, pod, status: structuredClone(normalized), oldStatus: entry ? structuredClone(entry.status) : undefined, version };
    for (const cb of [...this.listeners]) {
      try {
        cb(change);
      } catch (err) {
        this.logger.error('Pod status listener failed', { ...log, err: errorMessage(err) });
      }
    }
    this.pushToSink(change, log);
    return 'updated';
  }

  getPodStatus(uid: string): V1PodStatus | undefined {
    const e = this.entries.get(uid);
    return e ? structuredClone(e.status) : undefined;
  }

  getVersion(uid: string): number {
    return this.entries.get(uid)?.version ?? 0;
  }

  deletePod(uid: string): void {
    if (!this.entries.delete(uid)) return;
    this.sink.forget?.(uid);
  }

  onChange(cb: (change: PodStatusChange) => void): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  private pushToSink(change: PodStatusChange, log: Record<string, unknown>): void {
    try {
      const r = this.sink.push(change);
      if (r && typeof (r as Promise<void>).catch === 'function') {
        (r as Promise<void>).catch((err: unknown) => this.logger.error('Pod status sink failed', { ...log, version: change.version, err: errorMessage(err) }));
      }
    } catch (err) {
      this.logger.error('Pod status sink failed', { ...log, version: change.version, err: errorMessage(err) });
    }
  }
}
