// The taints and labels the node lifecycle controller owns (models kube-controller-manager v1.30
// pkg/controller/nodelifecycle/node_lifecycle_controller.go: UnreachableTaintTemplate,
// NotReadyTaintTemplate, nodeConditionToTaintKeyStatusMap, taintKeyToNodeConditionMap,
// doNoScheduleTaintingPass, doNoExecuteTaintingPass, processTaintBaseEviction,
// markNodeForTainting, markNodeAsReachable, labelReconcileInfo / reconcileNodeLabels; with
// pkg/util/taints (TaintExists, TaintSetDiff, AddOrUpdateTaint, RemoveTaint: taints match on key
// and effect) and pkg/controller/util/node SwapNodeControllerTaint (added taints get timeAdded =
// now)).
//
// Pure decisions only; the controller applies them with one Node update (conflict retries).
// Differences: upstream swaps taints with two patches (add, then remove); here `applyTaints` gives
// the final list so the swap is one write and a node never carries both not-ready and unreachable
// NoExecute taints. Re-adding a taint that is already there with the same value keeps its
// timeAdded (upstream would stamp a new one; its queue never re-adds one in practice, and a new
// timeAdded would restart every toleration's tolerationSeconds).

import type { V1Node, V1NodeCondition, V1Taint } from '@kubernetes/client-node';
import { ConditionFalse, ConditionTrue, ConditionUnknown, NodeDiskPressure, NodeMemoryPressure, NodeNetworkUnavailable, NodePIDPressure, NodeReady } from './health.js';

export const TaintNodeNotReady = 'node.kubernetes.io/not-ready';
export const TaintNodeUnreachable = 'node.kubernetes.io/unreachable';
export const TaintNodeUnschedulable = 'node.kubernetes.io/unschedulable';
export const TaintNodeMemoryPressure = 'node.kubernetes.io/memory-pressure';
export const TaintNodeDiskPressure = 'node.kubernetes.io/disk-pressure';
export const TaintNodeNetworkUnavailable = 'node.kubernetes.io/network-unavailable';
export const TaintNodePIDPressure = 'node.kubernetes.io/pid-pressure';

export const TaintEffectNoSchedule = 'NoSchedule';
export const TaintEffectPreferNoSchedule = 'PreferNoSchedule';
export const TaintEffectNoExecute = 'NoExecute';

/** The taint for a node the controller cannot hear from (Ready=Unknown). */
export const UnreachableTaintTemplate: Readonly<V1Taint> = Object.freeze({ key: TaintNodeUnreachable, effect: TaintEffectNoExecute });
/** The taint for a node that says it is not ready (Ready=False). */
export const NotReadyTaintTemplate: Readonly<V1Taint> = Object.freeze({ key: TaintNodeNotReady, effect: TaintEffectNoExecute });

/** nodeConditionToTaintKeyStatusMap: condition type → condition status → NoSchedule taint key. */
export const nodeConditionsToTaints: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  [NodeReady]: { [ConditionFalse]: TaintNodeNotReady, [ConditionUnknown]: TaintNodeUnreachable },
  [NodeMemoryPressure]: { [ConditionTrue]: TaintNodeMemoryPressure },
  [NodeDiskPressure]: { [ConditionTrue]: TaintNodeDiskPressure },
  [NodeNetworkUnavailable]: { [ConditionTrue]: TaintNodeNetworkUnavailable },
  [NodePIDPressure]: { [ConditionTrue]: TaintNodePIDPressure },
});

/** taintKeyToNodeConditionMap: the condition each condition taint stands for. */
export const taintKeyToNodeCondition: Readonly<Record<string, string>> = Object.freeze({
  [TaintNodeNotReady]: NodeReady,
  [TaintNodeUnreachable]: NodeReady,
  [TaintNodeNetworkUnavailable]: NodeNetworkUnavailable,
  [TaintNodeMemoryPressure]: NodeMemoryPressure,
  [TaintNodeDiskPressure]: NodeDiskPressure,
  [TaintNodePIDPressure]: NodePIDPressure,
});

