// The node lifecycle controller's API edge (what upstream does through clientset calls and
// pkg/controller/util/node: UpdateNodeStatus, SwapNodeControllerTaint / AddOrUpdateTaintOnNode /
// RemoveTaintOffNode with their conflict retries, MarkPodsNotReady's UpdateStatus). The loops in
// controller.ts see only this interface; tests and benchmarks may give a fake.

import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1NodeCondition, type V1Pod, type V1PodCondition, type V1Taint } from '@kubernetes/client-node';

/** What a taint/label change computes from the Node as just read. */
export interface NodeMutation {
  taints: V1Taint[];
  changed: boolean;
  /** Labels to set (merged over the node's). */
  labels?: Record<string, string>;
}

export interface NodeLifecycleClient {
  getNode(name: string): Promise<V1Node>;
  /**
   * UpdateNodeStatus's write of the conditions the controller changed: a strategic merge patch of
   * nodes/status (conditions merge by type) carrying the node's resourceVersion, so a Node changed
   * since it was read answers 409 as an update would. Upstream sends the whole Node; a patch lets
   * the informer cache keep only what the controllers read (nodeCacheTransform).
   */
  patchNodeConditions(node: V1Node, conditions: V1NodeCondition[]): Promise<V1Node>;
  /** Read, mutate, write the Node's taints (and labels) in one update; conflicts retried. */
  updateNodeTaints(name: string, mutate: (node: V1Node) => NodeMutation): Promise<void>;
  /**
   * MarkPodsNotReady's write: the pod's Ready condition, as a strategic merge patch of
   * pods/status (conditions merge by type) with a uid precondition. Upstream sends UpdateStatus
   * with the whole pod; a patch lets the informer cache keep only what the controllers read.
   */
  patchPodReadyCondition(pod: V1Pod, ready: V1PodCondition): Promise<void>;
}

/** Conflict retries of a taint update (upstream retry.DefaultBackoff: 5 steps). */
const maxConflictRetries = 5;

export function kubeNodeLifecycleClient(kc: KubeConfig): NodeLifecycleClient {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    getNode: (name) => api.readNode({ name }),
    patchNodeConditions: (node, conditions) =>
      api.patchNodeStatus(
        { name: node.metadata?.name ?? '', body: { metadata: { resourceVersion: node.metadata?.resourceVersion }, status: { conditions } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    async updateNodeTaints(name, mutate) {
      for (let attempt = 0; ; attempt++) {
        const node = await api.readNode({ name });
        const m = mutate(node);
        if (!m.changed) return;
        const body: V1Node = {
          ...node,
          metadata: { ...node.metadata, ...(m.labels ? { labels: { ...node.metadata?.labels, ...m.labels } } : {}) },
          spec: { ...node.spec, taints: m.taints },
        };
        try {
          await api.replaceNode({ name, body });
          return;
        } catch (e) {
          if (!(e instanceof ApiException && e.code === 409) || attempt + 1 >= maxConflictRetries) throw e;
        }
      }
    },
    patchPodReadyCondition: async (pod, ready) => {
      const body = { metadata: { uid: pod.metadata?.uid }, status: { conditions: [ready] } };
      await api.patchNamespacedPodStatus({ name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    },
  };
}

/** The in-memory client of the benchmark and unit tests: writes go straight into the informers' objects. */
export function memoryNodeLifecycleClient(store: {
  getNode(name: string): V1Node | undefined;
  putNode(node: V1Node): void;
  putPod(pod: V1Pod): void;
}): NodeLifecycleClient & { writes: number } {
  const client = {
    writes: 0,
    getNode: (name: string) => {
      const n = store.getNode(name);
      return n ? Promise.resolve(n) : Promise.reject(Object.assign(new Error(`nodes "${name}" not found`), { code: 404 }));
    },
    patchNodeConditions: (node: V1Node, changed: V1NodeCondition[]) => {
      const cur = store.getNode(node.metadata?.name ?? '');
      if (!cur) return Promise.reject(Object.assign(new Error(`nodes "${node.metadata?.name}" not found`), { code: 404 }));
      if (cur.metadata?.resourceVersion !== node.metadata?.resourceVersion) return Promise.reject(Object.assign(new Error('conflict'), { code: 409 }));
      client.writes++;
      const conditions = [...(cur.status?.conditions ?? [])];
      for (const c of changed) {
        const i = conditions.findIndex((x) => x.type === c.type);
        if (i >= 0) conditions[i] = c;
        else conditions.push(c);
      }
      const written: V1Node = { ...cur, status: { ...cur.status, conditions } };
      store.putNode(written);
      return Promise.resolve(written);
    },
    updateNodeTaints: async (name: string, mutate: (node: V1Node) => NodeMutation) => {
      for (let attempt = 0; attempt < maxConflictRetries; attempt++) {
        const node = await client.getNode(name);
        const m = mutate(node);
        if (!m.changed) return;
        // optimistic concurrency as the API server's resourceVersion: a node changed meanwhile is a conflict
        if (store.getNode(name) !== node) continue;
        client.writes++;
        store.putNode({ ...node, metadata: { ...node.metadata, ...(m.labels ? { labels: { ...node.metadata?.labels, ...m.labels } } : {}) }, spec: { ...node.spec, taints: m.taints } });
        return;
      }
      throw Object.assign(new Error(`nodes "${name}": conflict`), { code: 409 });
    },
    patchPodReadyCondition: (pod: V1Pod, ready: V1PodCondition) => {
      client.writes++;
      const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === ready.type ? ready : c));
      store.putPod({ ...pod, status: { ...pod.status, conditions } });
      return Promise.resolve();
    },
  };
  return client;
}
