// runtime: the seam between the kubelet and a container runtime (kubelet's
// pkg/kubelet/cri/remote + the internal CRI interfaces). Every other module depends on the
// Runtime interface only; runtime/cri speaks gRPC to containerd / CRI-O, runtime/sim is an
// in-memory runtime for unit tests and node simulation.

export type * from './types.js';
export * from './errors.js';
export { instrumentRuntime, operationTypes } from './instrumented.js';
