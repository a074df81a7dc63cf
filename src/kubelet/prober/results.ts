// Probe results cache (models pkg/kubelet/prober/results/results_manager.go).
//
// One ResultsManager per probe type (liveness, readiness, startup) holds the latest published
// result of each container, keyed by CRI container ID, and tells its subscribers when a result
// changes (or appears). Upstream sends updates on a channel the syncLoop reads; here subscribers
// are called synchronously from set().
//
// Differences: subscribers instead of a channel; onUpdate returns an unsubscribe function.

import type { V1Pod } from '@kubernetes/client-node';

/** The result of a probe as the kubelet keeps it (results.Result). */
export type ProbeResult = 'Success' | 'Failure' | 'Unknown';

export interface ResultUpdate {
  containerId: string;
  result: ProbeResult;
  podUid: string;
}

export type ResultListener = (u: ResultUpdate) => void;

export class ResultsManager {
  private readonly cache = new Map<string, ProbeResult>();
  private readonly listeners: ResultListener[] = [];

  /** The cached result for a container, undefined when there is none. */
  get(containerId: string): ProbeResult | undefined {
    return this.cache.get(containerId);
  }

  /** Caches a result; subscribers hear of it when it is new or differs from the cached one. */
  set(containerId: string, result: ProbeResult, pod: Pick<V1Pod, 'metadata'>): void {
    const prev = this.cache.get(containerId);
    if (prev === result) return;
    this.cache.set(containerId, result);
    const update: ResultUpdate = { containerId, result, podUid: pod.metadata?.uid ?? '' };
    for (const l of [...this.listeners]) l(update);
  }

  /** Forgets a container's result (no update is sent, as upstream). */
  remove(containerId: string): void {
    this.cache.delete(containerId);
  }

  onUpdate(cb: ResultListener): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Number of cached results (for tests and debugging). */
  size(): number {
    return this.cache.size;
  }
}
