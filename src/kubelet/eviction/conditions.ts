// Threshold evaluation and node pressure conditions (models pkg/kubelet/eviction/helpers.go:
// thresholdsMet, mergeThresholds, thresholdsFirstObservedAt, thresholdsMetGracePeriod,
// thresholdsUpdatedStats, nodeConditions, nodeConditionsLastObservedAt, nodeConditionsObservedSince,
// byEvictionPriority; and the condition reasons/messages of pkg/kubelet/nodestatus/setters.go).
//
// All pure: times are Clock milliseconds passed in. A condition stays reported until
// evictionPressureTransitionPeriod has passed since a threshold of it was last seen met
// (hysteresis), as upstream.
//
// Differences: thresholds are compared by identity (the config's objects, as upstream's map keys
// compare the same config values); conditions are listed in a fixed order (MemoryPressure,
// DiskPressure, PIDPressure) where upstream's come from a Go map in random order.

import type { SignalObservations } from './observations.js';
import { SignalAllocatableMemoryAvailable, SignalMemoryAvailable, signalToNodeCondition, thresholdQuantity, type NodeConditionType, type Signal, type Threshold } from './thresholds.js';

export const nodeConditionOrder: readonly NodeConditionType[] = ['MemoryPressure', 'DiskPressure', 'PIDPressure'];

/**
 * The thresholds met by the observations: threshold quantity > available (LessThan). With
 * enforceMinReclaim, a threshold stays met until available exceeds quantity + minimum reclaim.
 * Signals without an observation are skipped.
 */
export function thresholdsMet(thresholds: readonly Threshold[], observations: SignalObservations, enforceMinReclaim: boolean): Threshold[] {
  const out: Threshold[] = [];
  for (const t of thresholds) {
    const obs = observations[t.signal];
    if (!obs) continue;
    let q = thresholdQuantity(t.value, obs.capacity);
    if (enforceMinReclaim && t.minReclaim) q += thresholdQuantity(t.minReclaim, obs.capacity);
    if (q > obs.available) out.push(t);
  }
  return out;
}

/** Signals of these thresholds that have no observation. */
export function unobservedSignals(thresholds: readonly Threshold[], observations: SignalObservations): Signal[] {
  return [...new Set(thresholds.filter((t) => !observations[t.signal]).map((t) => t.signal))];
}

/** a, then the thresholds of b not in a. */
export function mergeThresholds(a: readonly Threshold[], b: readonly Threshold[]): Threshold[] {
  const out = [...a];
  for (const t of b) if (!out.includes(t)) out.push(t);
  return out;
}

export type ThresholdsObservedAt = Map<Threshold, number>;

/** When each currently met threshold was first met (kept from last, else now). */
export function thresholdsFirstObservedAt(thresholds: readonly Threshold[], last: ThresholdsObservedAt, now: number): ThresholdsObservedAt {
  const out: ThresholdsObservedAt = new Map();
  for (const t of thresholds) out.set(t, last.get(t) ?? now);
  return out;
}

/** The thresholds met for at least their grace period (hard thresholds: at once). */
export function thresholdsMetGracePeriod(observedAt: ThresholdsObservedAt, now: number): Threshold[] {
  const out: Threshold[] = [];
  for (const [t, at] of observedAt) if (now - at >= t.gracePeriodMs) out.push(t);
  return out;
}

/** The thresholds whose signal has a newer observation than the last pass (or no last one). */
export function thresholdsUpdatedStats(thresholds: readonly Threshold[], observations: SignalObservations, last: SignalObservations): Threshold[] {
  return thresholds.filter((t) => {
    const obs = observations[t.signal];
    if (!obs) return false;
    const prev = last[t.signal];
    return !prev || obs.time > prev.time;
  });
}

/** The node conditions these thresholds trigger, in the fixed order. */
export function nodeConditions(thresholds: readonly Threshold[]): NodeConditionType[] {
  const set = new Set(thresholds.map((t) => signalToNodeCondition[t.signal]));
  return nodeConditionOrder.filter((c) => set.has(c));
}

export type NodeConditionsObservedAt = Map<NodeConditionType, number>;

/** The conditions seen now get `now`; the others keep their last time. */
export function nodeConditionsLastObservedAt(conditions: readonly NodeConditionType[], last: NodeConditionsObservedAt, now: number): NodeConditionsObservedAt {
  const out: NodeConditionsObservedAt = new Map(last);
  for (const c of conditions) out.set(c, now);
  return out;
}

/** The conditions seen within the last `periodMs` (the pressure transition period). */
export function nodeConditionsObservedSince(observedAt: NodeConditionsObservedAt, periodMs: number, now: number): NodeConditionType[] {
  return nodeConditionOrder.filter((c) => {
    const at = observedAt.get(c);
    return at !== undefined && now - at < periodMs;
  });
}

/** byEvictionPriority: memory signals first, otherwise in the given order. */
export function sortByEvictionPriority(thresholds: readonly Threshold[]): Threshold[] {
  const isMemory = (t: Threshold): boolean => t.signal === SignalMemoryAvailable || t.signal === SignalAllocatableMemoryAvailable;
  return [...thresholds.filter(isMemory), ...thresholds.filter((t) => !isMemory(t))];
}

/** A node condition as the kubelet's node status reports it. */
export interface PressureCondition {
  type: NodeConditionType;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

const conditionText: Record<NodeConditionType, { true: [string, string]; false: [string, string] }> = {
  MemoryPressure: {
    true: ['KubeletHasInsufficientMemory', 'kubelet has insufficient memory available'],
    false: ['KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  },
  DiskPressure: {
    true: ['KubeletHasDiskPressure', 'kubelet has disk pressure'],
    false: ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  },
  PIDPressure: {
    true: ['KubeletHasInsufficientPID', 'kubelet has insufficient PID available'],
    false: ['KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  },
};

/** The node status events upstream records on a change (NodeHasDiskPressure, NodeHasNoDiskPressure, ...). */
export const conditionEventReason: Record<NodeConditionType, { true: string; false: string }> = {
  MemoryPressure: { true: 'NodeHasInsufficientMemory', false: 'NodeHasSufficientMemory' },
  DiskPressure: { true: 'NodeHasDiskPressure', false: 'NodeHasNoDiskPressure' },
  PIDPressure: { true: 'NodeHasInsufficientPID', false: 'NodeHasSufficientPID' },
};

/** All three pressure conditions, True for those present (MemoryPressureCondition & co. in setters.go). */
export function pressureConditions(present: readonly NodeConditionType[]): PressureCondition[] {
  return nodeConditionOrder.map((type) => {
    const on = present.includes(type);
    const [reason, message] = on ? conditionText[type].true : conditionText[type].false;
    return { type, status: on ? 'True' : 'False', reason, message };
  });
}
