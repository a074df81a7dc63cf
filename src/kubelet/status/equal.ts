// Comparing and normalizing pod statuses (models status_manager.go isPodStatusByKubeletEqual and
// normalizeStatus).
//
// Differences from upstream: conditions are compared by type, status, reason and message for
// every condition type (upstream ignores conditions the kubelet does not own); times are compared
// at second precision (what the API keeps) instead of relying on prior normalization; absent and
// empty lists are equal (as apimachinery's semantic DeepEqual); container statuses are not
// re-sorted and termination messages are not truncated by normalizePodStatus.

import type { V1ContainerState, V1ContainerStatus, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function truncate(d: Date | undefined): Date | undefined {
  return d === undefined ? undefined : new Date(seconds(d) * 1000);
}

/** Comparable form: Dates as whole seconds, undefined and empty arrays dropped, keys sorted. */
function canonical(v: unknown): unknown {
  if (v instanceof Date) return { $date: seconds(v) };
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || (Array.isArray(x) && x.length === 0)) continue;
      out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

function conditionKey(c: V1PodCondition): string {
  return JSON.stringify([c.type, c.status, c.reason ?? '', c.message ?? '']);
}

/**
 * Whether two statuses say the same thing: conditions compared without their probe and transition
 * times (and in any order), all other fields deeply, with times at second precision.
 */
export function podStatusEqual(a: V1PodStatus | undefined, b: V1PodStatus | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const ca = (a.conditions ?? []).map(conditionKey).sort();
  const cb = (b.conditions ?? []).map(conditionKey).sort();
  if (ca.length !== cb.length || ca.some((k, i) => k !== cb[i])) return false;
  const ra = canonical({ ...a, conditions: undefined });
  const rb = canonical({ ...b, conditions: undefined });
  return JSON.stringify(ra) === JSON.stringify(rb);
}

function normalizeState(s: V1ContainerState | undefined): void {
  if (!s) return;
  if (s.running?.startedAt) s.running.startedAt = truncate(s.running.startedAt)!;
  if (s.terminated) {
    if (s.terminated.startedAt) s.terminated.startedAt = truncate(s.terminated.startedAt)!;
    if (s.terminated.finishedAt) s.terminated.finishedAt = truncate(s.terminated.finishedAt)!;
  }
}

function normalizeContainers(list: V1ContainerStatus[] | undefined): void {
  for (const c of list ?? []) {
    normalizeState(c.state);
    normalizeState(c.lastState);
  }
}

/** A copy of the status with every time truncated to whole seconds, as the API will store it. */
export function normalizePodStatus(status: V1PodStatus): V1PodStatus {
  const s = structuredClone(status);
  if (s.startTime) s.startTime = truncate(s.startTime)!;
  for (const c of s.conditions ?? []) {
    if (c.lastProbeTime) c.lastProbeTime = truncate(c.lastProbeTime)!;
    if (c.lastTransitionTime) c.lastTransitionTime = truncate(c.lastTransitionTime)!;
  }
  normalizeContainers(s.containerStatuses);
  normalizeContainers(s.initContainerStatuses);
  normalizeContainers(s.ephemeralContainerStatuses);
  return s;
}
