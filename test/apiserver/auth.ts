// Authentication and authorization of the test API server (models apiserver
// pkg/authentication/request/x509 (CN = user, O = groups), bearertoken + a static token file,
// plugin/pkg/auth/authorizer/node/node_authorizer.go with the system:node RBAC role, and
// plugin/pkg/admission/noderestriction/admission.go).
//
// Differences: RBAC is reduced to two built-in subjects: the group system:masters may do
// everything, a node (user system:node:<name>, group system:nodes) gets the node authorizer's
// answers; everyone else is denied unless `extraAllow` says so. The node graph is computed from
// the store on each request (pods bound to the node and what they reference).

import { randomBytes } from 'node:crypto';
import type { FieldRequirement } from './selectors.js';
import { requiredField } from './selectors.js';
import { qualifiedResource, resources, type KObject, type ResourceInfo, type Store } from './store.js';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface TokenEntry {
  user: UserInfo;
  /** ms since the epoch; absent: never expires. */
  expires?: number;
  audiences?: string[];
}

export class TokenTable {
  private readonly tokens = new Map<string, TokenEntry>();

  add(token: string, user: UserInfo, expires?: number, audiences?: string[]): void {
    this.tokens.set(token, { user, ...(expires !== undefined ? { expires } : {}), ...(audiences ? { audiences } : {}) });
  }

  /** Issues a new random token for the user. */
  issue(user: UserInfo, expires?: number, audiences?: string[]): string {
    const t = randomBytes(24).toString('base64url');
    this.add(t, user, expires, audiences);
    return t;
  }

  lookup(token: string, now: number): TokenEntry | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    if (e.expires !== undefined && e.expires <= now) return undefined;
    return e;
  }
}

/** Adds system:authenticated as the real authenticator chain does. */
export function withAuthenticated(u: UserInfo): UserInfo {
  return u.groups.includes('system:authenticated') ? u : { ...u, groups: [...u.groups, 'system:authenticated'] };
}

export interface Attributes {
  user: UserInfo;
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  fields?: FieldRequirement[];
  /** The request body (create/update), for admission-style checks. */
  body?: KObject;
  /** Non-resource request path (e.g. /healthz), when not a resource request. */
  path?: string;
}

export interface Decision {
  allowed: boolean;
  /** The reason of a denial, appended to the Forbidden message. */
  reason?: string;
  /** The denial comes from admission (NodeRestriction): message is `<res> "<name>" is forbidden: <reason>`. */
  admission?: boolean;
}

const allow: Decision = { allowed: true };

/** The node name of a node identity, if the user is one. */
export function nodeIdentity(u: UserInfo): string | undefined {
  if (!u.groups.includes('system:nodes')) return undefined;
  const m = /^system:node:(.+)$/.exec(u.name);
  return m ? m[1] : undefined;
}

const res = (name: string, group = ''): ResourceInfo => resources.find((r) => r.resource === name && r.group === group)!;

interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> };
  spec?: {
    nodeName?: string;
    serviceAccountName?: string;
    imagePullSecrets?: { name?: string }[];
    volumes?: Record<string, unknown>[];
    containers?: ContainerLike[];
    initContainers?: ContainerLike[];
    ephemeralContainers?: ContainerLike[];
  };
}

interface ContainerLike {
  env?: { valueFrom?: { secretKeyRef?: { name?: string }; configMapKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string }; configMapRef?: { name?: string } }[];
}

