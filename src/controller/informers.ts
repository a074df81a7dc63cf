// Shared informers for the controllers (models client-go's SharedIndexInformer as
// kube-controller-manager uses it: list then watch, a local cache the listers read, event handlers,
// HasSynced). The API edge is @kubernetes/client-node's ListWatch (cache.ts); what it lacks is
// added here: it is restarted after an error or a closed watch (client-node leaves that to the
// caller) with a backoff on the injected Clock, and hasSynced() says when the first list is in.
//
// MemoryInformer is the same interface over an in-memory map, for unit tests and benchmarks
// (thousands of simulated nodes without an API server).

import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Clock, Timer } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';

export type InformerEvent = 'add' | 'update' | 'delete';

/** What a controller reads: the cache (a lister) and its events. */
export interface Informer<T extends KubernetesObject> {
  /** Objects in the cache (of one namespace when given). */
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  /** add: (obj); update: (obj, old); delete: (obj, the last known state). */
  on(event: InformerEvent, cb: (obj: T, old?: T) => void): void;
  /** True once the first list has been stored (WaitForCacheSync). */
  hasSynced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const key = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** An informer over an in-memory store (tests, benchmarks): add/update/remove drive the handlers. */
export class MemoryInformer<T extends KubernetesObject> implements Informer<T> {
  private readonly objects = new Map<string, T>();
  private readonly handlers: Record<InformerEvent, ((obj: T, old?: T) => void)[]> = { add: [], update: [], delete: [] };
  private synced = false;

  constructor(
    initial: readonly T[] = [],
    private readonly transform: (o: T) => T = (o) => o,
  ) {
    for (const o of initial) this.objects.set(key(o), this.transform(o));
  }

  list(namespace?: string): readonly T[] {
    const all = [...this.objects.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(`${namespace ?? ''}/${name}`);
  }

  on(event: InformerEvent, cb: (obj: T, old?: T) => void): void {
    this.handlers[event].push(cb);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  start(): Promise<void> {
    this.synced = true;
    for (const o of this.objects.values()) for (const h of this.handlers.add) h(o);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  /** Adds or replaces an object, calling the add or update handlers. */
  upsert(input: T): void {
    const obj = this.transform(input);
    const old = this.objects.get(key(obj));
    this.objects.set(key(obj), obj);
    if (!this.synced) return;
    if (old) for (const h of this.handlers.update) h(obj, old);
    else for (const h of this.handlers.add) h(obj);
  }

  remove(name: string, namespace?: string): void {
    const k = `${namespace ?? ''}/${name}`;
    const old = this.objects.get(k);
    if (!old) return;
    this.objects.delete(k);
    if (this.synced) for (const h of this.handlers.delete) h(old, old);
  }
}

export interface ApiInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection's path, e.g. /api/v1/nodes or /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases. */
  path: string;
  /** The whole list in one request (when listPage is not given). */
  list?: () => Promise<KubernetesListObject<T>>;
  clock: Clock;
  logger?: Logger;
  labelSelector?: string;
  fieldSelector?: string;
  /** Wait before restarting after an error or a closed watch (default 1 s, doubling to 30 s). */
  restartBackoffMs?: number;
  /** What the cache keeps of each object (client-go's SetTransform); default all of it. */
  transform?: (obj: T) => T;
  /**
   * A paged list (limit + continue, as client-go's reflector lists 500 at a time): when given, the
   * list is read page by page and each page transformed before the next is read, so a large
   * collection is never held whole.
   */
  listPage?: (continueToken: string | undefined, limit: number) => Promise<KubernetesListObject<T>>;
}

/** Reads every page of a list, transforming each page's items as it comes. */
export async function listAllPages<T extends KubernetesObject>(
  listPage: (continueToken: string | undefined, limit: number) => Promise<KubernetesListObject<T>>,
  transform: (o: T) => T = (o) => o,
  limit = 500,
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let first: KubernetesListObject<T> | undefined;
  let token: string | undefined;
  do {
    const page = await listPage(token, limit);
    first ??= page;
    for (const o of page.items) items.push(transform(o));
    token = page.metadata?._continue || undefined;
  } while (token);
  return { ...first, items, metadata: { ...first.metadata, _continue: undefined } } as KubernetesListObject<T>;
}

/** client-node's ListWatch, restarted when its watch fails, with update events carrying the old object. */
export class ApiInformer<T extends KubernetesObject> implements Informer<T> {
  private readonly lw: ListWatch<T>;
  private readonly handlers: Record<InformerEvent, ((obj: T, old?: T) => void)[]> = { add: [], update: [], delete: [] };
  /** The last state handed to handlers, for update's old object (ListWatch does not keep it). */
  private readonly last = new Map<string, T>();
  private synced = false;
  private stopped = true;
  private failures = 0;
  private timer: Timer | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: ApiInformerOptions<T>) {
    this.log = (opts.logger ?? nopLogger).child({ informer: opts.path });
    const transform = opts.transform;
    const watch = new Watch(opts.kubeConfig);
    // the transform applies to what the list and the watch deliver, before ListWatch caches it
    const source = transform
      ? ({ watch: (path, query, cb, done) => watch.watch(path, query, (phase, obj: T, raw) => cb(phase, phase === 'BOOKMARK' || phase === 'ERROR' ? obj : transform(obj), raw), done) } as Watch)
      : watch;
    const listPage = opts.listPage;
    const whole = opts.list;
    if (!listPage && !whole) throw new Error(`informer ${opts.path}: neither list nor listPage given`);
    const list = listPage
      ? () => listAllPages(listPage, transform)
      : async () => {
          const l = await whole!();
          return transform ? { ...l, items: l.items.map(transform) } : l;
        };
    this.lw = new ListWatch<T>(opts.path, source, list, false, opts.labelSelector, opts.fieldSelector);
    this.lw.on('add', (o) => {
      this.last.set(key(o), o);
      for (const h of this.handlers.add) h(o);
    });
    this.lw.on('update', (o) => {
      const old = this.last.get(key(o));
      this.last.set(key(o), o);
      for (const h of this.handlers.update) h(o, old);
    });
    this.lw.on('delete', (o) => {
      const old = this.last.get(key(o)) ?? o;
      this.last.delete(key(o));
      for (const h of this.handlers.delete) h(o, old);
    });
    this.lw.on('error', (err?: unknown) => this.restartLater(err));
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  on(event: InformerEvent, cb: (obj: T, old?: T) => void): void {
    this.handlers[event].push(cb);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.lw.start();
      this.synced = true;
      this.failures = 0;
    } catch (err) {
      this.restartLater(err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.stop();
    await this.lw.stop();
  }

  private restartLater(err: unknown): void {
    if (this.stopped || this.timer) return;
    const base = this.opts.restartBackoffMs ?? 1000;
    const delay = Math.min(base * 2 ** this.failures, 30_000);
    this.failures++;
    this.log.warn('list/watch failed; restarting', { err: errorMessage(err), retryInMs: delay });
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      void this.start();
    }, delay);
  }
}

/**
 * Equal values share one instance in a cache: a workload's pods repeat the same tolerations (the
 * API server adds the same two 300 s ones to nearly every pod). Bounded: past `max` distinct values
 * the table starts over. Cached objects are read-only (as client-go's), so sharing is safe.
 */
export class Interner<T> {
  private readonly table = new Map<string, T>();
  constructor(private readonly max = 4096) {}

