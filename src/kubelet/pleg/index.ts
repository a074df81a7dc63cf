// pleg: the Pod Lifecycle Event Generator (kubelet's pkg/kubelet/pleg, GenericPLEG) and the pod
// status cache it fills (pkg/kubelet/container/cache.go).
export type { PodLifecycleEvent, PodLifecycleEventType, PodLifecycleEventGenerator, PlegHealth } from './types.js';
export { PodStatusCache, emptyPodStatus } from './cache.js';
export { GenericPLEG, type GenericPLEGOptions } from './generic.js';
