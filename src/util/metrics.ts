// Prometheus registry (prom-client). Each nodelet process owns one Registry, passed to the
// modules that record metrics, so tests and simulated nodes never share global state.
// Metric names follow the kubelet's (kubelet_*, kubelet_runtime_operations_*, ...).

import { Registry, Histogram, Counter, Gauge } from 'prom-client';

export { Registry, Histogram, Counter, Gauge };

export function newRegistry(): Registry {
  return new Registry();
}

/** Buckets the kubelet uses for most of its duration histograms (prometheus.DefBuckets). */
export const defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Returns the metric already registered under name, or registers the one make() builds. */
export function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  const existing = registry.getSingleMetric(name);
  return (existing as T | undefined) ?? make();
}
