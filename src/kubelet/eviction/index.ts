// eviction: the eviction manager's node side (pkg/kubelet/eviction): thresholds, signal
// observations, pressure conditions, node-level reclaim and pod admission. Evicting running pods
// is not implemented yet.
export {
  EvictionManager,
  newEvictionManager,
  nodeReclaimSteps,
  evictionMonitoringPeriodMs,
  type EvictionManagerOptions,
  type EvictionSettings,
  type NewEvictionManagerOptions,
  type NodeReclaimer,
  type Observer,
} from './manager.js';
export { admitPod, isCriticalPod, isCriticalPodByPriority, isCriticalPodForNodelet, EvictionReason, type PodAdmitResult } from './admission.js';
export { pressureConditions, type PressureCondition } from './conditions.js';
export { parseThresholdConfig, effectiveThresholds, type NodeConditionType, type Signal, type Threshold, type ThresholdConfig } from './thresholds.js';
export { SignalObserver, hostReaders, type HostReaders, type SignalObservations, type ObservationResult } from './observations.js';
