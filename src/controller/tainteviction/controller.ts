// TaintEvictionController: deletes pods from nodes with NoExecute taints they do not tolerate, or
// once their tolerationSeconds run out (models upstream pkg/controller/tainteviction/
// taint_eviction.go: New, Run, PodUpdated, NodeUpdated, handlePodUpdate, handleNodeUpdate,
// processPodOnNode, cancelWorkWithEvent, deletePodHandler, emitPodDeletionEvent,
// emitCancelPodDeletionEvent; metrics/metrics.go).
//
// As upstream: node events matter only when the node's NoExecute taints change (timeAdded
// included), pod events only when nodeName or tolerations change, and a pod delete cancels. The
// controller keeps the NoExecute taints of every tainted node; a node update re-evaluates every
// pod bound to it at one `now`; a pod update is evaluated against its node's known taints. The
// decisions are decisions.ts. At the deadline: event TaintManagerEviction "Marking for deletion
// Pod <ns>/<name>", then up to 5 attempts, 10 ms apart, of "add the DisruptionTarget condition
// (reason DeletionByTaintManager), then delete"; a cancelled eviction records "Cancelling deletion
// of Pod <ns>/<name>". Terminating and terminal pods are not skipped (upstream does not either).
// Metrics taint_eviction_controller_pod_deletions_total and
// taint_eviction_controller_pod_deletion_duration_seconds.
//
// Differences: single-threaded, events are handled as they arrive instead of through 8 sharded
// workers with node updates first (same result: a node update is complete before the next event);
// pods are indexed by spec.nodeName here (the informer has no indexer); the eviction carries the
// pod's UID and deletes with a UID precondition, and stops retrying once the pod is gone or was
// replaced (upstream retries NotFound too, then gives up the same way); a pod update leaving it
// on a node without NoExecute taints (or unbound) cancels its eviction (upstream ignores it: only
// reachable if spec.nodeName changed, which the API forbids); start()/stop() follow
// leadership (stop cancels every scheduled eviction and abandons retries; start re-evaluates every
// tainted node, as a new upstream leader does, and the deadlines run from the taints' timeAdded,
// so a new leader does not restart them: decisions.ts); the latency histogram is observed in seconds
// (upstream multiplies a Duration by time.Second).

import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import type { ControllerEventRecorder } from '../events.js';
import type { Informer } from '../informers.js';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { Counter, getOrCreate, Histogram, type Registry } from '../../util/metrics.js';
import {
  cancellingDeletionMessage,
  evictionDecision,
  getNoExecuteTaints,
  markingForDeletionMessage,
  TaintManagerEvictionReason,
  taintsEqual,
  tolerationsEqual,
} from './decisions.js';
import { TimedWorkerQueue } from './timedworkers.js';

/** The controller's name (kube-controller-manager names.TaintEvictionController): the event source component. */
export const TaintEvictionControllerName = 'taint-eviction-controller';

/** The pod an event is about, as upstream refers to it (no UID). */
export interface PodRef {
  apiVersion: 'v1';
  kind: 'Pod';
  namespace: string;
  name: string;
}

export type PodEventRecorder = (pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string) => void;

/** Thrown by a client when the pod is gone or is another pod now: the eviction is over. */
export class PodGoneError extends Error {
  constructor(namespace: string, name: string, detail: string) {
    super(`pod ${namespace}/${name}: ${detail}`);
    this.name = 'PodGoneError';
  }
}

/** The API calls of an eviction (addConditionAndDeletePod). */
export interface TaintEvictionClient {
  /** Adds DisruptionTarget=True (DeletionByTaintManager) to the pod's status unless already there. */
  addDisruptionTargetCondition(pod: V1Pod): Promise<void>;
  /** Deletes the pod (its own grace period) if it still has this UID. */
  deletePod(namespace: string, name: string, uid: string): Promise<void>;
}

