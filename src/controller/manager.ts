// The controllers' wiring (models kube-controller-manager's controller context for the two
// controllers nodelet has: startNodeLifecycleController and startTaintEvictionController): shared
// informers for Nodes, Leases (kube-node-lease), Pods and DaemonSets, built once from the
// kubeconfig; the controllers start only once every informer has synced, and stop at once (losing
// the leader lease).

import { AppsV1Api, CoordinationV1Api, CoreV1Api, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1DaemonSet, type V1Lease, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Clock } from '../util/clock.js';
import { nopLogger, type Logger } from '../util/logger.js';
import { ApiEventRecorder } from './events.js';
import { ApiInformer, nodeCacheTransform, podCacheTransform, type Informer } from './informers.js';
import { kubeNodeLifecycleClient, NodeLifecycleController, type NodeLifecycleSettings } from './nodelifecycle/index.js';
import { kubeTaintEvictionClient, TaintEvictionController } from './tainteviction/index.js';

export interface ControllerManagerOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  logger?: Logger;
  registry?: Registry;
  nodeLifecycle?: Partial<NodeLifecycleSettings>;
}

export interface SharedInformers {
  nodes: Informer<V1Node>;
  leases: Informer<V1Lease>;
  pods: Informer<V1Pod>;
  daemonSets: Informer<V1DaemonSet>;
}

/** The informers kube-controller-manager's node controllers watch. */
export function apiInformers(kc: KubeConfig, clock: Clock, logger: Logger): SharedInformers {
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  // every list read in pages of 500, as client-go's reflector does; Nodes and Pods cached as transformed
  const make = <T extends KubernetesObject>(
    path: string,
    listPage: (token: string | undefined, limit: number) => Promise<KubernetesListObject<T>>,
    transform?: (o: T) => T,
  ): Informer<T> => new ApiInformer<T>({ kubeConfig: kc, path, listPage, ...(transform ? { transform } : {}), clock, logger });
  const page = (token: string | undefined, limit: number) => ({ limit, ...(token ? { _continue: token } : {}) });
  return {
    nodes: make<V1Node>('/api/v1/nodes', (t, l) => core.listNode(page(t, l)), nodeCacheTransform),
    leases: make<V1Lease>('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', (t, l) => coordination.listNamespacedLease({ namespace: 'kube-node-lease', ...page(t, l) })),
    pods: make<V1Pod>('/api/v1/pods', (t, l) => core.listPodForAllNamespaces(page(t, l)), podCacheTransform),
    daemonSets: make<V1DaemonSet>('/apis/apps/v1/daemonsets', (t, l) => apps.listDaemonSetForAllNamespaces(page(t, l))),
  };
}

export class ControllerManager {
  readonly informers: SharedInformers;
  readonly nodeLifecycle: NodeLifecycleController;
  readonly taintEviction: TaintEvictionController;
  private readonly log: Logger;
  private started = false;

  constructor(private readonly opts: ControllerManagerOptions, informers?: SharedInformers) {
    const { kubeConfig, clock, registry } = opts;
    this.log = opts.logger ?? nopLogger;
    this.informers = informers ?? apiInformers(kubeConfig, clock, this.log.child({ component: 'informers' }));
    this.nodeLifecycle = new NodeLifecycleController({
      ...this.informers,
      client: kubeNodeLifecycleClient(kubeConfig),
      clock,
      logger: this.log,
      ...(registry ? { registry } : {}),
      recorder: new ApiEventRecorder({ kubeConfig, component: 'node-controller', clock, logger: this.log.child({ component: 'events' }) }),
      ...(opts.nodeLifecycle ? { settings: opts.nodeLifecycle } : {}),
    });
    this.taintEviction = new TaintEvictionController({
      nodes: this.informers.nodes,
      pods: this.informers.pods,
      client: kubeTaintEvictionClient(kubeConfig, clock),
      clock,
      logger: this.log,
      recorder: new ApiEventRecorder({ kubeConfig, component: 'taint-eviction-controller', clock, logger: this.log.child({ component: 'events' }) }),
    });
  }

  /** Starts the informers, waits until all have synced (or the signal aborts), then the controllers. */
  async start(signal?: AbortSignal): Promise<void> {
    const { clock } = this.opts;
    const all = Object.values(this.informers) as Informer<KubernetesObject>[];
    await Promise.all(all.map((i) => i.start()));
    while (!all.every((i) => i.hasSynced())) {
      if (signal?.aborted) return;
      await clock.sleep(100, signal).catch(() => undefined);
    }
    if (signal?.aborted) return;
    this.log.info('Caches are synced', { informers: 'nodes, leases, pods, daemonsets' });
    this.started = true;
    this.nodeLifecycle.start();
    await this.taintEviction.start();
  }

  /** Stops the controllers at once, then the informers. */
  async stop(): Promise<void> {
    if (this.started) await Promise.all([this.nodeLifecycle.stop(), this.taintEviction.stop()]);
    this.started = false;
    await Promise.all((Object.values(this.informers) as Informer<KubernetesObject>[]).map((i) => i.stop()));
  }
}
