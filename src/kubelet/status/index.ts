// status: what the kubelet says about its pods (models pkg/kubelet/status and the status half of
// pkg/kubelet/kubelet_pods.go). generatePodStatus is pure; StatusManager keeps the latest status
// per pod and pushes real changes to a StatusSink (no-op standalone, API patches in cluster mode).
export { generatePodStatus, isPodTerminal, sortPodIPs, type GeneratePodStatusInput } from './generate.js';
export { getPhase, isPhaseTerminal, type PodPhase } from './phase.js';
export { podStatusEqual, normalizePodStatus } from './equal.js';
export {
  generateContainersReadyCondition,
  generatePodInitializedCondition,
  generatePodReadyCondition,
  updateLastTransitionTime,
  isKubeletCondition,
  PodScheduled,
  PodInitialized,
  PodReady,
  ContainersReady,
} from './conditions.js';
export { type WaitingReason, ContainerCreating, PodInitializing, ContainerStatusUnknown } from './containers.js';
export {
  StatusManager,
  noopStatusSink,
  checkContainerStateTransition,
  type PodStatusManager,
  type PodStatusChange,
  type StatusSink,
  type SetStatusResult,
  type StatusManagerOptions,
} from './manager.js';
export { FileStatusSink, loadStatusCheckpoints } from './checkpoint.js';
export { ApiStatusSync, mergePodStatus, podStatusPatch, type ApiStatusSyncOptions } from './apisync.js';
