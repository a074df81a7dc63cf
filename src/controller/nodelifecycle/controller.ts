// The node lifecycle controller's loops (models kube-controller-manager v1.30's
// pkg/controller/nodelifecycle/node_lifecycle_controller.go: Run, monitorNodeHealth,
// doNoExecuteTaintingPass, doNoScheduleTaintingPass / the node update workers, the pod update
// worker, handleDisruption; pkg/controller/util/node MarkPodsNotReady, RecordNodeStatusChange).
//
// Every decision is a pure function of health.ts, zones.ts and taints.ts; this file reads the
// informers, calls them, and writes the result through NodeLifecycleClient (client.ts: the
// @kubernetes/client-node edge), so the same loops run against an API server or in memory (the
// benchmark). Time is the injected Clock; observed times are the controller's own, never the
// kubelet's, so clock skew between machines does not matter.
//
//   every --node-monitor-period (5 s)   monitorNodeHealth: health per node (Node + Lease), Unknown
//                                       past the grace period, NodeNotReady + pods NotReady when the
//                                       controller turned Ready True -> Unknown, NoExecute decisions,
//                                       zone states and rates
//   every 100 ms                        doNoExecuteTaintingPass: each zone's rate-limited queue
//   on Node add/update                  the NoSchedule taints from conditions + label reconciliation
//   on Pod add/update                   a pod on a node that is not Ready is marked NotReady
//
// Worker counts as upstream's constants: monitorNodeHealth handles 8 nodes at once
// (nodeUpdateWorkerSize), as do the node update workers; 4 pod update workers (workqueue.ts).
// Differences: a node with nothing to write is handled synchronously (no promise per node); no
// non-taint-based eviction (removed upstream in 1.30); a swap of not-ready <-> unreachable
// NoExecute is one write.

import type { V1DaemonSet, V1Lease, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Clock, Timer } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { Counter, Gauge, getOrCreate, Histogram } from '../../util/metrics.js';
import type { ControllerEventRecorder } from '../events.js';
import type { Informer } from '../informers.js';
import { parallelize, WorkQueue } from '../workqueue.js';
import type { NodeLifecycleClient } from './client.js';
import {
  ConditionTrue,
  defaultGracePeriods,
  getReadyCondition,
  NamespaceNodeLease,
  nodeHealthUpdateRetry,
  nodeNotReadyDecision,
  NodeNotReadyEventReason,
  nodeStatusChangeEventMessage,
  podNodeNotReadyEventMessage,
  podReadyFalseConditions,
  resetProbeTimes,
  tryUpdateNodeHealth,
  type GracePeriods,
  type NodeHealthResult,
  type NodeHealthData,
} from './health.js';
import { nodeEvictionPeriodMs, noExecuteRetryAfterMs, RateLimitedTimedQueue, type ActionResult } from './ratelimitedqueue.js';
import { applyTaints, noExecuteAction, noExecuteTaintFor, noScheduleTaintsDiff, reachableTaintRemovals, reconcileNodeLabels } from './taints.js';
import { classifyNodes, defaultEvictionRates, defaultUnhealthyZoneThreshold, handleDisruption, isNodeExcludedFromDisruptionChecks, zoneKey, type EvictionRates, type ZoneState } from './zones.js';
import type { V1NodeCondition } from '@kubernetes/client-node';

export interface NodeLifecycleSettings extends GracePeriods, EvictionRates {
  /** --node-monitor-period (5 s). */
  nodeMonitorPeriodMs: number;
  /** --unhealthy-zone-threshold (0.55). */
  unhealthyZoneThreshold: number;
  /**
   * Nodes handled at once by monitorNodeHealth and by the node update workers (upstream's constant
   * nodeUpdateWorkerSize, 8; kube-controller-manager has no flag for it).
   */
  nodeUpdateWorkers: number;
  /** Pod update workers (upstream's constant podUpdateWorkerSize, 4). */
  podUpdateWorkers: number;
}

