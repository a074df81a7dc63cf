// The payloads of the API-backed volumes (models pkg/volume/projected/projected.go collectData,
// pkg/volume/configmap MakePayload, pkg/volume/secret MakePayload, pkg/volume/downwardapi
// CollectData and pkg/fieldpath ExtractFieldPathAsString / FormatMap): which files a configMap,
// secret, downwardAPI or projected volume holds, with their modes. The pure builders are table
// tested; `collectVolumePayload` fetches what a volume names through the ConfigMap/Secret/Token
// managers and returns the payload, or the aggregated error (nothing is written then, as upstream).
//
// Differences: downwardAPI resourceFieldRef and clusterTrustBundle sources are refused with a
// message (nodelet does not project them yet); no FsUser/FsGroup: the token file keeps the
// volume's defaultMode (upstream switches it to 0600 when the pod sets fsGroup, then 0640 after the
// ownership change).

import { extractFieldPathAsString } from '../../api/fieldpath.js';
import type {
  AuthenticationV1TokenRequest,
  V1ConfigMap,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1Secret,
  V1Volume,
} from '@kubernetes/client-node';
import { posix } from 'node:path';
import { errorMessage } from '../../util/errors.js';
import { ObjectNotFoundError } from '../../util/objectcache.js';
import type { ConfigMapGetter } from '../configmap/index.js';
import type { SecretGetter } from '../secret/index.js';
import type { ServiceAccountTokenGetter } from '../token/index.js';
import type { FileProjection } from './atomicwriter.js';

/** 0644 (420), the API's default mode of configMap, secret, downwardAPI and projected volumes. */
export const defaultVolumeMode = 0o644;
/** The API's default expirationSeconds of a serviceAccountToken projection. */
export const defaultTokenExpirationSeconds = 3600;

/** A payload could not be built (missing key, bad field path); the message is upstream's. */
export class PayloadError extends Error {}

/** configmap.MakePayload: every key (data and binaryData) without items; else the listed keys at their paths. */
export function configMapPayload(items: V1KeyToPath[] | undefined, cm: V1ConfigMap, defaultMode: number, optional: boolean): Map<string, FileProjection> {
  const out = new Map<string, FileProjection>();
  if (!items?.length) {
    for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, { data: Buffer.from(v, 'utf8'), mode: defaultMode });
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, { data: Buffer.from(v, 'base64'), mode: defaultMode });
    return out;
  }
  for (const ktp of items) {
    let data: Buffer;
    const s = cm.data?.[ktp.key];
    const b = cm.binaryData?.[ktp.key];
    if (s !== undefined) data = Buffer.from(s, 'utf8');
    else if (b !== undefined) data = Buffer.from(b, 'base64');
    else if (optional) continue;
    else throw new PayloadError(`configmap references non-existent config key: ${ktp.key}`);
    out.set(ktp.path, { data, mode: ktp.mode ?? defaultMode });
  }
  return out;
}

/** secret.MakePayload: every key without items; else the listed keys at their paths (values base64-decoded). */
export function secretPayload(items: V1KeyToPath[] | undefined, secret: V1Secret, defaultMode: number, optional: boolean): Map<string, FileProjection> {
  const out = new Map<string, FileProjection>();
  if (!items?.length) {
    for (const [k, v] of Object.entries(secret.data ?? {})) out.set(k, { data: Buffer.from(v, 'base64'), mode: defaultMode });
    return out;
  }
  for (const ktp of items) {
    const v = secret.data?.[ktp.key];
    if (v === undefined) {
      if (optional) continue;
      throw new PayloadError(`references non-existent secret key: ${ktp.key}`);
    }
    out.set(ktp.path, { data: Buffer.from(v, 'base64'), mode: ktp.mode ?? defaultMode });
  }
  return out;
}

/** downwardapi.CollectData: one file per item (paths cleaned), errors aggregated. */
export function downwardAPIPayload(items: V1DownwardAPIVolumeFile[] | undefined, pod: V1Pod, defaultMode: number): Map<string, FileProjection> {
  const out = new Map<string, FileProjection>();
  const errs: string[] = [];
  for (const f of items ?? []) {
    const p = posix.normalize(f.path);
    const mode = f.mode ?? defaultMode;
    let data = Buffer.alloc(0);
    if (f.fieldRef) {
      try {
        const v = extractFieldPathAsString(pod, f.fieldRef.fieldPath);
        if (v === undefined) throw new PayloadError(`unsupported fieldPath: ${f.fieldRef.fieldPath}`);
        data = Buffer.from(v, 'utf8');
      } catch (e) {
        errs.push(errorMessage(e));
      }
    } else if (f.resourceFieldRef) {
      errs.push(`resourceFieldRef ${f.resourceFieldRef.resource} in a downwardAPI volume is not supported by nodelet`);
    }
    out.set(p, { data, mode });
  }
  if (errs.length) throw new PayloadError(aggregate(errs));
  return out;
}

/** utilerrors.NewAggregate(...).Error(): one message as is, several as `[a, b]`. */
export function aggregate(messages: string[]): string {
  return messages.length === 1 ? messages[0]! : `[${messages.join(', ')}]`;
}

