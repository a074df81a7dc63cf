// Node health as the node lifecycle controller sees it (models kube-controller-manager v1.30
// pkg/controller/nodelifecycle/node_lifecycle_controller.go: nodeHealthData, tryUpdateNodeHealth,
// the NodeNotReady / MarkPodsNotReady decision of monitorNodeHealth and processPod; and
// pkg/controller/util/node/controller_utils.go: GetNodeCondition, MarkPodsNotReady, with
// pkg/api/v1/pod UpdatePodCondition).
//
// Everything here is pure: the controller passes in the Node and Lease from its informers, the
// health it saved for that node last time and its own clock's now; it gets back what to save and
// what to write. As upstream:
// - the probe time is the controller's own clock at the moment it saw the node change (the Ready
//   condition's lastHeartbeatTime differing from the saved status) or the Lease's renewTime move
//   forward; the kubelet's timestamps are only compared with each other, never with now, so clock
//   skew between machines does not matter;
// - no Ready condition: a fake Unknown "never updated" condition and the startup grace period,
//   counted from the Node's creationTimestamp;
// - past the grace period since the probe time: Ready, MemoryPressure, DiskPressure, PIDPressure
//   become Unknown (NodeStatusUnknown "Kubelet stopped posting node status.", or for a missing one
//   NodeStatusNeverUpdated "Kubelet never posted node status." with lastHeartbeatTime = the Node's
//   creationTimestamp), lastHeartbeatTime kept, lastTransitionTime = now; the status is written only
//   when the Ready condition changed; NetworkUnavailable is not touched.
// - a status change forgets the saved Lease (upstream builds a new nodeHealthData without it), so
//   the next pass counts the Lease as renewed once more.
//
// Differences: times are milliseconds (numbers) in the saved health and are read from Date or
// string (client-node's list gives Date objects, its watch gives RFC 3339 strings) and compared as
// instants. A saved Lease without renewTime counts as older than any renewTime (upstream's
// MicroTime.Before is false on nil, so such a node would never be seen renewing). A Node without
// creationTimestamp (only in hand-made test objects) counts as created now.

