// Pod defaulting (models pkg/apis/core/v1/defaults.go: SetDefaults_Pod, SetDefaults_PodSpec,
// SetDefaults_Container, SetDefaults_Probe, SetDefaults_HTTPGetAction, SetDefaults_ContainerPort,
// SetDefaults_ObjectFieldSelector, SetDefaults_Volume and the volume sources' default modes,
// SetDefaults_ResourceList).
//
// Differences: the namespace defaults to "default" here (upstream the API server takes it from the
// request, and static pods get it in config/common.go); feature-gated defaults (pod-level
// resources, in-place resize policies) are not applied. The input is never mutated.

import type { V1Container, V1EphemeralContainer, V1HTTPGetAction, V1LifecycleHandler, V1Pod, V1Probe, V1Volume } from '@kubernetes/client-node';
import { isLatestOrUntagged } from '../util/imageref.js';
import { roundUpToMilli } from './quantity.js';

export const DefaultTerminationGracePeriodSeconds = 30;
export const DefaultSchedulerName = 'default-scheduler';
export const DefaultTerminationMessagePath = '/dev/termination-log';
/** 0644, the default mode of secret, configMap, downwardAPI and projected volumes. */
export const DefaultVolumeMode = 0o644;

/** Returns a defaulted deep copy of the pod, as the API server would store it. */
export function setPodDefaults(pod: V1Pod): V1Pod {
  const out = structuredClone(pod) as V1Pod;
  out.metadata ??= {};
  if (!out.metadata.namespace) out.metadata.namespace = 'default';
  const spec = (out.spec ??= { containers: [] });
  spec.containers ??= [];

  // SetDefaults_PodSpec
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  spec.securityContext ??= {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    spec.terminationGracePeriodSeconds = DefaultTerminationGracePeriodSeconds;
  }
  if (!spec.schedulerName) spec.schedulerName = DefaultSchedulerName;

  // SetDefaults_Pod
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) defaultRequestsToLimits(c);
  if (spec.hostNetwork) {
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      for (const p of c.ports ?? []) if (!p.hostPort) p.hostPort = p.containerPort;
    }
  }

  // SetObjectDefaults_Pod: every container-like object and volume.
  for (const c of spec.containers) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
  return out;
}

/** Requests default to limits, per resource, when limits are given (SetDefaults_Pod). */
function defaultRequestsToLimits(c: V1Container): void {
  const res = c.resources;
  if (!res?.limits) return;
  res.requests ??= {};
  for (const [name, value] of Object.entries(res.limits)) {
    if (!(name in res.requests)) res.requests[name] = value;
  }
}

function defaultContainer(c: V1Container | V1EphemeralContainer): void {
  if (!c.imagePullPolicy) {
    // Upstream ignores a parse error here (validation reports it) and then sees no "latest" tag.
    let always = false;
    try {
      always = isLatestOrUntagged(c.image ?? '');
    } catch {
      always = false;
    }
    c.imagePullPolicy = always ? 'Always' : 'IfNotPresent';
  }
  if (!c.terminationMessagePath) c.terminationMessagePath = DefaultTerminationMessagePath;
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const p of c.ports ?? []) if (!p.protocol) p.protocol = 'TCP';
  for (const e of c.env ?? []) {
    const f = e.valueFrom?.fieldRef;
    if (f && !f.apiVersion) f.apiVersion = 'v1';
  }
  for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (p) defaultProbe(p);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop]) if (h) defaultHandler(h);
  for (const list of [c.resources?.limits, c.resources?.requests]) {
    if (!list) continue;
    for (const [k, v] of Object.entries(list)) {
      try {
        list[k] = roundUpToMilli(v) as string;
      } catch {
        // left for validation to report
      }
    }
  }
}

function defaultProbe(p: V1Probe): void {
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  if (p.httpGet) defaultHttpGet(p.httpGet);
}

function defaultHandler(h: V1LifecycleHandler): void {
  if (h.httpGet) defaultHttpGet(h.httpGet);
}

function defaultHttpGet(h: V1HTTPGetAction): void {
  if (!h.path) h.path = '/';
  if (!h.scheme) h.scheme = 'HTTP';
}

const volumeSourceKeys = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'configMap', 'csi', 'downwardAPI', 'emptyDir',
  'ephemeral', 'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'hostPath', 'image', 'iscsi',
  'nfs', 'persistentVolumeClaim', 'photonPersistentDisk', 'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO',
  'secret', 'storageos', 'vsphereVolume',
] as const;

/** The volume source fields set on a volume (exactly one is valid). */
export function volumeSources(v: V1Volume): string[] {
  const rec = v as unknown as Record<string, unknown>;
  return volumeSourceKeys.filter((k) => rec[k] !== undefined && rec[k] !== null);
}

function defaultVolume(v: V1Volume): void {
  if (volumeSources(v).length === 0) v.emptyDir = {};
  if (v.secret && v.secret.defaultMode === undefined) v.secret.defaultMode = DefaultVolumeMode;
  if (v.configMap && v.configMap.defaultMode === undefined) v.configMap.defaultMode = DefaultVolumeMode;
  if (v.downwardAPI && v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = DefaultVolumeMode;
  if (v.projected) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = DefaultVolumeMode;
    for (const s of v.projected.sources ?? []) {
      const t = s.serviceAccountToken;
      if (t && t.expirationSeconds === undefined) t.expirationSeconds = 3600;
    }
  }
  if (v.hostPath && v.hostPath.type === undefined) v.hostPath.type = '';
  for (const f of v.downwardAPI?.items ?? []) if (f.fieldRef && !f.fieldRef.apiVersion) f.fieldRef.apiVersion = 'v1';
}
