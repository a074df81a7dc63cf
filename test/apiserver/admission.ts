// Defaulting, validation and admission of the test API server for the objects nodelet relies on
// (models pkg/apis/core/v1/defaults.go through nodelet's own src/api/defaults.ts,
// pkg/registry/core/pod/strategy.go PrepareForCreate (status reset to Pending with the QoS
// class) and ValidatePodUpdate's spec immutability, plugin/pkg/admission/serviceaccount (the
// kube-api-access-<suffix> projected volume), defaulttolerationseconds, priority, and the
// namespace strategy plus the service-account and root-CA publisher controllers).
//
// Differences: validation of pods is nodelet's src/api/validation.ts (the kubelet-side subset);
// only pods, namespaces and CSRs get admission; priority classes are the two system ones.

import { setPodDefaults } from '../../src/api/defaults.js';
import { computePodQOSClass } from '../../src/api/qos.js';
import { validatePod } from '../../src/api/validation.js';
import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import { deepEqual } from './patch.js';
import { ApiError, errors, randomSuffix, resources, type KObject, type ResourceInfo, type Store } from './store.js';

export const ServiceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The projected volume the service-account admission adds (as a v1.30 API server writes it). */
export function kubeApiAccessVolume(name: string): V1Volume {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

type Toleration = { key?: string; operator?: string; effect?: string; tolerationSeconds?: number; value?: string };

function tolerates(tols: Toleration[], key: string): boolean {
  return tols.some((t) => (t.key === key || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute'));
}

const immutableMsg = 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

export interface AdmissionContext {
  store: Store;
  /** PEM of the cluster CA, published as configmap kube-root-ca.crt in every namespace. */
  caPem: string;
}

/** Pod create: defaults, validation, service account, tolerations, priority, status reset. */
export function admitPodCreate(ctx: AdmissionContext, obj: KObject): void {
  const pod = setPodDefaults(obj as V1Pod);
  const name = pod.metadata?.name ?? '';
  const spec = pod.spec!;
  const mirror = !!pod.metadata?.annotations?.['kubernetes.io/config.mirror'];
  if (!mirror) {
    spec.serviceAccountName ||= spec.serviceAccount || 'default';
    spec.serviceAccount = spec.serviceAccountName;
    const sa = ctx.store.tryGet(resources.find((r) => r.resource === 'serviceaccounts')!, pod.metadata!.namespace!, spec.serviceAccountName) as
      { automountServiceAccountToken?: boolean } | undefined;
    if (!sa) {
      throw new ApiError(403, 'Forbidden', `pods "${name}" is forbidden: error looking up service account ${pod.metadata!.namespace}/${spec.serviceAccountName}: serviceaccount "${spec.serviceAccountName}" not found`, { name, kind: 'pods' });
    }
    const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
    const all = [...spec.containers, ...(spec.initContainers ?? [])];
    if (automount && !all.some((c) => c.volumeMounts?.some((m) => m.mountPath === ServiceAccountMountPath))) {
      const vol = `kube-api-access-${randomSuffix()}`;
      (spec.volumes ??= []).push(kubeApiAccessVolume(vol));
      for (const c of all) (c.volumeMounts ??= []).push({ name: vol, readOnly: true, mountPath: ServiceAccountMountPath });
    }
  }
  const tols = (spec.tolerations ??= []) as Toleration[];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerates(tols, key)) tols.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  if (spec.priority === undefined) {
    spec.priority = spec.priorityClassName === 'system-node-critical' ? 2000001000 : spec.priorityClassName === 'system-cluster-critical' ? 2000000000 : 0;
  }
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  const errs = validatePod(pod);
  if (errs.length) throw errors.invalid(resources.find((r) => r.resource === 'pods')!, name, errs.map((e) => ({ field: e.field, message: e.detail })));
  pod.status = { phase: 'Pending', qosClass: computePodQOSClass(pod) };
  for (const k of Object.keys(obj)) delete obj[k];
  Object.assign(obj, pod);
}

function withoutMutable(spec: Record<string, unknown>): unknown {
  const s = structuredClone(spec) as { containers?: { image?: string }[]; initContainers?: { image?: string }[]; [k: string]: unknown };
  for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) delete c.image;
  delete s.activeDeadlineSeconds;
  delete s.tolerations;
  delete s.terminationGracePeriodSeconds;
  return s;
}

/** Pod update (PUT or patch of the main resource): only the mutable spec fields may change. */
export function admitPodUpdate(obj: KObject, old: KObject): void {
  const pod = setPodDefaults(obj as V1Pod);
  obj.spec = pod.spec;
  if (!deepEqual(withoutMutable((obj.spec ?? {}) as Record<string, unknown>), withoutMutable((old.spec ?? {}) as Record<string, unknown>))) {
    throw errors.invalid(resources.find((r) => r.resource === 'pods')!, obj.metadata?.name ?? '', [{ field: 'spec', message: immutableMsg }]);
  }
}

/** Namespace create: phase Active, the kubernetes finalizer, the kubernetes.io/metadata.name label. */
export function admitNamespace(obj: KObject): void {
  obj.spec = { finalizers: ['kubernetes'] };
  obj.status = { phase: 'Active' };
  obj.metadata!.labels = { ...(obj.metadata!.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata!.name! };
}

/** What the service-account and root-CA publisher controllers create in a new namespace. */
export function populateNamespace(ctx: AdmissionContext, ns: string): void {
  const sa = resources.find((r) => r.resource === 'serviceaccounts')!;
  const cm = resources.find((r) => r.resource === 'configmaps')!;
  if (!ctx.store.tryGet(sa, ns, 'default')) ctx.store.create(sa, ns, { metadata: { name: 'default' } });
  if (!ctx.store.tryGet(cm, ns, 'kube-root-ca.crt')) {
    ctx.store.create(cm, ns, { metadata: { name: 'kube-root-ca.crt', annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': ctx.caPem } });
  }
}

/** Passed as the store's context by pods/binding, which alone may set spec.nodeName. */
export const BindingContext = Symbol('binding');

/** The store's admission hook for the served resources. */
export function makeAdmit(ctx: AdmissionContext): (r: ResourceInfo, obj: KObject, op: 'create' | 'update', old: KObject | undefined, ctx: unknown) => void {
  return (r, obj, op, old, opCtx) => {
    if (r.group !== '') return;
    if (r.resource === 'pods' && opCtx === BindingContext) return;
    if (r.resource === 'pods') {
      if (op === 'create') admitPodCreate(ctx, obj);
      else admitPodUpdate(obj, old!);
    } else if (r.resource === 'namespaces' && op === 'create') {
      admitNamespace(obj);
    } else if (r.resource === 'namespaces' && op === 'update') {
      obj.spec = old!.spec;
    }
  };
}