export const defaultNodeLifecycleSettings: NodeLifecycleSettings = {
  ...defaultGracePeriods,
  ...defaultEvictionRates,
  nodeMonitorPeriodMs: 5000,
  unhealthyZoneThreshold: defaultUnhealthyZoneThreshold,
  nodeUpdateWorkers: 8,
  podUpdateWorkers: 4,
};

export interface NodeLifecycleControllerOptions {
  nodes: Informer<V1Node>;
  leases: Informer<V1Lease>;
  pods: Informer<V1Pod>;
  daemonSets?: Informer<V1DaemonSet>;
  client: NodeLifecycleClient;
  clock: Clock;
  logger?: Logger;
  registry?: Registry;
  recorder?: ControllerEventRecorder;
  settings?: Partial<NodeLifecycleSettings>;
}

interface Metrics {
  zoneHealth: Gauge;
  zoneSize: Gauge;
  unhealthyNodes: Gauge;
  evictions: Counter;
  updateNodeHealth: Histogram;
  updateAllNodesHealth: Histogram;
}

function newMetrics(registry: Registry): Metrics {
  const gauge = (name: string, help: string): Gauge => getOrCreate(registry, name, () => new Gauge({ name, help, labelNames: ['zone'], registers: [registry] }));
  return {
    zoneHealth: gauge('node_collector_zone_health', 'Gauge measuring percentage of healthy nodes per zone.'),
    zoneSize: gauge('node_collector_zone_size', 'Gauge measuring number of registered Nodes per zones.'),
    unhealthyNodes: gauge('node_collector_unhealthy_nodes_in_zone', 'Gauge measuring number of not Ready Nodes per zones.'),
    evictions: getOrCreate(registry, 'node_collector_evictions_total', () => new Counter({ name: 'node_collector_evictions_total', help: 'Number of Node evictions that happened since current instance of NodeController started.', labelNames: ['zone'], registers: [registry] })),
    updateNodeHealth: getOrCreate(registry, 'node_collector_update_node_health_duration_seconds', () =>
      new Histogram({ name: 'node_collector_update_node_health_duration_seconds', help: 'Duration in seconds for NodeController to update the health of a single node.', buckets: [0.001, 0.004, 0.016, 0.064, 0.256, 1.024, 4.096, 16.384], registers: [registry] }),
    ),
    updateAllNodesHealth: getOrCreate(registry, 'node_collector_update_all_nodes_health_duration_seconds', () =>
      new Histogram({ name: 'node_collector_update_all_nodes_health_duration_seconds', help: 'Duration in seconds for NodeController to update the health of all nodes.', buckets: [0.01, 0.04, 0.16, 0.64, 2.56, 10.24, 40.96, 163.84], registers: [registry] }),
    ),
  };
}

const nodeRef = (n: V1Node) => ({ kind: 'Node' as const, name: n.metadata?.name ?? '', uid: n.metadata?.name ?? '' });

export class NodeLifecycleController {
  readonly settings: NodeLifecycleSettings;
  private readonly health = new Map<string, NodeHealthData>();
  private readonly knownNodes = new Map<string, V1Node>();
  private zoneStates = new Map<string, ZoneState>();
  private readonly zoneQueues = new Map<string, RateLimitedTimedQueue>();
  /** Nodes whose pods could not all be marked NotReady: retried at the next pass. */
  private readonly podsNotReadyRetry = new Set<string>();
  /** The node update workers: doNoScheduleTaintingPass per node name. */
  private readonly nodeUpdates: WorkQueue;
  /** node name -> namespace/name of its pods. */
  private readonly podsByNode = new Map<string, Set<string>>();
  /** The pod update workers: processPod per namespace/name. */
  private readonly podUpdates: WorkQueue;
  private timers: Timer[] = [];
  private monitorRunning: Promise<void> | undefined;
  private taintingRunning = false;
  private running = false;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;

