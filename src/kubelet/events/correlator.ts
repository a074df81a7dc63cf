// The event correlator (models k8s.io/client-go/tools/record/events_cache.go: EventCorrelator,
// EventAggregator with EventAggregatorByReasonFunc / EventAggregatorByReasonMessageFunc,
// eventLogger, EventSourceObjectSpamFilter with getSpamKey; and makeEvent of tools/record/event.go).
//
// As upstream: every event passes the aggregator, then the logger, then the spam filter.
// - Aggregator: events of one source + involved object + type + reason (+ reporting controller and
//   instance) that differ only by message are counted per group; once 10 different messages were
//   seen with no gap over 10 minutes between two of them, the event is replaced by a fresh one
//   named anew, with the message "(combined from similar events): <message>", keyed by the group,
//   so later ones update it. The combined event carries no reportingComponent/Instance (upstream's
//   copy leaves them out too).
// - Logger (dedup): an event whose key (source, involved object with fieldPath, type, reason,
//   message) was seen before takes the earlier event's name, firstTimestamp and resourceVersion
//   and count + 1, and comes with a patch of count, lastTimestamp and message (what upstream's
//   two-way strategic merge patch of the event against a copy without those three holds).
// - Spam filter: a token bucket per source + involved object (kind, namespace, name, uid,
//   apiVersion; not fieldPath, type or reason): burst 25, refilled 1 per 300 s. Filtered events
//   are skipped after the logger has counted them, so the next sent update jumps the count.
// All three caches are LRUs of 4096 entries.
//
// Differences: times are milliseconds from the injected Clock. Event names use
// `<involvedObject.name>.<hex of the Unix time in ns>` as upstream, but a ms clock gives the same
// ns for two events in one ms, so UniqueNanos makes the ns strictly increasing per process
// (upstream's ns clock rarely collides; a collision there is a 409 and a lost event).
// Pure: no I/O; the only state is the caches and token buckets.

import type { Clock } from '../../util/clock.js';
import { TokenBucket } from '../../util/ratelimit.js';
import type { EventType, ObjectRef } from './recorder.js';

export const maxLruCacheEntries = 4096;
export const defaultAggregateMaxEvents = 10;
export const defaultAggregateIntervalMs = 600_000;
export const defaultSpamBurst = 25;
export const defaultSpamQPS = 1 / 300;
export const combinedMessagePrefix = '(combined from similar events): ';