/** Names of secrets, configmaps and service accounts a pod references (node graph edges). */
export function podReferences(pod: PodLike): { secrets: Set<string>; configmaps: Set<string>; serviceaccounts: Set<string> } {
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  const serviceaccounts = new Set<string>();
  const spec = pod.spec ?? {};
  if (spec.serviceAccountName) serviceaccounts.add(spec.serviceAccountName);
  for (const s of spec.imagePullSecrets ?? []) if (s.name) secrets.add(s.name);
  for (const v of spec.volumes ?? []) {
    const sec = v.secret as { secretName?: string } | undefined;
    if (sec?.secretName) secrets.add(sec.secretName);
    const cm = v.configMap as { name?: string } | undefined;
    if (cm?.name) configmaps.add(cm.name);
    const proj = v.projected as { sources?: { secret?: { name?: string }; configMap?: { name?: string } }[] } | undefined;
    for (const s of proj?.sources ?? []) {
      if (s.secret?.name) secrets.add(s.secret.name);
      if (s.configMap?.name) configmaps.add(s.configMap.name);
    }
    for (const k of ['azureFile', 'cephfs', 'cinder', 'flexVolume', 'iscsi', 'rbd', 'scaleIO', 'storageos', 'csi']) {
      const src = v[k] as { secretName?: string; secretRef?: { name?: string }; nodePublishSecretRef?: { name?: string } } | undefined;
      const n = src?.secretName ?? src?.secretRef?.name ?? src?.nodePublishSecretRef?.name;
      if (n) secrets.add(n);
    }
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
      if (e.valueFrom?.configMapKeyRef?.name) configmaps.add(e.valueFrom.configMapKeyRef.name);
    }
    for (const e of c.envFrom ?? []) {
      if (e.secretRef?.name) secrets.add(e.secretRef.name);
      if (e.configMapRef?.name) configmaps.add(e.configMapRef.name);
    }
  }
  return { secrets, configmaps, serviceaccounts };
}

function boundPods(store: Store, node: string, namespace?: string): PodLike[] {
  return (store.list(res('pods'), namespace) as PodLike[]).filter((p) => p.spec?.nodeName === node);
}