  constructor(private readonly opts: NodeLifecycleControllerOptions) {
    this.settings = { ...defaultNodeLifecycleSettings, ...opts.settings };
    this.log = (opts.logger ?? nopLogger).child({ controller: 'node-lifecycle' });
    this.metrics = opts.registry ? newMetrics(opts.registry) : undefined;
    this.nodeUpdates = new WorkQueue(this.settings.nodeUpdateWorkers, (name) => (this.running ? this.doNoScheduleTaintingPass(name) : undefined), this.log);
    this.podUpdates = new WorkQueue(this.settings.podUpdateWorkers, (key) => (this.running ? this.processPod(key) : undefined), this.log);
    opts.nodes.on('add', (n) => this.enqueueNode(n));
    opts.nodes.on('update', (n) => this.enqueueNode(n));
    opts.pods.on('add', (p) => {
      this.indexPod(p);
      this.enqueuePod(p);
    });
    opts.pods.on('update', (p, old) => {
      if (old) this.unindexPod(old);
      this.indexPod(p);
      this.enqueuePod(p);
    });
    opts.pods.on('delete', (p, old) => this.unindexPod(old ?? p));
  }

  /** The pods of each node (upstream's nodeName indexer): MarkPodsNotReady must not scan every pod. */
  private indexPod(p: V1Pod): void {
    const node = p.spec?.nodeName;
    if (!node) return;
    let set = this.podsByNode.get(node);
    if (!set) this.podsByNode.set(node, (set = new Set()));
    set.add(`${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
  }

  /** A pod from the cache by its namespace/name key (the index's and the pod workers' key). */
  private podByKey(key: string): V1Pod | undefined {
    const i = key.indexOf('/');
    return this.opts.pods.get(key.slice(i + 1), key.slice(0, i));
  }

  private unindexPod(p: V1Pod): void {
    const node = p.spec?.nodeName;
    const set = node ? this.podsByNode.get(node) : undefined;
    if (!set) return;
    set.delete(`${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
    if (set.size === 0) this.podsByNode.delete(node!);
  }

  /** The informers have all listed (WaitForNamedCacheSync: nothing acts before). */
  synced(): boolean {
    return this.opts.nodes.hasSynced() && this.opts.leases.hasSynced() && this.opts.pods.hasSynced() && (this.opts.daemonSets?.hasSynced() ?? true);
  }

  /** Starts the loops (the informers must have synced); they stop with stop(). */
  start(): void {
    if (this.running) return;
    if (!this.synced()) throw new Error('node lifecycle controller: informers have not synced');
    this.running = true;
    const { clock } = this.opts;
    this.log.info('Starting node lifecycle controller', { nodeMonitorPeriodMs: this.settings.nodeMonitorPeriodMs, nodeMonitorGracePeriodMs: this.settings.nodeMonitorGracePeriodMs });
    for (const n of this.opts.nodes.list()) this.enqueueNode(n);
    // the index from the cache as it is (handlers added after an informer started miss its adds)
    this.podsByNode.clear();
    for (const p of this.opts.pods.list()) this.indexPod(p);
    this.timers.push(clock.setInterval(() => void this.monitorNodeHealth(), this.settings.nodeMonitorPeriodMs));
    this.timers.push(clock.setInterval(() => void this.doNoExecuteTaintingPass(), nodeEvictionPeriodMs));
    void this.monitorNodeHealth();
  }

  /** Stops acting at once (leadership lost): no new pass starts; the one under way finishes its current write. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) t.stop();
    this.timers = [];
    await this.monitorRunning;
  }

  zoneState(zone: string): ZoneState | undefined {
    return this.zoneStates.get(zone);
  }

  /** A zone's queue (tests, benchmarks). */
  queueOf(zone: string): RateLimitedTimedQueue | undefined {
    return this.zoneQueues.get(zone);
  }

  // ---------------------------------------------------------------- monitorNodeHealth

  /** One pass; a pass under way is shared. */
  monitorNodeHealth(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.monitorRunning) return this.monitorRunning;
    this.monitorRunning = this.monitorPass()
      .catch((e: unknown) => this.log.error('monitorNodeHealth failed', { err: errorMessage(e) }))
      .finally(() => {
        this.monitorRunning = undefined;
      });
    return this.monitorRunning;
  }

  private async monitorPass(): Promise<void> {
    const { clock } = this.opts;
    const start = clock.now();
    const nodes = this.opts.nodes.list();
    const { added, deleted, newZoneRepresentatives } = classifyNodes(this.knownNodes, nodes, this.zoneStates);
    for (const n of newZoneRepresentatives) this.addZone(zoneKey(n));
    for (const n of added) {
      const name = n.metadata?.name ?? '';
      this.log.info('Controller observed a new Node', { node: name });
      this.opts.recorder?.event(nodeRef(n), 'Normal', 'RegisteredNode', `Node ${name} event: Registered Node ${name} in Controller`);
      this.knownNodes.set(name, n);
      this.addZone(zoneKey(n));
      const write = this.markNodeAsReachable(n);
      if (write) await write;
    }
    for (const n of deleted) {
      const name = n.metadata?.name ?? '';
      this.log.info('Controller observed a Node deletion', { node: name });
      this.opts.recorder?.event(nodeRef(n), 'Normal', 'RemovingNode', `Node ${name} event: Removing Node ${name} from Controller`);
      this.knownNodes.delete(name);
      this.health.delete(name);
      this.podsNotReadyRetry.delete(name);
    }

    // the nodes in parallel as upstream (ParallelizeUntil with nodeUpdateWorkerSize): a node with
    // nothing to write is done synchronously, one whose writes wait does not hold up the others
    const zoneConditions = new Map<string, (V1NodeCondition | undefined)[]>();
    await parallelize(this.settings.nodeUpdateWorkers, nodes, (listed) => (this.running ? this.monitorNode(listed, zoneConditions) : undefined));
    if (!this.running) return;
    await this.applyDisruption(zoneConditions);
    this.metrics?.updateAllNodesHealth.observe((clock.now() - start) / 1000);
  }

  /** One node of a monitorNodeHealth pass (upstream's updateNodeFunc); undefined when it wrote nothing. */
  private monitorNode(listed: V1Node, zoneConditions: Map<string, (V1NodeCondition | undefined)[]>): Promise<void> | undefined {
    const t0 = this.opts.clock.now();
    const name = listed.metadata?.name ?? '';
    this.knownNodes.set(name, listed);
    const assessed = this.assessNodeHealth(name, listed);
    const observeDuration = (): void => this.metrics?.updateNodeHealth.observe((this.opts.clock.now() - t0) / 1000);
    if (!assessed.nodeStatusUpdate) {
      observeDuration();
      return this.afterNodeHealth(name, { node: listed, observed: assessed.observedReadyCondition, current: assessed.currentReadyCondition }, zoneConditions);
    }
    return this.writeNodeHealth(name, listed, assessed).then((r) => {
      observeDuration();
      // the status could not be written: this node waits for the next pass
      return r ? this.afterNodeHealth(name, r, zoneConditions) : undefined;
    });
  }

  /** After the health update: the zone's count, the NoExecute action, NodeNotReady and the pods. */
  private afterNodeHealth(name: string, r: { node: V1Node; observed: V1NodeCondition; current: V1NodeCondition | undefined }, zoneConditions: Map<string, (V1NodeCondition | undefined)[]>): Promise<void> | undefined {
    const { node, observed, current } = r;
    if (!current) return undefined;
    if (!isNodeExcludedFromDisruptionChecks(node)) {
      const z = zoneKey(node);
      let list = zoneConditions.get(z);
      if (!list) zoneConditions.set(z, (list = []));
      list.push(current);
    }
    const taintWrite = this.processTaintBaseEviction(node, observed);
    return taintWrite ? taintWrite.then(() => this.nodeNotReady(name, node, observed, current)) : this.nodeNotReady(name, node, observed, current);
  }

  /** RecordNodeStatusChange + MarkPodsNotReady when the controller took Ready away (or a retry is due). */
  private nodeNotReady(name: string, node: V1Node, observed: V1NodeCondition, current: V1NodeCondition): Promise<void> | undefined {
    const decision = nodeNotReadyDecision(observed, current, this.podsNotReadyRetry.has(name));
    if (decision.recordNodeNotReady) {
      this.log.info('Node is NotReady', { node: name });
      this.opts.recorder?.event(nodeRef(node), 'Normal', NodeNotReadyEventReason, nodeStatusChangeEventMessage(name, NodeNotReadyEventReason));
    }
    if (!decision.markPodsNotReady) return undefined;
    return this.markPodsNotReady(name).then((ok) => {
      if (ok) this.podsNotReadyRetry.delete(name);
      else this.podsNotReadyRetry.add(name);
    });
  }

  /** tryUpdateNodeHealth on the cached Node and Lease; the health it gives is saved at once. */
  private assessNodeHealth(name: string, node: V1Node): NodeHealthResult {
    const r = tryUpdateNodeHealth(node, this.opts.leases.get(name, NamespaceNodeLease), this.health.get(name), this.opts.clock.now(), this.settings);
    this.health.set(name, r.health);
    return r;
  }

  /**
   * The status write of a node gone silent, with its retries (a conflict or error: read the Node
   * again and decide again, up to nodeHealthUpdateRetry times). Undefined when all attempts failed.
   */
  private async writeNodeHealth(name: string, listed: V1Node, first: NodeHealthResult): Promise<{ node: V1Node; observed: V1NodeCondition; current: V1NodeCondition | undefined } | undefined> {
    let r = first;
    for (let attempt = 0; attempt < nodeHealthUpdateRetry; attempt++) {
      const u = r.nodeStatusUpdate;
      if (!u) return { node: listed, observed: r.observedReadyCondition, current: r.currentReadyCondition };
      try {
        const written = await this.opts.client.patchNodeConditions(listed, u.conditions.filter((c) => u.changed.includes(c.type)));
        this.health.set(name, u.healthAfterWrite);
        this.log.info('Node status set to Unknown: the kubelet stopped reporting', { node: name, conditions: u.changed });
        return { node: written, observed: r.observedReadyCondition, current: r.currentReadyCondition };
      } catch (e) {
        this.log.warn('Failed to update node health, will retry', { node: name, attempt: attempt + 1, err: errorMessage(e) });
        try {
          listed = await this.opts.client.getNode(name);
        } catch (err) {
          this.log.warn('Failed to get node', { node: name, err: errorMessage(err) });
          return undefined;
        }
        r = this.assessNodeHealth(name, listed);
      }
    }
    this.log.error('Update health of Node from Controller failed; skipping it this pass', { node: name });
    return undefined;
  }

  /**
   * processTaintBaseEviction: swap at once, queue for tainting, or mark reachable. Returns the
   * write under way, or undefined when there is none (most nodes: no promise per node per pass).
   */
  private processTaintBaseEviction(node: V1Node, observed: V1NodeCondition): Promise<void> | undefined {
    const name = node.metadata?.name ?? '';
    const action = noExecuteAction(node, observed);
    switch (action.kind) {
      case 'swap':
        return this.opts.client.updateNodeTaints(name, (cur) => applyTaints(cur.spec?.taints, [action.add], [action.remove], this.opts.clock.now())).catch((e: unknown) => {
          this.log.warn('Failed to swap the NoExecute taint, will retry', { node: name, err: errorMessage(e) });
        });
      case 'enqueue': {
        const q = this.queueFor(node);
        if (action.removeFromQueueFirst) q.remove(name);
        q.add(name, node.metadata?.uid);
        return undefined;
      }
      case 'markReachable':
        return this.markNodeAsReachable(node, action.removeTaints);
      case 'none':
        return undefined;
    }
  }

  /**
   * markNodeAsReachable: the node out of its queue and the controller's NoExecute taints removed.
   * Returns the write under way, or undefined when the node carries none of those taints.
   */
  private markNodeAsReachable(node: V1Node, taints = reachableTaintRemovals(node)): Promise<void> | undefined {
    const name = node.metadata?.name ?? '';
    this.zoneQueues.get(zoneKey(node))?.remove(name);
    if (taints.length === 0) return undefined;
    return this.opts.client.updateNodeTaints(name, (cur) => applyTaints(cur.spec?.taints, [], taints, this.opts.clock.now())).then(
      () => this.log.info('Node is reachable again: NoExecute taints removed', { node: name }),
      (e: unknown) => this.log.warn('Failed to remove NoExecute taints', { node: name, err: errorMessage(e) }),
    );
  }

  /** MarkPodsNotReady: every pod on the node gets Ready=False; false when some write failed. */
  private async markPodsNotReady(nodeName: string): Promise<boolean> {
    let ok = true;
    for (const key of [...(this.podsByNode.get(nodeName) ?? [])]) {
      const pod = this.podByKey(key);
      if (pod?.spec?.nodeName !== nodeName) continue;
      const write = this.markPodNotReady(pod, nodeName);
      if (write) ok = (await write) && ok;
    }
    return ok;
  }

  /** One pod's Ready=False write and event; undefined when there is nothing to write (resolves false when the write failed). */
  private markPodNotReady(pod: V1Pod, nodeName: string): Promise<boolean> | undefined {
    const conditions = podReadyFalseConditions(pod, nodeName, this.opts.clock.now());
    const ready = conditions?.find((c) => c.type === 'Ready');
    if (!ready) return undefined;
    return this.opts.client.patchPodReadyCondition(pod, ready).then(
      () => {
        this.opts.recorder?.event({ kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '', apiVersion: 'v1' }, 'Warning', NodeNotReadyEventReason, podNodeNotReadyEventMessage);
        return true;
      },
      (e: unknown) => {
        if ((e as { code?: number }).code === 404) return true;
        this.log.warn('Failed to mark pod NotReady', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, err: errorMessage(e) });
        return false;
      },
    );
  }

