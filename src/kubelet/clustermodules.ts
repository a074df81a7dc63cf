// The kubelet's cluster-mode parts, built from the kubeconfig in one place (models the
// kubeClient-dependent half of pkg/kubelet/kubelet.go NewMainKubelet): the event recorder to the
// API (client-go tools/record), the API pod source (pkg/kubelet/config/apiserver.go), the status
// manager's API side (pkg/kubelet/status/status_manager.go syncPod/syncBatch), node registration
// and status (kubelet_node_status.go, pkg/kubelet/nodestatus), the node Lease
// (pkg/kubelet/nodelease, component-helpers lease controller), mirror pods
// (pkg/kubelet/pod/mirror_client.go) and the ConfigMap, Secret and service-account token managers
// (pkg/kubelet/configmap, pkg/kubelet/secret, pkg/kubelet/token). Standalone builds none of them.
//
// The modules never reach into the Kubelet: what they need of it comes through ClusterHooks,
// called lazily (the pod workers and the pod config exist only after these are built).

import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ttlFromNodeAnnotations } from '../util/objectcache.js';
import { ApiserverSource, nodePodListWatcher } from './config/index.js';
import { ConfigMapManager } from './configmap/index.js';
import type { LocalEventStore } from './events/index.js';
import { newClusterEventRecorder, type ClusterEventRecorder } from './events/cluster.js';
import { NodeLeaseController } from './nodelease/index.js';
import { NodeStatusManager, type NodeSettings, type StatusInputs } from './nodestatus/index.js';
import { MirrorClient } from './pod/index.js';
import { SecretManager } from './secret/index.js';
import { ApiStatusSync } from './status/index.js';
import { TokenManager } from './token/index.js';

export interface ClusterSettings {
  kubeConfig: KubeConfig;
  node: NodeSettings;
  /** nodeStatusUpdateFrequency (10 s), nodeStatusReportFrequency (5 m), nodeLeaseDurationSeconds (40). */
  nodeStatusUpdateFrequencyMs?: number;
  nodeStatusReportFrequencyMs?: number;
  nodeLeaseDurationSeconds?: number;
  /** eventRecordQPS (50; 0: no limit) and eventBurst (100). */
  eventRecordQPS?: number;
  eventBurst?: number;
}

export interface ClusterDeps {
  clock: Clock;
  logger: Logger;
  /** The local event store: every event is recorded there too (nodelet describe, /events). */
  localEvents: LocalEventStore;
}

/** What the cluster modules ask of the Kubelet; called lazily, never while being built. */
export interface ClusterHooks {
  /** The API source's pods, after every change (PodConfig's "api" source). */
  setApiPods(pods: V1Pod[]): void;
  /** Whether the pod's worker has finished (terminated); undefined when the pod has no worker. */
  podWorkerFinished(uid: string): boolean | undefined;
  /** What the node status setters read, every nodeStatusUpdateFrequency. */
  nodeStatusInputs(): Promise<StatusInputs>;
}

/** What pods reference (env, volumes, pull secrets, tokens), read with the node's identity. */
export interface PodRefManagers {
  configMaps: ConfigMapManager;
  secrets: SecretManager;
  tokens: TokenManager;
}

export interface ClusterModules {
  /** Events to the API (aggregated, spam-filtered, rate limited) and to the local store. */
  events: ClusterEventRecorder;
  apiSource: ApiserverSource;
  apiStatusSync: ApiStatusSync;
  nodeStatus: NodeStatusManager;
  nodeLease: NodeLeaseController;
  mirrorClient: MirrorClient;
  podRefs: PodRefManagers;
}

/** Builds the cluster-mode modules (nothing is started). */
export function buildClusterModules(cluster: ClusterSettings, nodeName: string, deps: ClusterDeps, hooks: ClusterHooks): ClusterModules {
  const { kubeConfig } = cluster;
  const { clock, logger } = deps;
  const events = newClusterEventRecorder({
    kubeConfig,
    nodeName,
    clock,
    logger: logger.child({ component: 'events' }),
    local: deps.localEvents,
    qps: cluster.eventRecordQPS ?? 50,
    burst: cluster.eventBurst ?? 100,
  });
  const apiSource = new ApiserverSource({
    clock,
    listWatcher: nodePodListWatcher(kubeConfig, nodeName),
    onSet: (pods) => hooks.setApiPods(pods),
    logger: logger.child({ component: 'config', source: 'api' }),
  });
  const apiStatusSync = new ApiStatusSync({
    clock,
    kubeConfig,
    logger: logger.child({ component: 'status', sink: 'api' }),
    canBeDeleted: (id) => hooks.podWorkerFinished(id) ?? false,
    couldHaveRunningContainers: (id) => !(hooks.podWorkerFinished(id) ?? true),
    lookupApiPod: (id) => apiSource.getPod(id),
  });
  const nodeStatus = new NodeStatusManager({
    kubeConfig,
    clock,
    settings: cluster.node,
    sources: { inputs: () => hooks.nodeStatusInputs() },
    logger: logger.child({ component: 'nodestatus' }),
    recorder: events,
    ...(cluster.nodeStatusUpdateFrequencyMs ? { updateFrequencyMs: cluster.nodeStatusUpdateFrequencyMs } : {}),
    ...(cluster.nodeStatusReportFrequencyMs ? { reportFrequencyMs: cluster.nodeStatusReportFrequencyMs } : {}),
  });
  const nodeLease = new NodeLeaseController({
    kubeConfig,
    clock,
    nodeName,
    logger: logger.child({ component: 'nodelease' }),
    ...(cluster.nodeLeaseDurationSeconds ? { leaseDurationSeconds: cluster.nodeLeaseDurationSeconds } : {}),
  });
  const mirrorClient = new MirrorClient({ kubeConfig, nodeName, nodeUID: () => nodeStatus.node()?.metadata?.uid, logger: logger.child({ component: 'mirror' }) });
  // the object caches' TTL follows the Node's node.alpha.kubernetes.io/ttl annotation
  const nodeTTL = (): number | undefined => ttlFromNodeAnnotations(nodeStatus.node()?.metadata?.annotations);
  const podRefs = {
    configMaps: new ConfigMapManager({ clock, kubeConfig, getTTL: nodeTTL }),
    secrets: new SecretManager({ clock, kubeConfig, getTTL: nodeTTL }),
    tokens: new TokenManager({ clock, kubeConfig, logger: logger.child({ component: 'token' }) }),
  };
  return { events, apiSource, apiStatusSync, nodeStatus, nodeLease, mirrorClient, podRefs };
}
