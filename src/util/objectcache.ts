// The kubelet's cache-based object manager (models pkg/kubelet/util/manager/cache_based_manager.go:
// objectStore with AddReference/DeleteReference/Get, cacheBasedManager RegisterPod/UnregisterPod,
// and the TTL taken from the node's node.alpha.kubernetes.io/ttl annotation), shared by the
// ConfigMap and Secret managers (src/kubelet/configmap, src/kubelet/secret).
//
// - RegisterPod adds a reference to every object the pod names (and forces a fetch on the next
//   Get), then drops the references of the pod's previous registration; UnregisterPod drops its
//   references; an object no pod references is forgotten.
// - Get of an object no registered pod references fails with `object "ns"/"name" not registered`.
// - A cached object is served while younger than the TTL (default 1 m); a NotFound is remembered
//   but fetched again on the next Get; any other error keeps serving what was fetched before (and
//   is returned only when nothing was); an answer older (by resourceVersion) than the cached one is
//   ignored.
// - A 404 becomes ObjectNotFoundError with the watch-based manager's wording (`configmap "x" not
//   found`, the message kubectl users know: the default strategy upstream is Watch), not the API
//   server's plural `configmaps "x" not found`.
//
// Differences: concurrent Gets of one object share one request (upstream serializes them on a
// per-object lock, which also ends in one request); no "serve from the API server's cache"
// (resourceVersion=0) on periodic refreshes.

import { ApiException, type V1Pod } from '@kubernetes/client-node';
import type { Clock } from './clock.js';
import { NodeletError } from './errors.js';

/** The API says the object does not exist (apierrors.IsNotFound). */
export class ObjectNotFoundError extends NodeletError {
  constructor(
    readonly resource: string,
    readonly namespace: string,
    readonly objectName: string,
  ) {
    super('NotFound', `${resource} "${objectName}" not found`);
  }
}

/** An API error other than NotFound, carrying the Status message (what Go's StatusError.Error() prints). */
export class ApiRequestError extends NodeletError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(status === 403 ? 'Forbidden' : 'ApiError', message);
  }
}

function statusMessage(body: unknown): string | undefined {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body) as unknown;
    } catch {
      return body || undefined;
    }
  }
  const m = (b as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' && m ? m : undefined;
}

/**
 * Maps a client-node failure of a GET of `resource` (singular, e.g. "configmap") to
 * ObjectNotFoundError (404), ApiRequestError (other HTTP statuses, with the Status message), or
 * the error itself (transport errors).
 */
