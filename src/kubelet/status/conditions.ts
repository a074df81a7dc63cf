// Pod conditions the kubelet owns (models pkg/kubelet/status/generate.go
// GenerateContainersReadyCondition, GeneratePodReadyCondition, GeneratePodInitializedCondition,
// before sidecar containers, and status_manager.go updateLastTransitionTime).
//
// Differences from upstream: no observedGeneration; PodReadyToStartContainers is not generated;
// lastProbeTime is left unset (the API shows null either way).

import type { V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

export const PodScheduled = 'PodScheduled';
export const PodInitialized = 'Initialized';
export const PodReady = 'Ready';
export const ContainersReady = 'ContainersReady';
export const PodReadyToStartContainers = 'PodReadyToStartContainers';
export const DisruptionTarget = 'DisruptionTarget';

/** Condition reasons (status/generate.go). */
export const UnknownContainerStatuses = 'UnknownContainerStatuses';
export const PodCompleted = 'PodCompleted';
export const PodFailedReason = 'PodFailed';
export const ContainersNotReady = 'ContainersNotReady';
export const ContainersNotInitialized = 'ContainersNotInitialized';
export const ReadinessGatesNotReady = 'ReadinessGatesNotReady';

/** Condition types the kubelet writes (kubetypes.PodConditionByKubelet). */
export const KUBELET_CONDITIONS: readonly string[] = [PodScheduled, PodReady, PodInitialized, ContainersReady, PodReadyToStartContainers];

export function isKubeletCondition(type: string): boolean {
  return KUBELET_CONDITIONS.includes(type);
}

/** Go's fmt %s of a []string: `[a b]`. */
function goList(names: readonly string[]): string {
  return `[${names.join(' ')}]`;
}

function find(statuses: readonly V1ContainerStatus[], name: string): V1ContainerStatus | undefined {
  return statuses.find((s) => s.name === name);
}

export function generateContainersReadyCondition(pod: V1Pod, statuses: readonly V1ContainerStatus[] | undefined, phase: string): V1PodCondition {
  if (statuses === undefined) return { type: ContainersReady, status: 'False', reason: UnknownContainerStatuses };
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const c of pod.spec?.containers ?? []) {
    const s = find(statuses, c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return { type: ContainersReady, status: 'False', reason: PodCompleted };
  if (phase === 'Failed') return { type: ContainersReady, status: 'False', reason: PodFailedReason };
  const messages: string[] = [];
  if (unknown.length > 0) messages.push(`containers with unknown status: ${goList(unknown)}`);
  if (unready.length > 0) messages.push(`containers with unready status: ${goList(unready)}`);
  if (messages.length > 0) return { type: ContainersReady, status: 'False', reason: ContainersNotReady, message: messages.join(', ') };
  return { type: ContainersReady, status: 'True' };
}

/** Ready: ContainersReady, and every readiness gate's condition True. */
export function generatePodReadyCondition(
  pod: V1Pod,
  conditions: readonly V1PodCondition[],
  statuses: readonly V1ContainerStatus[] | undefined,
  phase: string,
): V1PodCondition {
  const containersReady = generateContainersReadyCondition(pod, statuses, phase);
  if (containersReady.status !== 'True') {
    const c: V1PodCondition = { type: PodReady, status: containersReady.status };
    if (containersReady.reason !== undefined) c.reason = containersReady.reason;
    if (containersReady.message !== undefined) c.message = containersReady.message;
    return c;
  }
  const messages: string[] = [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const c = conditions.find((x) => x.type === gate.conditionType);
    if (!c) messages.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (c.status !== 'True') messages.push(`the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`);
  }
  if (messages.length > 0) return { type: PodReady, status: 'False', reason: ReadinessGatesNotReady, message: messages.join(', ') };
  return { type: PodReady, status: 'True' };
}

/** Initialized: every init container has succeeded (init container statuses are ready when they exited 0). */
export function generatePodInitializedCondition(pod: V1Pod, statuses: readonly V1ContainerStatus[] | undefined, phase: string): V1PodCondition {
  const inits = pod.spec?.initContainers ?? [];
  if (statuses === undefined && inits.length > 0) return { type: PodInitialized, status: 'False', reason: UnknownContainerStatuses };
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of inits) {
    const s = find(statuses ?? [], c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) incomplete.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return { type: PodInitialized, status: 'True', reason: PodCompleted };
  const messages: string[] = [];
  if (unknown.length > 0) messages.push(`containers with unknown status: ${goList(unknown)}`);
  if (incomplete.length > 0) messages.push(`containers with incomplete status: ${goList(incomplete)}`);
  if (messages.length > 0) return { type: PodInitialized, status: 'False', reason: ContainersNotInitialized, message: messages.join(', ') };
  return { type: PodInitialized, status: 'True' };
}

/**
 * Sets lastTransitionTime on the named condition of `status`: kept from `oldStatus` when the
 * condition's status (True/False/Unknown) did not change; else the time the condition already
 * carries (set by whoever generated it); else `now`.
 */
export function updateLastTransitionTime(status: V1PodStatus, oldStatus: V1PodStatus | undefined, type: string, now: Date): void {
  const c = status.conditions?.find((x) => x.type === type);
  if (!c) return;
  const old = oldStatus?.conditions?.find((x) => x.type === type);
  if (old && old.status === c.status && old.lastTransitionTime) {
    c.lastTransitionTime = new Date(old.lastTransitionTime.getTime());
  } else if (!c.lastTransitionTime) {
    c.lastTransitionTime = new Date(now.getTime());
  }
}
