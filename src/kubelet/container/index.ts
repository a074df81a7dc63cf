// container: the kubelet's runtime-neutral pod/container model (kubecontainer).
export type * from './types.js';
export { findContainerStatus } from './types.js';
export type { PodStatusProvider } from './runtime.js';