  intern(v: T): T {
    const k = JSON.stringify(v);
    const shared = this.table.get(k);
    if (shared !== undefined) return shared;
    if (this.table.size >= this.max) this.table.clear();
    this.table.set(k, v);
    return v;
  }
}

/** The pod conditions the node controllers read: Ready (MarkPodsNotReady) and DisruptionTarget (taint eviction). */
const cachedPodConditions = new Set(['Ready', 'DisruptionTarget']);
const podTolerations = new Interner<NonNullable<NonNullable<V1Pod['spec']>['tolerations']>>();

/**
 * What the node controllers read of a Pod (name, namespace, uid, deletion, spec.nodeName and
 * tolerations, status.phase and the Ready and DisruptionTarget conditions): the rest (containers,
 * volumes, owners, other conditions) is not cached, and equal tolerations are shared. Their pod
 * writes are patches (the Ready condition, DisruptionTarget) or deletes, never whole-object updates.
 */
export function podCacheTransform(p: V1Pod): V1Pod {
  const md = p.metadata ?? {};
  const tolerations = p.spec?.tolerations;
  const conditions = p.status?.conditions?.filter((c) => cachedPodConditions.has(c.type));
  return {
    metadata: {
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
      ...(md.deletionTimestamp ? { deletionTimestamp: md.deletionTimestamp } : {}),
    },
    spec: { nodeName: p.spec?.nodeName, ...(tolerations ? { tolerations: podTolerations.intern(tolerations) } : {}), containers: [] },
    status: { phase: p.status?.phase, ...(conditions ? { conditions } : {}) },
  } as V1Pod;
}

/**
 * What the node controllers read of a Node (name, uid, labels, creation and deletion times,
 * spec.taints and unschedulable, status.conditions): the images, addresses, capacity and nodeInfo
 * (most of a real node's size) are not cached. Their node writes allow it: the health write is a
 * patch of the changed conditions, the taint and label writes read the whole Node from the API
 * before replacing it.
 */
export function nodeCacheTransform(n: V1Node): V1Node {
  const md = n.metadata ?? {};
  return {
    metadata: {
      name: md.name,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
      creationTimestamp: md.creationTimestamp,
      ...(md.labels ? { labels: md.labels } : {}),
      ...(md.deletionTimestamp ? { deletionTimestamp: md.deletionTimestamp } : {}),
    },
    spec: {
      ...(n.spec?.taints ? { taints: n.spec.taints } : {}),
      ...(n.spec?.unschedulable ? { unschedulable: true } : {}),
    },
    status: n.status?.conditions ? { conditions: n.status.conditions } : {},
  };
}
