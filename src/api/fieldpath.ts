// The pod metadata a fieldRef names, as a string (models k8s.io/kubernetes/pkg/fieldpath:
// ExtractFieldPathAsString, FormatMap). Shared by env vars (kuberuntime/config.ts, which first
// resolves the fields only the kubelet knows: spec.nodeName, status.podIP, ...), downwardAPI
// volumes (volumes/projected.ts) and `nodelet describe`. Go's %q quoting is JSON's here (they
// differ only for control and non-ASCII characters).

import type { V1Pod } from '@kubernetes/client-node';

/** FormatMap: `key="value"` lines in key order. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/**
 * ExtractFieldPathAsString for a pod: metadata.name, namespace, uid, labels, annotations, and one
 * label or annotation (metadata.labels['key']); undefined for any other path (the caller says why
 * in its own words).
 */
export function extractFieldPathAsString(pod: V1Pod, fieldPath: string): string | undefined {
  const md = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === 'labels' ? md.labels : md.annotations)?.[sub[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.annotations':
      return formatMap(md.annotations);
    case 'metadata.labels':
      return formatMap(md.labels);
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    default:
      return undefined;
  }
}
