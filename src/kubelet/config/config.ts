// The pod config merger (models pkg/kubelet/config/config.go: PodConfig and podStorage.merge in
// PodConfigNotificationIncremental mode, with checkAndUpdatePod and filterInvalidPods).
//
// Sources call set(source, pods) with their whole current set. Pods are kept per source by UID and
// each set() turns into typed updates for subscribers, in upstream's order: REMOVE (UID gone),
// ADD (new UID; config.seen is stamped with the Clock's time, once), UPDATE (spec, labels,
// annotations other than the local ones, deletionTimestamp or deletionGracePeriodSeconds
// changed), DELETE (the same, with deletionTimestamp set), then RECONCILE (only status changed).
// A source's first set() with no ADD/UPDATE/DELETE sends an empty ADD, as upstream, to say the
// source is ready. Every pod gets config.source = the source name.
//
// Differences: a pod whose full name (name_namespace) is already used by another source's pod is
// also ignored (upstream only checks duplicates within one source; the pod manager would later
// shadow one of them); the ignored pod is admitted when the name frees up, from that source's last
// set. A pod without a UID is ignored. Subscribers are called synchronously and receive copies.

import type { V1Pod } from '@kubernetes/client-node';
import { canonicalJSON } from '../../api/hash.js';
import { ConfigFirstSeenAnnotationKey, ConfigMirrorAnnotationKey, ConfigSourceAnnotationKey, formatTimeNano, podFullName } from '../../api/podutil.js';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';

export type PodOperation = 'ADD' | 'UPDATE' | 'DELETE' | 'REMOVE' | 'RECONCILE';

export interface PodUpdate {
  op: PodOperation;
  source: string;
  pods: V1Pod[];
}

export interface PodConfigOptions {
  clock: Clock;
  logger: Logger;
}

/** Annotations the kubelet sets itself: ignored when comparing, kept across updates. */
const localAnnotations = [ConfigSourceAnnotationKey, ConfigMirrorAnnotationKey, ConfigFirstSeenAnnotationKey];

const same = (a: unknown, b: unknown): boolean => canonicalJSON(a) === canonicalJSON(b);

function annotationsEqual(existing: Record<string, string> | undefined, candidate: Record<string, string> | undefined): boolean {
  const ex = existing ?? {};
  const ca = candidate ?? {};
  for (const [k, v] of Object.entries(ca)) {
    if (localAnnotations.includes(k)) continue;
    if (!Object.prototype.hasOwnProperty.call(ex, k) || ex[k] !== v) return false;
  }
  for (const k of Object.keys(ex)) {
    if (localAnnotations.includes(k)) continue;
    if (!Object.prototype.hasOwnProperty.call(ca, k)) return false;
  }
  return true;
}

function podsDifferSemantically(existing: V1Pod, ref: V1Pod): boolean {
  const e = existing.metadata ?? {};
  const r = ref.metadata ?? {};
  return !(
    same(existing.spec, ref.spec) &&
    same(e.labels, r.labels) &&
    same(e.deletionTimestamp, r.deletionTimestamp) &&
    same(e.deletionGracePeriodSeconds, r.deletionGracePeriodSeconds) &&
    annotationsEqual(e.annotations, r.annotations)
  );
}

type Change = 'none' | 'update' | 'reconcile' | 'delete';

/** Folds ref into existing (which is updated in place) and says what kind of change it was (checkAndUpdatePod). */
function checkAndUpdatePod(existing: V1Pod, ref: V1Pod): Change {
  if (!podsDifferSemantically(existing, ref)) {
    if (!same(existing.status, ref.status)) {
      existing.status = ref.status;
      return 'reconcile';
    }
    return 'none';
  }
  const e = (existing.metadata ??= {});
  const r = ref.metadata ?? {};
  existing.spec = ref.spec;
  setOrDelete(e, 'labels', r.labels);
  setOrDelete(e, 'deletionTimestamp', r.deletionTimestamp);
  setOrDelete(e, 'deletionGracePeriodSeconds', r.deletionGracePeriodSeconds);
  setOrDelete(e, 'generation', r.generation);
  existing.status = ref.status;
  const annotations: Record<string, string> = { ...r.annotations };
  for (const k of localAnnotations) {
    const v = e.annotations?.[k];
    if (v !== undefined) annotations[k] = v;
  }
  e.annotations = annotations;
  return r.deletionTimestamp ? 'delete' : 'update';
}

function setOrDelete<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

export class PodConfig {
  private readonly clock: Clock;
  private readonly log: Logger;
  /** source -> UID -> pod, in the order pods were first seen. */
  private readonly pods = new Map<string, Map<string, V1Pod>>();
  /** source -> its last set, to admit pods once a clashing name frees up. */
  private readonly lastSet = new Map<string, V1Pod[]>();
  /** source -> the very objects of its last set (a source passes the same objects for unchanged pods). */
  private readonly lastInput = new Map<string, V1Pod[]>();
  private readonly seen = new Set<string>();
  private readonly subscribers: Array<(u: PodUpdate) => void> = [];

