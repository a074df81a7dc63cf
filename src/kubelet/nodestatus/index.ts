// nodestatus: the kubelet's Node (pkg/kubelet/kubelet_node_status.go, pkg/kubelet/nodestatus):
// registration, the status setters and the status loop.
export {
  NodeStatusManager,
  nodeStatusUpdateFrequencyMs,
  nodeStatusReportFrequencyMs,
  nodeStatusUpdateRetry,
  type NodeStatusManagerOptions,
  type NodeStatusSources,
} from './manager.js';
export {
  initialNode,
  setNodeStatus,
  parseTaints,
  nodeStatusHasChanged,
  shouldPatchNodeStatus,
  nodeStatusPatch,
  reconcileMetadata,
  allocatableReservation,
  computeAllocatable,
  machineCapacity,
  nodeImages,
  aggregateMessage,
  formatBinarySI,
  formatMilli,
  defaultMaxImages,
  type MachineFacts,
  type NodeSettings,
  type ImageInfo,
  type StatusInputs,
  type NodeStatusEvent,
} from './setters.js';
export { readMachineFacts, hostMachineReaders, cachingMachineReaders, goArch, type MachineReaders } from './machine.js';
export { runtimeStateErrors, runtimeConditionString, baseRuntimeSyncThresholdMs, type RuntimeStateInput, type RuntimeConditionLike } from './readiness.js';
export { withDeadline, RequestTimeoutError, isNotFound, isConflict, isAlreadyExists, apiErrorMessage } from '../../util/apicall.js';
