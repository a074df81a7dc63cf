// The taint eviction controller's decisions, as pure functions (models upstream
// pkg/controller/tainteviction/taint_eviction.go getNoExecuteTaints and processPodOnNode with
// getMinTolerationTime folded in (per taint, see below); pkg/apis/core/v1/helper GetMatchingTolerations; k8s.io/api core/v1
// Toleration.ToleratesTaint (v1.30: operators Equal and Exists); pkg/api/v1/pod
// UpdatePodCondition for the DisruptionTarget condition).
//
// A tolerated taint expires tolerationSeconds after the taint's timeAdded, as the Kubernetes docs
// state it ("the pod stays bound for tolerationSeconds after the taint is added"); the pod goes when
// the first of its used tolerations expires. Upstream's code counts from when the controller first
// schedules the eviction instead; the two agree when the node lifecycle controller taints (it
// stamps timeAdded on the same clock as it writes), and differ after a controller restart or
// leader change (upstream restarts the countdown; here the deadline stays). A timeAdded missing or
// ahead of the controller's clock (another machine's skew) counts as now, so skew never delays an
// eviction past upstream's deadline. An eviction already scheduled earlier is kept (a taint
// swapped for another never extends the deadline), as upstream.

import type { V1Pod, V1PodCondition, V1PodStatus, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { toleratesTaint } from '../../api/taints.js';

export const TaintEffectNoExecute = 'NoExecute';
/** The pod condition type (v1.DisruptionTarget). */
export const DisruptionTarget = 'DisruptionTarget';
export const DeletionByTaintManagerReason = 'DeletionByTaintManager';
export const DeletionByTaintManagerMessage = 'Taint manager: deleting due to NoExecute taint';
/** Event reason of both the deletion and the cancellation events. */
export const TaintManagerEvictionReason = 'TaintManagerEviction';

export const markingForDeletionMessage = (namespace: string, name: string): string => `Marking for deletion Pod ${namespace}/${name}`;
export const cancellingDeletionMessage = (namespace: string, name: string): string => `Cancelling deletion of Pod ${namespace}/${name}`;

/** The NoExecute taints of a node (getNoExecuteTaints). */
export function getNoExecuteTaints(taints: readonly V1Taint[] | undefined): V1Taint[] {
  return (taints ?? []).filter((t) => t.effect === TaintEffectNoExecute);
}

export { toleratesTaint };

/**
 * GetMatchingTolerations: whether every taint is tolerated, and for each taint the first toleration
 * that tolerates it (in taint order; one entry per taint). No taints: tolerated, none used.
 */
export function getMatchingTolerations(taints: readonly V1Taint[], tolerations: readonly V1Toleration[] | undefined): { tolerated: boolean; used: V1Toleration[] } {
  const used: V1Toleration[] = [];
  for (const taint of taints) {
    const t = (tolerations ?? []).find((x) => toleratesTaint(x, taint));
    if (!t) return { tolerated: false, used: [] };
    used.push(t);
  }
  return { tolerated: true, used };
}

/** An eviction already scheduled for the pod (TimedWorker CreatedAt / FireAt), ms since the epoch. */
export interface ScheduledEviction {
  createdAt: number;
  fireAt: number;
}

export type EvictionDecision =
  /** Keep whatever is scheduled. */
  | { action: 'none' }
  /** Cancel a scheduled eviction (if any) and delete the pod now. */
  | { action: 'evictNow' }
  /** (Re)schedule the deletion at `at`; the eviction's creation time is `createdAt`. */
  | { action: 'evictAt'; at: number; createdAt: number }
  /** Cancel a scheduled eviction, if any. */
  | { action: 'cancel' };

/**
 * processPodOnNode: what to do with a pod on a node with these NoExecute taints at `now`.
 * - no taints: cancel;
 * - a taint not tolerated: evict now;
 * - all tolerated without tolerationSeconds: cancel (tolerated forever);
 * - else the deadline: the earliest of (taint's timeAdded, at most now) + its toleration's seconds;
 *   an eviction already scheduled no later than that is kept, else (re)scheduled at the deadline
 *   (a deadline already past fires at once).
 */
export function evictionDecision(pod: V1Pod, noExecuteTaints: readonly V1Taint[], now: number, scheduled?: ScheduledEviction): EvictionDecision {
  if (noExecuteTaints.length === 0) return { action: 'cancel' };
  const { tolerated, used } = getMatchingTolerations(noExecuteTaints, pod.spec?.tolerations);
  if (!tolerated) return { action: 'evictNow' };
  let deadline: number | undefined;
  used.forEach((toleration, i) => {
    const seconds = toleration.tolerationSeconds;
    if (seconds === undefined || seconds === null) return;
    const added = Math.min(timeMs(noExecuteTaints[i]?.timeAdded) ?? now, now);
    const expires = added + Math.max(seconds, 0) * 1000;
    if (deadline === undefined || expires < deadline) deadline = expires;
  });
  if (deadline === undefined) return { action: 'cancel' };
  if (scheduled && scheduled.fireAt <= deadline) return { action: 'none' };
  return { action: 'evictAt', at: deadline, createdAt: scheduled?.createdAt ?? now };
}

const timeMs = (t: Date | string | undefined): number | undefined => {
  if (t === undefined || t === null) return undefined;
  const ms = new Date(t).getTime();
  return Number.isNaN(ms) ? undefined : ms;
};

/** Semantic.DeepEqual of two taint lists (timeAdded compared as instants; absent = empty list). */
export function taintsEqual(a: readonly V1Taint[], b: readonly V1Taint[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    return x.key === y.key && (x.value ?? '') === (y.value ?? '') && x.effect === y.effect && timeMs(x.timeAdded) === timeMs(y.timeAdded);
  });
}

/** Semantic.DeepEqual of two toleration lists (absent = empty list). */
export function tolerationsEqual(a: readonly V1Toleration[] | undefined, b: readonly V1Toleration[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  return x.every((t, i) => {
    const u = y[i]!;
    return (t.key ?? '') === (u.key ?? '') && (t.operator ?? '') === (u.operator ?? '') && (t.value ?? '') === (u.value ?? '') && (t.effect ?? '') === (u.effect ?? '') && (t.tolerationSeconds ?? undefined) === (u.tolerationSeconds ?? undefined);
  });
}

/**
 * UpdatePodCondition for DisruptionTarget=True (DeletionByTaintManager): the condition to write
 * and whether it differs from the pod's. lastTransitionTime is `now` unless the status was already
 * True (then kept); nothing changes when status, reason, message and times are all the same.
 */
export function disruptionTargetCondition(status: V1PodStatus | undefined, now: Date): { condition: V1PodCondition; changed: boolean } {
  const old = (status?.conditions ?? []).find((c) => c.type === DisruptionTarget);
  const condition: V1PodCondition = { type: DisruptionTarget, status: 'True', reason: DeletionByTaintManagerReason, message: DeletionByTaintManagerMessage, lastTransitionTime: now };
  if (!old) return { condition, changed: true };
  if (old.status === condition.status) {
    if (old.lastTransitionTime === undefined) delete condition.lastTransitionTime;
    else condition.lastTransitionTime = old.lastTransitionTime;
  }
  const same =
    old.status === condition.status &&
    old.reason === condition.reason &&
    old.message === condition.message &&
    old.lastProbeTime === undefined &&
    timeMs(old.lastTransitionTime) === timeMs(condition.lastTransitionTime);
  return { condition, changed: !same };
}
