// How the kubelet's HTTP handlers find a pod's container by namespace/pod/container name
// (the kubelet server's GetPodByName + findContainer).

import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';

export interface PodLookup {
  /** The pod named namespace/name with its latest status (static pods by their full name). */
  getPodByName(namespace: string, name: string): { pod: V1Pod; status: V1PodStatus | undefined } | undefined;
  /** Where the pod's logs live: <podLogsDir>/<ns>_<name>_<uid>. */
  podLogsDirectory(pod: V1Pod): string;
}

export interface ContainerRef {
  pod: V1Pod;
  status: V1PodStatus | undefined;
  containerName: string;
  /** The CRI ID of the current container instance ('' if it has none yet). */
  containerId: string;
  /** The CRI ID of the previous (terminated) instance, if any. */
  previousContainerId: string;
  restartCount: number;
}

function runtimeId(uri: string | undefined): string {
  if (!uri) return '';
  const i = uri.indexOf('://');
  return i >= 0 ? uri.slice(i + 3) : uri;
}

/**
 * Resolves namespace/pod/container; container may be omitted when the pod has one container.
 * Returns an error string (for a 404/400 answer) when it cannot.
 */
export function findContainer(lookup: PodLookup, namespace: string, podName: string, containerName?: string): ContainerRef | string {
  const found = lookup.getPodByName(namespace, podName);
  if (!found) return `pod "${podName}" not found in namespace "${namespace}"`;
  const spec = [...(found.pod.spec?.initContainers ?? []), ...(found.pod.spec?.containers ?? [])];
  let name = containerName;
  if (!name) {
    const regular = found.pod.spec?.containers ?? [];
    if (regular.length !== 1) return `a container name must be specified for pod ${podName}, choose one of: [${regular.map((c) => c.name).join(' ')}]`;
    name = regular[0]!.name;
  }
  if (!spec.some((c) => c.name === name)) return `container ${name} is not valid for pod ${podName}`;
  const statuses = [...(found.status?.initContainerStatuses ?? []), ...(found.status?.containerStatuses ?? [])];
  const st = statuses.find((s) => s.name === name);
  return {
    pod: found.pod,
    status: found.status,
    containerName: name,
    containerId: runtimeId(st?.containerID),
    previousContainerId: runtimeId(st?.lastState?.terminated?.containerID),
    restartCount: st?.restartCount ?? 0,
  };
}
