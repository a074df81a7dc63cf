// Prober metrics (models pkg/kubelet/prober/prober_manager.go ProberResults and ProberDuration):
// `prober_probe_total{probe_type,result,container,pod,namespace,pod_uid}` (result: successful,
// failed, unknown) and `prober_probe_duration_seconds{probe_type,container,pod,namespace}`.
// As upstream, the kubelet serves them on their own endpoint, /metrics/probes:
// renderProbeMetrics gives that page.
//
// Differences: durations are measured on the Clock (milliseconds).

import { Counter, Histogram, type Registry } from 'prom-client';
import { defaultBuckets, getOrCreate } from '../../util/metrics.js';

export const probeTotalName = 'prober_probe_total';
export const probeDurationName = 'prober_probe_duration_seconds';

/** The values of the `result` label, as upstream. */
export const probeResultLabel = { Success: 'successful', Failure: 'failed', Unknown: 'unknown' } as const;

export interface ProberMetrics {
  probeTotal: Counter<'probe_type' | 'result' | 'container' | 'pod' | 'namespace' | 'pod_uid'>;
  probeDuration: Histogram<'probe_type' | 'container' | 'pod' | 'namespace'>;
}

export function proberMetrics(registry: Registry): ProberMetrics {
  const probeTotal = getOrCreate(registry, probeTotalName, () =>
    new Counter({
      name: probeTotalName,
      help: 'Cumulative number of a liveness, readiness or startup probe for a container by result.',
      labelNames: ['probe_type', 'result', 'container', 'pod', 'namespace', 'pod_uid'] as const,
      registers: [registry],
    }),
  );
  const probeDuration = getOrCreate(registry, probeDurationName, () =>
    new Histogram({
      name: probeDurationName,
      help: 'Duration in seconds for a probe response.',
      labelNames: ['probe_type', 'container', 'pod', 'namespace'] as const,
      buckets: defaultBuckets,
      registers: [registry],
    }),
  );
  return { probeTotal, probeDuration };
}

/** Content type of renderProbeMetrics' text (Prometheus text format 0.0.4). */
export const probeMetricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** The /metrics/probes page: only the prober's metrics, in the Prometheus text format. */
export async function renderProbeMetrics(registry: Registry): Promise<string> {
  proberMetrics(registry);
  const parts = await Promise.all([registry.getSingleMetricAsString(probeTotalName), registry.getSingleMetricAsString(probeDurationName)]);
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}