  /** handleDisruption: zone states, rates, the all-zones switch, zone gauges. */
  private async applyDisruption(zoneConditions: Map<string, (V1NodeCondition | undefined)[]>): Promise<void> {
    const d = handleDisruption({ zoneStates: this.zoneStates, zoneReadyConditions: zoneConditions, unhealthyZoneThreshold: this.settings.unhealthyZoneThreshold, rates: this.settings });
    for (const [zone, state] of d.zoneStates) {
      if (this.zoneStates.get(zone) !== state) this.log.info('Zone state changed', { zone: printable(zone), from: this.zoneStates.get(zone) ?? 'none', to: state });
    }
    this.zoneStates = d.zoneStates;
    for (const { zone, qps } of d.setRates) this.addZone(zone).swapLimiter(qps);
    for (const zone of d.removedZones) this.zoneQueues.delete(zone);
    if (d.enteredFullDisruption) {
      this.log.warn('Controller detected that all Nodes are not-Ready. Entering master disruption mode');
      // one node after another: not thousands of writes at the API server at once
      for (const n of this.opts.nodes.list()) {
        const write = this.markNodeAsReachable(n);
        if (write) await write;
      }
    }
    if (d.exitedFullDisruption) {
      this.log.info('Controller detected that some Nodes are Ready. Exiting master disruption mode');
      const reset = resetProbeTimes(this.health, this.health.keys(), this.opts.clock.now());
      this.health.clear();
      for (const [k, v] of reset) this.health.set(k, v);
    }
    for (const m of d.metrics) {
      const zone = printable(m.zone);
      this.metrics?.zoneSize.set({ zone }, m.size);
      this.metrics?.unhealthyNodes.set({ zone }, m.unhealthy);
      this.metrics?.zoneHealth.set({ zone }, m.healthPercent);
    }
  }

