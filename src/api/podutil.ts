// Small pod helpers and the config annotations (models pkg/kubelet/types: pod_update.go and
// kubecontainer.GetPodFullName).
//
// Difference: times are formatted from the Clock's milliseconds, so the "nano" form carries at
// most millisecond precision.

import type { V1Pod } from '@kubernetes/client-node';

export const ConfigSourceAnnotationKey = 'kubernetes.io/config.source';
export const ConfigMirrorAnnotationKey = 'kubernetes.io/config.mirror';
export const ConfigFirstSeenAnnotationKey = 'kubernetes.io/config.seen';
export const ConfigHashAnnotationKey = 'kubernetes.io/config.hash';
/** Alias of ConfigFirstSeenAnnotationKey (the brief's name). */
export const ConfigSeenAnnotationKey = ConfigFirstSeenAnnotationKey;

/** Pod sources, as upstream names them in the config.source annotation. */
export const FileSource = 'file';
export const HTTPSource = 'http';
export const ApiserverSource = 'api';

/** `name_namespace`, the kubelet's key for a pod across UIDs (GetPodFullName). */
export function podFullName(pod: V1Pod): string {
  return `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}`;
}

/** The config.source annotation, or undefined when missing. */
export function podSource(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[ConfigSourceAnnotationKey];
}

/** A static pod came from a non-API source (file or http); a pod without a source is not static. */
export function isStaticPod(pod: V1Pod): boolean {
  const src = podSource(pod);
  return src !== undefined && src !== ApiserverSource;
}

/** A mirror pod is the API server's copy of a static pod: it carries the config.mirror annotation. */
export function isMirrorPod(pod: V1Pod): boolean {
  const a = pod.metadata?.annotations;
  return a !== undefined && Object.prototype.hasOwnProperty.call(a, ConfigMirrorAnnotationKey);
}

function toDate(t: Date | number): Date {
  return typeof t === 'number' ? new Date(t) : t;
}

/** RFC 3339 to the second, UTC: `2026-11-24T02:07:25Z` (metav1.Time's JSON form). */
export function formatTime(t: Date | number): string {
  return toDate(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Go's RFC3339Nano in UTC: fractional seconds with trailing zeros removed (`...:25.5Z`, `...:25Z`). */
export function formatTimeNano(t: Date | number): string {
  const iso = toDate(t).toISOString();
  return iso.replace(/\.(\d+)Z$/, (_m, frac: string) => {
    const f = frac.replace(/0+$/, '');
    return f ? `.${f}Z` : 'Z';
  });
}
