// Pod QoS class (models pkg/apis/core/v1/helper/qos: GetPodQOS / ComputePodQOS).
//
// As upstream: only cpu and memory count; only quantities > 0 count; requests and limits are summed
// over containers and init containers and the sums compared; Guaranteed needs every container to
// have positive cpu and memory limits. Computed on the pod as given: call it on a defaulted pod
// (setPodDefaults copies limits into missing requests, as the API server does before QoS is
// computed). Differences: pod-level resources (spec.resources, feature-gated upstream) are ignored.

import type { V1Pod } from '@kubernetes/client-node';
import { isPositiveQuantity, QuantitySum } from './quantity.js';

export type PodQOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const qosResources = new Set(['cpu', 'memory']);

/** The pod's QoS class: status.qosClass when set (it never changes once set), else computed. */
export function getPodQOSClass(pod: V1Pod): PodQOSClass {
  const s = pod.status?.qosClass;
  if (s === 'Guaranteed' || s === 'Burstable' || s === 'BestEffort') return s;
  return computePodQOSClass(pod);
}

/** Computes the QoS class from the containers' resources (upstream ComputePodQOS). */
export function computePodQOSClass(pod: V1Pod): PodQOSClass {
  const requests = new Map<string, QuantitySum>();
  const limits = new Map<string, QuantitySum>();
  let guaranteed = true;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const c of all) {
    for (const [name, q] of Object.entries(c.resources?.requests ?? {})) {
      if (!qosResources.has(name) || !isPositiveQuantity(q)) continue;
      if (!requests.has(name)) requests.set(name, new QuantitySum());
      requests.get(name)!.add(q);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(c.resources?.limits ?? {})) {
      if (!qosResources.has(name) || !isPositiveQuantity(q)) continue;
      found.add(name);
      if (!limits.has(name)) limits.set(name, new QuantitySum());
      limits.get(name)!.add(q);
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      if (!lim || lim.cmp(req) !== 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