/** Where the API-backed volumes get their objects; a missing getter means standalone mode. */
export interface VolumeObjectSources {
  configMaps?: ConfigMapGetter;
  secrets?: SecretGetter;
  tokens?: ServiceAccountTokenGetter;
}

/** The TokenRequest a serviceAccountToken projection asks for: bound to the pod. */
export function projectedTokenRequest(pod: V1Pod, src: { audience?: string; expirationSeconds?: number }): AuthenticationV1TokenRequest {
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      audiences: src.audience ? [src.audience] : [],
      expirationSeconds: src.expirationSeconds ?? defaultTokenExpirationSeconds,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
    },
  };
}

const noApi = (kind: string): Error => new Error(`cannot read ${kind} objects: nodelet runs without an API server (standalone mode)`);

async function readConfigMap(pod: V1Pod, name: string, optional: boolean, src: VolumeObjectSources): Promise<V1ConfigMap> {
  const ns = pod.metadata?.namespace ?? '';
  if (!src.configMaps) throw noApi('configmap');
  try {
    return await src.configMaps.getConfigMap(ns, name);
  } catch (e) {
    if (e instanceof ObjectNotFoundError && optional) return { metadata: { namespace: ns, name } };
    throw e;
  }
}

async function readSecret(pod: V1Pod, name: string, optional: boolean, src: VolumeObjectSources): Promise<V1Secret> {
  const ns = pod.metadata?.namespace ?? '';
  if (!src.secrets) throw noApi('secret');
  try {
    return await src.secrets.getSecret(ns, name);
  } catch (e) {
    if (e instanceof ObjectNotFoundError && optional) return { metadata: { namespace: ns, name } };
    throw e;
  }
}

/** Whether the volume's files come from the API or the pod (written with the AtomicWriter). */
export function isProjectedKind(v: V1Volume): boolean {
  return !!(v.configMap || v.secret || v.downwardAPI || v.projected);
}

/** The volume plugin's directory name under pods/<uid>/volumes/. */
export function pluginDirName(v: V1Volume): string {
  if (v.configMap) return 'kubernetes.io~configmap';
  if (v.secret) return 'kubernetes.io~secret';
  if (v.downwardAPI) return 'kubernetes.io~downward-api';
  return 'kubernetes.io~projected';
}

/**
 * The files of a configMap, secret, downwardAPI or projected volume. Rejects with the error
 * upstream's SetUp returns (several errors of a projected volume aggregated as `[a, b]`).
 */
export async function collectVolumePayload(pod: V1Pod, v: V1Volume, src: VolumeObjectSources): Promise<Map<string, FileProjection>> {
  if (v.configMap) {
    const optional = v.configMap.optional === true;
    const cm = await readConfigMap(pod, v.configMap.name ?? '', optional, src);
    return configMapPayload(v.configMap.items, cm, v.configMap.defaultMode ?? defaultVolumeMode, optional);
  }
  if (v.secret) {
    const optional = v.secret.optional === true;
    const s = await readSecret(pod, v.secret.secretName ?? '', optional, src);
    return secretPayload(v.secret.items, s, v.secret.defaultMode ?? defaultVolumeMode, optional);
  }
  if (v.downwardAPI) return downwardAPIPayload(v.downwardAPI.items, pod, v.downwardAPI.defaultMode ?? defaultVolumeMode);
  const proj = v.projected;
  if (!proj) throw new PayloadError(`volume "${v.name}" is not a projected volume`);
  const defaultMode = proj.defaultMode ?? defaultVolumeMode;
  const payload = new Map<string, FileProjection>();
  const errs: string[] = [];
  // sources are read in parallel, merged in spec order (a later source wins a path, as upstream)
  const parts = await Promise.allSettled(
    (proj.sources ?? []).map(async (s): Promise<Map<string, FileProjection>> => {
      if (s.secret) {
        const optional = s.secret.optional === true;
        return secretPayload(s.secret.items, await readSecret(pod, s.secret.name ?? '', optional, src), defaultMode, optional);
      }
      if (s.configMap) {
        const optional = s.configMap.optional === true;
        return configMapPayload(s.configMap.items, await readConfigMap(pod, s.configMap.name ?? '', optional, src), defaultMode, optional);
      }
      if (s.downwardAPI) return downwardAPIPayload(s.downwardAPI.items, pod, defaultMode);
      if (s.serviceAccountToken) {
        const tp = s.serviceAccountToken;
        if (!src.tokens) throw noApi('service account token');
        const tr = await src.tokens.getServiceAccountToken(pod.metadata?.namespace ?? '', pod.spec?.serviceAccountName || 'default', projectedTokenRequest(pod, tp));
        return new Map([[tp.path, { data: Buffer.from(tr.status?.token ?? '', 'utf8'), mode: defaultMode }]]);
      }
      if (s.clusterTrustBundle) throw new PayloadError('clusterTrustBundle projections are not supported by nodelet');
      return new Map();
    }),
  );
  for (const r of parts) {
    if (r.status === 'rejected') errs.push(errorMessage(r.reason));
    else for (const [k, f] of r.value) payload.set(k, f);
  }
  if (errs.length) throw new PayloadError(aggregate(errs));
  return payload;
}