/** v1.ObjectReference as an event's involvedObject. */
export interface InvolvedObject {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** A core/v1 Event as the correlator and the sink see it (times in ms since the epoch). */
export interface KubeEvent {
  name: string;
  namespace: string;
  /** Known once the API returned the event. */
  resourceVersion?: string;
  involvedObject: InvolvedObject;
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  firstTimestamp: number;
  lastTimestamp: number;
  count: number;
  reportingComponent?: string;
  reportingInstance?: string;
}

/** The fields a repeated event PATCHes (upstream's strategic merge patch holds just these). */
export interface EventPatch {
  count: number;
  lastTimestamp: number;
  /** Absent when the message is empty (equal in both sides of upstream's two-way patch). */
  message?: string;
}

export interface CorrelateResult {
  /** The event to write (create, or update when `patch` is set). Absent when skipped. */
  event?: KubeEvent;
  patch?: EventPatch;
  /** Dropped by the spam filter: write nothing. */
  skip: boolean;
}

/** Hands out Unix times in ns that only grow, from a ms clock (see the header). */
export class UniqueNanos {
  private last = 0n;
  next(ms: number): bigint {
    let ns = BigInt(Math.floor(ms)) * 1_000_000n;
    if (ns <= this.last) ns = this.last + 1n;
    this.last = ns;
    return ns;
  }
}

/** `<name>.<hex ns>`: upstream's `fmt.Sprintf("%v.%x", ref.Name, t.UnixNano())`. */
export function eventName(objectName: string, nanos: bigint): string {
  return `${objectName}.${nanos.toString(16)}`;
}

/** The involved object of a reference: Pods get apiVersion v1 (ref.GetReference); a Node ref passes as given (upstream's nodeRef has none). */
export function involvedObjectOf(ref: ObjectRef): InvolvedObject {
  const o: InvolvedObject = { kind: ref.kind, name: ref.name };
  if (ref.namespace) o.namespace = ref.namespace;
  if (ref.uid) o.uid = ref.uid;
  const apiVersion = ref.apiVersion ?? (ref.kind === 'Pod' ? 'v1' : undefined);
  if (apiVersion) o.apiVersion = apiVersion;
  if (ref.resourceVersion) o.resourceVersion = ref.resourceVersion;
  if (ref.fieldPath) o.fieldPath = ref.fieldPath;
  return o;
}

export interface EventSource {
  component: string;
  host: string;
}

/**
 * makeEvent + generateEvent: a new Event about `ref` at `now`, count 1, in the object's namespace
 * ("default" for cluster-scoped objects such as the Node), with source and reporting fields.
 */
export function makeEvent(ref: ObjectRef, type: EventType, reason: string, message: string, source: EventSource, now: number, nanos: UniqueNanos): KubeEvent {
  return {
    name: eventName(ref.name, nanos.next(now)),
    namespace: ref.namespace || 'default',
    involvedObject: involvedObjectOf(ref),
    reason,
    message,
    type,
    source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    reportingComponent: source.component,
    reportingInstance: source.host,
  };
}

const join = (parts: (string | undefined)[]): string => parts.map((p) => p ?? '').join('');

/** getEventKey: source, involved object (with fieldPath), type, reason, message. */
export function eventKey(e: KubeEvent): string {
  const o = e.involvedObject;
  return join([e.source.component, e.source.host, o.kind, o.namespace, o.name, o.fieldPath, o.uid, o.apiVersion, e.type, e.reason, e.message]);
}

/** getSpamKey: source and involved object (no fieldPath, type or reason). */
export function spamKey(e: KubeEvent): string {
  const o = e.involvedObject;
  return join([e.source.component, e.source.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion]);
}

/** EventAggregatorByReasonFunc: [aggregate key, local key (the message)]. */
export function aggregateKeys(e: KubeEvent): [string, string] {
  const o = e.involvedObject;
  return [join([e.source.component, e.source.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion, e.type, e.reason, e.reportingComponent, e.reportingInstance]), e.message];
}

/** A least-recently-used map (groupcache/lru: Get and Add both make an entry the newest). */
export class LruCache<V> {
  private readonly m = new Map<string, V>();
  constructor(readonly capacity: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  add(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.capacity) {
      const oldest = this.m.keys().next().value;
      if (oldest !== undefined) this.m.delete(oldest);
    }
  }
  get size(): number {
    return this.m.size;
  }
}

export interface CorrelatorOptions {
  clock: Clock;
  lruCacheSize?: number;
  /** Spam filter bucket size per source + object (default 25). */
  spamBurst?: number;
  /** Spam filter refill per second (default 1/300). */
  spamQPS?: number;
  /** Different messages before aggregation (default 10). */
  maxEvents?: number;
  /** Longest gap between similar events that still counts them together (default 10 min). */
  maxIntervalMs?: number;
  /** Shared with the recorder so combined events get unique names too. */
  nanos?: UniqueNanos;
}

interface AggregateRecord {
  localKeys: Set<string>;
  lastTimestamp: number;
}

interface EventLog {
  count: number;
  firstTimestamp: number;
  name: string;
  resourceVersion?: string;
}

export class EventCorrelator {
  private readonly clock: Clock;
  private readonly spam: LruCache<TokenBucket>;
  private readonly aggregates: LruCache<AggregateRecord>;
  private readonly logs: LruCache<EventLog>;
  private readonly spamBurst: number;
  private readonly spamQPS: number;
  private readonly maxEvents: number;
  private readonly maxIntervalMs: number;
  private readonly nanos: UniqueNanos;

