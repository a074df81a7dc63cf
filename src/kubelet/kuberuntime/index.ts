// kuberuntime: pod spec -> CRI calls, runtime -> pod status (see manager.ts, actions.ts, config.ts).
export { KubeRuntimeManager, ReasonCache, podRef, type PodSyncResult, type SyncFailure, type KubeRuntimeManagerOptions } from './manager.js';
export { computePodActions, findNextInitContainerToRun, podSandboxChanged, shouldContainerBeRestarted, type PodActions, type ProbeVerdict } from './actions.js';
export { generatePodSandboxConfig, generateContainerConfig, podDNSConfig, parseResolvConf, managedHostsFile, podLogsDirectory, type NodeContext } from './config.js';
export * from './labels.js';
export { ContainerGC, defaultContainerGCPolicy, containerGCPeriodMs, selectContainersToRemove, evictableContainers, type ContainerGCPolicy, type PodStateProvider } from './gc.js';
