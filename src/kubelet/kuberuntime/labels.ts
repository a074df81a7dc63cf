// Labels and annotations the kubelet puts on CRI sandboxes and containers
// (pkg/kubelet/kuberuntime/labels.go). They let a restarted nodelet rebuild everything it knows
// about a pod from the runtime alone: which pod a container belongs to, its spec hash, its
// restart count, how long it may take to stop.

import type { V1Container, V1Pod } from '@kubernetes/client-node';

export const podNameLabel = 'io.kubernetes.pod.name';
export const podNamespaceLabel = 'io.kubernetes.pod.namespace';
export const podUidLabel = 'io.kubernetes.pod.uid';
export const containerNameLabel = 'io.kubernetes.container.name';
export const containerTypeLabel = 'io.kubernetes.container.type';
/**
 * nodelet's own label: the node name of the nodelet that created the sandbox or container.
 * Several nodelets (simulated nodes, tests) may share one runtime; each cleans up only runtime
 * pods that carry its own node name (the kubelet assumes it owns the runtime alone).
 */
export const nodeNameLabel = 'nodelet.dev/node-name';

export const containerHashAnnotation = 'io.kubernetes.container.hash';
export const containerRestartCountAnnotation = 'io.kubernetes.container.restartCount';
export const containerTerminationMessagePathAnnotation = 'io.kubernetes.container.terminationMessagePath';
export const containerTerminationMessagePolicyAnnotation = 'io.kubernetes.container.terminationMessagePolicy';
export const containerPreStopHandlerAnnotation = 'io.kubernetes.container.preStopHandler';
export const containerPortsAnnotation = 'io.kubernetes.container.ports';
export const podDeletionGracePeriodAnnotation = 'io.kubernetes.pod.deletionGracePeriod';
export const podTerminationGracePeriodAnnotation = 'io.kubernetes.pod.terminationGracePeriod';

/** Sandbox labels: the pod's labels plus the kubelet's three. */
export function newPodLabels(pod: V1Pod): Record<string, string> {
  return {
    ...(pod.metadata?.labels ?? {}),
    [podNameLabel]: pod.metadata?.name ?? '',
    [podNamespaceLabel]: pod.metadata?.namespace ?? '',
    [podUidLabel]: pod.metadata?.uid ?? '',
  };
}

export function newPodAnnotations(pod: V1Pod): Record<string, string> {
  return { ...(pod.metadata?.annotations ?? {}) };
}

export function newContainerLabels(container: V1Container, pod: V1Pod, type: 'containers' | 'init-containers' = 'containers'): Record<string, string> {
  return {
    [podNameLabel]: pod.metadata?.name ?? '',
    [podNamespaceLabel]: pod.metadata?.namespace ?? '',
    [podUidLabel]: pod.metadata?.uid ?? '',
    [containerNameLabel]: container.name,
    [containerTypeLabel]: type,
  };
}

export function newContainerAnnotations(container: V1Container, pod: V1Pod, restartCount: number, hash: string): Record<string, string> {
  const a: Record<string, string> = {
    [containerHashAnnotation]: hash,
    [containerRestartCountAnnotation]: String(restartCount),
    [containerTerminationMessagePathAnnotation]: container.terminationMessagePath ?? '/dev/termination-log',
    [containerTerminationMessagePolicyAnnotation]: container.terminationMessagePolicy ?? 'File',
  };
  if (pod.metadata?.deletionGracePeriodSeconds !== undefined) a[podDeletionGracePeriodAnnotation] = String(pod.metadata.deletionGracePeriodSeconds);
  if (pod.spec?.terminationGracePeriodSeconds !== undefined) a[podTerminationGracePeriodAnnotation] = String(pod.spec.terminationGracePeriodSeconds);
  if (container.lifecycle?.preStop) a[containerPreStopHandlerAnnotation] = JSON.stringify(container.lifecycle.preStop);
  if (container.ports?.length) a[containerPortsAnnotation] = JSON.stringify(container.ports);
  return a;
}

/** What the labels/annotations of a runtime container say about it. */
export interface LabelledContainerInfo {
  podName: string;
  podNamespace: string;
  podUid: string;
  containerName: string;
  hash: string;
  restartCount: number;
  terminationGracePeriodSeconds?: number;
  deletionGracePeriodSeconds?: number;
  terminationMessagePath: string;
  terminationMessagePolicy: string;
}

function intOr(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function containerInfoFromLabels(labels: Record<string, string>, annotations: Record<string, string>): LabelledContainerInfo {
  const info: LabelledContainerInfo = {
    podName: labels[podNameLabel] ?? '',
    podNamespace: labels[podNamespaceLabel] ?? '',
    podUid: labels[podUidLabel] ?? '',
    containerName: labels[containerNameLabel] ?? '',
    hash: annotations[containerHashAnnotation] ?? '',
    restartCount: intOr(annotations[containerRestartCountAnnotation]) ?? 0,
    terminationMessagePath: annotations[containerTerminationMessagePathAnnotation] ?? '',
    terminationMessagePolicy: annotations[containerTerminationMessagePolicyAnnotation] ?? '',
  };
  const tg = intOr(annotations[podTerminationGracePeriodAnnotation]);
  if (tg !== undefined) info.terminationGracePeriodSeconds = tg;
  const dg = intOr(annotations[podDeletionGracePeriodAnnotation]);
  if (dg !== undefined) info.deletionGracePeriodSeconds = dg;
  return info;
}
