// logs: reading container logs written by the runtime in CRI format (kubelet's kuberuntime/logs),
// and rotating them (kubelet's pkg/kubelet/logs container log manager).
export * from './crilog.js';
export { readLogs, findTailStart, logForceCheckPeriodMs, type LogOptions, type LogSink, type LogOutput, type ReadLogsContext } from './reader.js';
export {
  ContainerLogManager,
  rotationTimestamp,
  defaultContainerLogMaxSize,
  defaultContainerLogMaxFiles,
  defaultContainerLogMonitorIntervalMs,
  type ContainerLogManagerOptions,
} from './rotation.js';