export interface TaintEvictionControllerOptions {
  nodes: Informer<V1Node>;
  pods: Informer<V1Pod>;
  client: TaintEvictionClient;
  /** Events about pods (source component "taint-eviction-controller"): a recorder or a function. */
  recorder?: ControllerEventRecorder | PodEventRecorder;
  clock: Clock;
  logger?: Logger;
  registry?: Registry;
  /** Attempts of condition + delete per eviction (upstream `retries`, 5). */
  deleteAttempts?: number;
  /** Wait between attempts (upstream 10 ms). */
  retryDelayMs?: number;
  /** How often start() checks that the informers have synced (100 ms). */
  syncPollMs?: number;
}

interface EvictionArgs {
  namespace: string;
  name: string;
}

const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;
const keyOf = (p: V1Pod): string => podKey(p.metadata?.namespace ?? '', p.metadata?.name ?? '');

export class TaintEvictionController {
  private readonly nodes: Informer<V1Node>;
  private readonly pods: Informer<V1Pod>;
  private readonly client: TaintEvictionClient;
  private readonly recorder: PodEventRecorder;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly syncPollMs: number;
  private readonly queue: TimedWorkerQueue<EvictionArgs>;
  private readonly deletionsTotal: Counter | undefined;
  private readonly deletionLatency: Histogram | undefined;

  /** NoExecute taints of the nodes that have some (taintedNodes). */
  private readonly taintedNodes = new Map<string, V1Taint[]>();
  /** Pod keys by spec.nodeName, and each pod's node (the spec.nodeName index). */
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly nodeOfPod = new Map<string, string>();

  private running = false;
  private abort: AbortController | undefined;

  constructor(opts: TaintEvictionControllerOptions) {
    this.nodes = opts.nodes;
    this.pods = opts.pods;
    this.client = opts.client;
    const r = opts.recorder;
    this.recorder = !r ? () => {} : typeof r === 'function' ? r : (ref, type, reason, message) => r.event(ref, type, reason, message);
    this.clock = opts.clock;
    this.log = (opts.logger ?? nopLogger).child({ controller: TaintEvictionControllerName });
    this.attempts = Math.max(1, opts.deleteAttempts ?? 5);
    this.retryDelayMs = opts.retryDelayMs ?? 10;
    this.syncPollMs = opts.syncPollMs ?? 100;
    this.queue = new TimedWorkerQueue<EvictionArgs>(this.clock, (key, args, fireAt) => this.evict(key, args, fireAt), this.log);
    const reg = opts.registry;
    if (reg) {
      this.deletionsTotal = getOrCreate(reg, 'taint_eviction_controller_pod_deletions_total', () => new Counter({
        name: 'taint_eviction_controller_pod_deletions_total',
        help: 'Total number of Pods deleted by TaintEvictionController since its start.',
        registers: [reg],
      }));
      this.deletionLatency = getOrCreate(reg, 'taint_eviction_controller_pod_deletion_duration_seconds', () => new Histogram({
        name: 'taint_eviction_controller_pod_deletion_duration_seconds',
        help: 'Latency, in seconds, between the time when a taint effect has been activated for the Pod and its deletion via TaintEvictionController.',
        buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 60, 120, 180, 240],
        registers: [reg],
      }));
    }

