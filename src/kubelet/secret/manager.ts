// The kubelet's Secret manager (models pkg/kubelet/secret/secret_manager.go with the cache-based
// strategy, NewCachingSecretManager, pkg/api/v1/pod VisitPodSecretNames, and kubelet_pods.go
// getPullSecretsForPod): GetSecret through the node's client, cached with a TTL per object and
// kept while a registered pod references it (src/util/objectcache.ts has the cache's rules).
//
// Differences: the Cache strategy only (upstream's default is Watch); the NotFound wording is the
// Watch strategy's (`secret "x" not found`); the FailedToRetrieveImagePullSecret event is the
// image puller's (src/kubelet/images/puller.ts), which sees which named secrets came back.

import { CoreV1Api, type KubeConfig, type V1Container, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { CachingObjectManager, toObjectError, type ObjectCacheOptions, type ObjectFetcher } from '../../util/objectcache.js';

/** What consumers (env, volumes, pulls) need: one Secret by name; rejects with ObjectNotFoundError on 404. */
export interface SecretGetter {
  getSecret(namespace: string, name: string): Promise<V1Secret>;
}

/** VisitPodSecretNames: imagePullSecrets, secretKeyRef/secretRef of every container, and every volume's secret references. */
export function podSecretNames(pod: V1Pod): Set<string> {
  const out = new Set<string>();
  const add = (n: string | undefined): void => {
    if (n) out.add(n);
  };
  for (const s of pod.spec?.imagePullSecrets ?? []) add(s.name);
  const containers: V1Container[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...((pod.spec?.ephemeralContainers ?? []) as V1Container[])];
  for (const c of containers) {
    for (const e of c.envFrom ?? []) add(e.secretRef?.name);
    for (const e of c.env ?? []) add(e.valueFrom?.secretKeyRef?.name);
  }
  for (const v of pod.spec?.volumes ?? []) {
    add(v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) add(s.secret?.name);
    add(v.azureFile?.secretName);
    add(v.cephfs?.secretRef?.name);
    add(v.cinder?.secretRef?.name);
    add(v.flexVolume?.secretRef?.name);
    add(v.rbd?.secretRef?.name);
    add(v.scaleIO?.secretRef?.name);
    add(v.iscsi?.secretRef?.name);
    add(v.storageos?.secretRef?.name);
    add(v.csi?.nodePublishSecretRef?.name);
  }
  return out;
}

/** GET /api/v1/namespaces/{ns}/secrets/{name} with the node's credentials. */
export function kubeSecretFetcher(kc: KubeConfig): ObjectFetcher<V1Secret> {
  const api = kc.makeApiClient(CoreV1Api);
  return async (namespace, name) => {
    try {
      return await api.readNamespacedSecret({ name, namespace });
    } catch (e) {
      throw toObjectError(e, 'secret', namespace, name);
    }
  };
}

export type SecretManagerOptions = Omit<ObjectCacheOptions<V1Secret>, 'fetch' | 'referencedNames'> & {
  /** The node's kubeconfig (cluster mode); or `fetch` for tests. */
  kubeConfig?: KubeConfig;
  fetch?: ObjectFetcher<V1Secret>;
};

/** secret.Manager: getSecret, RegisterPod, UnregisterPod (the shared cache does the work). */
export class SecretManager extends CachingObjectManager<V1Secret> implements SecretGetter {
  constructor(opts: SecretManagerOptions) {
    const fetch = opts.fetch ?? (opts.kubeConfig ? kubeSecretFetcher(opts.kubeConfig) : undefined);
    if (!fetch) throw new Error('SecretManager needs a kubeConfig or a fetch function');
    super({ ...opts, fetch, referencedNames: podSecretNames });
  }

  getSecret(namespace: string, name: string): Promise<V1Secret> {
    return this.get(namespace, name);
  }
}

/**
 * getPullSecretsForPod, for ImagePullerOptions.getPullSecrets: the pod's imagePullSecrets that
 * could be read (empty names skipped); the puller names the others in its
 * FailedToRetrieveImagePullSecret event.
 */
export function pullSecretsGetter(secrets: SecretGetter, onError?: (name: string, err: unknown) => void): (pod: V1Pod) => Promise<V1Secret[]> {
  return async (pod) => {
    const ns = pod.metadata?.namespace ?? '';
    const names = (pod.spec?.imagePullSecrets ?? []).map((r) => r.name).filter((n): n is string => !!n);
    const got = await Promise.all(
      names.map((name) =>
        secrets.getSecret(ns, name).then(
          (s) => s,
          (e: unknown) => {
            onError?.(name, e);
            return undefined;
          },
        ),
      ),
    );
    return got.filter((s): s is V1Secret => s !== undefined);
  };
}
