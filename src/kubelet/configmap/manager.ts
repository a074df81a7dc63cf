// The kubelet's ConfigMap manager (models pkg/kubelet/configmap/configmap_manager.go with the
// cache-based strategy, NewCachingConfigMapManager, and pkg/api/v1/pod VisitPodConfigmapNames):
// GetConfigMap through the node's client, cached with a TTL per object and kept while a
// registered pod references it (src/util/objectcache.ts has the cache's rules).
//
// Differences: the Cache strategy only (upstream's default is Watch: one watch per referenced
// object); the NotFound wording is the Watch strategy's (`configmap "x" not found`).

import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { CachingObjectManager, toObjectError, type ObjectCacheOptions, type ObjectFetcher } from '../../util/objectcache.js';

/** What consumers (env, volumes) need: one ConfigMap by name; rejects with ObjectNotFoundError on 404. */
export interface ConfigMapGetter {
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap>;
}

/** VisitPodConfigmapNames: configMapKeyRef/configMapRef of every container, configMap volumes and projected sources. */
export function podConfigMapNames(pod: V1Pod): Set<string> {
  const out = new Set<string>();
  const containers: V1Container[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...((pod.spec?.ephemeralContainers ?? []) as V1Container[])];
  for (const c of containers) {
    for (const e of c.envFrom ?? []) if (e.configMapRef?.name) out.add(e.configMapRef.name);
    for (const e of c.env ?? []) if (e.valueFrom?.configMapKeyRef?.name) out.add(e.valueFrom.configMapKeyRef.name);
  }
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) out.add(v.configMap.name);
    for (const s of v.projected?.sources ?? []) if (s.configMap?.name) out.add(s.configMap.name);
  }
  return out;
}

/** GET /api/v1/namespaces/{ns}/configmaps/{name} with the node's credentials. */
export function kubeConfigMapFetcher(kc: KubeConfig): ObjectFetcher<V1ConfigMap> {
  const api = kc.makeApiClient(CoreV1Api);
  return async (namespace, name) => {
    try {
      return await api.readNamespacedConfigMap({ name, namespace });
    } catch (e) {
      throw toObjectError(e, 'configmap', namespace, name);
    }
  };
}

export type ConfigMapManagerOptions = Omit<ObjectCacheOptions<V1ConfigMap>, 'fetch' | 'referencedNames'> & {
  /** The node's kubeconfig (cluster mode); or `fetch` for tests. */
  kubeConfig?: KubeConfig;
  fetch?: ObjectFetcher<V1ConfigMap>;
};

/** configmap.Manager: getConfigMap, RegisterPod, UnregisterPod (the shared cache does the work). */
export class ConfigMapManager extends CachingObjectManager<V1ConfigMap> implements ConfigMapGetter {
  constructor(opts: ConfigMapManagerOptions) {
    const fetch = opts.fetch ?? (opts.kubeConfig ? kubeConfigMapFetcher(opts.kubeConfig) : undefined);
    if (!fetch) throw new Error('ConfigMapManager needs a kubeConfig or a fetch function');
    super({ ...opts, fetch, referencedNames: podConfigMapNames });
  }

  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap> {
    return this.get(namespace, name);
  }
}