import type { V1Lease, V1Node, V1NodeCondition, V1NodeStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';

export const NodeReady = 'Ready';
export const NodeMemoryPressure = 'MemoryPressure';
export const NodeDiskPressure = 'DiskPressure';
export const NodePIDPressure = 'PIDPressure';
export const NodeNetworkUnavailable = 'NetworkUnavailable';

export const ConditionTrue = 'True';
export const ConditionFalse = 'False';
export const ConditionUnknown = 'Unknown';

export const NodeStatusUnknownReason = 'NodeStatusUnknown';
export const NodeStatusUnknownMessage = 'Kubelet stopped posting node status.';
export const NodeStatusNeverUpdatedReason = 'NodeStatusNeverUpdated';
export const NodeStatusNeverUpdatedMessage = 'Kubelet never posted node status.';

/** The Lease namespace the kubelets renew their heartbeats in. */
export const NamespaceNodeLease = 'kube-node-lease';

/** Upstream defaults: --node-monitor-grace-period 50s (today's default; 40s in older releases), --node-startup-grace-period 1m. */
export const defaultNodeMonitorGracePeriodMs = 50_000;
export const defaultNodeStartupGracePeriodMs = 60_000;
/** --node-monitor-period. */
export const defaultNodeMonitorPeriodMs = 5_000;
/** monitorNodeHealth retries a failed status write this often (scheduler.NodeHealthUpdateRetry)... */
export const nodeHealthUpdateRetry = 5;
/** ...this far apart (retrySleepTime), re-reading the Node from the API before each retry. */
export const nodeHealthRetrySleepMs = 20;

/** The conditions the controller turns Unknown when the kubelet goes silent (not NetworkUnavailable). */
export const unknownOnSilenceConditionTypes: readonly string[] = [NodeReady, NodeMemoryPressure, NodeDiskPressure, NodePIDPressure];

/** A timestamp as client-node hands it over: Date from a list, string from a watch. */
export type ApiTime = Date | string | null | undefined;

/** Milliseconds since the epoch, or undefined for a missing or unparsable time. */
export function toMillis(t: ApiTime): number | undefined {
  if (t === null || t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function sameInstant(a: ApiTime, b: ApiTime): boolean {
  return toMillis(a) === toMillis(b);
}

/** GetNodeCondition: the first condition of that type in a node status, or undefined. */
export function getNodeCondition(status: V1NodeStatus | undefined, type: string): V1NodeCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** The node's Ready condition (undefined when the kubelet never posted one). */
export function getReadyCondition(node: V1Node | undefined): V1NodeCondition | undefined {
  return getNodeCondition(node?.status, NodeReady);
}

/** Ready=True. */
export function isNodeReady(node: V1Node | undefined): boolean {
  return getReadyCondition(node)?.status === ConditionTrue;
}

/** What the controller remembers about a node between passes (upstream nodeHealthData). */
export interface NodeHealthData {
  /** The controller's own time when it last saw the node alive (status change or Lease renewal). */
  probeTimestamp: number;
  /** The controller's own time when it last saw the Ready condition transition. */
  readyTransitionTimestamp: number;
  /** The node status as last observed (a reference to the informer's object; never mutated). */
  status: V1NodeStatus | undefined;
  /** The Lease as last counted as a renewal. */
  lease: V1Lease | undefined;
}

export interface GracePeriods {
  /** --node-monitor-grace-period (default 50 s; 40 s accepted). */
  nodeMonitorGracePeriodMs: number;
  /** --node-startup-grace-period (default 60 s), for a node that never posted a Ready condition. */
  nodeStartupGracePeriodMs: number;
}

export const defaultGracePeriods: GracePeriods = {
  nodeMonitorGracePeriodMs: defaultNodeMonitorGracePeriodMs,
  nodeStartupGracePeriodMs: defaultNodeStartupGracePeriodMs,
};

export interface NodeStatusUpdate {
  /** A copy of the Node with the new conditions (what the API holds once the changed ones are written). */
  node: V1Node;
  /** The full new conditions list (the same as node.status.conditions). */
  conditions: V1NodeCondition[];
  /** Condition types that were changed or added (the conditions to write: patchNodeConditions). */
  changed: string[];
  /** Save this as the node's health once the write succeeded (on failure keep `health`). */
  healthAfterWrite: NodeHealthData;
}

export interface NodeHealthResult {
  /** The grace period this node is entitled to (startup grace when it has no Ready condition). */
  gracePeriodMs: number;
  /** The Ready condition as the informer showed it (a fake Unknown one when missing). */
  observedReadyCondition: V1NodeCondition;
  /** The Ready condition after this pass (the controller's Unknown one when it acted). */
  currentReadyCondition: V1NodeCondition | undefined;
  /** Save this now (it is also what stays when the status write fails). */
  health: NodeHealthData;
  /** Present when the conditions must be written. */
  nodeStatusUpdate?: NodeStatusUpdate;
}

function toDate(t: ApiTime): Date | undefined {
  const ms = toMillis(t);
  return ms === undefined ? undefined : new Date(ms);
}

function leaseRenewedSince(saved: V1Lease | undefined, observed: V1Lease): boolean {
  if (!saved) return true;
  const before = toMillis(saved.spec?.renewTime);
  const after = toMillis(observed.spec?.renewTime);
  if (after === undefined) return false;
  if (before === undefined) return true;
  return before < after;
}

function conditionsEqual(a: V1NodeCondition | undefined, b: V1NodeCondition | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.type === b.type &&
    a.status === b.status &&
    (a.reason ?? '') === (b.reason ?? '') &&
    (a.message ?? '') === (b.message ?? '') &&
    sameInstant(a.lastHeartbeatTime, b.lastHeartbeatTime) &&
    sameInstant(a.lastTransitionTime, b.lastTransitionTime)
  );
}

function freshHealth(status: V1NodeStatus | undefined, now: number): NodeHealthData {
  return { status, probeTimestamp: now, readyTransitionTimestamp: now, lease: undefined };
}

/**
 * tryUpdateNodeHealth: one node's health for one monitorNodeHealth pass.
 *
 * @param node the Node from the informer (not modified)
 * @param lease its Lease in kube-node-lease, if any
 * @param previous the health saved for this node by the last pass (undefined for a new node)
 * @param now the controller's clock
 */
export function tryUpdateNodeHealth(
  node: V1Node,
  lease: V1Lease | undefined,
  previous: NodeHealthData | undefined,
  now: number,
  grace: GracePeriods = defaultGracePeriods,
): NodeHealthResult {
  // health objects are replaced, never mutated: a pass that changes nothing allocates nothing here
  let health: NodeHealthData | undefined = previous;
  const status = node.status;
  const created = toMillis(node.metadata?.creationTimestamp) ?? now;
  const currentReady = getNodeCondition(status, NodeReady);

  let observedReadyCondition: V1NodeCondition;
  let gracePeriodMs: number;
  if (!currentReady) {
    // never posted: a fake Unknown condition dated at the node's creation, and the startup grace
    observedReadyCondition = { type: NodeReady, status: ConditionUnknown, lastHeartbeatTime: new Date(created), lastTransitionTime: new Date(created) };
    gracePeriodMs = grace.nodeStartupGracePeriodMs;
    if (!health) health = { status, probeTimestamp: created, readyTransitionTimestamp: created, lease: undefined };
    else if (health.status !== status) health = { ...health, status };
  } else {
    observedReadyCondition = currentReady; // read-only, as everything from the informer
    gracePeriodMs = grace.nodeMonitorGracePeriodMs;
  }

  const savedCondition = health ? getNodeCondition(health.status, NodeReady) : undefined;
  const savedLease = health?.lease;
  if (!health) {
    // first sight of a node that has a Ready condition (controller start): count from now
    health = freshHealth(status, now);
  } else if (!savedCondition && currentReady) {
    health = freshHealth(status, now);
  } else if (savedCondition && !currentReady) {
    // the Ready condition was removed (cannot normally happen): as upstream, start over
    health = freshHealth(status, now);
  } else if (savedCondition && currentReady && savedCondition !== currentReady && !sameInstant(savedCondition.lastHeartbeatTime, currentReady.lastHeartbeatTime)) {
    const transitioned = !sameInstant(savedCondition.lastTransitionTime, currentReady.lastTransitionTime);
    health = { status, probeTimestamp: now, readyTransitionTimestamp: transitioned ? now : health.readyTransitionTimestamp, lease: undefined };
  }

  // a renewed Lease always counts, whatever the Node's status says
  if (lease && leaseRenewedSince(savedLease, lease)) health = { ...health, lease, probeTimestamp: now };

  const result: NodeHealthResult = { gracePeriodMs, observedReadyCondition, currentReadyCondition: currentReady, health };
  if (!(now > health.probeTimestamp + gracePeriodMs)) return result;

  // silent past the grace period: every kubelet-owned condition becomes Unknown
  const conditions = [...(status?.conditions ?? [])];
  const changed: string[] = [];
  const nowDate = new Date(now);
  for (const type of unknownOnSilenceConditionTypes) {
    const i = conditions.findIndex((c) => c.type === type);
    const cur = i >= 0 ? conditions[i] : undefined;
    if (!cur) {
      conditions.push({
        type,
        status: ConditionUnknown,
        reason: NodeStatusNeverUpdatedReason,
        message: NodeStatusNeverUpdatedMessage,
        lastHeartbeatTime: toDate(node.metadata?.creationTimestamp) ?? new Date(created),
        lastTransitionTime: nowDate,
      });
      changed.push(type);
    } else if (cur.status !== ConditionUnknown) {
      // built field by field: V8's spread-then-override is ~10x slower, and 5000 nodes can go Unknown at once
      conditions[i] = {
        type: cur.type,
        status: ConditionUnknown,
        lastHeartbeatTime: cur.lastHeartbeatTime,
        lastTransitionTime: nowDate,
        reason: NodeStatusUnknownReason,
        message: NodeStatusUnknownMessage,
      };
      changed.push(type);
    }
  }
  const newReady = conditions.find((c) => c.type === NodeReady);
  result.currentReadyCondition = newReady;
  if (conditionsEqual(newReady, observedReadyCondition)) return result;

  const newStatus: V1NodeStatus = { ...(status ?? {}), conditions };
  result.nodeStatusUpdate = {
    node: { ...node, status: newStatus },
    conditions,
    changed,
    healthAfterWrite: { status: newStatus, probeTimestamp: health.probeTimestamp, readyTransitionTimestamp: now, lease },
  };
  return result;
}

/**
 * When leaving the all-zones-FullDisruption state every node's probe and transition times restart
 * at now (handleDisruption), so no node is declared dead for the time the controller could not
 * tell. Returns the new health map (entries for nodes without health stay absent).
 */
export function resetProbeTimes(health: ReadonlyMap<string, NodeHealthData>, nodeNames: Iterable<string>, now: number): Map<string, NodeHealthData> {
  const out = new Map(health);
  for (const name of nodeNames) {
    const h = out.get(name);
    if (h) out.set(name, { ...h, probeTimestamp: now, readyTransitionTimestamp: now });
  }
  return out;
}

export interface NodeNotReadyDecision {
  /** Record the NodeNotReady event on the Node ("Node <name> status is now: NodeNotReady"). */
  recordNodeNotReady: boolean;
  /** Mark every pod on the node NotReady (podReadyFalseConditions per pod). */
  markPodsNotReady: boolean;
}

/**
 * monitorNodeHealth's decision after tryUpdateNodeHealth (only when currentReadyCondition is set):
 * the controller itself just took Ready away from True → event and mark the pods; a node whose
 * marking failed before (needsRetry) and is still not Ready → mark again. A Ready=False posted by
 * the kubelet is observed as False already, so it triggers neither.
 * On success the controller forgets needsRetry; when marking fails it sets it.
 */
export function nodeNotReadyDecision(observed: V1NodeCondition, current: V1NodeCondition, needsRetry: boolean): NodeNotReadyDecision {
  if (current.status !== ConditionTrue && observed.status === ConditionTrue) return { recordNodeNotReady: true, markPodsNotReady: true };
  if (needsRetry && observed.status !== ConditionTrue) return { recordNodeNotReady: false, markPodsNotReady: true };
  return { recordNodeNotReady: false, markPodsNotReady: false };
}

/** Event reason and messages of MarkPodsNotReady / RecordNodeStatusChange. */
export const NodeNotReadyEventReason = 'NodeNotReady';
export const podNodeNotReadyEventMessage = 'Node is not ready';
export const nodeStatusChangeEventMessage = (nodeName: string, newStatus: string): string => `Node ${nodeName} status is now: ${newStatus}`;

/**
 * MarkPodsNotReady for one pod: the pod's conditions with Ready set to False (lastTransitionTime =
 * now when it was not False; reason and message kept), or undefined when there is nothing to write
 * (the pod is on another node, has no Ready condition, or it is False already). After writing the
 * status (a NotFound answer is fine), record a Warning NodeNotReady "Node is not ready" on the pod.
 */
export function podReadyFalseConditions(pod: V1Pod, nodeName: string, now: number): V1PodCondition[] | undefined {
  if (pod.spec?.nodeName !== nodeName) return undefined;
  const conds = pod.status?.conditions ?? [];
  const i = conds.findIndex((c) => c.type === 'Ready');
  const old = i >= 0 ? conds[i] : undefined;
  if (!old || old.status === ConditionFalse) return undefined;
  const out = [...conds];
  out[i] = { ...old, status: ConditionFalse, lastTransitionTime: new Date(now) };
  return out;
}
