// Storage of the test API server (models apiserver pkg/registry/generic/registry/store.go on top
// of the etcd3 storage and the watch cache: one global revision used as every object's
// resourceVersion, a bounded event history like etcd compaction, graceful deletion as in
// pkg/registry/core/pod/strategy.go CheckGracefulDelete and rest/delete.go BeforeDelete, and the
// status-subresource strategies that keep .status apart from the main resource).
//
// Resources with `generation` (apps/v1 DaemonSets: pkg/registry/apps/daemonset/strategy.go) get
// metadata.generation 1 on create and +1 on each change of .spec (a request cannot set it), and
// their create starts from `initialStatus` (PrepareForCreate resets .status).
//
// Differences: everything is in memory and synchronous; no managedFields; namespace deletion
// removes the namespace and its objects at once (no Terminating phase / namespace controller).
// Finalizers are honoured (an object with finalizers gets a deletionTimestamp and goes when the
// last finalizer is removed). DaemonSets get no defaulting (updateStrategy, revisionHistoryLimit,
// the pod template's defaults) and no validation (selector matching the template's labels).

import { randomUUID } from 'node:crypto';
import { deepEqual } from './patch.js';

export type KObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: unknown[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural resource name, as in the URL. */
  resource: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  /** Subresources served (e.g. "status"). */
  subresources: string[];
  /** The main resource ignores .status changes; /status changes only .status. */
  statusIsolated: boolean;
  /** PUT on a missing object creates it (leases, events). */
  allowCreateOnUpdate: boolean;
  verbs: string[];
  shortNames?: string[];
  /** Not stored: create only answers (reviews, token requests). */
  virtual?: boolean;
  /** metadata.generation: 1 at create, +1 on every .spec change (workload strategies). */
  generation?: boolean;
  /** The .status a create starts from (the strategy's PrepareForCreate), whatever was sent. */
  initialStatus?: Record<string, unknown>;
}

const rw = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function core(resource: string, kind: string, namespaced: boolean, extra: Partial<ResourceInfo> = {}): ResourceInfo {
  return { group: '', version: 'v1', resource, kind, listKind: `${kind}List`, namespaced, subresources: [], statusIsolated: false, allowCreateOnUpdate: false, verbs: rw, ...extra };
}

/** The resources the test server serves. */
export const resources: ResourceInfo[] = [
  core('namespaces', 'Namespace', false, { subresources: ['status'], statusIsolated: true, shortNames: ['ns'] }),
  core('nodes', 'Node', false, { subresources: ['status'], statusIsolated: true, shortNames: ['no'] }),
  core('pods', 'Pod', true, { subresources: ['status'], statusIsolated: true, shortNames: ['po'] }),
  core('events', 'Event', true, { allowCreateOnUpdate: true, shortNames: ['ev'] }),
  core('configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  core('secrets', 'Secret', true),
  core('serviceaccounts', 'ServiceAccount', true, { subresources: ['token'], shortNames: ['sa'] }),
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', listKind: 'LeaseList', namespaced: true, subresources: [], statusIsolated: false, allowCreateOnUpdate: true, verbs: rw },
  {
    group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', listKind: 'DaemonSetList', namespaced: true, subresources: ['status'], statusIsolated: true,
    allowCreateOnUpdate: false, verbs: rw, shortNames: ['ds'], generation: true,
    // DaemonSetStatus: these four are not omitempty, so a new object shows them as 0
    initialStatus: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
  },
  { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', kind: 'CertificateSigningRequest', listKind: 'CertificateSigningRequestList', namespaced: false, subresources: ['status', 'approval'], statusIsolated: true, allowCreateOnUpdate: false, verbs: rw, shortNames: ['csr'] },
  { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews', kind: 'TokenReview', listKind: 'TokenReviewList', namespaced: false, subresources: [], statusIsolated: false, allowCreateOnUpdate: false, verbs: ['create'], virtual: true },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews', kind: 'SubjectAccessReview', listKind: 'SubjectAccessReviewList', namespaced: false, subresources: [], statusIsolated: false, allowCreateOnUpdate: false, verbs: ['create'], virtual: true },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', listKind: 'SelfSubjectAccessReviewList', namespaced: false, subresources: [], statusIsolated: false, allowCreateOnUpdate: false, verbs: ['create'], virtual: true },
];

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** "pods" or "leases.coordination.k8s.io", as in the real server's messages. */
export function qualifiedResource(r: ResourceInfo): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** An error answered as a metav1.Status body. */
export class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string, readonly details?: StatusDetails) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    const s: Record<string, unknown> = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason };
    if (this.details) s.details = this.details;
    s.code = this.code;
    return s;
  }
}

