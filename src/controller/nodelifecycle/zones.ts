// Zones and disruption handling of the node lifecycle controller (models kube-controller-manager
// v1.30 pkg/controller/nodelifecycle/node_lifecycle_controller.go: ZoneState, ComputeZoneState,
// setLimiterInZone, ReducedQPSFunc, HealthyQPSFunc, handleDisruption, classifyNodes,
// isNodeExcludedFromDisruptionChecks; and k8s.io/component-helpers/node/topology GetZoneKey).
//
// As upstream: the zone key is region + ":\x00:" + zone, each read from the deprecated
// failure-domain.beta.kubernetes.io label when that key is present, else from the
// topology.kubernetes.io one ("" when both are empty: every unlabelled node is in one zone).
// A zone is FullDisruption when none of its nodes is Ready, PartialDisruption when more than 2 are
// not Ready and they are at least unhealthyZoneThreshold of it (compared in float32), else Normal.
// Rates: Normal → evictionRate; PartialDisruption → secondaryEvictionRate when the zone has more
// than largeClusterThreshold nodes, else 0; FullDisruption → evictionRate (a single dead zone is
// handled normally); when every zone is in FullDisruption all rates are 0, the controller's
// NoExecute taints come off every node, and on leaving that state every node's probe time restarts.
//
// Differences: upstream's Go map iteration stops at the first zone not in FullDisruption and so may
// keep a vanished zone's state one more pass; here vanished zones are always dropped at once.
// Zones are visited in a stable order (known zones first, then new ones).