/** Taint.MatchTaint: same key and effect (value and timeAdded do not matter). */
export function taintMatches(a: V1Taint, b: V1Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/** TaintExists: a taint with that key and effect is in the list. */
export function taintExists(taints: readonly V1Taint[] | undefined, t: V1Taint): boolean {
  return (taints ?? []).some((x) => taintMatches(x, t));
}

/** The NoSchedule taints the controller owns: a condition taint key or unschedulable, effect NoSchedule. */
export function isControllerNoScheduleTaint(t: V1Taint): boolean {
  if (t.effect !== TaintEffectNoSchedule) return false;
  return t.key === TaintNodeUnschedulable || Object.hasOwn(taintKeyToNodeCondition, t.key);
}

/** The NoExecute taints the controller owns (not-ready, unreachable). */
export function isControllerNoExecuteTaint(t: V1Taint): boolean {
  return taintMatches(t, NotReadyTaintTemplate) || taintMatches(t, UnreachableTaintTemplate);
}

/** The NoSchedule taints a node should carry from its conditions and spec.unschedulable (no timeAdded yet). */
export function noScheduleTaintsFor(node: V1Node): V1Taint[] {
  const out: V1Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = nodeConditionsToTaints[c.type]?.[c.status];
    if (key !== undefined && !out.some((t) => t.key === key)) out.push({ key, effect: TaintEffectNoSchedule });
  }
  if (node.spec?.unschedulable) out.push({ key: TaintNodeUnschedulable, effect: TaintEffectNoSchedule });
  return out;
}

export interface TaintDiff {
  add: V1Taint[];
  remove: V1Taint[];
}

/**
 * TaintSetDiff over the owned taints only: `add` = wanted taints the node lacks (by key+effect),
 * `remove` = owned taints on the node that are not wanted. Taints `owned` says no to (a user's)
 * are never removed.
 */
export function taintsDiff(nodeTaints: readonly V1Taint[] | undefined, wanted: readonly V1Taint[], owned: (t: V1Taint) => boolean): TaintDiff {
  const current = (nodeTaints ?? []).filter(owned);
  return {
    add: wanted.filter((w) => !taintExists(current, w)),
    remove: current.filter((c) => !taintExists(wanted, c)),
  };
}

/** doNoScheduleTaintingPass's decision for a node: the NoSchedule taint changes (empty when none). */
export function noScheduleTaintsDiff(node: V1Node): TaintDiff {
  return taintsDiff(node.spec?.taints, noScheduleTaintsFor(node), isControllerNoScheduleTaint);
}

export interface AppliedTaints {
  taints: V1Taint[];
  changed: boolean;
}

/**
 * The node's taints after removing `remove` (by key+effect) and adding `add` with timeAdded = now
 * (SwapNodeControllerTaint). A taint already there with the same key, effect and value stays as it
 * is; one with another value is replaced. `changed` false: nothing to write.
 */
export function applyTaints(nodeTaints: readonly V1Taint[] | undefined, add: readonly V1Taint[], remove: readonly V1Taint[], now: number): AppliedTaints {
  let changed = false;
  let out = (nodeTaints ?? []).filter((t) => {
    const drop = remove.some((r) => taintMatches(t, r)) && !add.some((a) => taintMatches(t, a) && (a.value ?? '') === (t.value ?? ''));
    if (drop) changed = true;
    return !drop;
  });
  for (const a of add) {
    const i = out.findIndex((t) => taintMatches(t, a));
    const existing = i >= 0 ? out[i] : undefined;
    if (existing && (existing.value ?? '') === (a.value ?? '')) continue;
    const taint: V1Taint = { ...a, timeAdded: new Date(now) };
    if (existing) out = out.map((t, j) => (j === i ? taint : t));
    else out = [...out, taint];
    changed = true;
  }
  return { taints: out, changed };
}

/**
 * doNoExecuteTaintingPass for one queued node: the NoExecute taint for its Ready condition and
 * the opposite one to remove in the same write (never both on a node). Undefined when the node is
 * Ready again (or has no Ready condition): drop it from the queue as done.
 */
export function noExecuteTaintFor(readyCondition: V1NodeCondition | undefined): { add: V1Taint; remove: V1Taint } | undefined {
  switch (readyCondition?.status) {
    case ConditionFalse:
      return { add: { ...NotReadyTaintTemplate }, remove: { ...UnreachableTaintTemplate } };
    case ConditionUnknown:
      return { add: { ...UnreachableTaintTemplate }, remove: { ...NotReadyTaintTemplate } };
    default:
      return undefined;
  }
}