export function toObjectError(e: unknown, resource: string, namespace: string, name: string): Error {
  if (e instanceof ApiException) {
    if (e.code === 404) return new ObjectNotFoundError(resource, namespace, name);
    return new ApiRequestError(e.code, statusMessage(e.body) ?? `${resource} ${namespace}/${name}: HTTP ${e.code}`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** Reads one object; rejects with ObjectNotFoundError on 404. */
export type ObjectFetcher<T> = (namespace: string, name: string) => Promise<T>;

export interface ObjectCacheOptions<T> {
  fetch: ObjectFetcher<T>;
  clock: Clock;
  /** Names of the objects (in the pod's namespace) a pod references. */
  referencedNames: (pod: V1Pod) => Set<string>;
  /** Default TTL of a cached object (default 1 m, the kubelet's defaultTTL). */
  ttlMs?: number;
  /** The TTL the node's node.alpha.kubernetes.io/ttl annotation sets, if any (ms). */
  getTTL?: () => number | undefined;
}

/** Upstream's defaultTTL of the cache-based managers. */
export const defaultObjectTTLMs = 60_000;

/** The node annotation that sets the TTL (seconds) of the kubelet's object caches. */
export const ObjectTTLAnnotationKey = 'node.alpha.kubernetes.io/ttl';

/** The TTL (ms) a node's annotations ask for, when the annotation is a valid integer >= 0 (GetObjectTTLFromNodeFunc). */
export function ttlFromNodeAnnotations(annotations: Record<string, string> | undefined): number | undefined {
  const v = annotations?.[ObjectTTLAnnotationKey];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v) * 1000;
}

interface CachedData<T> {
  object?: T;
  err?: Error;
  lastUpdate: number;
}

interface StoreItem<T> {
  refCount: number;
  /** undefined: fetch on the next Get. */
  data?: CachedData<T>;
  inflight?: Promise<T>;
}

function resourceVersionOf(o: unknown): bigint | undefined {
  const rv = (o as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
  if (!rv || !/^\d+$/.test(rv)) return undefined;
  return BigInt(rv);
}

/** isObjectOlder: both versions known and the new one below the cached one. */
function isOlder<T>(fresh: T, cached: T | undefined): boolean {
  const a = resourceVersionOf(fresh);
  const b = resourceVersionOf(cached);
  return a !== undefined && b !== undefined && a < b;
}

/** cacheBasedManager: objects of one kind, cached with a TTL, kept while a registered pod references them. */
export class CachingObjectManager<T> {
  private readonly items = new Map<string, StoreItem<T>>();
  /** Registered pods by namespace/name/uid: the pod as registered. */
  private readonly pods = new Map<string, V1Pod>();
  private readonly fetchFn: ObjectFetcher<T>;
  private readonly clock: Clock;
  private readonly referencedNames: (pod: V1Pod) => Set<string>;
  private readonly ttlMs: number;
  private readonly getTTL: (() => number | undefined) | undefined;

  constructor(opts: ObjectCacheOptions<T>) {
    this.fetchFn = opts.fetch;
    this.clock = opts.clock;
    this.referencedNames = opts.referencedNames;
    this.ttlMs = opts.ttlMs ?? defaultObjectTTLMs;
    this.getTTL = opts.getTTL;
  }

  /** Objects currently referenced (and possibly cached). */
  get size(): number {
    return this.items.size;
  }

  /** Whether some registered pod references namespace/name. */
  isReferenced(namespace: string, name: string): boolean {
    return this.items.has(`${namespace}/${name}`);
  }

  registerPod(pod: V1Pod): void {
    const ns = pod.metadata?.namespace ?? '';
    for (const name of this.referencedNames(pod)) this.addReference(ns, name);
    const key = podKey(pod);
    const prev = this.pods.get(key);
    this.pods.set(key, pod);
    // the adds above re-counted what both registrations name: drop the previous registration's counts
    if (prev) for (const name of this.referencedNames(prev)) this.deleteReference(prev.metadata?.namespace ?? '', name);
  }

  unregisterPod(pod: V1Pod): void {
    const key = podKey(pod);
    const prev = this.pods.get(key);
    if (!prev) return;
    this.pods.delete(key);
    for (const name of this.referencedNames(prev)) this.deleteReference(prev.metadata?.namespace ?? '', name);
  }

  async get(namespace: string, name: string): Promise<T> {
    const item = this.items.get(`${namespace}/${name}`);
    if (!item) throw new NodeletError('NotRegistered', `object "${namespace}"/"${name}" not registered`);
    const data = item.data;
    if (data && !data.err && this.isFresh(data)) return data.object as T;
    if (item.inflight) return item.inflight;
    const p = this.refresh(item, namespace, name).finally(() => {
      if (item.inflight === p) delete item.inflight;
    });
    item.inflight = p;
    return p;
  }

  private async refresh(item: StoreItem<T>, namespace: string, name: string): Promise<T> {
    let object: T | undefined;
    let err: Error | undefined;
    try {
      object = await this.fetchFn(namespace, name);
    } catch (e) {
      err = e instanceof Error ? e : new Error(String(e));
    }
    const data = (item.data ??= { lastUpdate: 0 });
    const notFound = err instanceof ObjectNotFoundError;
    if (err && !notFound && data.object === undefined && data.err === undefined) throw err; // nothing cached to fall back on
    if ((!err && !isOlder(object as T, data.object)) || notFound) {
      data.object = object;
      data.err = err;
      data.lastUpdate = this.clock.now();
    }
    if (data.err) throw data.err;
    return data.object as T;
  }

  private isFresh(data: CachedData<T>): boolean {
    const ttl = this.getTTL?.() ?? this.ttlMs;
    return this.clock.now() < data.lastUpdate + ttl;
  }

  private addReference(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    let item = this.items.get(key);
    if (!item) this.items.set(key, (item = { refCount: 0 }));
    item.refCount++;
    delete item.data; // fetch on the next Get
  }

  private deleteReference(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const item = this.items.get(key);
    if (!item) return;
    item.refCount--;
    if (item.refCount <= 0) this.items.delete(key);
  }
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}/${pod.metadata?.uid ?? ''}`;
}
