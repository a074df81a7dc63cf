// Taints and tolerations (k8s.io/api core/v1 Toleration.ToleratesTaint, TolerationsTolerateTaint,
// FindMatchingUntoleratedTaint): shared by the kubelet's admission and the taint eviction controller.

import type { V1Taint, V1Toleration } from '@kubernetes/client-node';

/** Toleration.ToleratesTaint: an empty effect or key matches any; operator '' means Equal. */
export function toleratesTaint(t: V1Toleration, taint: V1Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** TolerationsTolerateTaint: some toleration tolerates the taint. */
export function tolerationsTolerateTaint(tolerations: readonly V1Toleration[] | undefined, taint: V1Taint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/** FindMatchingUntoleratedTaint: the first taint passing `filter` that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly V1Taint[] | undefined, tolerations: readonly V1Toleration[] | undefined, filter: (t: V1Taint) => boolean = () => true): V1Taint | undefined {
  return (taints ?? []).find((t) => filter(t) && !tolerationsTolerateTaint(tolerations, t));
}