  private addZone(zone: string): RateLimitedTimedQueue {
    let q = this.zoneQueues.get(zone);
    if (!q) {
      q = new RateLimitedTimedQueue(this.opts.clock, this.settings.evictionRate);
      this.zoneQueues.set(zone, q);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
    }
    return q;
  }

  private queueFor(node: V1Node): RateLimitedTimedQueue {
    return this.addZone(zoneKey(node));
  }

  // ---------------------------------------------------------------- the NoExecute tainting pass

  /** doNoExecuteTaintingPass: every zone's queue, at its rate. */
  async doNoExecuteTaintingPass(): Promise<void> {
    if (this.taintingRunning || !this.running) return;
    this.taintingRunning = true;
    try {
      for (const [zone, q] of this.zoneQueues) await q.try((item) => this.taintNode(zone, item.value));
    } finally {
      this.taintingRunning = false;
    }
  }

  private async taintNode(zone: string, name: string): Promise<ActionResult> {
    const node = this.opts.nodes.get(name);
    if (!node) return { ok: true }; // deleted meanwhile
    const t = noExecuteTaintFor(getReadyCondition(node));
    if (!t) return { ok: true }; // Ready again: the monitor pass removes the taints
    try {
      await this.opts.client.updateNodeTaints(name, (cur) => applyTaints(cur.spec?.taints, [t.add], [t.remove], this.opts.clock.now()));
    } catch (e) {
      this.log.warn('Failed to taint node, will retry', { node: name, err: errorMessage(e) });
      return { ok: false, retryAfterMs: noExecuteRetryAfterMs };
    }
    this.log.info('Node tainted NoExecute', { node: name, taint: t.add.key });
    this.metrics?.evictions.inc({ zone: printable(zone) });
    return { ok: true };
  }