/** processTaintBaseEviction's decision for one node in a monitorNodeHealth pass. */
export type NoExecuteAction =
  /** Swap the taint now, outside the rate limit (the node carries the opposite one); on failure retry next pass. */
  | { kind: 'swap'; add: V1Taint; remove: V1Taint }
  /**
   * markNodeForTainting: if removeFromQueueFirst, queue.remove(name) (so a node whose taint went
   * away is tainted again), then queue.add(name, uid) on the node's zone queue.
   */
  | { kind: 'enqueue'; status: 'False' | 'Unknown'; removeFromQueueFirst: boolean }
  /** markNodeAsReachable: remove these NoExecute taints (when any) and queue.remove(name). */
  | { kind: 'markReachable'; removeTaints: V1Taint[] }
  | { kind: 'none' };

/**
 * processTaintBaseEviction: what to do with a node's NoExecute taints given the Ready condition
 * observed at the start of the pass (tryUpdateNodeHealth's observedReadyCondition, so a node the
 * controller has just turned Unknown is queued on the next pass, as upstream).
 */
export function noExecuteAction(node: V1Node, observedReadyCondition: V1NodeCondition): NoExecuteAction {
  const taints = node.spec?.taints;
  switch (observedReadyCondition.status) {
    case ConditionFalse:
      if (taintExists(taints, UnreachableTaintTemplate)) return { kind: 'swap', add: { ...NotReadyTaintTemplate }, remove: { ...UnreachableTaintTemplate } };
      return { kind: 'enqueue', status: 'False', removeFromQueueFirst: !taintExists(taints, NotReadyTaintTemplate) };
    case ConditionUnknown:
      if (taintExists(taints, NotReadyTaintTemplate)) return { kind: 'swap', add: { ...UnreachableTaintTemplate }, remove: { ...NotReadyTaintTemplate } };
      return { kind: 'enqueue', status: 'Unknown', removeFromQueueFirst: !taintExists(taints, UnreachableTaintTemplate) };
    case ConditionTrue:
      return { kind: 'markReachable', removeTaints: reachableTaintRemovals(node) };
    default:
      return { kind: 'none' };
  }
}

/**
 * markNodeAsReachable's taint part: the controller's NoExecute taints the node carries (to remove
 * in one write; none → no write). Also used for every node on entering full disruption.
 */
export function reachableTaintRemovals(node: V1Node): V1Taint[] {
  return (node.spec?.taints ?? []).filter(isControllerNoExecuteTaint);
}

export const LabelOSStable = 'kubernetes.io/os';
export const LabelArchStable = 'kubernetes.io/arch';
export const LabelOSBeta = 'beta.kubernetes.io/os';
export const LabelArchBeta = 'beta.kubernetes.io/arch';

/** labelReconcileInfo: the stable label is the source of truth; its beta twin is created or corrected. */
export const labelReconcileInfo: readonly { primaryKey: string; secondaryKey: string; ensureSecondaryExists: boolean }[] = [
  { primaryKey: LabelOSStable, secondaryKey: LabelOSBeta, ensureSecondaryExists: true },
  { primaryKey: LabelArchStable, secondaryKey: LabelArchBeta, ensureSecondaryExists: true },
];

/**
 * reconcileNodeLabels: the labels to set on the node (merge them into metadata.labels), or
 * undefined when nothing is to change. A missing stable label is left alone; the beta label never
 * changes the stable one.
 */
export function reconcileNodeLabels(node: V1Node): Record<string, string> | undefined {
  const labels = node.metadata?.labels;
  if (!labels) return undefined;
  const out: Record<string, string> = {};
  for (const r of labelReconcileInfo) {
    if (!Object.hasOwn(labels, r.primaryKey)) continue;
    const primary = labels[r.primaryKey] ?? '';
    const hasSecondary = Object.hasOwn(labels, r.secondaryKey);
    if (hasSecondary ? labels[r.secondaryKey] !== primary : r.ensureSecondaryExists) out[r.secondaryKey] = primary;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