import type { V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { ConditionTrue } from './health.js';

export const LabelTopologyZone = 'topology.kubernetes.io/zone';
export const LabelTopologyRegion = 'topology.kubernetes.io/region';
export const LabelFailureDomainBetaZone = 'failure-domain.beta.kubernetes.io/zone';
export const LabelFailureDomainBetaRegion = 'failure-domain.beta.kubernetes.io/region';
/** Nodes with this label (any value) are left out of the zone state computation. */
export const LabelNodeExcludeDisruption = 'node.kubernetes.io/exclude-disruption';

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

export const defaultUnhealthyZoneThreshold = 0.55;

export interface EvictionRates {
  /** --node-eviction-rate (default 0.1 nodes/s). */
  evictionRate: number;
  /** --secondary-node-eviction-rate (default 0.01 nodes/s). */
  secondaryEvictionRate: number;
  /** --large-cluster-size-threshold (default 50 nodes). */
  largeClusterThreshold: number;
}

export const defaultEvictionRates: EvictionRates = { evictionRate: 0.1, secondaryEvictionRate: 0.01, largeClusterThreshold: 50 };

/** GetZoneKey: the node's failure zone ("" for a node without zone or region labels). */
export function zoneKey(node: V1Node): string {
  const labels = node.metadata?.labels;
  if (!labels) return '';
  const zone = Object.hasOwn(labels, LabelFailureDomainBetaZone) ? labels[LabelFailureDomainBetaZone] : labels[LabelTopologyZone];
  const region = Object.hasOwn(labels, LabelFailureDomainBetaRegion) ? labels[LabelFailureDomainBetaRegion] : labels[LabelTopologyRegion];
  if (!region && !zone) return '';
  return `${region ?? ''}:\x00:${zone ?? ''}`;
}

/** A node labelled node.kubernetes.io/exclude-disruption does not count in its zone's state. */
export function isNodeExcludedFromDisruptionChecks(node: V1Node): boolean {
  const labels = node.metadata?.labels;
  return labels !== undefined && Object.hasOwn(labels, LabelNodeExcludeDisruption);
}

export interface ZoneStateResult {
  notReadyNodes: number;
  state: ZoneState;
}

/**
 * ComputeZoneState over the Ready conditions of a zone's nodes (undefined = no Ready condition,
 * counted as not ready). Never returns Initial; an empty zone is Normal.
 */
export function computeZoneState(readyConditions: readonly (V1NodeCondition | undefined)[], unhealthyZoneThreshold = defaultUnhealthyZoneThreshold): ZoneStateResult {
  let ready = 0;
  let notReady = 0;
  for (const c of readyConditions) {
    if (c?.status === ConditionTrue) ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return { notReadyNodes: notReady, state: 'FullDisruption' };
  // float32 as upstream: 11 of 20 against 0.55 must agree with kube-controller-manager
  if (notReady > 2 && Math.fround(Math.fround(notReady) / Math.fround(notReady + ready)) >= Math.fround(unhealthyZoneThreshold)) {
    return { notReadyNodes: notReady, state: 'PartialDisruption' };
  }
  return { notReadyNodes: notReady, state: 'Normal' };
}

/**
 * The tainting rate (nodes/s) of a zone in a state (setLimiterInZone with ReducedQPSFunc for
 * PartialDisruption and HealthyQPSFunc for FullDisruption); 0 when every zone is fully disrupted.
 * Initial: the rate a new zone's queue starts with (evictionRate).
 */
export function evictionRateFor(state: ZoneState, zoneSize: number, allZonesFullyDisrupted: boolean, rates: EvictionRates = defaultEvictionRates): number {
  if (allZonesFullyDisrupted) return 0;
  switch (state) {
    case 'PartialDisruption':
      return zoneSize > rates.largeClusterThreshold ? rates.secondaryEvictionRate : 0;
    case 'Normal':
    case 'FullDisruption':
    case 'Initial':
      return rates.evictionRate;
  }
}

export interface ZoneMetrics {
  zone: string;
  /** node_collector_zone_size */
  size: number;
  /** node_collector_unhealthy_nodes_in_zone */
  unhealthy: number;
  /** node_collector_zone_health: percentage of Ready nodes (100 for an empty or vanished zone) */
  healthPercent: number;
}

export interface DisruptionInput {
  /** The controller's zone states from the last pass (zones it has a queue for). */
  zoneStates: ReadonlyMap<string, ZoneState>;
  /** This pass: zone → the current Ready condition of each of its nodes (excluded nodes left out). */
  zoneReadyConditions: ReadonlyMap<string, readonly (V1NodeCondition | undefined)[]>;
  unhealthyZoneThreshold?: number;
  rates?: EvictionRates;
}

export interface DisruptionDecision {
  /** Replace the controller's zone states with this. */
  zoneStates: Map<string, ZoneState>;
  /** swapLimiter(qps) on these zones' queues (creating a queue for a zone that has none). */
  setRates: { zone: string; qps: number }[];
  /** Every zone has just become fully disrupted: markNodeAsReachable on every node (remove the
   *  controller's NoExecute taints, queue.remove); the rates above are all 0. */
  enteredFullDisruption: boolean;
  /** The cluster has just left full disruption: reset every node's probe and ready transition
   *  times to now (resetProbeTimes); the rates above restore each zone's. */
  exitedFullDisruption: boolean;
  /** Zones that had a state but no nodes this pass (their metrics are in `metrics` as 0/0/100). */
  removedZones: string[];
  /** The zone gauges to set, for every zone of this pass and every removed zone. */
  metrics: ZoneMetrics[];
}

/** handleDisruption: new zone states, rate changes and the cluster-wide full-disruption switch. */
export function handleDisruption(input: DisruptionInput): DisruptionDecision {
  const threshold = input.unhealthyZoneThreshold ?? defaultUnhealthyZoneThreshold;
  const rates = input.rates ?? defaultEvictionRates;
  const conds = input.zoneReadyConditions;
  const metrics: ZoneMetrics[] = [];

  const newStates = new Map<string, ZoneState>();
  let allAreFullyDisrupted = true;
  for (const [zone, v] of conds) {
    const { notReadyNodes, state } = computeZoneState(v, threshold);
    metrics.push({ zone, size: v.length, unhealthy: notReadyNodes, healthPercent: v.length === 0 ? 100 : (100 * (v.length - notReadyNodes)) / v.length });
    if (state !== 'FullDisruption') allAreFullyDisrupted = false;
    newStates.set(zone, state);
  }

  // the states going in: zones not seen before start Initial; zones without nodes are dropped
  const zoneStates = new Map<string, ZoneState>();
  const removedZones: string[] = [];
  for (const [zone, s] of input.zoneStates) {
    if (conds.has(zone)) zoneStates.set(zone, s);
    else {
      removedZones.push(zone);
      metrics.push({ zone, size: 0, unhealthy: 0, healthPercent: 100 });
    }
  }
  for (const zone of conds.keys()) if (!zoneStates.has(zone)) zoneStates.set(zone, 'Initial');
  let allWasFullyDisrupted = true;
  for (const s of zoneStates.values()) if (s !== 'FullDisruption') allWasFullyDisrupted = false;

  const decision: DisruptionDecision = { zoneStates, setRates: [], enteredFullDisruption: false, exitedFullDisruption: false, removedZones, metrics };
  if (allAreFullyDisrupted && allWasFullyDisrupted) return decision;

  const size = (zone: string): number => conds.get(zone)?.length ?? 0;
  if (allAreFullyDisrupted) {
    // entering: stop every eviction, the taints come off every node
    decision.enteredFullDisruption = true;
    for (const zone of zoneStates.keys()) {
      decision.setRates.push({ zone, qps: 0 });
      zoneStates.set(zone, 'FullDisruption');
    }
    return decision;
  }
  if (allWasFullyDisrupted) {
    // leaving: every node gets a fresh probe time and every zone its own rate
    decision.exitedFullDisruption = true;
    for (const zone of zoneStates.keys()) {
      const state = newStates.get(zone) ?? 'Normal';
      decision.setRates.push({ zone, qps: evictionRateFor(state, size(zone), false, rates) });
      zoneStates.set(zone, state);
    }
    return decision;
  }
  for (const [zone, old] of zoneStates) {
    const state = newStates.get(zone) ?? 'Normal';
    if (old === state) continue;
    decision.setRates.push({ zone, qps: evictionRateFor(state, size(zone), false, rates) });
    zoneStates.set(zone, state);
  }
  return decision;
}

export interface NodeClassification {
  /** Nodes not known before: record RegisteredNode, create their zone's queue, markNodeAsReachable. */
  added: V1Node[];
  /** Known nodes that are gone: record RemovingNode and forget them. */
  deleted: V1Node[];
  /** Known nodes whose zone has no state (a zone that vanished and came back): create its queue. */
  newZoneRepresentatives: V1Node[];
}

/** classifyNodes: compares the informer's nodes with the ones the controller knows. */
export function classifyNodes(known: ReadonlyMap<string, V1Node>, nodes: readonly V1Node[], zoneStates: ReadonlyMap<string, ZoneState>): NodeClassification {
  const out: NodeClassification = { added: [], deleted: [], newZoneRepresentatives: [] };
  const seen = new Set<string>();
  for (const n of nodes) {
    const name = n.metadata?.name ?? '';
    seen.add(name);
    if (!known.has(name)) out.added.push(n);
    else if (!zoneStates.has(zoneKey(n))) out.newZoneRepresentatives.push(n);
  }
  if (known.size + out.added.length !== nodes.length) {
    for (const [name, n] of known) if (!seen.has(name)) out.deleted.push(n);
  }
  return out;
}