  // ---------------------------------------------------------------- node and pod update workers

  private enqueueNode(n: V1Node): void {
    if (this.running) this.nodeUpdates.add(n.metadata?.name ?? '');
  }

  private enqueuePod(p: V1Pod): void {
    if (!this.running || !p.spec?.nodeName) return;
    this.podUpdates.add(`${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
  }

  /** doNoScheduleTaintingPass + reconcileNodeLabels for one node. */
  async doNoScheduleTaintingPass(name: string): Promise<void> {
    const node = this.opts.nodes.get(name);
    if (!node) return;
    const diff = noScheduleTaintsDiff(node);
    const labels = reconcileNodeLabels(node);
    if (diff.add.length === 0 && diff.remove.length === 0 && !labels) return;
    try {
      await this.opts.client.updateNodeTaints(name, (cur) => {
        const d = noScheduleTaintsDiff(cur);
        const applied = applyTaints(cur.spec?.taints, d.add, d.remove, this.opts.clock.now());
        const l = reconcileNodeLabels(cur);
        return { taints: applied.taints, changed: applied.changed || !!l, ...(l ? { labels: l } : {}) };
      });
    } catch (e) {
      this.log.warn('Failed to update the NoSchedule taints, will retry', { node: name, err: errorMessage(e) });
      this.opts.clock.setTimeout(() => this.enqueueNode(node), 1000);
    }
  }

  /** processPod: a pod on a node that is not Ready is marked NotReady. */
  private processPod(key: string): Promise<void> | undefined {
    const pod = this.podByKey(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName) return undefined;
    const ready = getReadyCondition(this.opts.nodes.get(nodeName));
    if (!ready || ready.status === ConditionTrue) return undefined;
    return this.markPodNotReady(pod, nodeName)?.then((ok) => {
      if (!ok) this.opts.clock.setTimeout(() => this.enqueuePod(pod), 1000);
    });
  }
}

/** The zone key with its NUL separator shown as upstream's metrics label shows it. */
function printable(zone: string): string {
  return zone.replace(/\0/g, '');
}
