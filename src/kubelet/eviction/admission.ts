// Pod admission under node pressure (models pkg/kubelet/eviction/eviction_manager.go Admit,
// pkg/kubelet/types/pod_update.go IsCriticalPod, and the toleration match of
// k8s.io/component-helpers/scheduling/corev1 TolerationsTolerateTaint).
//
// As upstream: no pressure -> admit; a critical pod -> admit; only MemoryPressure -> admit a pod
// that is not BestEffort, or a BestEffort pod tolerating node.kubernetes.io/memory-pressure
// (NoSchedule); anything else -> reject with reason "Evicted" and message
// "The node had condition: [DiskPressure]. " (Go's %v of the condition list).
//
// Upstream counts every static pod (and mirror pod) as critical, so a static pod is admitted even
// under DiskPressure. The predicate is a parameter so the kubelet can choose; isCriticalPod is
// upstream's rule, isCriticalPodByPriority leaves static pods out of it.

import type { V1Pod, V1Toleration } from '@kubernetes/client-node';
import { isMirrorPod, isStaticPod } from '../../api/podutil.js';
import { getPodQOSClass } from '../../api/qos.js';
import type { NodeConditionType } from './thresholds.js';

/** The eviction status reason (helpers.go Reason). */
export const EvictionReason = 'Evicted';

/** scheduling.SystemCriticalPriority (2 * HighestUserDefinablePriority). */
export const SystemCriticalPriority = 2_000_000_000;

export const TaintNodeMemoryPressure = 'node.kubernetes.io/memory-pressure';

export interface PodAdmitResult {
  admit: boolean;
  reason?: string;
  message?: string;
}

/** Priority >= SystemCriticalPriority (IsCriticalPodBasedOnPriority). */
export function isCriticalPodByPriority(pod: V1Pod): boolean {
  const p = pod.spec?.priority;
  return p !== undefined && p !== null && p >= SystemCriticalPriority;
}

/** Upstream IsCriticalPod: static pods, mirror pods, and pods with a system-critical priority. */
export function isCriticalPod(pod: V1Pod): boolean {
  return isStaticPod(pod) || isMirrorPod(pod) || isCriticalPodByPriority(pod);
}

const systemPriorityClasses = new Set(['system-node-critical', 'system-cluster-critical']);

/**
 * nodelet's rule (a deviation): mirror pods, and pods that ask for a system priority (priority >=
 * 2e9, or priorityClassName system-node-critical / system-cluster-critical, which a standalone
 * node has no admission plugin to turn into a priority). Static pods are not critical by being
 * static: standalone, every pod is static, and upstream's rule would turn disk-space admission
 * off altogether. kubeadm's control-plane manifests carry system-node-critical, so they keep
 * being admitted under pressure as upstream admits them.
 */
export function isCriticalPodForNodelet(pod: V1Pod): boolean {
  return isMirrorPod(pod) || isCriticalPodByPriority(pod) || systemPriorityClasses.has(pod.spec?.priorityClassName ?? '');
}

/** Toleration.ToleratesTaint for a taint with an empty value. */
function toleratesTaint(t: V1Toleration, key: string, effect: string): boolean {
  if (t.effect && t.effect !== effect) return false;
  if (t.key && t.key !== key) return false;
  const op = t.operator || 'Equal';
  if (op === 'Exists') return true;
  return op === 'Equal' && (t.value ?? '') === '';
}

/** "The node had condition: [MemoryPressure DiskPressure]. " */
export function nodeConditionMessage(conditions: readonly NodeConditionType[]): string {
  return `The node had condition: [${conditions.join(' ')}]. `;
}

/** The eviction manager's admission decision for a new pod given the current pressure conditions. */
export function admitPod(pod: V1Pod, conditions: readonly NodeConditionType[], isCritical: (pod: V1Pod) => boolean = isCriticalPod): PodAdmitResult {
  if (conditions.length === 0) return { admit: true };
  if (isCritical(pod)) return { admit: true };
  if (conditions.length === 1 && conditions[0] === 'MemoryPressure') {
    if (getPodQOSClass(pod) !== 'BestEffort') return { admit: true };
    if ((pod.spec?.tolerations ?? []).some((t) => toleratesTaint(t, TaintNodeMemoryPressure, 'NoSchedule'))) return { admit: true };
  }
  return { admit: false, reason: EvictionReason, message: nodeConditionMessage(conditions) };
}
