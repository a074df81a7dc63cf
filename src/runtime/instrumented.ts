// Runtime metrics (models the kubelet's pkg/kubelet/kuberuntime/instrumented_services.go):
// wraps any Runtime and records kubelet_runtime_operations_total,
// kubelet_runtime_operations_duration_seconds and kubelet_runtime_operations_errors_total with
// the kubelet's operation_type names. The event stream (watchContainerEvents) is passed through
// unmeasured: it is one long call, not an operation (upstream counts it in the evented PLEG's
// own metrics).

import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import { getOrCreate } from '../util/metrics.js';
import type { Runtime } from './types.js';

/** The kubelet's operation_type label for each runtime method. */
export const operationTypes: Record<Exclude<keyof Runtime, 'close' | 'watchContainerEvents'>, string> = {
  version: 'version',
  status: 'status',
  runPodSandbox: 'run_podsandbox',
  stopPodSandbox: 'stop_podsandbox',
  removePodSandbox: 'remove_podsandbox',
  podSandboxStatus: 'podsandbox_status',
  listPodSandbox: 'list_podsandbox',
  createContainer: 'create_container',
  startContainer: 'start_container',
  stopContainer: 'stop_container',
  removeContainer: 'remove_container',
  listContainers: 'list_containers',
  containerStatus: 'container_status',
  updateContainerResources: 'update_container',
  reopenContainerLog: 'reopen_container_log',
  execSync: 'exec_sync',
  exec: 'exec',
  attach: 'attach',
  portForward: 'port_forward',
  containerStats: 'container_stats',
  listContainerStats: 'list_container_stats',
  podSandboxStats: 'podsandbox_stats',
  listPodSandboxStats: 'list_podsandbox_stats',
  updateRuntimeConfig: 'update_runtime_config',
  listImages: 'list_images',
  imageStatus: 'image_status',
  pullImage: 'pull_image',
  removeImage: 'remove_image',
  imageFsInfo: 'image_fs_info',
};

export function instrumentRuntime(inner: Runtime, registry: Registry): Runtime {
  const total = getOrCreate(registry, 'kubelet_runtime_operations_total', () =>
    new Counter({ name: 'kubelet_runtime_operations_total', help: 'Cumulative number of runtime operations by operation type.', labelNames: ['operation_type'], registers: [registry] }),
  );
  const errors = getOrCreate(registry, 'kubelet_runtime_operations_errors_total', () =>
    new Counter({ name: 'kubelet_runtime_operations_errors_total', help: 'Cumulative number of runtime operation errors by operation type.', labelNames: ['operation_type'], registers: [registry] }),
  );
  const duration = getOrCreate(registry, 'kubelet_runtime_operations_duration_seconds', () =>
    new Histogram({
      name: 'kubelet_runtime_operations_duration_seconds',
      help: 'Duration in seconds of runtime operations. Broken down by operation type.',
      labelNames: ['operation_type'],
      buckets: [0.005, 0.0125, 0.03125, 0.078125, 0.1953125, 0.48828125, 1.220703125, 3.0517578125, 7.62939453125, 19.073486328125, 47.6837158203125, 119.20928955078125, 298.0232238769531, 745.0580596923828],
      registers: [registry],
    }),
  );
  const wrapped: Record<string, unknown> = { close: () => inner.close() };
  if (inner.watchContainerEvents) wrapped['watchContainerEvents'] = inner.watchContainerEvents.bind(inner);
  for (const [method, op] of Object.entries(operationTypes)) {
    const fn = (inner as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!.bind(inner);
    wrapped[method] = async (...args: unknown[]) => {
      const t0 = performance.now();
      total.inc({ operation_type: op });
      try {
        return await fn(...args);
      } catch (err) {
        errors.inc({ operation_type: op });
        throw err;
      } finally {
        duration.observe({ operation_type: op }, (performance.now() - t0) / 1000);
      }
    };
  }
  return wrapped as unknown as Runtime;
}
