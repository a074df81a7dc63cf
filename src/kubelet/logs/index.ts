// logs: reading container logs written by the runtime in CRI format (kubelet's kuberuntime/logs).
export * from './crilog.js';