    for (const p of this.pods.list()) this.indexPod(p);
    this.pods.on('add', (p) => this.guard(() => this.podUpdated(undefined, p)));
    this.pods.on('update', (p, old) => this.guard(() => this.podUpdated(old, p)));
    this.pods.on('delete', (p) => this.guard(() => this.podUpdated(p, undefined)));
    this.nodes.on('add', (n) => this.guard(() => this.nodeUpdated(undefined, n)));
    this.nodes.on('update', (n, old) => this.guard(() => this.nodeUpdated(old, n)));
    this.nodes.on('delete', (n) => this.guard(() => this.nodeUpdated(n, undefined)));
  }

  /**
   * Starts acting (call when this process becomes the leader): waits until both informers have
   * synced, then evaluates every pod on every node with NoExecute taints. Resolves once that is
   * done (or at once if stop() comes first).
   */
  async start(): Promise<void> {
    if (this.running || this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.log.info('Starting controller');
    while (!(this.nodes.hasSynced() && this.pods.hasSynced())) {
      try {
        await this.clock.sleep(this.syncPollMs, abort.signal);
      } catch {
        return;
      }
    }
    if (abort.signal.aborted) return;
    this.running = true;
    // rebuild from the caches: the index, then every node as a fresh add
    this.podsByNode.clear();
    this.nodeOfPod.clear();
    for (const p of this.pods.list()) this.indexPod(p);
    this.taintedNodes.clear();
    for (const n of this.nodes.list()) this.guard(() => this.handleNodeUpdate(n.metadata?.name ?? ''));
  }

  /** Stops acting at once (leadership lost, shutdown): cancels every scheduled eviction, abandons retries. */
  async stop(): Promise<void> {
    if (!this.abort) return;
    this.log.info('Shutting down controller');
    this.abort.abort(new Error('taint eviction controller stopped'));
    this.abort = undefined;
    this.running = false;
    this.taintedNodes.clear();
    await this.queue.cancelAll();
  }

  /** Evictions waiting for their time: pod key → { createdAt, fireAt } (diagnostics, tests). */
  scheduled(): Map<string, { createdAt: number; fireAt: number }> {
    return this.queue.pending();
  }

  /** Resolves when no deletion is in progress (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // ------------------------------------------------------------------ events

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error('Taint eviction controller failed to handle an event', { err: errorMessage(err) });
    }
  }

  private indexPod(p: V1Pod): void {
    const k = keyOf(p);
    const node = p.spec?.nodeName ?? '';
    const prev = this.nodeOfPod.get(k);
    if (prev === node) return;
    if (prev !== undefined) this.unindexPod(k);
    if (!node) return;
    this.nodeOfPod.set(k, node);
    let set = this.podsByNode.get(node);
    if (!set) this.podsByNode.set(node, (set = new Set()));
    set.add(k);
  }

  private unindexPod(k: string): void {
    const node = this.nodeOfPod.get(k);
    if (node === undefined) return;
    this.nodeOfPod.delete(k);
    const set = this.podsByNode.get(node);
    set?.delete(k);
    if (set?.size === 0) this.podsByNode.delete(node);
  }

  /** PodUpdated + handlePodUpdate. */
  private podUpdated(oldPod: V1Pod | undefined, newPod: V1Pod | undefined): void {
    if (newPod) this.indexPod(newPod);
    else if (oldPod) this.unindexPod(keyOf(oldPod));
    if (!this.running) return;
    if (oldPod && newPod && tolerationsEqual(oldPod.spec?.tolerations, newPod.spec?.tolerations) && oldPod.spec?.nodeName === newPod.spec?.nodeName) return;
    const ref = (newPod ?? oldPod)!;
    const namespace = ref.metadata?.namespace ?? '';
    const name = ref.metadata?.name ?? '';
    const pod = newPod ? this.pods.get(name, namespace) : undefined;
    if (!pod) {
      this.log.debug('Noticed pod deletion', { pod: podKey(namespace, name) });
      this.cancelWorkWithEvent(namespace, name);
      return;
    }
    const nodeName = pod.spec?.nodeName ?? '';
    const taints = nodeName ? this.taintedNodes.get(nodeName) : undefined;
    // not bound, or its node has no NoExecute taints: nothing to evict for (upstream returns,
    // relying on the node's own update to have cancelled; a pod whose nodeName changed would
    // keep an eviction scheduled for its old node)
    if (!taints) {
      this.cancelWorkWithEvent(namespace, name);
      return;
    }
    this.processPodOnNode(pod, nodeName, taints, this.clock.now());
  }

  /** NodeUpdated: only a change of the NoExecute taints matters. */
  private nodeUpdated(oldNode: V1Node | undefined, newNode: V1Node | undefined): void {
    if (!this.running) return;
    if (oldNode && newNode && taintsEqual(getNoExecuteTaints(oldNode.spec?.taints), getNoExecuteTaints(newNode.spec?.taints))) return;
    this.handleNodeUpdate((newNode ?? oldNode)?.metadata?.name ?? '');
  }

  private handleNodeUpdate(nodeName: string): void {
    const node = this.nodes.get(nodeName);
    if (!node) {
      this.log.debug('Noticed node deletion', { node: nodeName });
      this.taintedNodes.delete(nodeName);
      return;
    }
    const taints = getNoExecuteTaints(node.spec?.taints);
    if (taints.length === 0) this.taintedNodes.delete(nodeName);
    else this.taintedNodes.set(nodeName, taints);

    const pods = this.podsOnNode(nodeName);
    if (pods.length === 0) return;
    if (taints.length === 0) {
      this.log.debug('All taints were removed from the node. Cancelling all evictions...', { node: nodeName });
      for (const p of pods) this.cancelWorkWithEvent(p.metadata?.namespace ?? '', p.metadata?.name ?? '');
      return;
    }
    const now = this.clock.now();
    for (const p of pods) this.processPodOnNode(p, nodeName, taints, now);
  }

  private podsOnNode(nodeName: string): V1Pod[] {
    const out: V1Pod[] = [];
    for (const k of this.podsByNode.get(nodeName) ?? []) {
      const i = k.indexOf('/');
      const p = this.pods.get(k.slice(i + 1), k.slice(0, i));
      if (p && p.spec?.nodeName === nodeName) out.push(p);
    }
    return out;
  }

  private processPodOnNode(pod: V1Pod, nodeName: string, taints: readonly V1Taint[], now: number): void {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const key = podKey(namespace, name);
    const d = evictionDecision(pod, taints, now, this.queue.get(key));
    switch (d.action) {
      case 'none':
        return;
      case 'cancel':
        this.cancelWorkWithEvent(namespace, name);
        return;
      case 'evictNow':
        this.log.info('Not all taints are tolerated after update for pod on node', { pod: key, node: nodeName });
        this.cancelWorkWithEvent(namespace, name);
        this.queue.add(key, { namespace, name }, now, now);
        return;
      case 'evictAt':
        if (this.queue.get(key)) this.cancelWorkWithEvent(namespace, name);
        this.queue.add(key, { namespace, name }, d.createdAt, d.at);
        return;
    }
  }

  private cancelWorkWithEvent(namespace: string, name: string): void {
    if (this.queue.cancel(podKey(namespace, name))) {
      this.recorder({ apiVersion: 'v1', kind: 'Pod', namespace, name }, 'Normal', TaintManagerEvictionReason, cancellingDeletionMessage(namespace, name));
    }
  }

  // ------------------------------------------------------------------ eviction

  /** deletePodHandler: the event, then up to `attempts` tries of condition + delete. */
  private async evict(key: string, args: EvictionArgs, fireAt: number): Promise<void> {
    const signal = this.abort?.signal;
    if (!signal || signal.aborted) return;
    const { namespace, name } = args;
    this.log.info('Deleting pod', { pod: key });
    this.recorder({ apiVersion: 'v1', kind: 'Pod', namespace, name }, 'Normal', TaintManagerEvictionReason, markingForDeletionMessage(namespace, name));
    let lastErr: unknown;
    for (let i = 0; i < this.attempts; i++) {
      if (signal.aborted) return;
      if (i > 0) {
        try {
          await this.clock.sleep(this.retryDelayMs, signal);
        } catch {
          return;
        }
      }
      const pod = this.pods.get(name, namespace);
      if (!pod) {
        this.log.debug('Pod is gone; nothing to delete', { pod: key });
        return;
      }
      try {
        await this.client.addDisruptionTargetCondition(pod);
        await this.client.deletePod(namespace, name, pod.metadata?.uid ?? '');
        this.deletionsTotal?.inc();
        this.deletionLatency?.observe(Math.max(0, this.clock.now() - fireAt) / 1000);
        return;
      } catch (err) {
        if (err instanceof PodGoneError) {
          this.log.info('Pod is gone or was replaced; eviction over', { pod: key, err: errorMessage(err) });
          return;
        }
        lastErr = err;
        this.log.warn('Failed to delete pod', { pod: key, attempt: i + 1, err: errorMessage(err) });
      }
    }
    throw new Error(`cannot delete pod ${key} after ${this.attempts} attempts: ${errorMessage(lastErr)}`, { cause: lastErr });
  }
}