function detailsFor(r: ResourceInfo, name: string): StatusDetails {
  const d: StatusDetails = { name };
  if (r.group) d.group = r.group;
  d.kind = r.resource;
  return d;
}

export const errors = {
  notFound: (r: ResourceInfo, name: string) => new ApiError(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, detailsFor(r, name)),
  alreadyExists: (r: ResourceInfo, name: string) => new ApiError(409, 'AlreadyExists', `${qualifiedResource(r)} "${name}" already exists`, detailsFor(r, name)),
  conflict: (r: ResourceInfo, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`, detailsFor(r, name)),
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  invalid: (r: ResourceInfo, name: string, causes: { field: string; message: string }[]) => {
    const list = causes.map((c) => `${c.field}: ${c.message}`);
    const msg = `${r.kind} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`;
    return new ApiError(422, 'Invalid', msg, { ...detailsFor(r, name), kind: r.kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })) });
  },
  gone: (message: string) => new ApiError(410, 'Expired', message),
  methodNotAllowed: (message = 'the server does not allow this method on the requested resource') => new ApiError(405, 'MethodNotAllowed', message),
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  rv: number;
  resource: ResourceInfo;
  object: KObject;
  /** The object before the change (MODIFIED and DELETED). */
  prev?: KObject;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface StoreOptions {
  /** Events kept for watches from an old resourceVersion (like etcd's compaction window). Default 1000. */
  historySize?: number;
  now?: () => Date;
}

function key(r: ResourceInfo, ns: string, name: string): string {
  return `${r.group}/${r.resource}/${r.namespaced ? ns : ''}/${name}`;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

const alnum = 'bcdfghjklmnpqrstvwxz2456789';
/** The 5-character random suffix of generateName (apiserver names.SimpleNameGenerator). */
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alnum[Math.floor(Math.random() * alnum.length)];
  return s;
}

export class Store {
  private rv = 0;
  private readonly objects = new Map<string, KObject>();
  private readonly history: StoreEvent[] = [];
  /** Events with rv <= compactedRv are gone from the history. */
  private compactedRv = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private readonly historySize: number;
  readonly now: () => Date;
  /** Called on every pod/namespace create, to apply admission (set by the server). */
  admit?: (r: ResourceInfo, obj: KObject, op: 'create' | 'update', old: KObject | undefined, ctx: unknown) => void;

  constructor(opts: StoreOptions = {}) {
    this.historySize = opts.historySize ?? 1000;
    this.now = opts.now ?? (() => new Date());
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** The oldest resourceVersion a watch can start from. */
  get oldestWatchableRv(): number {
    return this.compactedRv;
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events after `rv`, or undefined when some of them are compacted away. */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  /** Drops the whole history (as an etcd compaction at the current revision would). */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  private emit(type: EventType, r: ResourceInfo, object: KObject, prev?: KObject): void {
    const e: StoreEvent = { type, rv: this.rv, resource: r, object: clone(object), ...(prev ? { prev: clone(prev) } : {}) };
    this.history.push(e);
    while (this.history.length > this.historySize) {
      const dropped = this.history.shift()!;
      this.compactedRv = dropped.rv;
    }
    for (const l of [...this.listeners]) l(e);
  }

  private stamp(obj: KObject): void {
    this.rv++;
    obj.metadata!.resourceVersion = String(this.rv);
  }

  get(r: ResourceInfo, ns: string, name: string): KObject {
    const o = this.objects.get(key(r, ns, name));
    if (!o) throw errors.notFound(r, name);
    return clone(o);
  }

  tryGet(r: ResourceInfo, ns: string, name: string): KObject | undefined {
    const o = this.objects.get(key(r, ns, name));
    return o ? clone(o) : undefined;
  }

  /** All objects of a resource (in one namespace when ns is set), sorted by namespace/name. */
  /** The stored objects themselves, unordered, not copied: read them, never change them (a paged list copies only its page). */
  listShared(r: ResourceInfo, ns?: string): KObject[] {
    const prefix = `${r.group}/${r.resource}/${r.namespaced && ns ? `${ns}/` : ''}`;
    const out: KObject[] = [];
    for (const [k, v] of this.objects) if (k.startsWith(prefix)) out.push(v);
    return out;
  }

  list(r: ResourceInfo, ns?: string): KObject[] {
    const prefix = `${r.group}/${r.resource}/${r.namespaced && ns ? `${ns}/` : ''}`;
    const out: KObject[] = [];
    for (const [k, v] of this.objects) if (k.startsWith(prefix)) out.push(clone(v));
    out.sort((a, b) => `${a.metadata?.namespace ?? ''}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace ?? ''}/${b.metadata?.name}`));
    return out;
  }

  private checkNamespace(r: ResourceInfo, ns: string): void {
    if (!r.namespaced) return;
    const nsInfo = resources[0]!;
    if (!this.objects.has(key(nsInfo, '', ns))) throw errors.notFound(nsInfo, ns);
  }

  create(r: ResourceInfo, ns: string, input: KObject, ctx?: unknown): KObject {
    const obj = clone(input);
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    const md = (obj.metadata ??= {});
    if (r.namespaced) {
      if (md.namespace && md.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      md.namespace = ns;
    } else {
      delete md.namespace;
    }
    if (!md.name && md.generateName) md.name = `${md.generateName}${randomSuffix()}`;
    if (!md.name) throw errors.invalid(r, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    this.checkNamespace(r, ns);
    if (this.objects.has(key(r, ns, md.name))) throw errors.alreadyExists(r, md.name);
    md.uid = randomUUID();
    md.creationTimestamp = rfc3339(this.now());
    delete md.deletionTimestamp;
    delete md.deletionGracePeriodSeconds;
    delete md.resourceVersion;
    if (r.generation) md.generation = 1;
    if (r.initialStatus) obj.status = clone(r.initialStatus);
    this.admit?.(r, obj, 'create', undefined, ctx);
    this.stamp(obj);
    this.objects.set(key(r, ns, md.name), obj);
    this.emit('ADDED', r, obj);
    return clone(obj);
  }

  /**
   * PUT semantics: `sub` is '' for the main resource or 'status'. A non-empty
   * metadata.resourceVersion must match (409 Conflict otherwise).
   */
  update(r: ResourceInfo, ns: string, name: string, input: KObject, sub = '', ctx?: unknown): KObject {
    const k = key(r, ns, name);
    const old = this.objects.get(k);
    const obj = clone(input);
    const md = (obj.metadata ??= {});
    if (md.name && md.name !== name) throw errors.badRequest(`the name of the object (${md.name}) does not match the name on the URL (${name})`);
    md.name = name;
    if (r.namespaced) {
      if (md.namespace && md.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      md.namespace = ns;
    }
    if (!old) {
      if (r.allowCreateOnUpdate && !sub) {
        if (md.resourceVersion) throw errors.notFound(r, name);
        return this.create(r, ns, obj, ctx);
      }
      throw errors.notFound(r, name);
    }
    if (md.resourceVersion && md.resourceVersion !== old.metadata!.resourceVersion) throw errors.conflict(r, name);
    let next: KObject;
    if (sub === 'status') {
      next = clone(old);
      next.status = clone(obj.status);
      if (obj.status === undefined) delete next.status;
    } else {
      next = obj;
      next.apiVersion = apiVersionOf(r);
      next.kind = r.kind;
      const om = old.metadata!;
      md.uid = om.uid;
      md.creationTimestamp = om.creationTimestamp;
      if (om.deletionTimestamp) md.deletionTimestamp = om.deletionTimestamp;
      else delete md.deletionTimestamp;
      if (om.deletionGracePeriodSeconds !== undefined) md.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
      else delete md.deletionGracePeriodSeconds;
      if (r.statusIsolated) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      if (r.generation) {
        const gen = typeof om.generation === 'number' ? om.generation : 1;
        md.generation = deepEqual(next.spec, old.spec) ? gen : gen + 1;
      }
      if (r.namespaced) md.namespace = ns;
      this.admit?.(r, next, 'update', old, ctx);
    }
    return this.commitUpdate(r, k, next, old);
  }

  private commitUpdate(r: ResourceInfo, k: string, next: KObject, old: KObject): KObject {
    const md = next.metadata!;
    md.resourceVersion = old.metadata!.resourceVersion;
    if (deepEqual(next, old)) return clone(old); // no-op update: no new revision
    // An object being deleted goes once its last finalizer is removed.
    if (md.deletionTimestamp && !(md.finalizers?.length) && md.deletionGracePeriodSeconds === 0) {
      this.stamp(next);
      this.objects.delete(k);
      this.emit('DELETED', r, next, old);
      return clone(next);
    }
    this.stamp(next);
    this.objects.set(k, next);
    this.emit('MODIFIED', r, next, old);
    return clone(next);
  }

  /**
   * DELETE semantics. Returns the object and whether it is gone (false: graceful deletion or
   * finalizers pending, the object stays with a deletionTimestamp).
   */
  delete(r: ResourceInfo, ns: string, name: string, opts: DeleteOptions = {}): { object: KObject; gone: boolean } {
    const k = key(r, ns, name);
    const old = this.objects.get(k);
    if (!old) throw errors.notFound(r, name);
    const om = old.metadata!;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== om.uid) {
      throw errors.conflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${om.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== om.resourceVersion) {
      throw errors.conflict(r, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${om.resourceVersion}`);
    }
    let grace = 0;
    if (r.resource === 'pods' && r.group === '') grace = podGracePeriod(old, opts.gracePeriodSeconds);
    if (grace > 0 && (om.deletionGracePeriodSeconds === undefined || grace < om.deletionGracePeriodSeconds)) {
      const next = clone(old);
      next.metadata!.deletionTimestamp = rfc3339(new Date(this.now().getTime() + grace * 1000));
      next.metadata!.deletionGracePeriodSeconds = grace;
      return { object: this.commitUpdate(r, k, next, old), gone: false };
    }
    if (grace > 0) return { object: clone(old), gone: false }; // already being deleted with a shorter period
    if (om.finalizers?.length) {
      if (om.deletionTimestamp && om.deletionGracePeriodSeconds === 0) return { object: clone(old), gone: false };
      const next = clone(old);
      next.metadata!.deletionTimestamp ??= rfc3339(this.now());
      next.metadata!.deletionGracePeriodSeconds = 0;
      this.stamp(next);
      this.objects.set(k, next);
      this.emit('MODIFIED', r, next, old);
      return { object: clone(next), gone: false };
    }
    const last = clone(old);
    this.stamp(last);
    this.objects.delete(k);
    this.emit('DELETED', r, last, old);
    if (r.resource === 'namespaces' && r.group === '') {
      for (const [ok, o] of [...this.objects]) {
        if (o.metadata?.namespace !== name) continue;
        const ri = resources.find((x) => ok.startsWith(`${x.group}/${x.resource}/`))!;
        const gone = clone(o);
        this.stamp(gone);
        this.objects.delete(ok);
        this.emit('DELETED', ri, gone, o);
      }
    }
    return { object: last, gone: true };
  }

  /** Writes an object as is (test seeding): creates or replaces, stamping a new resourceVersion. */
  put(r: ResourceInfo, input: KObject): KObject {
    const obj = clone(input);
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    const md = (obj.metadata ??= {});
    const ns = r.namespaced ? (md.namespace ??= 'default') : '';
    const k = key(r, ns, md.name ?? '');
    const old = this.objects.get(k);
    md.uid ??= old?.metadata?.uid ?? randomUUID();
    md.creationTimestamp ??= old?.metadata?.creationTimestamp ?? rfc3339(this.now());
    this.stamp(obj);
    this.objects.set(k, obj);
    this.emit(old ? 'MODIFIED' : 'ADDED', r, obj, old);
    return clone(obj);
  }
}

/**
 * The grace period a pod DELETE gets (pod strategy CheckGracefulDelete): 0 for a pod not bound
 * to a node or already finished, else the request's gracePeriodSeconds, else the pod's
 * terminationGracePeriodSeconds, else 30.
 */
export function podGracePeriod(pod: KObject, requested: number | undefined): number {
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!spec.nodeName) return 0;
  if (phase === 'Failed' || phase === 'Succeeded') return 0;
  let g = requested ?? spec.terminationGracePeriodSeconds ?? 30;
  if (g < 0) g = 1;
  return g;
}
