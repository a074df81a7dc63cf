// kubecontainer: the kubelet's runtime-neutral view of pods and containers
// (pkg/kubelet/container/runtime.go). Built from the CRI by kuberuntime, read by the PLEG, the
// pod workers and status generation. Rebuilt from the runtime's labels alone, so a restarted
// nodelet knows everything it started.

/** A container's state, as the kubelet's ContainerState. */
export type RuntimeContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** One container as listed (ListContainers), grouped by pod. */
export interface RuntimeContainer {
  /** CRI container ID. */
  id: string;
  name: string;
  image: string;
  imageRef: string;
  /** The container spec hash the kubelet labelled it with (io.kubernetes.container.hash). */
  hash: string;
  state: RuntimeContainerState;
  /** ns since the epoch */
  createdAt: number;
  podSandboxId: string;
}

/** One sandbox as listed (ListPodSandbox). */
export interface RuntimeSandbox {
  id: string;
  state: 'ready' | 'notready';
  createdAt: number;
  attempt: number;
}

/** A pod as the runtime knows it: its sandboxes and containers, found by the pod UID label. */
export interface RuntimePod {
  uid: string;
  name: string;
  namespace: string;
  containers: RuntimeContainer[];
  sandboxes: RuntimeSandbox[];
}

/** Full status of one container (ContainerStatus), with what the kubelet's labels/annotations say. */
export interface RuntimeContainerStatus {
  id: string;
  name: string;
  state: RuntimeContainerState;
  /** ms since the epoch (0 = not set) */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: string;
  imageRef: string;
  hash: string;
  restartCount: number;
  reason: string;
  message: string;
  podSandboxId: string;
  logPath: string;
}

export interface RuntimeSandboxStatus {
  id: string;
  state: 'ready' | 'notready';
  /** ms since the epoch */
  createdAt: number;
  attempt: number;
  ip: string;
  additionalIps: string[];
  /** true when the sandbox uses the host network (ips are then the host's). */
  hostNetwork: boolean;
}

/** Everything the kubelet knows of a pod from the runtime (kubecontainer.PodStatus). */
export interface RuntimePodStatus {
  uid: string;
  name: string;
  namespace: string;
  ips: string[];
  /** Newest first. */
  sandboxStatuses: RuntimeSandboxStatus[];
  /** Newest first within each container name. */
  containerStatuses: RuntimeContainerStatus[];
  /** When this status was read (ms); the PLEG cache never serves a status older than asked. */
  timestamp: number;
  /** The node name of the nodelet that created the pod ('' if unknown: created by someone else). */
  owner?: string;
}

/** The newest status of the named container, if any. */
export function findContainerStatus(status: RuntimePodStatus, name: string): RuntimeContainerStatus | undefined {
  return status.containerStatuses.find((c) => c.name === name);
}
