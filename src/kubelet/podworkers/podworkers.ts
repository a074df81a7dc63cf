// Pod workers (models pkg/kubelet/pod_workers.go): one serialized worker per pod UID that
// drives the pod through the kubelet's three phases:
//
//   sync        -> keep the pod as its spec asks (syncPod), until it is deleted or finishes
//   terminating -> stop its containers within the grace period (syncTerminatingPod)
//   terminated  -> final status, resources released (syncTerminatedPod)
//
// Updates are never lost and never run concurrently for one pod: while a sync runs, the newest
// update waits (latest wins) and a kill cancels the running sync through its AbortSignal. A
// grace period can be shortened by a later kill, never lengthened. Errors are retried by
// re-queueing the pod after a backoff; success re-queues it for the periodic resync.
//
// Differences: no static-pod "full name" start gating across UIDs, no orphaned-pod restart
// handling beyond "a finished worker for a re-added pod starts afresh".

import type { V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { RuntimePodStatus } from '../container/index.js';

/** Why a pod goes back on the work queue: periodic resync, a backoff's end, or an error's retry. */
export type RequeueReason = 'resync' | 'retry' | 'error';

export type UpdateType = 'create' | 'update' | 'sync' | 'kill';
export type WorkerPhase = 'sync' | 'terminating' | 'terminated';

export interface KillPodOptions {
  /** Overrides the pod's grace period (shortens it; a longer one is ignored once terminating). */
  gracePeriodSeconds?: number;
  /** Status the kill should leave behind (e.g. an eviction's reason); opaque to the workers. */
  reason?: string;
}

export interface UpdatePodOptions {
  type: UpdateType;
  /** The desired pod (absent for runtime-only orphans being killed). */
  pod?: V1Pod;
  /** For orphans: the pod as the runtime knows it. */
  runningPod?: RuntimePodStatus;
  kill?: KillPodOptions;
}

export interface SyncResult {
  /** The pod reached a terminal phase by itself (Succeeded/Failed): move to terminating. */
  terminal?: boolean;
  /** Re-sync the pod at this time (ms) rather than at the regular resync. */
  retryAt?: number;
}

/** What the kubelet does in each phase; kubelet.ts supplies these. */
export interface PodSyncer {
  syncPod(pod: V1Pod, updateType: UpdateType, signal: AbortSignal): Promise<SyncResult>;
  syncTerminatingPod(pod: V1Pod | undefined, runningPod: RuntimePodStatus | undefined, gracePeriodSeconds: number | undefined, uid: string, signal: AbortSignal): Promise<void>;
  syncTerminatedPod(pod: V1Pod | undefined, uid: string): Promise<void>;
}

export interface PodWorkersOptions {
  clock: Clock;
  logger: Logger;
  syncer: PodSyncer;
  /** Asks for the pod to be synced again after delayMs (the kubelet's work queue). */
  requeue: (uid: string, delayMs: number, reason: RequeueReason) => void;
  /** Periodic resync after success (kubelet: 1 m, jittered by the caller). */
  resyncIntervalMs?: number;
  /** Retry after an error (kubelet: 10 s). */
  backOffPeriodMs?: number;
  /** Called when a worker finishes a sync (for pod_worker_duration metrics). */
  onSyncDone?: (uid: string, phase: WorkerPhase, updateType: UpdateType, durationMs: number, error?: unknown) => void;
}

interface WorkerState {
  uid: string;
  pod?: V1Pod;
  runningPod?: RuntimePodStatus;
  pending?: UpdatePodOptions;
  working: boolean;
  cancel?: AbortController;
  phaseRunning?: WorkerPhase;
  startedAt?: number;
  terminatingAt?: number;
  terminatedAt?: number;
  /** Terminated and cleaned up: the worker has nothing more to do. */
  finished: boolean;
  gracePeriodSeconds?: number;
  idle: Promise<void>;
  resolveIdle?: () => void;
}

export interface PodWorkerInfo {
  uid: string;
  phase: WorkerPhase;
  finished: boolean;
  working: boolean;
  gracePeriodSeconds?: number;
}

export class PodWorkers {
  private readonly workers = new Map<string, WorkerState>();
  private readonly opts: Required<Omit<PodWorkersOptions, 'onSyncDone'>> & Pick<PodWorkersOptions, 'onSyncDone'>;

  constructor(opts: PodWorkersOptions) {
    this.opts = { resyncIntervalMs: 60_000, backOffPeriodMs: 10_000, ...opts };
  }

  /** Sends an update to the pod's worker; starts the worker if it is idle. */
  updatePod(u: UpdatePodOptions): void {
    const uid = u.pod?.metadata?.uid ?? u.runningPod?.uid;
    if (!uid) throw new Error('updatePod needs a pod or a running pod');
    let w = this.workers.get(uid);
    if (w?.finished) {
      if (u.type === 'create' && u.pod && !u.pod.metadata?.deletionTimestamp) {
        // the pod came back (e.g. its manifest restored) after its worker finished: start afresh
        this.workers.delete(uid);
        w = undefined;
      } else {
        this.opts.logger.debug('ignoring update for a pod whose worker has finished', { podUID: uid, updateType: u.type });
        return;
      }
    }
    if (!w) {
      w = { uid, working: false, finished: false, idle: Promise.resolve() };
      this.workers.set(uid, w);
    }
    if (u.pod) w.pod = u.pod;
    if (u.runningPod) w.runningPod = u.runningPod;

    const killRequested = u.type === 'kill' || !!u.pod?.metadata?.deletionTimestamp;
    let shortened = false;
    if (killRequested) shortened = this.markTerminating(w, this.gracePeriodFor(u));

    // latest update wins, but a pending kill is never downgraded to a sync
    const prev = w.pending;
    w.pending = prev?.type === 'kill' && u.type !== 'kill' ? { ...u, type: 'kill', kill: prev.kill } : u;

    if (w.working) {
      // a kill stops a running sync; a shorter grace period restarts a running termination
      if (w.terminatingAt !== undefined && w.phaseRunning === 'sync') w.cancel?.abort(new Error('pod is terminating'));
      if (shortened && w.phaseRunning === 'terminating') w.cancel?.abort(new Error('grace period shortened'));
      return;
    }
    void this.run(w);
  }

  private gracePeriodFor(u: UpdatePodOptions): number | undefined {
    if (u.kill?.gracePeriodSeconds !== undefined) return u.kill.gracePeriodSeconds;
    const md = u.pod?.metadata;
    if (md?.deletionGracePeriodSeconds !== undefined) return md.deletionGracePeriodSeconds;
    return u.pod?.spec?.terminationGracePeriodSeconds;
  }

  /** Marks the pod terminating; returns true when an already terminating pod's grace period got shorter. */
  private markTerminating(w: WorkerState, grace: number | undefined): boolean {
    if (w.terminatingAt === undefined) {
      w.terminatingAt = this.opts.clock.now();
      w.gracePeriodSeconds = grace;
      return false;
    }
    // a later delete can shorten the grace period, never lengthen it
    if (grace !== undefined && (w.gracePeriodSeconds === undefined || grace < w.gracePeriodSeconds)) {
      w.gracePeriodSeconds = grace;
      return true;
    }
    return false;
  }

  private phaseOf(w: WorkerState): WorkerPhase {
    if (w.terminatedAt !== undefined) return 'terminated';
    if (w.terminatingAt !== undefined) return 'terminating';
    return 'sync';
  }

  private async run(w: WorkerState): Promise<void> {
    w.working = true;
    w.idle = new Promise((r) => (w.resolveIdle = r));
    while (w.pending && !w.finished) {
      const u = w.pending;
      w.pending = undefined;
      const phase = this.phaseOf(w);
      w.phaseRunning = phase;
      const cancel = new AbortController();
      w.cancel = cancel;
      const t0 = this.opts.clock.now();
      let error: unknown;
      try {
        if (phase === 'sync') {
          if (!w.pod) continue;
          w.startedAt ??= t0;
          const r = await this.opts.syncer.syncPod(w.pod, u.type, cancel.signal);
          if (cancel.signal.aborted) continue; // a kill arrived: the loop goes on to terminating
          if (r.terminal) {
            this.markTerminating(w, 0);
            w.pending ??= { type: 'sync' };
          } else {
            const delay = r.retryAt !== undefined ? Math.max(0, r.retryAt - this.opts.clock.now()) : this.opts.resyncIntervalMs;
            this.opts.requeue(w.uid, delay, r.retryAt !== undefined ? 'retry' : 'resync');
          }
        } else if (phase === 'terminating') {
          await this.opts.syncer.syncTerminatingPod(w.pod, w.runningPod, w.gracePeriodSeconds, w.uid, cancel.signal);
          if (cancel.signal.aborted) continue; // restarted with a shorter grace period
          w.terminatedAt = this.opts.clock.now();
          w.pending ??= { type: 'sync' };
        } else {
          await this.opts.syncer.syncTerminatedPod(w.pod, w.uid);
          w.finished = true;
        }
      } catch (e) {
        error = e;
        if (!cancel.signal.aborted) {
          this.opts.logger.error('error syncing pod, will retry', {
            pod: w.pod ? `${w.pod.metadata?.namespace}/${w.pod.metadata?.name}` : w.runningPod?.name,
            podUID: w.uid,
            phase,
            err: errorMessage(e),
          });
          this.opts.requeue(w.uid, this.opts.backOffPeriodMs, 'error');
        }
      } finally {
        w.cancel = undefined;
        w.phaseRunning = undefined;
        this.opts.onSyncDone?.(w.uid, phase, u.type, this.opts.clock.now() - t0, error);
      }
    }
    w.working = false;
    w.resolveIdle?.();
  }

  /** Resolves when the pod's worker has no work left (tests, shutdown). */
  async waitIdle(uid: string): Promise<void> {
    for (;;) {
      const w = this.workers.get(uid);
      if (!w || !w.working) return;
      await w.idle;
    }
  }

  info(uid: string): PodWorkerInfo | undefined {
    const w = this.workers.get(uid);
    if (!w) return undefined;
    const out: PodWorkerInfo = { uid, phase: this.phaseOf(w), finished: w.finished, working: w.working };
    if (w.gracePeriodSeconds !== undefined) out.gracePeriodSeconds = w.gracePeriodSeconds;
    return out;
  }

  /** Is the pod past sync (being stopped or stopped)? */
  isTerminating(uid: string): boolean {
    const w = this.workers.get(uid);
    return !!w && w.terminatingAt !== undefined;
  }

  uids(): string[] {
    return [...this.workers.keys()];
  }

  /** Drops a finished worker (housekeeping, once the pod is cleaned up). */
  forget(uid: string): void {
    const w = this.workers.get(uid);
    if (w && !w.working) this.workers.delete(uid);
  }
}