  constructor(opts: PodConfigOptions) {
    this.clock = opts.clock;
    this.log = opts.logger.child({ component: 'podconfig' });
  }

  /** Subscribes to updates; returns the unsubscribe function. */
  onUpdate(cb: (u: PodUpdate) => void): () => void {
    this.subscribers.push(cb);
    return () => {
      const i = this.subscribers.indexOf(cb);
      if (i >= 0) this.subscribers.splice(i, 1);
    };
  }

  /** Replaces the whole set of pods of a source (a SET), emitting the updates it implies. */
  set(source: string, pods: V1Pod[]): void {
    const firstSet = !this.seen.has(source);
    // the same objects as last time (an unchanged manifest directory): nothing to merge
    const last = this.lastInput.get(source);
    if (!firstSet && last?.length === pods.length && pods.every((p, i) => p === last[i])) return;
    this.lastInput.set(source, [...pods]);
    this.seen.add(source);
    const incoming = pods.map((p) => structuredClone(p) as V1Pod);
    this.lastSet.set(source, incoming);
    const freed = this.merge(source, incoming, firstSet);
    if (freed.size === 0) return;
    // Names this source gave up may unblock pods another source offered earlier.
    for (const [other, last] of this.lastSet) {
      if (other === source) continue;
      const stored = this.pods.get(other);
      if (last.some((p) => freed.has(podFullName(p)) && !stored?.has(p.metadata?.uid ?? ''))) this.merge(other, last, false);
    }
  }

  /** True once every expected source has called set() at least once (the kubelet's sources-ready). */
  seenAllSources(expected: string[]): boolean {
    return expected.every((s) => this.seen.has(s));
  }

  /** Every current pod of every source (copies). */
  getPods(): V1Pod[] {
    return [...this.pods.values()].flatMap((m) => [...m.values()].map((p) => structuredClone(p) as V1Pod));
  }

  /** Merges a source's set; returns the full names it no longer holds. */
  private merge(source: string, incoming: V1Pod[], firstSet: boolean): Set<string> {
    const old = this.pods.get(source) ?? new Map<string, V1Pod>();
    const next = new Map<string, V1Pod>();
    const otherNames = new Map<string, string>();
    for (const [s, m] of this.pods) {
      if (s === source) continue;
      for (const p of m.values()) otherNames.set(podFullName(p), s);
    }
    const adds: V1Pod[] = [];
    const updates: V1Pod[] = [];
    const deletes: V1Pod[] = [];
    const reconciles: V1Pod[] = [];
    const names = new Set<string>();
    incoming.forEach((input, index) => {
      const ref = structuredClone(input) as V1Pod;
      const meta = (ref.metadata ??= {});
      const uid = meta.uid;
      const name = podFullName(ref);
      if (!uid) {
        this.log.warn('Pod without a UID, ignoring', { source, index, pod: name });
        return;
      }
      if (names.has(name) || next.has(uid)) {
        this.log.warn('Pod failed validation due to duplicate pod name, ignoring', { source, index, pod: name, uid });
        return;
      }
      const holder = otherNames.get(name);
      if (holder !== undefined) {
        this.log.warn('Pod has the same name as a pod from another source, ignoring', { source, index, pod: name, uid, otherSource: holder });
        return;
      }
      names.add(name);
      meta.annotations = { ...meta.annotations, [ConfigSourceAnnotationKey]: source };
      const existing = old.get(uid);
      if (existing) {
        next.set(uid, existing);
        const change = checkAndUpdatePod(existing, ref);
        if (change === 'update') updates.push(existing);
        else if (change === 'delete') deletes.push(existing);
        else if (change === 'reconcile') reconciles.push(existing);
        return;
      }
      meta.annotations[ConfigFirstSeenAnnotationKey] = formatTimeNano(this.clock.now());
      next.set(uid, ref);
      adds.push(ref);
    });
    const removes = [...old].filter(([uid]) => !next.has(uid)).map(([, p]) => p);
    this.pods.set(source, next);

    if (removes.length) this.emit({ op: 'REMOVE', source, pods: removes });
    if (adds.length) this.emit({ op: 'ADD', source, pods: adds });
    if (updates.length) this.emit({ op: 'UPDATE', source, pods: updates });
    if (deletes.length) this.emit({ op: 'DELETE', source, pods: deletes });
    if (firstSet && adds.length === 0 && updates.length === 0 && deletes.length === 0) this.emit({ op: 'ADD', source, pods: [] });
    if (reconciles.length) this.emit({ op: 'RECONCILE', source, pods: reconciles });

    const freed = new Set<string>();
    for (const p of old.values()) freed.add(podFullName(p));
    for (const n of names) freed.delete(n);
    return freed;
  }

  private emit(u: PodUpdate): void {
    for (const cb of [...this.subscribers]) {
      try {
        cb({ op: u.op, source: u.source, pods: u.pods.map((p) => structuredClone(p) as V1Pod) });
      } catch (err) {
        this.log.error('Pod update subscriber failed', { op: u.op, source: u.source, error: errorMessage(err) });
      }
    }
  }
}
