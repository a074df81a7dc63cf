// Static pod defaults (models pkg/kubelet/config/common.go: applyDefaults, generatePodName, and
// the decode -> default -> validate path of tryDecodeSinglePod).
//
// As upstream: the UID is kept when the manifest sets one, else it is the md5 of the (defaulted)
// pod followed by "host:<node>" "file:<path>" for files or "url:<url>" for http; the name gets
// "-<node name lower-cased>"; spec.nodeName is the node; config.hash = UID; file pods tolerate
// every NoExecute taint; status.phase is Pending. Differences: the hashed bytes are nodelet's
// canonical JSON, not Go's spew dump, so UIDs differ from upstream's for the same manifest (but
// are stable across nodelet runs); the config.source annotation is set here too (upstream's
// merger sets it), and a missing metadata.name is reported before a name is generated.

import { createHash } from 'node:crypto';
import type { V1Pod, V1Toleration } from '@kubernetes/client-node';
import { setPodDefaults } from '../../api/defaults.js';
import { canonicalJSON } from '../../api/hash.js';
import { ConfigHashAnnotationKey, ConfigSourceAnnotationKey } from '../../api/podutil.js';
import { validatePod } from '../../api/validation.js';
import { ValidationError } from '../../util/errors.js';
import { parseManifests, type ParseOptions } from './manifest.js';

export interface StaticPodSource {
  /** The manifest file's path or the URL. */
  source: string;
  kind: 'file' | 'http';
  nodeName: string;
}

export type StaticPodResult = { pod: V1Pod; error?: undefined } | { pod?: undefined; error: ValidationError };

/** `<name>-<node name lower-cased>` (generatePodName). */
export function staticPodName(name: string, nodeName: string): string {
  return `${name}-${nodeName.toLowerCase()}`;
}

/** The UID of a static pod: md5 over the pod, then the source. */
export function staticPodUID(pod: V1Pod, src: StaticPodSource): string {
  const h = createHash('md5').update(canonicalJSON(pod));
  if (src.kind === 'file') h.update(`host:${src.nodeName}`).update(`file:${src.source}`);
  else h.update(`url:${src.source}`);
  return h.digest('hex');
}

/**
 * Turns a decoded manifest into the pod the kubelet runs, or a ValidationError naming the file/URL
 * and the field at fault. The input is not mutated.
 */
export function applyStaticPodDefaults(raw: V1Pod, src: StaticPodSource, object: string = src.source): StaticPodResult {
  if (!raw.metadata?.name) {
    return { error: new ValidationError(object, 'metadata.name', 'Required value: name or generateName is required') };
  }
  // Upstream's decoder applies the v1 defaults before applyDefaults hashes the pod.
  const pod = setPodDefaults(raw);
  const meta = pod.metadata!;
  if (!meta.uid) meta.uid = staticPodUID(pod, src);
  meta.name = staticPodName(meta.name!, src.nodeName);
  if (!meta.namespace) meta.namespace = 'default';
  pod.spec!.nodeName = src.nodeName;
  meta.annotations = { ...meta.annotations, [ConfigHashAnnotationKey]: meta.uid, [ConfigSourceAnnotationKey]: src.kind };
  if (src.kind === 'file') addOrUpdateToleration(pod, { operator: 'Exists', effect: 'NoExecute' });
  pod.status = { ...pod.status, phase: 'Pending' };
  const errs = validatePod(pod);
  const first = errs[0];
  if (first) {
    const more = errs.slice(1).map((e) => `${e.field}: ${e.detail}`);
    return { error: new ValidationError(object, first.field, more.length ? `${first.detail} (and ${more.length} more: ${more.join('; ')})` : first.detail) };
  }
  return { pod };
}

/** Adds the toleration unless an equal one (same key, operator, value, effect) is there (AddOrUpdateTolerationInPod). */
function addOrUpdateToleration(pod: V1Pod, t: V1Toleration): void {
  const list = (pod.spec!.tolerations ??= []);
  const same = (a: V1Toleration): boolean =>
    (a.key ?? '') === (t.key ?? '') && (a.operator || 'Equal') === (t.operator || 'Equal') && (a.value ?? '') === (t.value ?? '') && (a.effect ?? '') === (t.effect ?? '');
  const i = list.findIndex(same);
  if (i >= 0) list[i] = t;
  else list.push(t);
}

/** Parses manifest text and defaults/validates every pod in it; valid pods are returned even when others fail. */
export function decodeStaticPods(text: string, src: StaticPodSource, opts: ParseOptions = {}): { pods: V1Pod[]; errors: ValidationError[] } {
  const parsed = parseManifests(text, src.source, opts);
  const pods: V1Pod[] = [];
  const errors = [...parsed.errors];
  parsed.pods.forEach((raw, i) => {
    const r = applyStaticPodDefaults(raw, src, parsed.objects[i]);
    if (r.error) errors.push(r.error);
    else pods.push(r.pod);
  });
  return { pods, errors };
}