/** The node authorizer plus the system:node role and NodeRestriction admission. */
export function authorizeNode(store: Store, node: string, a: Attributes): Decision {
  const deny = (reason: string): Decision => ({ allowed: false, reason });
  const admissionDeny = (reason: string): Decision => ({ allowed: false, reason, admission: true });
  const noRelation = deny(`no relationship found between node '${node}' and this object`);
  const { verb, resource, subresource: sub, namespace: ns, group } = a;
  const name = a.name || (a.fields ? (requiredField(a.fields, 'metadata.name') ?? '') : '');
  const read = verb === 'get' || verb === 'list' || verb === 'watch';

  if (a.path !== undefined) return a.path.startsWith('/api') || ['/healthz', '/readyz', '/livez', '/version'].includes(a.path) ? allow : deny('');

  if (group === '' && resource === 'nodes') {
    if (read && !sub) return allow;
    if (!['create', 'update', 'patch', 'delete'].includes(verb) || (sub && sub !== 'status')) return deny('');
    const target = verb === 'create' ? (a.body?.metadata?.name ?? '') : name;
    if (target !== node) return admissionDeny(`node "${node}" is not allowed to modify node "${target}"`);
    return allow;
  }
  if (group === 'coordination.k8s.io' && resource === 'leases') {
    if (ns !== 'kube-node-lease' || !['get', 'create', 'update', 'patch', 'delete'].includes(verb)) {
      return deny('can only access node lease with the same name as the requesting node in kube-node-lease');
    }
    const target = verb === 'create' ? (a.body?.metadata?.name ?? '') : name;
    if (target !== node) return admissionDeny(`can only access node lease with the same name as the requesting node`);
    return allow;
  }
  if (group === '' && resource === 'pods') {
    if ((verb === 'list' || verb === 'watch') && !sub) {
      const sel = a.fields ? requiredField(a.fields, 'spec.nodeName') : undefined;
      if (sel === node) return allow;
      return deny(`can only list/watch pods with spec.nodeName field selector`);
    }
    if (verb === 'create' && !sub) {
      const p = a.body as PodLike | undefined;
      if (!p?.metadata?.annotations?.['kubernetes.io/config.mirror']) {
        return admissionDeny(`pod does not have "kubernetes.io/config.mirror" annotation, node "${node}" can only create mirror pods`);
      }
      if (p.spec?.nodeName !== node) return admissionDeny(`node "${node}" can only create pods with spec.nodeName set to itself`);
      return allow;
    }
    const pod = store.tryGet(res('pods'), ns, name) as PodLike | undefined;
    if (!pod) return read || verb === 'delete' ? deny(`node '${node}' cannot ${verb} unknown pod ${ns}/${name}`) : noRelation;
    const bound = pod.spec?.nodeName === node;
    if (verb === 'get' && (!sub || sub === 'status')) return bound ? allow : noRelation;
    if ((verb === 'update' || verb === 'patch') && sub === 'status') {
      return bound ? allow : admissionDeny(`node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
    }
    if (verb === 'delete' && !sub) return bound ? allow : admissionDeny(`node "${node}" can only delete pods with spec.nodeName set to itself`);
    if (verb === 'create' && sub === 'eviction') return bound ? allow : admissionDeny(`node "${node}" can only evict pods with spec.nodeName set to itself`);
    return deny('');
  }
  if (group === '' && (resource === 'secrets' || resource === 'configmaps' || resource === 'serviceaccounts')) {
    if (resource === 'serviceaccounts' && sub === 'token' && verb === 'create') {
      const refs = boundPods(store, node, ns).flatMap((p) => [...podReferences(p).serviceaccounts]);
      if (!refs.includes(name)) return noRelation;
      const ref = (a.body?.spec as { boundObjectRef?: { kind?: string; name?: string; uid?: string } } | undefined)?.boundObjectRef;
      if (!ref || ref.kind !== 'Pod') return admissionDeny(`node requested token not bound to a pod`);
      const pod = store.tryGet(res('pods'), ns, ref.name ?? '') as PodLike | undefined;
      if (!pod || pod.spec?.nodeName !== node) return admissionDeny(`node requested token bound to a pod scheduled on a different node`);
      if (ref.uid && ref.uid !== pod.metadata?.uid) return admissionDeny(`the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      return allow;
    }
    if (!read || sub) return deny('');
    if (!name) return deny('can only get individual resources of this type');
    const key = resource as 'secrets' | 'configmaps' | 'serviceaccounts';
    const related = boundPods(store, node, ns).some((p) => podReferences(p)[key].has(name));
    if (resource === 'configmaps' && name === 'kube-root-ca.crt' && boundPods(store, node, ns).length > 0) return allow;
    return related ? allow : noRelation;
  }
  if (group === '' && resource === 'events') return ['create', 'update', 'patch'].includes(verb) ? allow : deny('');
  if (group === 'certificates.k8s.io' && resource === 'certificatesigningrequests') {
    return ['create', 'get', 'list', 'watch'].includes(verb) && !sub ? allow : deny('');
  }
  if ((group === 'authentication.k8s.io' && resource === 'tokenreviews') || (group === 'authorization.k8s.io' && resource === 'subjectaccessreviews')) {
    return verb === 'create' ? allow : deny('');
  }
  if (group === 'authorization.k8s.io' && resource === 'selfsubjectaccessreviews') return allow;
  return deny('');
}

export type ExtraAuthorizer = (a: Attributes) => boolean | undefined;

/** Authorizes a request: system:masters everything, nodes by the node rules, `extra` for others. */
export function authorize(store: Store, a: Attributes, extra?: ExtraAuthorizer): Decision {
  if (a.user.groups.includes('system:masters')) return allow;
  const e = extra?.(a);
  if (e !== undefined) return { allowed: e };
  if (a.group === 'authorization.k8s.io' && a.resource === 'selfsubjectaccessreviews' && a.verb === 'create') return allow;
  const node = nodeIdentity(a.user);
  if (node) return authorizeNode(store, node, a);
  if (a.path !== undefined && ['/healthz', '/readyz', '/livez', '/version', '/api', '/apis'].includes(a.path)) return allow;
  return { allowed: false };
}

/** The real Forbidden message: `pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "ns"`. */
export function forbiddenMessage(a: Attributes, d: Decision): string {
  const r = resources.find((x) => x.resource === a.resource && x.group === a.group);
  const qres = r ? qualifiedResource(r) : a.group ? `${a.resource}.${a.group}` : a.resource;
  const name = a.name || (d.admission ? (a.body?.metadata?.name ?? '') : '');
  const target = `${qres}${name ? ` "${name}"` : ''}`;
  if (a.path !== undefined) return `forbidden: User "${a.user.name}" cannot ${a.verb} path "${a.path}"`;
  if (d.admission) return `${target} is forbidden: ${d.reason ?? ''}`;
  const resPart = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${target} is forbidden: User "${a.user.name}" cannot ${a.verb} resource "${resPart}" in API group "${a.group}" ${scope}${d.reason ? `: ${d.reason}` : ''}`;
}