  constructor(opts: CorrelatorOptions) {
    this.clock = opts.clock;
    const size = opts.lruCacheSize ?? maxLruCacheEntries;
    this.spam = new LruCache(size);
    this.aggregates = new LruCache(size);
    this.logs = new LruCache(size);
    this.spamBurst = opts.spamBurst ?? defaultSpamBurst;
    this.spamQPS = opts.spamQPS ?? defaultSpamQPS;
    this.maxEvents = opts.maxEvents ?? defaultAggregateMaxEvents;
    this.maxIntervalMs = opts.maxIntervalMs ?? defaultAggregateIntervalMs;
    this.nanos = opts.nanos ?? new UniqueNanos();
  }

  /** EventCorrelate: aggregate, observe (dedup), then spam-filter. `event` is not modified. */
  correlate(event: KubeEvent): CorrelateResult {
    const [aggregated, key] = this.aggregate(event);
    const { event: observed, patch } = this.observe(aggregated, key);
    if (this.filter(observed)) return { skip: true };
    return { event: observed, ...(patch ? { patch } : {}), skip: false };
  }

  /** UpdateState: remember the name, count and resourceVersion the API returned. */
  updateState(event: KubeEvent): void {
    this.logs.add(eventKey(event), {
      count: event.count,
      firstTimestamp: event.firstTimestamp,
      name: event.name,
      ...(event.resourceVersion ? { resourceVersion: event.resourceVersion } : {}),
    });
  }

  /** EventAggregate: the event (or a combined one) and its cache key for the logger. */
  private aggregate(e: KubeEvent): [KubeEvent, string] {
    const now = this.clock.now();
    const [aggKey, localKey] = aggregateKeys(e);
    let rec = this.aggregates.get(aggKey);
    if (!rec || now - rec.lastTimestamp > this.maxIntervalMs) rec = { localKeys: new Set(), lastTimestamp: 0 };
    rec.localKeys.add(localKey);
    rec.lastTimestamp = now;
    this.aggregates.add(aggKey, rec);
    if (rec.localKeys.size < this.maxEvents) return [e, eventKey(e)];
    // do not grow the set past the max (upstream pops an arbitrary key; here the oldest)
    const first = rec.localKeys.values().next().value;
    if (first !== undefined) rec.localKeys.delete(first);
    const combined: KubeEvent = {
      name: eventName(e.involvedObject.name, this.nanos.next(now)),
      namespace: e.namespace,
      involvedObject: e.involvedObject,
      reason: e.reason,
      message: combinedMessagePrefix + e.message,
      type: e.type,
      source: e.source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    return [combined, aggKey];
  }

  /** eventObserve: a repeat takes the earlier name/firstTimestamp/resourceVersion, count + 1, and a patch. */
  private observe(e: KubeEvent, key: string): { event: KubeEvent; patch?: EventPatch } {
    const event: KubeEvent = { ...e };
    delete event.resourceVersion;
    const last = this.logs.get(key);
    let patch: EventPatch | undefined;
    if (last && last.count > 0) {
      event.name = last.name;
      if (last.resourceVersion) event.resourceVersion = last.resourceVersion;
      event.firstTimestamp = last.firstTimestamp;
      event.count = last.count + 1;
      patch = { count: event.count, lastTimestamp: event.lastTimestamp, ...(event.message ? { message: event.message } : {}) };
    }
    this.logs.add(key, { count: event.count, firstTimestamp: event.firstTimestamp, name: event.name, ...(event.resourceVersion ? { resourceVersion: event.resourceVersion } : {}) });
    return patch ? { event, patch } : { event };
  }

  /** EventSourceObjectSpamFilter.Filter: true when the event must be dropped. */
  private filter(e: KubeEvent): boolean {
    const k = spamKey(e);
    let bucket = this.spam.get(k);
    if (!bucket) bucket = new TokenBucket(this.clock, this.spamQPS, this.spamBurst);
    const drop = !bucket.tryAccept();
    this.spam.add(k, bucket);
    return drop;
  }
}
